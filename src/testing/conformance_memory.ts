/**
 * The conformance cases of bounded memory: for each overflow policy
 * offered, a reader that never reads while thousands of 10 KiB messages are
 * published, measured in what the subscription holds and in the process's
 * own memory after a forced garbage collection.
 *
 * @module
 */

import { delay } from "../core/async.ts";
import { OverflowError } from "../core/errors.ts";
import { isSettleable } from "../core/message.ts";
import { OVERFLOW_POLICIES, type OverflowPolicy } from "../core/source.ts";
import { type CaseContext, indexOf, payload, type Suite } from "./conformance_case.ts";
import { check, ConformanceFailure, readN, settlesWithin, until, within } from "./conformance_wait.ts";

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
    await delay(0);
    gc();
    const m = usage();
    best = Math.min(best, m.heapUsed + m.external);
  }
  return best;
}

/** Registers one memory case per overflow policy the adapter offers. */
export function memoryCases(suite: Suite): void {
  const { add, caps, name, bound, memoryMessages, memoryGrowth, report } = suite;
  for (const policy of OVERFLOW_POLICIES) {
    add(
      `holds memory bounded for a reader that never reads (overflow "${policy}")`,
      (ctx) => memoryCase(ctx, policy),
      caps.overflow.includes(policy),
    );
  }

  async function memoryCase({ ps, topic, timeoutMs }: CaseContext, policy: OverflowPolicy): Promise<void> {
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
      await delay(250);
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
}
