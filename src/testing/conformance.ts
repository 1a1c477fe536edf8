/**
 * The conformance suite every system's adapter runs, in the manner of
 * Watermill's universal pub/sub tests: it reads the adapter's
 * `capabilities` to pick its tests and sizes, and checks each promise where
 * it can be seen: process memory, and the server's own view through a probe.
 *
 * @module
 */

import { ClosedError, OverflowError, TimeoutError } from "../core/errors.ts";
import { isSettleable, type Message } from "../core/message.ts";
import type { Capabilities, PubSub } from "../core/pubsub.ts";
import { OVERFLOW_POLICIES, type OverflowPolicy, type Subscription } from "../core/subscription.ts";

/**
 * What the suite may ask the server (or fake) behind an adapter, to check
 * promises against the server's own view rather than the adapter's
 * counters. Every member is optional: the tests that need a missing one are
 * registered as ignored.
 */
export interface ConformanceProbe {
  /**
   * How many subscriptions the client under test holds at the server now,
   * as the server sees them (nats-server's monitoring endpoint, a fake's
   * state). Only changes matter: the suite compares with a count taken
   * before it subscribed.
   */
  subscriptions?(): Promise<number>;
  /**
   * Whether the server has the message published to `topic` with `data`:
   * stored it, or accepted it for delivery.
   */
  has?(topic: string, data: Uint8Array): Promise<boolean>;
  /**
   * Makes the server withhold its publish confirmations (it may still take
   * the messages, or stop answering altogether) until
   * {@linkcode ConformanceProbe.release}.
   */
  hold?(): Promise<void>;
  /** Ends {@linkcode ConformanceProbe.hold}: the withheld confirmations go out. */
  release?(): Promise<void>;
}

/** What a conformance factory returns: a fresh adapter, and how to clean up. */
export interface ConformanceTarget {
  /** The adapter under test; the suite closes it at the end of each test. */
  pubsub: PubSub;
  /** A fresh topic for each call; default `conformance/<random>/<n>`. */
  topic?(n: number): string;
  /** Stops whatever the factory started (servers, fakes). */
  cleanup?(): Promise<void>;
  /** Asks the server behind `pubsub`; see {@linkcode ConformanceProbe}. */
  probe?: ConformanceProbe | undefined;
  /**
   * Restarts the server behind `pubsub` on the same address (state kept as
   * the real server keeps it); resolves once it accepts connections again.
   */
  restart?(): Promise<void>;
}

/** Makes a fresh {@linkcode ConformanceTarget} for each test. */
export type ConformanceFactory = () => ConformanceTarget | Promise<ConformanceTarget>;

/** How the suite registers a test; `Deno.test`'s shape. */
export type TestRegistrar = (definition: { name: string; fn: () => Promise<void>; ignore?: boolean }) => void;

/** Options of {@linkcode runConformance}. */
export interface ConformanceOptions {
  /** Messages in the "none lost or duplicated" test. Default 10 000. */
  messages?: number | undefined;
  /** Messages of 10 KiB published to a reader that never reads, in the memory tests. Default 5 000. */
  memoryMessages?: number | undefined;
  /**
   * How much the process's memory (V8 heap and external memory after a
   * forced GC) may grow while a reader that never reads is flooded, in
   * bytes. Default 4 MiB.
   */
  memoryGrowth?: number | undefined;
  /**
   * The most messages a subscription with this `highWaterMark` may hold in
   * every layer (what `buffered` reports), as the adapter documents.
   * Default `2 × highWaterMark`: the buffer, and under `"block"` as many
   * pushes waiting for room.
   */
  bound?: ((highWaterMark: number) => number) | undefined;
  /** Time allowed for each waiting step, in milliseconds. Default 10 000. */
  timeoutMs?: number | undefined;
  /** Registers a test; default `Deno.test`. */
  test?: TestRegistrar | undefined;
  /** Names (or name fragments) of tests to leave out, with the reason in your own docs. */
  skip?: readonly string[] | undefined;
  /** Receives a line with each measurement (memory growth, most held), e.g. `console.log`. */
  report?: ((line: string) => void) | undefined;
}

class ConformanceFailure extends Error {
  override name: string = "ConformanceFailure";
}

