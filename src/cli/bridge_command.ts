/**
 * `pubsub bridge`: forwards a topic from one system into another with the
 * core `bridge()`.
 *
 * @module
 */

import { bridge as runBridge, type BridgeStats } from "../core/bridge.ts";
import type { PubSub } from "../core/pubsub.ts";
import { intOption, type OptionSpec, parseArgs, stringOption, UsageError } from "./args.ts";
import { type Context, Deadline, ExitCode } from "./context.ts";
import { redactUrl } from "./format.ts";
import { HELP } from "./help.ts";
import { HELP_SPEC, openAll, positionals, startSubscription, stopSignal, withoutDeadline } from "./command_helpers.ts";
import { Progress } from "./progress.ts";

const BRIDGE_OPTIONS: Record<string, OptionSpec> = {
  help: HELP_SPEC,
  topic: { type: "string" },
  "to-topic": { type: "string" },
  group: { type: "string", short: "g" },
  count: { type: "string", short: "n" },
  timeout: { type: "string", short: "t" },
  "on-error": { type: "string" },
  json: { type: "boolean", short: "j" },
  quiet: { type: "boolean", short: "q" },
};

/** A stream that ends after `limit` messages of `source`, leaving `source` open. */
function take<M>(source: ReadableStream<M>, limit: number | undefined): ReadableStream<M> {
  if (limit === undefined) return source;
  const reader = source.getReader();
  let n = 0;
  return new ReadableStream<M>({
    async pull(controller) {
      const r = await reader.read();
      if (r.done) return controller.close();
      controller.enqueue(r.value);
      if (++n === limit) {
        controller.close();
        reader.releaseLock();
      }
    },
    async cancel(reason) {
      if (n < limit) await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

function statsLine(s: Readonly<BridgeStats>): string {
  return `received ${s.received}  confirmed ${s.confirmed}  written ${s.written}  skipped ${s.skipped}  ` +
    `failed ${s.failed}  acked ${s.acked}  naked ${s.naked}`;
}

/**
 * `pubsub bridge FROM TO TOPIC`: forwards the messages of TOPIC from one
 * system into another with the core `bridge()`, and prints its counters at
 * the end.
 *
 * @param ctx The I/O.
 * @param args The arguments after `bridge`.
 * @returns The exit code.
 */
export async function bridge(ctx: Context, args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, BRIDGE_OPTIONS);
  if (parsed.flags.has("help")) return void await ctx.out.write(HELP.bridge), ExitCode.Ok;
  const p = positionals(parsed, "bridge", ["FROM", "TO", "TOPIC"], 1);
  const [from, to] = p as [string, string];
  const optTopic = stringOption(parsed, "topic");
  if (p[2] !== undefined && optTopic !== undefined) {
    throw new UsageError("Give the topic either as TOPIC or as --topic, not both");
  }
  const topic = p[2] ?? optTopic;
  if (topic === undefined) throw new UsageError("Missing TOPIC (see pubsub bridge --help)");
  const toTopic = stringOption(parsed, "to-topic");
  const group = stringOption(parsed, "group");
  const count = intOption(parsed, "count", 1);
  const timeout = intOption(parsed, "timeout", 1);
  const onError = stringOption(parsed, "on-error") ?? "nak";
  if (onError !== "nak" && onError !== "stop") {
    throw new UsageError(`Option --on-error must be "nak" or "stop", got ${JSON.stringify(onError)}`);
  }
  const json = parsed.flags.has("json");
  const deadline = new Deadline(timeout, `Bridging ${count ?? "the"} message${count === 1 ? "" : "s"} of ${topic}`);
  const stop = stopSignal(ctx, deadline);
  let opened: PubSub[] = [];
  let stats: Readonly<BridgeStats> | undefined;
  let progress: Progress | undefined;
  try {
    opened = await openAll(ctx, [from, to], stop);
    const [source, target] = opened as [PubSub, PubSub];
    const s = await startSubscription(source, topic, group === undefined ? {} : { group }, stop);
    try {
      if (!parsed.flags.has("quiet")) {
        await ctx.err.write(`pubsub: bridging ${topic} from ${redactUrl(from)} to ${redactUrl(to)}\n`);
      }
      const b = runBridge(take(s, count), target, { topic: toTopic, onError });
      stats = b.stats;
      if (ctx.tty) progress = new Progress(ctx, () => statsLine(b.stats));
      const onStop = () => void b.stop(stop.reason);
      stop.addEventListener("abort", onStop, { once: true });
      try {
        await b.done;
      } finally {
        stop.removeEventListener("abort", onStop);
      }
    } finally {
      await progress?.end();
      await s.close();
    }
  } catch (err) {
    throw withoutDeadline(stop, err);
  } finally {
    deadline.dispose();
    await Promise.all(opened.map((ps) => ps.close().catch(() => {})));
  }
  if (stats !== undefined) await ctx.out.write((json ? JSON.stringify(stats) : statsLine(stats)) + "\n");
  if (count !== undefined && stats !== undefined && stats.received >= count) return ExitCode.Ok;
  if (ctx.signal.aborted) return ExitCode.Interrupted;
  if (deadline.expired) {
    if (count === undefined) return ExitCode.Ok;
    throw deadline.signal.reason;
  }
  if (count !== undefined) {
    throw new Error(`The subscription to ${topic} ended after ${stats?.received ?? 0} of ${count} messages`);
  }
  return ExitCode.Ok;
}
