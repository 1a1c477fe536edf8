/**
 * `posttroll-generate-keys NAME [-d DIR]` (`deno task posttroll-generate-keys`):
 * writes `DIR/NAME.key` and `DIR/NAME.key_secret`, CURVE certificates that
 * Python posttroll reads.
 *
 * @module
 */

import { generateKeys } from "../src/posttroll/keys.ts";

function usage(message?: string): never {
  if (message) console.error(`posttroll-generate-keys: ${message}`);
  console.error("usage: posttroll-generate-keys NAME [-d|--directory DIR]");
  Deno.exit(2);
}

if (import.meta.main) {
  let name: string | undefined;
  let dir = ".";
  const args = Deno.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-d" || a === "--directory") dir = args[++i] ?? usage(`${a} needs a value`);
    else if (a === "-h" || a === "--help") usage();
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else if (name === undefined) name = a;
    else usage(`unexpected argument ${a}`);
  }
  if (name === undefined) usage("NAME is required");
  try {
    const keys = await generateKeys(name, dir);
    console.log(keys.publicFile);
    console.log(keys.secretFile);
  } catch (err) {
    usage((err as Error).message);
  }
}
