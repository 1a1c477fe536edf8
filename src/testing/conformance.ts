/**
 * The conformance suite every system's adapter runs, in the manner of
 * Watermill's universal pub/sub tests: it reads the adapter's
 * `capabilities` to pick its tests and sizes.
 *
 * @module
 */

import { ClosedError, OverflowError, TimeoutError } from "../core/errors.ts";
import { isSettleable, type Message } from "../core/message.ts";
import type { PubSub } from "../core/pubsub.ts";
import { OVERFLOW_POLICIES, type OverflowPolicy, type Subscription } from "../core/subscription.ts";

/** What a conformance factory returns: a fresh adapter, and how to clean up. */
export interface ConformanceTarget {
  /** The adapter under test; the suite closes it at the end of each test. */
  pubsub: PubSub;
  /** A fresh topic for each call; default `conformance/<random>/<n>`. */
  topic?(n: number): string;
  /** Stops whatever the factory started (servers, fakes). */
  cleanup?(): Promise<void>;
}

/** Makes a fresh {@linkcode ConformanceTarget} for each test. */
export type ConformanceFactory = () => ConformanceTarget | Promise<ConformanceTarget>;

/** How the suite registers a test; `Deno.test`'s shape. */
export type TestRegistrar = (definition: { name: string; fn: () => Promise<void>; ignore?: boolean }) => void;

/** Options of {@linkcode runConformance}. */
export interface ConformanceOptions {
  /** Messages in the "none lost or duplicated" test. Default 10 000. */
  messages?: number | undefined;
  /** The overflow policies the adapter's subscriptions honour. Default all four. */
  overflow?: readonly OverflowPolicy[] | undefined;
  /** Time allowed for each waiting step, in milliseconds. Default 10 000. */
  timeoutMs?: number | undefined;
  /** Registers a test; default `Deno.test`. */
  test?: TestRegistrar | undefined;
  /** Names (or name fragments) of tests to leave out, with the reason in your own docs. */
  skip?: readonly string[] | undefined;
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
  return Number(msg.text().split(":")[0]);
}

interface Context {
  ps: PubSub;
  topic(): string;
  timeoutMs: number;
}

type Case = (ctx: Context) => Promise<void>;

/**
 * Registers the conformance tests for one adapter. Each test gets a fresh
 * target from `factory`, closes its `pubsub` and runs its `cleanup` at the
 * end, with Deno's sanitizers on.
 *
 * Tests: round-trip in order (with headers where carried); N messages with
 * none lost or duplicated; a reader that stops reading keeps the buffer
 * bounded under each overflow policy (measured through `buffered`,
 * `dropped` and what arrives); `cancel()`, `break`, `close()` and `signal`
 * release the subscription, also while piped; several concurrent
 * subscribers; the largest payload allowed (up to 1 MiB); invalid
 * arguments; use after close; `writable()` piping with receipts; and, where
 * the capabilities say so, groups, settlement and wildcards.
 *
 * @example
 * ```ts ignore
 * import { MemoryPubSub, runConformance } from "@x/pubsub/testing";
 *
 * runConformance("MemoryPubSub", () => ({ pubsub: new MemoryPubSub() }));
 * ```
 *
 * @param name A prefix for the test names.
 * @param factory Makes a fresh target for each test.
 * @param options Sizes, policies, timeouts, the test registrar.
 */
