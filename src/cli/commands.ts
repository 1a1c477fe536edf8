/**
 * The commands of the `pubsub` program: `sub`, `pub`, `bridge`, `bench`.
 *
 * @module
 */

import { bridge as runBridge, type BridgeStats } from "../core/bridge.ts";
import { concatBytes } from "../core/bytes.ts";
import { TimeoutError } from "../core/errors.ts";
import type { Message } from "../core/message.ts";
import type { PublishReceipt, PubSub, SubscribeOptions } from "../core/pubsub.ts";
import type { Subscription } from "../core/subscription.ts";
import {
  intOption,
  type OptionSpec,
  parseArgs,
  type ParsedArgs,
  parseHeaders,
  stringOption,
  UsageError,
} from "./args.ts";
import { type Context, Deadline, ExitCode, Interrupted, raceSignal } from "./context.ts";
import { formatMs, messageRecord, percentile, redactUrl } from "./format.ts";
import { HELP } from "./help.ts";

const HELP_SPEC: OptionSpec = { type: "boolean", short: "h" };

function positionals(parsed: ParsedArgs, command: string, names: readonly string[], optional = 0): string[] {
  const p = parsed.positionals;
  if (p.length < names.length - optional) {
    throw new UsageError(`Missing ${names[p.length]} (see pubsub ${command} --help)`);
  }
  if (p.length > names.length) {
    throw new UsageError(`Unexpected argument ${JSON.stringify(p[names.length])}`);
  }
  return p;
}

/** Stops on Ctrl-C (with {@linkcode Interrupted}) or when the deadline passes (with its `TimeoutError`). */
function stopSignal(ctx: Context, deadline: Deadline): AbortSignal {
  const c = new AbortController();
  const onInterrupt = () => c.abort(new Interrupted());
  const onDeadline = () => c.abort(deadline.signal.reason);
  if (ctx.signal.aborted) onInterrupt();
  else ctx.signal.addEventListener("abort", onInterrupt, { once: true });
  deadline.signal.addEventListener("abort", onDeadline, { once: true });
  c.signal.addEventListener("abort", () => {
    ctx.signal.removeEventListener("abort", onInterrupt);
    deadline.signal.removeEventListener("abort", onDeadline);
  }, { once: true });
  return c.signal;
}

async function openAll(ctx: Context, urls: readonly string[], stop: AbortSignal): Promise<PubSub[]> {
  const opened: PubSub[] = [];
  try {
    for (const url of urls) opened.push(await raceSignal(ctx.open(url), stop));
    return opened;
  } catch (err) {
    await Promise.all(opened.map((ps) => ps.close().catch(() => {})));
    throw err;
  }
}

async function startSubscription<M extends Message>(
  ps: PubSub<M>,
  topic: string,
  options: SubscribeOptions,
  stop: AbortSignal,
): Promise<Subscription<M>> {
  const sub = ps.subscribe(topic, options);
  try {
    await raceSignal(sub.ready, stop);
  } catch (err) {
    await sub.close().catch(() => {});
    throw err;
  }
  return sub;
}

function withoutDeadline(stopped: AbortSignal, err: unknown): unknown {
  return stopped.aborted ? stopped.reason : err;
}

// ---------------------------------------------------------------------------------------------------------------- sub

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

// ---------------------------------------------------------------------------------------------------------------- pub

const PUB_OPTIONS: Record<string, OptionSpec> = {
  help: HELP_SPEC,
  header: { type: "string", short: "H", multiple: true },
  lines: { type: "boolean", short: "l" },
  json: { type: "boolean", short: "j" },
  timeout: { type: "string", short: "t" },
};

function tooLarge(limit: number): RangeError {
  return new RangeError(
    `Publishing standard input failed: it holds more than the system's largest payload (${limit} bytes)`,
  );
}

async function readAll(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
  }
  return concatBytes(chunks, size);
}

