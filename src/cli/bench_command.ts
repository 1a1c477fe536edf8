/**
 * `pubsub bench`: round trips through one system, with the rate and the
 * latency percentiles.
 *
 * @module
 */

import { TimeoutError } from "../core/errors.ts";
import type { PubSub } from "../core/pubsub.ts";
import { intOption, type OptionSpec, parseArgs, stringOption, UsageError } from "./args.ts";
import { type Context, Deadline, ExitCode, raceSignal } from "./context.ts";
import { formatMs, percentile } from "./format.ts";
import { HELP } from "./help.ts";
import { HELP_SPEC, openAll, positionals, startSubscription, stopSignal, withoutDeadline } from "./command_helpers.ts";
import { Progress } from "./progress.ts";

const BENCH_OPTIONS: Record<string, OptionSpec> = {
  help: HELP_SPEC,
  topic: { type: "string" },
  count: { type: "string", short: "n" },
  size: { type: "string", short: "s" },
  "in-flight": { type: "string", short: "w" },
  timeout: { type: "string", short: "t" },
  json: { type: "boolean", short: "j" },
};

/** The figures `pubsub bench` reports. */
export interface BenchResult {
  /** The topic used. */
  topic: string;
  /** Messages sent. */
  sent: number;
  /** Messages that came back (each once). */
  received: number;
  /** Messages that came back more than once. */
  duplicates: number;
  /** Payload size, bytes. */
  size: number;
  /** Messages published and not yet back, at most. */
  inFlight: number;
  /** From the first publish to the last message back, ms. */
  elapsedMs: number;
  /** Round trips per second. */
  rate: number;
  /** Round-trip latency percentiles, ms. */
  latencyMs: { min: number; p50: number; p90: number; p99: number; max: number; mean: number };
}

/** The smallest `--size`: the JSON envelope with an empty pad. */
export const BENCH_MIN_SIZE: number = 64;
const benchEncoder = new TextEncoder();
const benchDecoder = new TextDecoder();

/**
 * A bench payload: a JSON object of exactly `size` bytes carrying the run's
 * tag and the sequence number (JSON, so systems that carry JSON only take it).
 *
 * @param tag The run's tag (8 hex digits).
 * @param seq The sequence number.
 * @param size The payload size, at least {@linkcode BENCH_MIN_SIZE}.
 * @returns The payload.
 */
export function benchPayload(tag: string, seq: number, size: number): Uint8Array {
  const head = `{"pubsubBench":"${tag}","seq":${String(seq).padStart(10, " ")},"pad":"`;
  return benchEncoder.encode(head + "x".repeat(Math.max(0, size - head.length - 2)) + '"}');
}

/**
 * Reads the sequence number of a bench payload of this run.
 *
 * @param data The payload received.
 * @param tag The run's tag.
 * @returns The sequence number, or `undefined` for anything else.
 */