export function runConformance(name: string, factory: ConformanceFactory, options: ConformanceOptions = {}): void {
  const register: TestRegistrar = options.test ??
    ((def) => (globalThis as unknown as { Deno: { test: TestRegistrar } }).Deno.test(def));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const messages = options.messages ?? 10_000;
  const policies = options.overflow ?? OVERFLOW_POLICIES;
  const skip = options.skip ?? [];

  const add = (title: string, body: Case, when: (ps: PubSub) => boolean = () => true) => {
    const full = `${name}: ${title}`;
    register({
      name: full,
      ignore: skip.some((s) => title.includes(s)),
      fn: async () => {
        const target = await factory();
        const run = Math.random().toString(36).slice(2, 10);
        let n = 0;
        const topic = () => target.topic?.(n++) ?? `conformance/${run}/${n++}`;
        try {
          if (when(target.pubsub)) await body({ ps: target.pubsub, topic, timeoutMs });
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
    const sub = ps.subscribe(t, { highWaterMark: 256 });
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
    check(seen.every((v) => v === 1), "Delivery: some messages were lost");
  });

  for (const policy of policies) {
    add(`keeps a stalled reader's buffer bounded (overflow "${policy}")`, async ({ ps, topic, timeoutMs }) => {
      const t = topic();
      const hwm = 8;
      const sub = ps.subscribe(t, { highWaterMark: hwm, overflow: policy });
      await within(sub.ready, timeoutMs, "Subscribing");
      const total = 200;
      const publishes: Promise<unknown>[] = [];
      let published = 0;
      let maxBuffered = 0;
      for (let i = 0; i < total; i++) {
        const p = ps.publish(t, `${i}:stalled`);
        p.catch(() => {});
        publishes.push(p);
        published++;
        if (!(await settlesWithin(p, 250))) {
          break;
        }
        maxBuffered = Math.max(maxBuffered, sub.buffered);
      }
      await sleep(200);
      maxBuffered = Math.max(maxBuffered, sub.buffered);
      check(maxBuffered <= hwm, `Stalled reader: ${maxBuffered} messages buffered, over the highWaterMark ${hwm}`);
      if (policy === "error") {
        // Either the system held the messages (a pull source: all arrive), or the
        // subscription failed with OverflowError.
        const reader = sub.getReader();
        let received = 0;
        let error: unknown;
        try {
          while (received < published) {
            const r = await within(reader.read(), timeoutMs, "Reading after the stall");
            if (r.done) break;
            received++;
            if (isSettleable(r.value)) await r.value.ack();
          }
        } catch (err) {
          error = err;
        }
        if (error === undefined) {
          check(received === published, `Stalled reader: ${received} of ${published} arrived, without an error`);
          await sub.close();
          return;
        }
        check(error instanceof OverflowError, `Stalled reader: expected OverflowError, got ${String(error)}`);
        check((await sub.closed) instanceof OverflowError, "Stalled reader: closed did not report the OverflowError");
        await within(Promise.allSettled(publishes), timeoutMs, "Publishes after the overflow");
        return;
      }
      const reader = sub.getReader();
      const got: number[] = [];
      const deadline = Date.now() + timeoutMs;
      while (got.length + sub.dropped < published && Date.now() < deadline) {
        const r = await within(reader.read(), timeoutMs, "Reading after the stall");
        if (r.done) break;
        got.push(indexOf(r.value));
        if (isSettleable(r.value)) await r.value.ack();
        maxBuffered = Math.max(maxBuffered, sub.buffered);
      }
      await within(Promise.allSettled(publishes), timeoutMs, "Publishes held by the stalled reader");
      check(maxBuffered <= hwm, `Stalled reader: ${maxBuffered} messages buffered, over the highWaterMark ${hwm}`);
      check(
        got.length + sub.dropped === published,
        `Stalled reader: ${got.length} received + ${sub.dropped} dropped is not the ${published} published`,
      );
      check(new Set(got).size === got.length, "Stalled reader: duplicates");
      if (policy === "block") {
        check(sub.dropped === 0, `Stalled reader: "block" dropped ${sub.dropped} messages`);
      } else {
        check(sub.dropped > 0, `Stalled reader: "${policy}" dropped nothing of ${published} unread messages`);
        if (ps.capabilities.ordered && got.length > 0) {
          check(got.every((v, i) => i === 0 || v > got[i - 1]!), `Stalled reader: out of order: ${got.join(",")}`);
          if (policy === "drop-oldest" && sub.dropped > 0) {
            check(got.at(-1) === published - 1, `Stalled reader: "drop-oldest" lost the newest message`);
          }
          if (policy === "drop-newest" && sub.dropped > 0) {
            check(got[0] === 0, `Stalled reader: "drop-newest" lost the oldest`);
          }
        }
      }
      reader.releaseLock();
      await sub.close();
    });
  }

  const releases: [string, (sub: Subscription<Message>) => Promise<void>][] = [
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
      const piping = sub.pipeTo(new WritableStream({ close: () => void (closedDest = true) }));
      await sleep(20);
      await sub.close();
      await piping;
      check(closedDest, "Release: close() did not close the pipe's destination");
    }],
    ["signal abort while piped", async () => {}],
    ["close() with a pending read", async (sub) => {
      const reader = sub.getReader();
      await reader.read();
      const pending = reader.read();
      await sleep(20);
      await sub.close();
      const r = await pending;
      check(r.done === true, "Release: a pending read did not end on close()");
    }],
  ];
  for (const [how, end] of releases) {
    add(`releases the subscription on ${how}`, async ({ ps, topic, timeoutMs }) => {
      const t = topic();
      const abort = new AbortController();
      const sub = ps.subscribe(t, { highWaterMark: 1, overflow: "block", signal: abort.signal });
      await within(sub.ready, timeoutMs, "Subscribing");
      await ps.publish(t, "0:first");
      if (how.startsWith("signal")) {
        const piping = sub.pipeTo(new WritableStream());
        await sleep(20);
        abort.abort(new Error("stop"));
        await within(piping, timeoutMs, "The pipe ending after abort");
        const reason = await within(sub.closed, timeoutMs, "closed after abort");
        check(reason instanceof Error && reason.message === "stop", "Release: closed did not carry the abort reason");
      } else {
        await within(end(sub), timeoutMs, `Ending by ${how}`);
        await within(sub.closed, timeoutMs, "closed");
      }
      // A subscription that was not released would hold these (highWaterMark 1, "block").
      const after = Promise.all(Array.from({ length: 10 }, (_, i) => ps.publish(t, `${i + 1}:after`)));
      await within(after, timeoutMs, "Publishing after the subscription ended");
    });
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
    const piping = source.pipeTo(ps.writable(to, { onReceipt: (r) => receipts.push(r.confirmed) }));
    const count = 10;
    for (let i = 0; i < count; i++) {
      await ps.publish(from, `${i}:bridged`, ps.capabilities.headers ? { headers: { "x-hop": "1" } } : {});
    }
    const got = await readN(target.getReader(), count, timeoutMs, "Piping");
    check(new Set(got.map(indexOf)).size === count, "Piping: messages were lost or duplicated");
    if (ps.capabilities.headers) check(got.every((m) => m.headers.get("x-hop") === "1"), "Piping: headers were lost");
    for (const m of got) if (isSettleable(m)) await m.ack();
    // A system may deliver before it answers the publish: wait for the receipts.
    const deadline = Date.now() + timeoutMs;
    while (receipts.length < count && Date.now() < deadline) await sleep(10);
    check(receipts.length >= count, `Piping: ${receipts.length} receipts for ${count} writes`);
    check(
      receipts.every((c) => c === ps.capabilities.confirmedPublish),
      "Piping: receipts do not match capabilities.confirmedPublish",
    );
    await source.close();
    await within(piping, timeoutMs, "The pipe ending");
    await target.close();
  });

  add("shares messages within a group", async ({ ps, topic, timeoutMs }) => {
    if (!ps.capabilities.groups) return;
    const t = topic();
    const a = ps.subscribe(t, { group: "workers", highWaterMark: 256 });
    const b = ps.subscribe(t, { group: "workers", highWaterMark: 256 });
    await within(Promise.all([a.ready, b.ready]), timeoutMs, "Subscribing");
    const count = 100;
    const got: number[][] = [[], []];
    const drain = (s: Subscription<Message>, into: number[]) =>
      (async () => {
        for await (const m of s) {
          into.push(indexOf(m));
          if (isSettleable(m)) await m.ack();
        }
      })();
    const draining = [drain(a, got[0]!), drain(b, got[1]!)];
    for (let i = 0; i < count; i++) await ps.publish(t, `${i}:group`);
    const deadline = Date.now() + timeoutMs;
    while (got[0]!.length + got[1]!.length < count && Date.now() < deadline) await sleep(10);
    await sleep(100);
    await Promise.all([a.close(), b.close()]);
    await Promise.all(draining);
    const all = [...got[0]!, ...got[1]!];
    check(all.length === count && new Set(all).size === count, `Groups: ${all.length} deliveries of ${count}`);
    check(got[0]!.length > 0 && got[1]!.length > 0, "Groups: one member got nothing");
  });

  add("redelivers a nak'd message and not a term'd one", async ({ ps, topic, timeoutMs }) => {
    if (!ps.capabilities.settle) return;
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
  });

  add("matches wildcards in the system's syntax", async ({ ps, topic, timeoutMs }) => {
    const syntax = ps.capabilities.wildcards;
    if (syntax === "none") return;
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
  });
}
