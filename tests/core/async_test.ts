import assert from "node:assert/strict";
import { delay, withDeadline } from "../../src/core/async.ts";
import { TimeoutError } from "../../src/core/errors.ts";

// deno test's sanitizers do not see a pending timer (Deno 2.9): `armedAfter` counts the armed ones itself.

/** Runs `fn` with setTimeout/clearTimeout wrapped, and returns how many timers were still armed at its end. */
async function armedAfter(fn: () => Promise<void>): Promise<number> {
  type Id = ReturnType<typeof setTimeout>;
  const armed = new Set<Id>();
  const set = globalThis.setTimeout;
  const clear = globalThis.clearTimeout;
  const g = globalThis as unknown as Record<"setTimeout" | "clearTimeout", unknown>;
  g.setTimeout = (cb: () => void, ms?: number): Id => {
    const id = set(() => {
      armed.delete(id);
      cb();
    }, ms);
    armed.add(id);
    return id;
  };
  g.clearTimeout = (id?: Id) => {
    if (id !== undefined) armed.delete(id);
    clear(id);
  };
  try {
    await fn();
  } finally {
    g.setTimeout = set;
    g.clearTimeout = clear;
  }
  for (const id of armed) clear(id);
  return armed.size;
}

Deno.test("delay() resolves after the time given", async () => {
  const t0 = performance.now();
  await delay(30);
  assert.ok(performance.now() - t0 >= 29, "it resolved early");
});

Deno.test("delay() resolves at once when its signal aborts, releasing its timer", async () => {
  const armed = await armedAfter(async () => {
    const stop = new AbortController();
    let resolved = false;
    const waiting = delay(600_000, stop.signal).then(() => resolved = true);
    await Promise.resolve();
    assert.equal(resolved, false);
    stop.abort(new Error("stop"));
    await waiting;
    assert.equal(resolved, true);
    await delay(600_000, stop.signal); // already aborted: at once
  });
  assert.equal(armed, 0, "a timer was left armed");
});

Deno.test("delay() removes its abort listener when the time is up", async () => {
  const stop = new AbortController();
  let calls = 0;
  const signal = stop.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    calls++;
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    calls--;
    remove(...args);
  };
  await delay(1, signal);
  assert.equal(calls, 0, "the listener added was not removed");
});

Deno.test("withDeadline() rejects with a TimeoutError at the deadline even when the work ignores its signal", async () => {
  let seen: AbortSignal | undefined;
  const err = await withDeadline(20, (signal) => {
    seen = signal;
    return new Promise<never>(() => {}); // never settles, never looks at the signal
  }).catch((e: unknown) => e);
  assert.ok(err instanceof TimeoutError);
  assert.equal(err.message, "Timed out after 20 ms");
  assert.equal(err.timeoutMs, 20);
  assert.equal(seen?.aborted, true, "the work's signal was not aborted");
  assert.equal(seen?.reason, err, "the work's signal aborts with the same error");
});

Deno.test("withDeadline() keeps the caller's wording: a message, or any value from a function", async () => {
  const never = new Promise<never>(() => {});
  const a = await withDeadline(5, never, { error: "Waiting for CONFIRM timed out after 5 ms" }).catch((e) => e);
  assert.ok(a instanceof TimeoutError);
  assert.equal(a.message, "Waiting for CONFIRM timed out after 5 ms");
  assert.equal(a.timeoutMs, 5);
  const b = await withDeadline(5, never, { error: (ms) => new RangeError(`MDB config: timed out after ${ms} ms`) })
    .catch((e) => e);
  assert.ok(b instanceof RangeError);
  assert.equal(b.message, "MDB config: timed out after 5 ms");
});

Deno.test("withDeadline() resolves with the work's value in time, and rejects with its error, clearing its timer", async () => {
  const armed = await armedAfter(async () => {
    assert.equal(await withDeadline(60_000, (signal) => Promise.resolve(signal.aborted ? -1 : 7)), 7);
    assert.equal(await withDeadline(60_000, Promise.resolve("given")), "given");
    await assert.rejects(withDeadline(60_000, Promise.reject(new TypeError("own"))), TypeError);
    await assert.rejects(
      withDeadline(60_000, () => {
        throw new SyntaxError("sync");
      }),
      SyntaxError,
    );
  });
  assert.equal(armed, 0, "a timer was left armed");
});

Deno.test("withDeadline() hands a value that arrives after the deadline to onLate, and ignores a late failure", async () => {
  let release!: (v: { closed: boolean }) => void;
  const late: { closed: boolean }[] = [];
  const value = { closed: false };
  const p = withDeadline(5, new Promise<{ closed: boolean }>((r) => release = r), {
    onLate: (v) => {
      v.closed = true;
      late.push(v);
    },
  });
  await assert.rejects(p, TimeoutError);
  release(value);
  await delay(0);
  assert.deepEqual(late, [value]);
  assert.equal(value.closed, true);
  // A failure after the deadline is not an unhandled rejection (deno test would fail the test).
  let fail!: (e: unknown) => void;
  await assert.rejects(withDeadline(5, new Promise((_, r) => fail = r)), TimeoutError);
  fail(new Error("late"));
  await delay(0);
});

Deno.test("withDeadline() follows an outer signal: the work's signal aborts and the promise rejects with its reason", async () => {
  const outer = new AbortController();
  let seen: AbortSignal | undefined;
  const why = new Error("shutting down");
  const armed = await armedAfter(async () => {
    const p = withDeadline(600_000, (signal) => {
      seen = signal;
      return new Promise<never>(() => {});
    }, { signal: outer.signal });
    outer.abort(why);
    await assert.rejects(p, (e) => e === why);
  });
  assert.equal(armed, 0, "the deadline's timer was left armed");
  assert.equal(seen?.reason, why);
  // Already aborted: the work function is never called.
  let called = false;
  await assert.rejects(
    withDeadline(600_000, () => {
      called = true;
      return 1;
    }, { signal: outer.signal }),
    (e) => e === why,
  );
  assert.equal(called, false);
});

Deno.test("withDeadline() sets no timer for Infinity and refuses a negative time", async () => {
  assert.equal(await withDeadline(Infinity, Promise.resolve(1)), 1);
  await assert.rejects(withDeadline(-1, Promise.resolve(1)), RangeError);
  await assert.rejects(withDeadline(NaN, Promise.resolve(1)), RangeError);
});
