/**
 * `pubsub sub`: prints the messages of a topic.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import { intOption, type OptionSpec, parseArgs, stringOption } from "./args.ts";
import { type Context, Deadline, ExitCode } from "./context.ts";
import { messageRecord, redactUrl } from "./format.ts";
import { HELP } from "./help.ts";
import { HELP_SPEC, openAll, positionals, startSubscription, stopSignal, withoutDeadline } from "./command_helpers.ts";

const SUB_OPTIONS: Record<string, OptionSpec> = {
  help: HELP_SPEC,
  json: { type: "boolean", short: "j" },
  count: { type: "string", short: "n" },
  group: { type: "string", short: "g" },
  timeout: { type: "string", short: "t" },
  quiet: { type: "boolean", short: "q" },
};

/**
 * `pubsub sub URL TOPIC`: prints every message until `--count` messages came,
 * `--timeout` passed, the subscription ended, or Ctrl-C.
 *
 * @param ctx The I/O.
 * @param args The arguments after `sub`.
 * @returns The exit code.
 */
export async function sub(ctx: Context, args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, SUB_OPTIONS);
  if (parsed.flags.has("help")) return void await ctx.out.write(HELP.sub), ExitCode.Ok;
  const [url, topic] = positionals(parsed, "sub", ["URL", "TOPIC"]) as [string, string];
  const count = intOption(parsed, "count", 1);
  const timeout = intOption(parsed, "timeout", 1);
  const group = stringOption(parsed, "group");
  const json = parsed.flags.has("json");
  const deadline = new Deadline(timeout, `Waiting for ${count ?? "the"} message${count === 1 ? "" : "s"} on ${topic}`);
  const stop = stopSignal(ctx, deadline);
  let ps: PubSub | undefined;
  let received = 0;
  try {
    [ps] = await openAll(ctx, [url], stop) as [PubSub];
    const s = await startSubscription(ps, topic, group === undefined ? {} : { group }, stop);
    const onStop = () => void s.close();
    stop.addEventListener("abort", onStop, { once: true });
    try {
      if (!parsed.flags.has("quiet")) await ctx.err.write(`pubsub: subscribed to ${topic} on ${redactUrl(url)}\n`);
      for await (const msg of s) {
        const line = json ? JSON.stringify(messageRecord(msg)) + "\n" : msg.data;
        if (!await ctx.out.write(line)) break;
        if (!json && msg.data.at(-1) !== 0x0a && !await ctx.out.write("\n")) break;
        received++;
        if (received === count) break;
      }
    } finally {
      stop.removeEventListener("abort", onStop);
      await s.close();
    }
  } catch (err) {
    throw withoutDeadline(stop, err);
  } finally {
    deadline.dispose();
    await ps?.close().catch(() => {});
  }
  if (ctx.out.broken || received === count) return ExitCode.Ok;
  if (ctx.signal.aborted) return ExitCode.Interrupted;
  if (deadline.expired) {
    if (count === undefined) return ExitCode.Ok;
    throw deadline.signal.reason;
  }
  if (count !== undefined) {
    throw new Error(`The subscription to ${topic} ended after ${received} of ${count} messages`);
  }
  return ExitCode.Ok;
}
