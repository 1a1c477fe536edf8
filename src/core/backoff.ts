/**
 * The reconnection delay policy: exponential backoff with a cap and jitter.
 * Pure. Its defaults are stream-sea's (the first system to use it); other
 * systems pass their own.
 *
 * @module
 */

/**
 * How a subscription reconnects after its socket drops. The defaults keep
 * the reference client's 3 s first delay, then double it up to 30 s, with
 * ±20 % jitter so that many clients do not return in lockstep.
 *
 * @example
 * ```ts
 * import type { ReconnectOptions } from "@x/pubsub/streamsea";
 *
 * const fixedDelay: ReconnectOptions = { delayMs: 3000, factor: 1, jitter: 0 }; // the JS client's behaviour
 * console.log(fixedDelay.delayMs); // 3000
 * ```
 */
export interface ReconnectOptions {
  /** The first delay, in milliseconds. Default 3000 (the JS client's fixed delay). */
  delayMs?: number | undefined;
  /** The longest delay, in milliseconds. Default 30 000. */
  maxDelayMs?: number | undefined;
  /** Each further attempt waits this many times longer. Default 2 (1 gives a fixed delay). */
  factor?: number | undefined;
  /** The fraction by which each delay is randomly shortened or lengthened, 0 to 1. Default 0.2. */
  jitter?: number | undefined;
  /** Give up after this many failed attempts in a row. Default `Infinity`. */
  maxAttempts?: number | undefined;
}

/** {@linkcode ReconnectOptions} with every default filled in. */
export type ResolvedReconnectOptions = { readonly [K in keyof ReconnectOptions]-?: number };

/**
 * Checks reconnect options and fills in the defaults.
 *
 * @example
 * ```ts
 * import { resolveReconnectOptions } from "./backoff.ts";
 *
 * console.log(resolveReconnectOptions({ delayMs: 100 }).maxDelayMs); // 30000
 * ```
 *
 * @param options What the user gave.
 * @returns The options with defaults.
 * @throws {RangeError} When a value is out of range.
 */
export function resolveReconnectOptions(options: ReconnectOptions = {}): ResolvedReconnectOptions {
  const r = {
    delayMs: options.delayMs ?? 3000,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    factor: options.factor ?? 2,
    jitter: options.jitter ?? 0.2,
    maxAttempts: options.maxAttempts ?? Infinity,
  };
  const bad = (name: string, value: number, what: string) =>
    new RangeError(`Configuring reconnection failed: ${name} ${String(value)} is not ${what}`);
  if (!(r.delayMs >= 0) || !Number.isFinite(r.delayMs)) throw bad("delayMs", r.delayMs, "a number of 0 or more");
  if (!(r.maxDelayMs >= r.delayMs) || !Number.isFinite(r.maxDelayMs)) {
    throw bad("maxDelayMs", r.maxDelayMs, "a number of at least delayMs");
  }
  if (!(r.factor >= 1) || !Number.isFinite(r.factor)) throw bad("factor", r.factor, "a number of 1 or more");
  if (!(r.jitter >= 0 && r.jitter <= 1)) throw bad("jitter", r.jitter, "from 0 to 1");
  if (!(r.maxAttempts >= 1) || (Number.isFinite(r.maxAttempts) && !Number.isInteger(r.maxAttempts))) {
    throw bad("maxAttempts", r.maxAttempts, "a positive integer or Infinity");
  }
  return r;
}

/**
 * The delay before reconnection attempt `attempt` (from 1):
 * `min(maxDelayMs, delayMs × factor^(attempt−1))`, moved by up to
 * ±`jitter` of itself, never over `maxDelayMs`.
 *
 * @example
 * ```ts
 * import { reconnectDelay, resolveReconnectOptions } from "./backoff.ts";
 *
 * const o = resolveReconnectOptions({ jitter: 0 });
 * console.log([1, 2, 3, 5, 9].map((n) => reconnectDelay(n, o))); // [ 3000, 6000, 12000, 30000, 30000 ]
 * ```
 *
 * @param attempt The attempt number, from 1.
 * @param options Resolved options.
 * @param random A source of numbers in [0, 1); default `Math.random`.
 * @returns The delay in milliseconds.
 */
export function reconnectDelay(
  attempt: number,
  options: ResolvedReconnectOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(options.maxDelayMs, options.delayMs * Math.pow(options.factor, Math.max(0, attempt - 1)));
  const spread = exp * options.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(options.maxDelayMs, Math.round(exp + spread)));
}
