/**
 * The subscription stream: a `ReadableStream` of messages, built from a
 * source, with the controls to end it.
 *
 * @module
 */

import { ClosedError } from "./errors.ts";
import type { Source, StreamOptions } from "./source.ts";
import { SubscriptionController } from "./subscription_controller.ts";

function noop(): void {}

/**
 * A subscription: a `ReadableStream` of messages with controls to end it.
 *
 * Read it like any stream (`for await`, `getReader()`, `pipeTo`,
 * `pipeThrough`, `tee`). It ends, and releases everything it holds (the
 * subscription on the wire, timers, sockets, listeners) when:
 * - the reader cancels it, breaks out of `for await`, or a pipe is aborted;
 * - {@linkcode Subscription.close} is called, which works while the stream
 *   is locked or being piped (the reader then sees the end);
 * - the `signal` given to `subscribe()` is aborted (like `close()`);
 * - `await using` disposes it;
 * - the source ends (the reader gets what was buffered, then the end) or fails
 *   (the reader's next read rejects with the error).
 *
 * `close()` stops receiving and lets the reader have what was already
 * buffered, then the end; cancelling discards what was buffered (on systems
 * that settle, such messages were never acked and are delivered again).
 * Under `"block"`, a paused source is resumed once the reader has drained the
 * buffer.
 *
 * @example A push source and a reader
 * ```ts
 * import { Subscription, createMessage, type Message } from "@x/pubsub";
 *
 * const sub = new Subscription<Message>({
 *   kind: "push",
 *   start(controller) {
 *     controller.offer(createMessage("greetings", "hello"));
 *     controller.end();
 *   },
 * });
 * for await (const msg of sub) console.log(msg.text()); // hello
 * console.log(await sub.closed); // undefined
 * ```
 *
 * @typeParam M The message type.
 */
export class Subscription<M> extends ReadableStream<M> {
  readonly #machine: SubscriptionController<M>;
  /**
   * Settles when the subscription has ended and released its resources. It
   * never rejects: it resolves with `undefined` after a clean end (the source
   * finished, or `close()` without a reason), else with the reason: the error
   * that failed it, the cancel reason, or the signal's abort reason.
   */
  readonly closed: Promise<unknown>;
  /**
   * Resolves when the subscription is active (the source has started: on the
   * wire, the subscribe request was answered). Rejects with the error when it
   * could not start.
   */
  readonly ready: Promise<void>;

  /**
   * Builds a subscription from a source.
   *
   * @param source A {@linkcode PullSource} or {@linkcode PushSource}.
   * @param options Buffer size, overflow policy, abort signal.
   * @throws {RangeError} When `highWaterMark` is not an integer of 0 or more.
   * @throws {TypeError} When `overflow` or `signal` is invalid.
   */
  constructor(source: Source<M>, options: StreamOptions = {}) {
    const machine = new SubscriptionController(source, options);
    let started!: () => void;
    let failed!: (err: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    ready.catch(noop);
    const base = machine.underlying();
    super({
      start: async (controller) => {
        try {
          await base.start!(controller);
          if (machine.ended) failed(new ClosedError("The subscription was closed before it started"));
          else started();
        } catch (err) {
          failed(err);
          throw err;
        }
      },
      pull: base.pull!,
      cancel: base.cancel!,
    }, { highWaterMark: 0 });
    this.#machine = machine;
    this.closed = machine.closed;
    this.ready = ready;
    void machine.closed.then((reason) => failed(reason ?? new ClosedError("The subscription ended before it started")));
    machine.armSignal((reason) => void this.close(reason));
  }

  /** How many messages a drop policy has dropped so far. */
  get dropped(): number {
    return this.#machine.dropped;
  }

  /**
   * How many messages are held for this subscription, waiting for the
   * reader, in every layer: the buffer, what the source fetched ahead or has
   * not offered yet, and the pushes waiting for room under `"block"`.
   */
  get buffered(): number {
    return this.#machine.buffered;
  }

  /** The buffer's capacity. */
  get highWaterMark(): number {
    return this.#machine.highWaterMark;
  }

  /**
   * Ends the subscription, even while the stream is locked or piped: nothing
   * new is received, the reader gets what was already buffered and then the
   * end, and a pipe closes its destination (unless told not to).
   *
   * @param reason Why; `closed` resolves with it.
   * @returns A promise that settles when every resource is released.
   */
  close(reason?: unknown): Promise<void> {
    return this.#machine.close(reason);
  }

  /** Calls {@linkcode Subscription.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
