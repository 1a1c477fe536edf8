/**
 * The two timing helpers every system uses: an abortable {@linkcode delay}
 * and a {@linkcode withDeadline} that bounds a piece of work. Both always
 * release their timer and their abort listener, so `deno test`'s sanitizers
 * see nothing left behind.
 *
 * @module
 */

import { TimeoutError } from "./errors.ts";

/**
 * Waits `ms` milliseconds, or less when `signal` aborts: the promise then
 * resolves at once (it never rejects). The timer and the abort listener are
 * released either way. A caller that must fail on abort checks the signal
 * after the wait (`signal.throwIfAborted()`).
 *
 * @example Waiting, and stopping a wait early
 * ```ts
 * import { delay } from "./async.ts";
 *
 * await delay(5);
 * const stop = new AbortController();
 * const waiting = delay(60_000, stop.signal);
 * stop.abort();
 * await waiting; // resolves now, not in a minute
 * console.log(stop.signal.aborted); // true
 * ```
 *
 * @param ms How long to wait, in milliseconds (0 or less waits one timer tick).
 * @param signal Ends the wait early when aborted (also when already aborted).
 * @returns A promise that resolves after `ms`, or when `signal` aborts.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Options of {@linkcode withDeadline}. */
export interface DeadlineOptions<T> {
  /**
   * Ends the work early: when it aborts, the work's signal aborts with the
   * same reason and the returned promise rejects with it.
   */
  signal?: AbortSignal | undefined;
  /**
   * What the returned promise rejects with at the deadline (the work's signal
   * aborts with it too): a message for a {@linkcode TimeoutError} (with
   * `timeoutMs` set), or a function of `ms` making the value. Default a
   * `TimeoutError` "Timed out after `ms` ms".
   */
  error?: string | ((ms: number) => unknown) | undefined;
  /**
   * Disposes of a value the work produces after the promise was already
   * rejected (deadline passed, or `signal` aborted): a connection that opened
   * too late, say. Errors it throws are ignored.
   */
  onLate?: ((value: T) => void | Promise<void>) | undefined;
}

/**
 * Runs `work` with a time limit. `work` is given a signal that aborts at the
 * deadline (or when `options.signal` aborts); the returned promise rejects
 * at that moment even if `work` ignores its signal, with a
 * {@linkcode TimeoutError} (or `options.error`). The timer and listeners are
 * always released. A value that arrives after the rejection goes to
 * `options.onLate`; a late failure is ignored. When `options.signal` is
 * already aborted, a `work` function is not called at all.
 *
 * @example A deadline with the caller's own wording
 * ```ts
 * import { withDeadline } from "./async.ts";
 * import { TimeoutError } from "./errors.ts";
 *
 * const never = (signal: AbortSignal) =>
 *   new Promise<string>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
 * try {
 *   await withDeadline(10, never, { error: "Waiting for the reply timed out after 10 ms" });
 * } catch (err) {
 *   console.log(err instanceof TimeoutError, (err as Error).message);
 *   // true Waiting for the reply timed out after 10 ms
 * }
 * console.log(await withDeadline(1000, Promise.resolve(42))); // 42
 * ```
 *
 * @typeParam T What the work resolves to.
 * @param ms The time limit in milliseconds; `Infinity` sets no timer.
 * @param work A function of the deadline's signal, or a promise already running.
 * @param options An outer signal, the error to reject with, and what to do with a late value.
 * @returns What `work` resolves to, if it does so in time.
 * @throws {RangeError} When `ms` is negative or not a number.
 * @throws {TimeoutError} At the deadline (unless `options.error` says otherwise).
 */
export function withDeadline<T>(
  ms: number,
  work: Promise<T> | ((signal: AbortSignal) => T | Promise<T>),
  options: DeadlineOptions<T> = {},
): Promise<T> {
  if (typeof ms !== "number" || !(ms >= 0)) {
    return Promise.reject(new RangeError(`Setting a deadline failed: ${String(ms)} ms is not a number of 0 or more`));
  }
  const { signal: outer, error, onLate } = options;
  return new Promise<T>((resolve, reject) => {
    const ctrl = new AbortController();
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    };
    const fail = (reason: unknown) => {
      if (settled) return;
      finish();
      ctrl.abort(reason);
      reject(reason);
    };
    const onAbort = () => fail(outer!.reason);
    if (outer?.aborted) {
      fail(outer.reason);
      if (typeof work === "function") return; // never started
    } else {
      outer?.addEventListener("abort", onAbort, { once: true });
      if (ms !== Infinity) timer = setTimeout(() => fail(timeoutReason(ms, error)), ms);
    }
    let running: Promise<T>;
    try {
      running = Promise.resolve(typeof work === "function" ? work(ctrl.signal) : work);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (value) => {
        if (!settled) {
          finish();
          resolve(value);
        } else if (onLate !== undefined) {
          try {
            void Promise.resolve(onLate(value)).catch(() => {});
          } catch { /* disposing is best effort */ }
        }
      },
      (err) => {
        if (!settled) {
          finish();
          reject(err);
        }
      },
    );
  });
}

function timeoutReason(ms: number, error: DeadlineOptions<unknown>["error"]): unknown {
  if (typeof error === "function") return error(ms);
  return new TimeoutError(error ?? `Timed out after ${ms} ms`, { timeoutMs: ms });
}
