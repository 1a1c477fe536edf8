/**
 * Writes matching `subscriber-secrets.json` and `broadcaster-secrets.json`
 * (like `lonelypss --setup`).
 *
 * Usage: deno run --allow-write examples/httppubsub_setup.ts [dir] [--to-broadcaster=hmac|token|none] [--to-subscriber=hmac|token|none]
 */

import { type AuthScheme, setupSecrets } from "../src/httppubsub/mod.ts";

function scheme(name: string): AuthScheme | undefined {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return undefined;
  const value = arg.slice(name.length + 3);
  if (value !== "hmac" && value !== "token" && value !== "none") {
    throw new TypeError(`Setting up secrets failed: --${name}=${value} is not hmac, token or none`);
  }
  return value;
}

const dir = Deno.args.find((a) => !a.startsWith("--")) ?? ".";
const schemes: { toBroadcaster?: AuthScheme; toSubscriber?: AuthScheme } = {};
const tb = scheme("to-broadcaster");
const ts = scheme("to-subscriber");
if (tb !== undefined) schemes.toBroadcaster = tb;
if (ts !== undefined) schemes.toSubscriber = ts;
const paths = await setupSecrets(dir, schemes);
console.log(`Wrote ${paths.subscriber} and ${paths.broadcaster}`);