export function benchSequence(data: Uint8Array, tag: string): number | undefined {
  try {
    const v: unknown = JSON.parse(benchDecoder.decode(data));
    if (typeof v !== "object" || v === null) return undefined;
    const { pubsubBench, seq } = v as { pubsubBench?: unknown; seq?: unknown };
    return pubsubBench === tag && typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `pubsub bench URL`: publishes `--count` messages to a fresh topic it is
 * subscribed to, `--in-flight` at a time, and reports the rate and the
 * round-trip latency percentiles.
 *
 * @param ctx The I/O.
 * @param args The arguments after `bench`.
 * @returns The exit code.
 */
export async function bench(ctx: Context, args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, BENCH_OPTIONS);
  if (parsed.flags.has("help")) return void await ctx.out.write(HELP.bench), ExitCode.Ok;
  const [url] = positionals(parsed, "bench", ["URL"]) as [string];
  const count = intOption(parsed, "count", 1) ?? 1000;
  const size = intOption(parsed, "size", BENCH_MIN_SIZE) ?? 128;
  const window = intOption(parsed, "in-flight", 1) ?? 1;
  const idleMs = intOption(parsed, "timeout", 1) ?? 10_000;
  const tag = crypto.getRandomValues(new Uint32Array(1))[0] as number;
  const tagText = tag.toString(16).padStart(8, "0");
  const topic = stringOption(parsed, "topic") ?? `pubsub-bench-${tagText}`;
  const json = parsed.flags.has("json");

  const noDeadline = new Deadline(undefined, "");
  const stop = stopSignal(ctx, noDeadline);
  const sendTimes = new Float64Array(count);
  const seen = new Uint8Array(count);
  const latencies: number[] = [];
  let sent = 0;
  let duplicates = 0;
  let started = 0;
  let finished = 0;
  let lastProgress = 0;
  let idle: TimeoutError | undefined;
  let wake: (() => void) | undefined;
  let receiveEnded = false;
  let progress: Progress | undefined;
  let ps: PubSub | undefined;
  const publishErrors: unknown[] = [];
  try {
    [ps] = await openAll(ctx, [url], stop) as [PubSub];
    if (size > ps.capabilities.maxPayload) {
      throw new UsageError(
        `Option --size ${size} is larger than the system's largest payload (${ps.capabilities.maxPayload})`,
      );
    }
    const s = await startSubscription(ps, topic, {}, stop);
    const halt = new AbortController();
    const onStop = () => {
      halt.abort(stop.reason);
      void s.close();
    };
    stop.addEventListener("abort", onStop, { once: true });
    lastProgress = performance.now();
    const watchdog = setInterval(() => {
      if (idle === undefined && performance.now() - lastProgress > idleMs) {
        idle = new TimeoutError(
          `Benchmarking timed out: ${latencies.length} of ${sent} messages came back, none for ${idleMs} ms`,
          { timeoutMs: idleMs },
        );
        halt.abort(idle);
        void s.close();
      }
    }, Math.min(idleMs, 100));
    if (ctx.tty) {
      progress = new Progress(ctx, () => {
        const secs = (performance.now() - started) / 1000;
        return `sent ${sent}/${count}  received ${latencies.length}  ${(latencies.length / secs).toFixed(0)} msg/s`;
      });
    }
    const consume = async () => {
      for await (const msg of s) {
        const at = performance.now();
        const seq = benchSequence(msg.data, tagText);
        if (seq === undefined || seq >= count) continue;
        if (seen[seq] === 1) {
          duplicates++;
          continue;
        }
        seen[seq] = 1;
        latencies.push(at - (sendTimes[seq] as number));
        lastProgress = at;
        const w = wake;
        wake = undefined;
        w?.();
        if (latencies.length === count) {
          finished = at;
          break;
        }
      }
    };
    const receive = (async () => {
      try {
        await consume();
      } finally {
        receiveEnded = true;
        wake?.();
      }
    })();
    receive.catch(() => {}); // observed below; this keeps an early failure from being "unhandled"
    const pending = new Set<Promise<unknown>>();
    try {
      started = performance.now();
      for (let i = 0; i < count && !stop.aborted && idle === undefined && publishErrors.length === 0; i++) {
        while (sent - latencies.length >= window && !receiveEnded && !halt.signal.aborted) {
          await new Promise<void>((resolve) => wake = resolve);
        }
        if (stop.aborted || idle !== undefined || receiveEnded) break;
        const payload = benchPayload(tagText, i, size);
        sendTimes[i] = performance.now();
        sent++;
        const p = ps.publish(topic, payload, { signal: halt.signal }).then(() => {}, (err) => {
          publishErrors.push(err);
          halt.abort(err);
          wake?.();
        });
        pending.add(p);
        void p.finally(() => pending.delete(p));
        if (window === 1) await raceSignal(p, halt.signal).catch(() => {});
      }
      await raceSignal(Promise.all(pending), halt.signal).catch(() => {});
      if (publishErrors.length === 0 && !halt.signal.aborted) await receive;
    } finally {
      clearInterval(watchdog);
      stop.removeEventListener("abort", onStop);
      await progress?.end();
      await s.close();
      await receive.catch(() => {});
    }
  } catch (err) {
    throw withoutDeadline(stop, err);
  } finally {
    await ps?.close().catch(() => {});
  }
  if (publishErrors.length > 0) throw publishErrors[0];
  if (ctx.signal.aborted) return ExitCode.Interrupted;
  if (idle !== undefined) throw idle;
  const sorted = latencies.toSorted((a, b) => a - b);
  const elapsedMs = (finished || performance.now()) - started;
  const result: BenchResult = {
    topic,
    sent,
    received: latencies.length,
    duplicates,
    size,
    inFlight: window,
    elapsedMs,
    rate: latencies.length / (elapsedMs / 1000),
    latencyMs: {
      min: sorted[0] ?? NaN,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? NaN,
      mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    },
  };
  if (json) {
    await ctx.out.write(JSON.stringify(result) + "\n");
  } else {
    const l = result.latencyMs;
    await ctx.out.write(
      `${result.received} of ${result.sent} round trips of ${size} bytes on ${topic}, ${window} in flight\n` +
        `rate     ${result.rate.toFixed(0)} msg/s (${(result.rate * size / 1e6).toFixed(2)} MB/s)\n` +
        `latency  min ${formatMs(l.min)}  p50 ${formatMs(l.p50)}  p90 ${formatMs(l.p90)}  p99 ${formatMs(l.p99)}` +
        `  max ${formatMs(l.max)}\n` +
        (duplicates > 0 ? `duplicates ${duplicates}\n` : ""),
    );
  }
  return result.received === count ? ExitCode.Ok : ExitCode.Failure;
}