function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new ConformanceFailure(message);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Races a promise against a timer that is always cleared. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`, { timeoutMs: ms })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves `true` if the promise settles within `ms`, else `false` (the promise goes on). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` (every 10 ms) until it holds; false if it does not within `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

async function readN<M>(reader: ReadableStreamDefaultReader<M>, n: number, ms: number, what: string): Promise<M[]> {
  const out: M[] = [];
  await within(
    (async () => {
      while (out.length < n) {
        const { value, done } = await reader.read();
        if (done) throw new ConformanceFailure(`${what}: the stream ended after ${out.length} of ${n} messages`);
        out.push(value);
      }
    })(),
    ms,
    `${what}: reading ${n} messages (got ${out.length})`,
  ).catch((err) => {
    if (err instanceof TimeoutError) {
      throw new ConformanceFailure(`${what}: only ${out.length} of ${n} messages arrived in ${ms} ms`);
    }
    throw err;
  });
  return out;
}

async function throwsOrRejects(fn: () => unknown, type: new (...args: never[]) => Error, what: string): Promise<void> {
  let error: unknown;
  try {
    const r = fn();
    if (r instanceof Promise) await r;
    else if (r instanceof ReadableStream) {
      // A subscription that fails to start reports it through `ready`.
      const ready = (r as Partial<Subscription<unknown>>).ready;
      if (ready !== undefined) await ready;
      await r.cancel().catch(() => {});
    }
  } catch (err) {
    error = err;
  }
  check(
    error instanceof type,
    `${what}: expected ${type.name}, got ${error === undefined ? "no error" : String(error)}`,
  );
}

function indexOf(msg: Message): number {
  const text = new TextDecoder().decode(msg.data.subarray(0, 24));
  return Number(text.split(":")[0]);
}

const encoder = new TextEncoder();

/** A payload of exactly `size` bytes that starts with `<i>:`. */
function payload(i: number, size: number): Uint8Array {
  const head = encoder.encode(`${i}:`);
  const out = new Uint8Array(Math.max(size, head.length));
  out.fill(0x2e); // "."
  out.set(head);
  return out;
}

type Gc = () => void;
let gcFunction: Gc | undefined | null;

/**
 * The engine's garbage collector: `globalThis.gc` where the runtime was
 * started with `--v8-flags=--expose-gc`, else, under Deno, exposed through
 * `node:v8` and `node:vm`.
 */
async function collector(): Promise<Gc | undefined> {
  if (gcFunction !== undefined) return gcFunction ?? undefined;
  const g = (globalThis as { gc?: unknown }).gc;
  if (typeof g === "function") return gcFunction = g as Gc;
  gcFunction = null;
  if (!("Deno" in globalThis)) return undefined;
  try {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    const found = vm.runInNewContext("gc");
    if (typeof found === "function") gcFunction = found as Gc;
  } catch { /* no way to force a collection here */ }
  return gcFunction ?? undefined;
}

/** The V8 heap in use plus external memory (array buffers), after forced collections. */
async function memoryInUse(gc: Gc): Promise<number> {
  const usage = (globalThis as { Deno?: { memoryUsage(): { heapUsed: number; external: number } } }).Deno
    ?.memoryUsage;
  if (usage === undefined) throw new ConformanceFailure("Memory: Deno.memoryUsage() is not available");
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    await sleep(0);
    gc();
    const m = usage();
    best = Math.min(best, m.heapUsed + m.external);
  }
  return best;
}

const GAP_EVENTS = ["disconnected", "reconnecting", "reconnected", "missed"];

interface Context {
  ps: PubSub;
  target: ConformanceTarget;
  topic(): string;
  timeoutMs: number;
}

type Case = (ctx: Context) => Promise<void>;

/** What the suite learnt from one target at registration. */
interface Shape {
  capabilities: Capabilities;
  probe: { subscriptions: boolean; has: boolean; hold: boolean };
  restart: boolean;
}

/**
 * Registers the conformance tests for one adapter. It makes one target
 * first to read its capabilities and what its probe can tell, then
 * registers the tests; await it before the test run starts (top-level
 * `await` in a test module). Each test gets a fresh target from `factory`,
 * closes its `pubsub` and runs its `cleanup` at the end, with Deno's
 * sanitizers on. Tests that need a capability, a probe member or a restart
 * hook the target lacks are registered as ignored.
 *
 * Tests:
 * - round trip in order (with headers where carried); N messages with none
 *   lost or duplicated; several subscribers; the largest payload; invalid
 *   arguments (an overflow policy the adapter does not offer is a
 *   `TypeError`); use after close; `writable()` piping with receipts.
 * - memory, for each overflow policy offered: a reader that never reads
 *   while 5 000 × 10 KiB are published. What the subscription holds in
 *   every layer (`buffered`) stays within the documented bound, and the
 *   process's memory (heap and external memory after a forced GC) grows by
 *   less than `memoryGrowth`; then the reader reads: under `"block"`
 *   everything published arrives, under the drop policies `dropped` is
 *   what did not, under `"error"` the subscription failed with
 *   `OverflowError`.
 * - release: after `cancel()`, `break`, `close()` while piped, an aborted
 *   `signal` while piped and `close()` with a pending read, the
 *   subscription has ended; with a probe, the server sees it gone within
 *   2 s while the adapter stays open.
 * - receipts (where `confirmedPublish`): a publish does not resolve while
 *   the server withholds its confirmation, and once resolved the server has
 *   the message.
 * - restart (with a restart hook): publishing and reading go on through a
 *   server restart, publishes during the outage included;
 *   `"at-least-once"` loses nothing whose publish resolved (duplicates
 *   counted), `"at-most-once"` reports any loss as a status event.
 * - groups, settlement and wildcards where the capabilities say so.
 *
 * @example
 * ```ts ignore
 * import { MemoryPubSub, runConformance } from "@x/pubsub/testing";
 *
 * await runConformance("MemoryPubSub", () => ({ pubsub: new MemoryPubSub() }));
 * ```
 *
 * @param name A prefix for the test names.
 * @param factory Makes a fresh target for each test.
 * @param options Sizes, bounds, timeouts, the test registrar.
 * @returns Once every test is registered.
 */
export async function runConformance(
  name: string,
  factory: ConformanceFactory,
  options: ConformanceOptions = {},
): Promise<void> {
  const register: TestRegistrar = options.test ??
    ((def) => (globalThis as unknown as { Deno: { test: TestRegistrar } }).Deno.test(def));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const messages = options.messages ?? 10_000;
  const memoryMessages = options.memoryMessages ?? 5_000;
  const memoryGrowth = options.memoryGrowth ?? 4 * 1024 * 1024;
  const bound = options.bound ?? ((hwm: number) => 2 * hwm);
  const skip = options.skip ?? [];
  const report = options.report;

  const shape = await (async (): Promise<Shape> => {
    const target = await factory();
    try {
      const p = target.probe;
      return {
        capabilities: target.pubsub.capabilities,
        probe: {
          subscriptions: p?.subscriptions !== undefined,
          has: p?.has !== undefined,
          hold: p?.hold !== undefined && p.release !== undefined,
        },
        restart: target.restart !== undefined,
      };
    } finally {
      await target.pubsub.close();
      await target.cleanup?.();
    }
  })();
  const caps = shape.capabilities;

  const add = (title: string, body: Case, when = true) => {
    const full = `${name}: ${title}`;
    register({
      name: full,
      ignore: !when || skip.some((s) => title.includes(s)),
      fn: async () => {
        const target = await factory();
        const run = Math.random().toString(36).slice(2, 10);
        let n = 0;
        const topic = () => target.topic?.(n++) ?? `conformance/${run}/${n++}`;
        try {
          await body({ ps: target.pubsub, target, topic, timeoutMs });
        } finally {
          await target.pubsub.close();
          await target.cleanup?.();
        }
      },
    });
  };

  add("round-trips messages in order", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const count = 50;
    const sub = ps.subscribe(t, { highWaterMark: count });
    await within(sub.ready, timeoutMs, "Subscribing");
    for (let i = 0; i < count; i++) {
      await ps.publish(t, `${i}:payload`, ps.capabilities.headers ? { headers: { "x-conformance": String(i) } } : {});
    }
    const reader = sub.getReader();
    const got = await readN(reader, count, timeoutMs, "Round trip");
    const indices = got.map(indexOf);
    if (ps.capabilities.ordered) {
      check(indices.every((v, i) => v === i), `Round trip: messages arrived out of order: ${indices.join(",")}`);
    } else {
      check(new Set(indices).size === count, "Round trip: messages were lost or duplicated");
    }
    for (const msg of got) {
      check(msg.topic === t, `Round trip: topic ${msg.topic} is not ${t}`);
      check(msg.data instanceof Uint8Array, "Round trip: data is not a Uint8Array");
      check(msg.text() === `${indexOf(msg)}:payload`, `Round trip: payload ${msg.text()} was changed`);
      check(msg.headers instanceof Headers, "Round trip: headers is not a Headers");
      if (ps.capabilities.headers) {
        check(msg.headers.get("x-conformance") === String(indexOf(msg)), "Round trip: a header was lost");
      }
      if (msg.time !== undefined) check(msg.time instanceof Date && !isNaN(msg.time.getTime()), "Round trip: bad time");
      if (isSettleable(msg)) await msg.ack();
    }
    reader.releaseLock();
    await sub.close();
  });

  add(`delivers ${messages} messages with none lost or duplicated`, async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    // Where the source cannot be paused, a buffer that can take everything: none needs to be dropped.
    const sub = ps.subscribe(t, { highWaterMark: ps.capabilities.overflow.includes("block") ? 256 : messages });
    await within(sub.ready, timeoutMs, "Subscribing");
    const seen = new Uint8Array(messages);
    let received = 0;
    let duplicates = 0;
    const reading = (async () => {
      for await (const msg of sub) {
        const i = indexOf(msg);
        if (isSettleable(msg)) void msg.ack();
        if (seen[i] === 1) duplicates++;
        else seen[i] = 1;
        if (++received === messages) break;
      }
    })();
    const publishing = (async () => {
      const window: Promise<unknown>[] = [];
      for (let i = 0; i < messages; i++) {
        const p = ps.publish(t, `${i}:x`);
        p.catch(() => {}); // reported through the window below; never as an unhandled rejection
        window.push(p);
        if (window.length >= 64) await window.shift();
      }
      await Promise.all(window);
    })();
    const limit = timeoutMs * 6;
    await within(Promise.all([publishing, reading]), limit, `Delivering ${messages} messages (got ${received})`);
    check(duplicates === 0, `Delivery: ${duplicates} duplicates`);
    check(sub.dropped === 0, `Delivery: ${sub.dropped} dropped`);
    check(seen.every((v) => v === 1), "Delivery: some messages were lost");
  });

  for (const policy of OVERFLOW_POLICIES) {
    add(
      `holds memory bounded for a reader that never reads (overflow "${policy}")`,
      (ctx) => memoryCase(ctx, policy),
      caps.overflow.includes(policy),
    );
  }

  async function memoryCase({ ps, topic, timeoutMs }: Context, policy: OverflowPolicy): Promise<void> {
    const gc = await collector();
    check(gc !== undefined, "Memory: no way to force a garbage collection (run with --v8-flags=--expose-gc)");
    const t = topic();
    const hwm = 8;
    const limit = bound(hwm);
    const size = 10 * 1024;
    const total = memoryMessages;
    const windowSize = 16;
    const stallMs = 500;
    const sub = ps.subscribe(t, { highWaterMark: hwm, overflow: policy });
    await within(sub.ready, timeoutMs, "Subscribing");
    // A warm-up through the same path, read as it comes: buffers that grow once are grown before the measure.
    const warm = sub.getReader();
    for (let k = 0; k < 32; k++) {
      await within(ps.publish(t, payload(total + k, size)), timeoutMs, "Publishing (warm-up)");
      const { value } = await within(warm.read(), timeoutMs, "Reading (warm-up)");
      if (value !== undefined && isSettleable(value)) await value.ack();
    }
    warm.releaseLock();
    const before = await memoryInUse(gc);
    let maxBuffered = 0;
    const sampler = setInterval(() => maxBuffered = Math.max(maxBuffered, sub.buffered), 2);
    const outcomes: ("pending" | "resolved" | "rejected")[] = [];
    const publishes: Promise<unknown>[] = [];
    const inflight = new Set<Promise<unknown>>();
    let held = false;
    let failure: unknown;
    try {
      for (let i = 0; i < total && !held; i++) {
        outcomes.push("pending");
        const p = ps.publish(t, payload(i, size)).then(
          () => void (outcomes[i] = "resolved"),
          (err) => {
            outcomes[i] = "rejected";
            failure ??= err;
          },
        );
        publishes.push(p);
        inflight.add(p);
        void p.then(() => inflight.delete(p));
        while (inflight.size >= windowSize) {
          const progressed = await settlesWithin(Promise.race(inflight), policy === "block" ? stallMs : timeoutMs);
          if (progressed) continue;
          // Under "block" a publisher the system holds is the excess waiting where it should.
          check(policy === "block", `Memory: the publisher is held under "${policy}" after ${i + 1} publishes`);
          held = true;
          break;
        }
      }
      // Until the source has handed over what it will hand over: `buffered` and `dropped` stand still.
      let last = "";
      let stableSince = Date.now();
      await until(() => {
        const now = `${sub.buffered}/${sub.dropped}/${inflight.size}`;
        if (now !== last) {
          last = now;
          stableSince = Date.now();
        }
        return Date.now() - stableSince > 300;
      }, timeoutMs);
      maxBuffered = Math.max(maxBuffered, sub.buffered);
    } finally {
      clearInterval(sampler);
    }
    if (policy !== "block") {
      // One small message through the same connection on another topic: a transport keeping its last read alive
      // until the next one (nats.js does, with the whole WebSocket message) moves on to this one. (Under "block"
      // the source is paused, and with it, on some systems, the whole connection.)
      const after = topic();
      const flush = ps.subscribe(after);
      await within(flush.ready, timeoutMs, "Subscribing (after the flood)");
      await within(ps.publish(after, "0:after"), timeoutMs, "Publishing (after the flood)");
      const flushed = await readN(flush.getReader(), 1, timeoutMs, "After the flood");
      if (flushed[0] !== undefined && isSettleable(flushed[0])) await flushed[0].ack();
      await flush.close();
    }
    // What only passes through (a publisher's outgoing buffer, frames in flight) drains; what is held stays.
    let growth = (await memoryInUse(gc)) - before;
    const drainBy = Date.now() + timeoutMs;
    while (growth >= memoryGrowth && Date.now() < drainBy) {
      await sleep(250);
      growth = (await memoryInUse(gc)) - before;
    }
    const published = outcomes.length;
    report?.(
      `${name} "${policy}": ${published} × ${size} B published${
        held ? " (publisher held)" : ""
      }, most held ${maxBuffered}` +
        ` (bound ${limit}), process memory ${growth >= 0 ? "+" : ""}${(growth / 1048576).toFixed(2)} MiB`,
    );
    check(
      maxBuffered <= limit,
      `Memory: the subscription held ${maxBuffered} messages (buffered), over its bound of ${limit} (highWaterMark ${hwm})`,
    );
    check(
      growth < memoryGrowth,
      `Memory: the process grew by ${(growth / 1048576).toFixed(1)} MiB (limit ${
        (memoryGrowth / 1048576).toFixed(1)
      } MiB) while ${published} × ${size} bytes were published to a reader that never read (buffered ${sub.buffered})`,
    );
    check(
      failure === undefined || policy === "error",
      `Memory: a publish failed under "${policy}": ${String(failure)}`,
    );
    if (policy !== "block") {
      check(!held && published === total, `Memory: only ${published} of ${total} published under "${policy}"`);
    }
    const reader = sub.getReader();
    if (policy === "error") {
      let error: unknown;
      try {
        for (let r = 0; r <= limit + 1; r++) {
          const { done, value } = await within(reader.read(), timeoutMs, "Reading after the overflow");
          if (done) break;
          if (isSettleable(value)) await value.ack();
        }
      } catch (err) {
        error = err;
      }
      check(error instanceof OverflowError, `Memory: under "error" the read gave ${String(error)}, not OverflowError`);
      check((await sub.closed) instanceof OverflowError, "Memory: closed did not report the OverflowError");
      await within(Promise.allSettled(publishes), timeoutMs, "Publishes after the overflow");
      return;
    }
    const got: number[] = [];
    const seen = new Set<number>();
    let duplicates = 0;
    const expected = () =>
      policy === "block" ? outcomes.filter((o) => o !== "rejected").length : published - sub.dropped;
    const reading = (async () => {
      while (got.length < expected()) {
        const { done, value } = await reader.read();
        if (done) break;
        const i = indexOf(value);
        if (seen.has(i)) duplicates++;
        seen.add(i);
        got.push(i);
        if (isSettleable(value)) await value.ack();
      }
    })();
    const deadline = timeoutMs * 6;
    await within(reading, deadline, `Reading ${expected()} messages after the stall (got ${got.length})`).catch(
      (err) => {
        throw new ConformanceFailure(
          `Memory: after the stall, ${got.length} arrived, ${sub.dropped} dropped, of ${published} published: ${err}`,
        );
      },
    );
    await within(Promise.allSettled(publishes), timeoutMs, "Publishes held by the stalled reader");
    check(duplicates === 0, `Memory: ${duplicates} duplicates`);
    const resolved = outcomes.filter((o) => o === "resolved").length;
    if (policy === "block") {
      check(sub.dropped === 0, `Memory: "block" dropped ${sub.dropped} messages`);
      check(
        got.length === resolved,
        `Memory: under "block" ${got.length} arrived of ${resolved} whose publish resolved`,
      );
    } else {
      check(
        got.length + sub.dropped === published,
        `Memory: ${got.length} received + ${sub.dropped} dropped is not the ${published} published`,
      );
      check(sub.dropped > 0, `Memory: "${policy}" dropped nothing of ${published} unread messages`);
    }
    reader.releaseLock();
    await sub.close();
  }

  const releases: [string, (sub: Subscription<Message>, abort: AbortController) => Promise<void>][] = [
    ["cancel()", async (sub) => {
      const reader = sub.getReader();
      await reader.read();
      await reader.cancel("done");
    }],
    ["break out of for await", async (sub) => {
      for await (const _ of sub) break;
    }],
    ["close() while piped", async (sub) => {
      let closedDest = false;
      let first!: () => void;
      const wrote = new Promise<void>((resolve) => first = resolve);
      const piping = sub.pipeTo(
        new WritableStream({
          write: () => first(),
          close: () => void (closedDest = true),
        }),
      );
      await wrote;
      await sub.close();
      await piping;
      check(closedDest, "Release: close() did not close the pipe's destination");
    }],
    ["signal abort while piped", async (sub, abort) => {
      let first!: () => void;
      const wrote = new Promise<void>((resolve) => first = resolve);
      const piping = sub.pipeTo(new WritableStream({ write: () => first() }));
      await wrote;
      abort.abort(new Error("stop"));
      await piping.catch(() => {});
      const reason = await sub.closed;
      check(reason instanceof Error && reason.message === "stop", "Release: closed did not carry the abort reason");
    }],
    ["close() with a pending read", async (sub) => {
      const reader = sub.getReader();
      await reader.read();
      const pending = reader.read();
      await sub.close();
      const r = await pending;
      check(r.done === true, "Release: a pending read did not end on close()");
    }],
  ];
  for (const [how, end] of releases) {
    add(`releases the subscription on ${how}`, async ({ ps, topic, timeoutMs }) => {
      const t = topic();
      const abort = new AbortController();
      const sub = ps.subscribe(t, { highWaterMark: 1, signal: abort.signal });
      await within(sub.ready, timeoutMs, "Subscribing");
      await ps.publish(t, "0:first");
      await within(end(sub, abort), timeoutMs, `Ending by ${how}`);
      await within(sub.closed, timeoutMs, "closed");
      // A subscription that was not released would hold these (highWaterMark 1).
      const after = Promise.all(Array.from({ length: 10 }, (_, i) => ps.publish(t, `${i + 1}:after`)));
      await within(after, timeoutMs, "Publishing after the subscription ended");
    });
    add(`releases the subscription on the wire within 2 s on ${how}`, async ({ ps, target, topic, timeoutMs }) => {
      const count = target.probe!.subscriptions!.bind(target.probe);
      const t = topic();
      const otherTopic = topic();
      const other = ps.subscribe(otherTopic);
      await within(other.ready, timeoutMs, "Subscribing (a second subscription, kept)");
      const base = await count();
      const abort = new AbortController();
      const sub = ps.subscribe(t, { highWaterMark: 1, signal: abort.signal });
      await within(sub.ready, timeoutMs, "Subscribing");
      check(
        await until(async () => await count() > base, timeoutMs),
        `Release: the server never saw the subscription (it counts ${await count()}, as before)`,
      );
      const held = await count();
      await ps.publish(t, "0:first");
      await within(end(sub, abort), timeoutMs, `Ending by ${how}`);
      const gone = await until(async () => await count() <= base, 2_000);
      check(
        gone,
        `Release: after ${how} the server still counts ${await count()} subscriptions (${base} before, ${held} with it)`,
      );
      // The adapter stays open: the other subscription still works.
      await ps.publish(otherTopic, "1:still");
      const [still] = await readN(other.getReader(), 1, timeoutMs, "Release: the subscription kept");
      if (still !== undefined && isSettleable(still)) await still.ack();
      await other.close();
    }, shape.probe.subscriptions);
  }

  add("delivers every message to each of several subscribers", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const subs = [ps.subscribe(t), ps.subscribe(t), ps.subscribe(t)];
    await within(Promise.all(subs.map((s) => s.ready)), timeoutMs, "Subscribing");
    const count = 20;
    const reads = subs.map((s) => readN(s.getReader(), count, timeoutMs, "Several subscribers"));
    for (let i = 0; i < count; i++) await ps.publish(t, `${i}:fan`);
    for (const got of await Promise.all(reads)) {
      check(new Set(got.map(indexOf)).size === count, "Several subscribers: a subscriber missed messages");
      for (const m of got) if (isSettleable(m)) await m.ack();
    }
    await Promise.all(subs.map((s) => s.close()));
  });

  add("carries the largest payload allowed (up to 1 MiB)", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const size = Math.min(ps.capabilities.maxPayload, 1024 * 1024);
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
    const sub = ps.subscribe(t);
    await within(sub.ready, timeoutMs, "Subscribing");
    await within(ps.publish(t, data), timeoutMs, `Publishing ${size} bytes`);
    const [msg] = await readN(sub.getReader(), 1, timeoutMs, "Largest payload");
    check(msg !== undefined && equalBytes(msg.data, data), `Largest payload: the ${size} bytes came back changed`);
    if (isSettleable(msg)) await msg.ack();
    if (ps.capabilities.maxPayload < 64 * 1024 * 1024) {
      await throwsOrRejects(
        () => ps.publish(t, new Uint8Array(ps.capabilities.maxPayload + 1)),
        RangeError,
        "Publishing one byte over maxPayload",
      );
    }
    await sub.close();
  });

  add("rejects invalid arguments with TypeError or RangeError", async ({ ps, topic }) => {
    const t = topic();
    await throwsOrRejects(() => ps.subscribe(""), TypeError, "Subscribing to an empty topic");
    await throwsOrRejects(() => ps.subscribe(t, { highWaterMark: -1 }), RangeError, "A negative highWaterMark");
    await throwsOrRejects(() => ps.subscribe(t, { highWaterMark: 1.5 }), RangeError, "A fractional highWaterMark");
    await throwsOrRejects(
      () => ps.subscribe(t, { overflow: "bogus" as OverflowPolicy }),
      TypeError,
      "An unknown overflow policy",
    );
    check(ps.capabilities.overflow.length > 0, "Capabilities: no overflow policy is offered");
    check(
      ps.capabilities.overflow.every((p) => OVERFLOW_POLICIES.includes(p)),
      `Capabilities: overflow lists an unknown policy: ${ps.capabilities.overflow.join(", ")}`,
    );
    check(
      ps.capabilities.delivery === "at-least-once" || ps.capabilities.delivery === "at-most-once",
      `Capabilities: delivery ${String(ps.capabilities.delivery)} is not at-least-once or at-most-once`,
    );
    for (const policy of OVERFLOW_POLICIES) {
      if (ps.capabilities.overflow.includes(policy)) continue;
      await throwsOrRejects(
        () => ps.subscribe(t, { overflow: policy }),
        TypeError,
        `Overflow "${policy}", which capabilities.overflow does not offer`,
      );
    }
    await throwsOrRejects(() => ps.publish("", "x"), TypeError, "Publishing to an empty topic");
    await throwsOrRejects(() => ps.publish(t, 42 as unknown as string), TypeError, "Publishing a number");
    await throwsOrRejects(() => ps.writable(t, { maxInFlight: 0 }), RangeError, "maxInFlight 0");
    const writer = ps.writable(t).getWriter();
    await throwsOrRejects(() => writer.write({} as unknown as string), TypeError, "Writing a plain object");
    await writer.abort().catch(() => {});
  });

  add("gives ClosedError after close() and ends live subscriptions", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const sub = ps.subscribe(t);
    await within(sub.ready, timeoutMs, "Subscribing");
    const reader = sub.getReader();
    const pending = reader.read().then((r) => r.done, (err) => err instanceof ClosedError);
    await ps.close();
    check(await within(pending, timeoutMs, "A read ending on close()"), "Close: a live subscription did not end");
    await within(sub.closed, timeoutMs, "closed after the client closed");
    await ps.close();
    await throwsOrRejects(() => ps.publish(t, "x"), ClosedError, "Publishing after close()");
    await throwsOrRejects(() => ps.subscribe(t), ClosedError, "Subscribing after close()");
  });

  add("pipes a subscription into writable(), each write resolving on its receipt", async ({ ps, topic, timeoutMs }) => {
    const from = topic();
    const to = topic();
    const source = ps.subscribe(from);
    const target = ps.subscribe(to);
    await within(Promise.all([source.ready, target.ready]), timeoutMs, "Subscribing");
    const receipts: boolean[] = [];
    let allReceipts!: () => void;
    const received = new Promise<void>((resolve) => allReceipts = resolve);
    const count = 10;
    const piping = source.pipeTo(ps.writable(to, {
      onReceipt: (r) => {
        receipts.push(r.confirmed);
        if (receipts.length === count) allReceipts();
      },
    }));
    for (let i = 0; i < count; i++) {
      await ps.publish(from, `${i}:bridged`, ps.capabilities.headers ? { headers: { "x-hop": "1" } } : {});
    }
    const got = await readN(target.getReader(), count, timeoutMs, "Piping");
    check(new Set(got.map(indexOf)).size === count, "Piping: messages were lost or duplicated");
    if (ps.capabilities.headers) check(got.every((m) => m.headers.get("x-hop") === "1"), "Piping: headers were lost");
    for (const m of got) if (isSettleable(m)) await m.ack();
    // A system may deliver before it answers the publish: wait for the receipts.
    await within(received, timeoutMs, `Piping: ${receipts.length} receipts for ${count} writes`);
    check(
      receipts.every((c) => c === ps.capabilities.confirmedPublish),
      "Piping: receipts do not match capabilities.confirmedPublish",
    );
    await source.close();
    await within(piping, timeoutMs, "The pipe ending");
    await target.close();
  });

  add("does not resolve a confirmed publish while the server withholds its confirmation", async (ctx) => {
    const { ps, target, topic, timeoutMs } = ctx;
    const probe = target.probe!;
    const t = topic();
    const sub = ps.subscribe(t);
    await within(sub.ready, timeoutMs, "Subscribing");
    const data = encoder.encode(`0:held-${Math.random().toString(36).slice(2)}`);
    await probe.hold!();
    let settled = false;
    let pending: Promise<unknown> | undefined;
    let outcome = "";
    try {
      pending = ps.publish(t, data).then(
        (r) => outcome = `resolved (confirmed: ${r.confirmed})`,
        (err) => outcome = `rejected: ${err}`,
      ).finally(() => settled = true);
      // Time for an adapter that does not wait for the confirmation to resolve anyway.
      await settlesWithin(pending, 750);
      check(!settled, `Receipts: the publish ${outcome} while the server withheld its confirmation`);
    } finally {
      await probe.release!();
    }
    await within(pending, timeoutMs, "The publish after the confirmation");
    check(outcome === "resolved (confirmed: true)", `Receipts: after the confirmation, the publish ${outcome}`);
    if (probe.has !== undefined) {
      check(await probe.has(t, data), "Receipts: the publish resolved but the server does not have the message");
    }
    const [msg] = await readN(sub.getReader(), 1, timeoutMs, "Receipts");
    check(msg !== undefined && equalBytes(msg.data, data), "Receipts: the confirmed message did not arrive");
    if (isSettleable(msg)) await msg.ack();
    await sub.close();
  }, caps.confirmedPublish && shape.probe.hold);

  add("has every message on the server once its publish resolved", async ({ ps, target, topic, timeoutMs }) => {
    const probe = target.probe!;
    const t = topic();
    const sub = ps.subscribe(t, { highWaterMark: 64 });
    await within(sub.ready, timeoutMs, "Subscribing");
    for (let i = 0; i < 20; i++) {
      const data = encoder.encode(`${i}:stored-${Math.random().toString(36).slice(2)}`);
      const receipt = await within(ps.publish(t, data), timeoutMs, "Publishing");
      check(receipt.confirmed === true, "Receipts: a confirmed publish resolved without confirmed: true");
      check(await probe.has!(t, data), `Receipts: publish ${i} resolved before the server had the message`);
    }
    for (const m of await readN(sub.getReader(), 20, timeoutMs, "Receipts")) if (isSettleable(m)) await m.ack();
    await sub.close();
  }, caps.confirmedPublish && shape.probe.has);

  add(
    `keeps publishing and reading through a server restart (${caps.delivery})`,
    async ({ ps, target, topic, timeoutMs }) => {
      const t = topic();
      const events: string[] = [];
      let restarting = false;
      const onEvent = (ev: Event) => {
        if (restarting && GAP_EVENTS.includes(ev.type)) events.push(ev.type);
      };
      for (const type of GAP_EVENTS) ps.status.addEventListener(type, onEvent);
      const sub = ps.subscribe(t, { highWaterMark: 256 });
      await within(sub.ready, timeoutMs, "Subscribing");
      let ended: { reason: unknown } | undefined;
      void sub.closed.then((reason) => ended = { reason });
      const seen = new Map<number, number>();
      let wake: (() => void) | undefined;
      const reading = (async () => {
        for await (const msg of sub) {
          const i = indexOf(msg);
          seen.set(i, (seen.get(i) ?? 0) + 1);
          if (isSettleable(msg)) await msg.ack().catch(() => {});
          wake?.();
        }
      })();
      const total = 200;
      const outcomes: ("resolved" | "rejected")[] = [];
      let restarted: Promise<void> | undefined;
      try {
        for (let i = 0; i < total; i++) {
          if (i === total / 4) {
            restarting = true;
            restarted = target.restart!();
          }
          const p = ps.publish(t, `${i}:restart`);
          outcomes[i] = await within(p, timeoutMs * 2, `Publish ${i} during the restart`).then(
            () => "resolved" as const,
            () => "rejected" as const,
          );
          // Publishing goes on while the server is away: a few more publishes fall in the outage.
          if (restarted !== undefined && i < total / 2) await settlesWithin(restarted, 20);
        }
        await within(restarted!, timeoutMs * 3, "The restart");
        // The subscription comes back: a message published now arrives.
        let sentinel = total;
        const back = await until(async () => {
          if (seen.size > 0 && [...seen.keys()].some((k) => k >= total)) return true;
          await ps.publish(t, `${sentinel++}:sentinel`).catch(() => {});
          await settlesWithin(new Promise<void>((resolve) => wake = resolve), 250);
          return [...seen.keys()].some((k) => k >= total);
        }, timeoutMs * 3);
        check(ended === undefined, `Restart: the subscription ended (${String(ended?.reason)})`);
        check(back, "Restart: nothing published after the restart arrived");
        const resolved = outcomes.flatMap((o, i) => o === "resolved" ? [i] : []);
        const missing = () => resolved.filter((i) => !seen.has(i));
        if (caps.delivery === "at-least-once") {
          const all = await until(() => missing().length === 0, timeoutMs * 6);
          check(
            all,
            `Restart: ${missing().length} messages whose publish resolved were lost (at-least-once): ${
              missing().slice(0, 20).join(",")
            }`,
          );
        } else {
          const lost = missing();
          check(
            lost.length === 0 || events.length > 0,
            `Restart: ${lost.length} messages whose publish resolved were lost with no status event (at-most-once)`,
          );
        }
        const duplicates = [...seen.values()].filter((n) => n > 1).length;
        if (duplicates > 0 && caps.delivery === "at-most-once") {
          throw new ConformanceFailure(`Restart: ${duplicates} duplicates from an at-most-once system`);
        }
      } finally {
        for (const type of GAP_EVENTS) ps.status.removeEventListener(type, onEvent);
        await restarted?.catch(() => {});
        await sub.close();
        await reading.catch(() => {});
      }
    },
    shape.restart,
  );

  add("shares messages within a group", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const a = ps.subscribe(t, { group: "workers", highWaterMark: 256 });
    const b = ps.subscribe(t, { group: "workers", highWaterMark: 256 });
    await within(Promise.all([a.ready, b.ready]), timeoutMs, "Subscribing");
    const count = 100;
    const got: number[][] = [[], []];
    let all!: () => void;
    const done = new Promise<void>((resolve) => all = resolve);
    const drain = (s: Subscription<Message>, into: number[]) =>
      (async () => {
        for await (const m of s) {
          into.push(indexOf(m));
          if (isSettleable(m)) await m.ack();
          if (got[0]!.length + got[1]!.length >= count) all();
        }
      })();
    const draining = [drain(a, got[0]!), drain(b, got[1]!)];
    for (let i = 0; i < count; i++) await ps.publish(t, `${i}:group`);
    await within(done, timeoutMs, `Groups: ${got[0]!.length + got[1]!.length} of ${count} arrived`);
    // A duplicate would show up as more than `count`: give one a moment to come.
    await sleep(100);
    await Promise.all([a.close(), b.close()]);
    await Promise.all(draining);
    const both = [...got[0]!, ...got[1]!];
    check(both.length === count && new Set(both).size === count, `Groups: ${both.length} deliveries of ${count}`);
    check(got[0]!.length > 0 && got[1]!.length > 0, "Groups: one member got nothing");
  }, caps.groups);

  add("redelivers a nak'd message and not a term'd one", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const sub = ps.subscribe(t);
    await within(sub.ready, timeoutMs, "Subscribing");
    const reader = sub.getReader();
    await ps.publish(t, "0:settle");
    const [first] = await readN(reader, 1, timeoutMs, "Settle");
    check(first !== undefined && isSettleable(first), "Settle: the message has no ack/nak/term");
    await first.nak();
    const [again] = await readN(reader, 1, timeoutMs, "Settle (redelivery)");
    check(again !== undefined && again.text() === "0:settle", "Settle: the nak'd message was not redelivered");
    if (isSettleable(again)) await again.term();
    await ps.publish(t, "1:settle");
    const [next] = await readN(reader, 1, timeoutMs, "Settle (after term)");
    check(next !== undefined && next.text() === "1:settle", "Settle: a term'd message came back");
    if (isSettleable(next)) await next.ack();
    reader.releaseLock();
    await sub.close();
  }, caps.settle);

  add("matches wildcards in the system's syntax", async ({ ps, topic, timeoutMs }) => {
    const syntax = ps.capabilities.wildcards;
    const base = topic();
    const sep = syntax === "nats" ? "." : "/";
    const pattern = syntax === "glob" ? `${base}/*` : syntax === "nats" ? `${base}.*` : base;
    const sub = ps.subscribe(pattern);
    await within(sub.ready, timeoutMs, "Subscribing");
    if (syntax !== "prefix") await ps.publish(`${base}${sep}a${sep}deeper`, "0:no");
    await ps.publish(`${base}${sep}a`, "1:yes");
    const [msg] = await readN(sub.getReader(), 1, timeoutMs, "Wildcards");
    check(msg !== undefined && msg.text() === "1:yes", `Wildcards: ${pattern} matched ${msg?.topic}`);
    check(msg.topic === `${base}${sep}a`, `Wildcards: the message's topic ${msg.topic} is not the published one`);
    if (isSettleable(msg)) await msg.ack();
    await sub.close();
  }, caps.wildcards !== "none");
}
