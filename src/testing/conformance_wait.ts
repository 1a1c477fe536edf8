/**
 * How the conformance suite waits and checks: every wait is bounded (on
 * `core/async.ts`), and every broken promise is a `ConformanceFailure` with
 * a message saying what was seen.
 *
 * @module
 */

import { delay, withDeadline } from "../core/async.ts";
import { TimeoutError } from "../core/errors.ts";
import type { Subscription } from "../core/subscription.ts";

/** A promise the adapter under test did not keep. */
export class ConformanceFailure extends Error {
  override name: string = "ConformanceFailure";
}

export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new ConformanceFailure(message);
}

/** Races a promise against a timer that is always cleared. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(ms, promise, { error: `${what} timed out after ${ms} ms` });
}

/** Resolves `true` if the promise settles within `ms`, else `false` (the promise goes on). */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return withDeadline(ms, promise.then(() => true, () => true)).catch(() => false);
}

/** Polls `condition` (every 10 ms) until it holds; false if it does not within `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await delay(10);
  }
  return true;
}

export async function readN<M>(
  reader: ReadableStreamDefaultReader<M>,
  n: number,
  ms: number,
  what: string,
): Promise<M[]> {
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

export async function throwsOrRejects(
  fn: () => unknown,
  type: new (...args: never[]) => Error,
  what: string,
): Promise<void> {
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
