/**
 * What a {@linkcode Subscription} is built from: the two kinds of source
 * (pull and push), the controller a push source is given, the options every
 * subscription takes, and the checks of those options.
 *
 * @module
 */

/**
 * What a push source does when a subscription's buffer is full:
 * - `"block"`: the message is not taken; the source is paused (its `pause()`
 *   is called) and `push()`/`deliver()` wait for room, at most
 *   `max(1, highWaterMark)` of them at once (one more is refused with
 *   {@linkcode OverflowError}). Nothing is lost.
 * - `"drop-oldest"`: the oldest buffered message is dropped to make room.
 * - `"drop-newest"`: the new message is dropped.
 * - `"error"`: the subscription fails with {@linkcode OverflowError}.
 *
 * Dropped messages are counted in {@linkcode Subscription.dropped}.
 */
export type OverflowPolicy = "block" | "drop-oldest" | "drop-newest" | "error";

/** The overflow policies, in the order of {@linkcode OverflowPolicy}. */
export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ["block", "drop-oldest", "drop-newest", "error"];

/**
 * The default `highWaterMark` of push sources that cannot be paused (core
 * NATS, PostTroll, stream-sea): they offer no `"block"`, so their buffer also
 * absorbs the bursts one socket read delivers at once, as nats.go's pending
 * limit does. A bound like any other: `buffered` never exceeds it.
 *
 * @internal
 */
export const UNPAUSABLE_HIGH_WATER_MARK = 1024;

/** Options every subscription takes. */
export interface StreamOptions {
  /**
   * The most messages held for a reader that has not read them yet: the
   * buffer of a push source, the read-ahead of a pull source. 0 is allowed
   * for push sources (a message is taken only by a waiting read). Default 16.
   */
  highWaterMark?: number | undefined;
  /** What a push source does when the buffer is full. Default `"block"`. */
  overflow?: OverflowPolicy | undefined;
  /** Closes the subscription when aborted, as {@linkcode Subscription.close} does. */
  signal?: AbortSignal | undefined;
}

/** What a source is given to learn that the subscription ended. */
export interface SourceContext {
  /** Aborted, with the reason, when the subscription ends for any reason. */
  readonly signal: AbortSignal;
}

/** Options of {@linkcode PushController.push} and {@linkcode PushController.deliver}. */
export interface PushOptions {
  /**
   * Gives up when aborted: a message still waiting for room (or, for
   * `deliver()`, still buffered and not yet taken) is withdrawn, and the
   * promise rejects with the reason.
   */
  signal?: AbortSignal | undefined;
}

/**
 * A source that fetches messages only when the reader asks for them
 * (JetStream pull consumers, TCP reads, ZeroMQ receives).
 *
 * `pull(max)` is called only while a read is waiting and nothing is
 * buffered, never concurrently, and must return at most `max` messages
 * (`max` is the free room of the buffer, at least 1). It returns `null` when
 * the source has ended. It should wait until it has at least one message (or
 * until an expiry of its own): an empty result makes the subscription call
 * `pull` again at once, since a read is still waiting.
 */
export interface PullSource<M> {
  /** Marks the kind of source. */
  readonly kind: "pull";
  /** Called once before the first pull; a rejection fails the subscription. */
  start?(context: SourceContext): void | Promise<void>;
  /** Fetches up to `max` messages; `null` ends the stream. */
  pull(max: number, context: SourceContext): Iterable<M> | null | Promise<Iterable<M> | null>;
  /**
   * How many messages the source holds for this subscription beyond what it
   * handed over (fetched ahead, or due from requests already sent), so that
   * {@linkcode Subscription.buffered} counts every layer.
   */
  readonly held?: number | undefined;
  /**
   * Releases everything the source holds. Called exactly once when the
   * subscription ends for any reason: cancelled, closed, aborted, failed or
   * ended by the source itself.
   */
  cancel?(reason: unknown): void | Promise<void>;
}

/** What a {@linkcode PushSource} uses to hand messages to the subscription. */
export interface PushController<M> {
  /** Aborted, with the reason, when the subscription ends. */
  readonly signal: AbortSignal;
  /** Free room in the buffer; 0 or less means full. */
  readonly desiredSize: number;
  /**
   * Offers a message without waiting.
   *
   * @returns `true` when it was taken (or dropped by a drop policy and
   *   counted), `false` when it was refused: the buffer is full under
   *   `"block"`, or the subscription has ended.
   */
  offer(message: M): boolean;
  /**
   * Adds a message, waiting for room under `"block"` (in the order of the
   * calls). Resolves when the message is buffered or delivered. At most
   * `max(1, highWaterMark)` pushes wait at once: they hold their message,
   * and `buffered` counts them.
   *
   * @throws {ClosedError} When the subscription ends before there was room.
   * @throws {OverflowError} When as many pushes already wait.
   */
  push(message: M, options?: PushOptions): Promise<void>;
  /**
   * Like `push`, but resolves only once a reader has taken the message.
   *
   * @throws {ClosedError} When the subscription ends before that.
   * @throws {OverflowError} When a drop policy dropped the message, or as many pushes already wait.
   */
  deliver(message: M, options?: PushOptions): Promise<void>;
  /** Ends the stream once what is buffered has been read. */
  end(): void;
  /** Fails the stream at once with `error`. */
  error(error: unknown): void;
}

/**
 * A source that receives messages whether or not anyone reads them
 * (webhooks, WebSocket frames, ZeroMQ SUB sockets with no flow control).
 */
export interface PushSource<M> {
  /** Marks the kind of source. */
  readonly kind: "push";
  /** Starts receiving; a rejection fails the subscription. */
  start(controller: PushController<M>): void | Promise<void>;
  /** Under `"block"`: called when the buffer fills; the source should stop reading. */
  pause?(): void;
  /** Under `"block"`: called when there is room again. */
  resume?(): void;
  /**
   * How many messages the source holds for this subscription and has not
   * offered yet (decoded or being received), so that
   * {@linkcode Subscription.buffered} counts every layer.
   */
  readonly held?: number | undefined;
  /** Releases everything, as {@linkcode PullSource.cancel}. */
  cancel?(reason: unknown): void | Promise<void>;
}

/** Either kind of source. */
export type Source<M> = PullSource<M> | PushSource<M>;

/** Validates a `highWaterMark` option; exported for the adapters. */
export function checkHighWaterMark(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`${what} failed: highWaterMark ${String(value)} is not an integer of 0 or more`);
  }
  return value;
}

/**
 * Validates an `overflow` option against the policies an adapter offers
 * (its `capabilities.overflow`); exported for the adapters.
 *
 * @example
 * ```ts
 * import { checkOverflow } from "./source.ts";
 *
 * console.log(checkOverflow(undefined, "Subscribing", ["drop-newest", "error"])); // drop-newest
 * ```
 *
 * @param value The option as given.
 * @param what The action, for the error message.
 * @param offered The policies accepted, the default first. Default all four, `"block"` first.
 * @returns The policy to use: `value`, or the default when it is undefined.
 * @throws {TypeError} When `value` is not one of `offered`.
 */
export function checkOverflow(
  value: OverflowPolicy | undefined,
  what: string,
  offered: readonly OverflowPolicy[] = OVERFLOW_POLICIES,
): OverflowPolicy {
  if (value === undefined) return offered[0] ?? "block";
  if (!offered.includes(value)) {
    const known = OVERFLOW_POLICIES.includes(value);
    throw new TypeError(
      `${what} failed: overflow ${JSON.stringify(value)} is not ${known ? "offered here" : "a policy"}: use one of ${
        offered.join(", ")
      }`,
    );
  }
  return value;
}