async function* lines(stream: ReadableStream<Uint8Array>, limit: number): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    rest += text;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl).replace(/\r$/, "");
      rest = rest.slice(nl + 1);
    }
    if (rest.length > limit) throw tooLarge(limit); // a line longer than any payload: stop buffering it
  }
  if (rest !== "") yield rest;
}

function receiptRecord(r: PublishReceipt): Record<string, unknown> {
  const rec: Record<string, unknown> = { topic: r.topic, confirmed: r.confirmed };
  if (r.id !== undefined) rec.id = r.id;
  if (r.sequence !== undefined) rec.sequence = r.sequence;
  return rec;
}

/**
 * `pubsub pub URL TOPIC [DATA|-]`: publishes DATA, or standard input (whole,
 * or one message per line with `--lines`).
 *
 * @param ctx The I/O.
 * @param args The arguments after `pub`.
 * @returns The exit code.
 */
export async function pub(ctx: Context, args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, PUB_OPTIONS);
  if (parsed.flags.has("help")) return void await ctx.out.write(HELP.pub), ExitCode.Ok;
  const [url, topic, data = "-"] = positionals(parsed, "pub", ["URL", "TOPIC", "DATA"], 1) as [string, string, string?];
  const headers = parseHeaders(parsed.values.get("header") ?? []);
  const timeout = intOption(parsed, "timeout", 1);
  const json = parsed.flags.has("json");
  const byLine = parsed.flags.has("lines");
  if (byLine && data !== "-") {
    throw new UsageError("Option --lines reads standard input, so DATA must be - or left out");
  }
  const deadline = new Deadline(timeout, `Publishing to ${topic}`);
  const stop = stopSignal(ctx, deadline);
  let ps: PubSub | undefined;
  try {
    [ps] = await openAll(ctx, [url], stop) as [PubSub];
    const options = headers.length > 0 ? { headers, signal: stop } : { signal: stop };
    const send = async (payload: Uint8Array | string) => {
      const receipt = await raceSignal(ps!.publish(topic, payload, options), stop);
      if (json) await ctx.out.write(JSON.stringify(receiptRecord(receipt)) + "\n");
    };
    if (byLine) {
      for await (const line of lines(ctx.stdin(), ps.capabilities.maxPayload)) {
        if (stop.aborted) throw stop.reason;
        await send(line);
      }
    } else {
      await send(data === "-" ? await raceSignal(readAll(ctx.stdin(), ps.capabilities.maxPayload), stop) : data);
    }
  } catch (err) {
    throw withoutDeadline(stop, err);
  } finally {
    deadline.dispose();
    await ps?.close().catch(() => {});
  }
  return ExitCode.Ok;
}

// ------------------------------------------------------------------------------------------------------------- bridge

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

// -------------------------------------------------------------------------------------------------------------- bench

const BENCH_OPTIONS: Record<string, OptionSpec> = {
  help: HELP_SPEC,
  topic: { type: "string" },
  count: { type: "string", short: "n" },
  size: { type: "string", short: "s" },
  "in-flight": { type: "string", short: "w" },
  timeout: { type: "string", short: "t" },
  json: { type: "boolean", short: "j" },
};

/** The live progress line on a terminal's stderr. */
class Progress {
  readonly #ctx: Context;
  readonly #line: () => string;
  readonly #timer: ReturnType<typeof setInterval>;
  #drawing: Promise<unknown> = Promise.resolve();

  constructor(ctx: Context, line: () => string, everyMs = 200) {
    this.#ctx = ctx;
    this.#line = line;
    this.#timer = setInterval(() => this.#draw(), everyMs);
  }

  #draw(): void {
    this.#drawing = this.#drawing.then(() => this.#ctx.err.write(`\r\x1b[2K${this.#line()}`));
  }

  async end(): Promise<void> {
    clearInterval(this.#timer);
    await this.#drawing;
    await this.#ctx.err.write("\r\x1b[2K");
  }
}

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
