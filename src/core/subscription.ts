/**
 * The subscription stream and the two kinds of source it is built from.
 *
 * @module
 */

import { ClosedError, OverflowError } from "./errors.ts";

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

interface Entry<M> {
  message: M;
  taken?: { resolve(): void; reject(err: unknown): void } | undefined;
}

interface Waiter<M> {
  entry: Entry<M>;
  resolve(): void;
  reject(err: unknown): void;
}

/** Removes `item` from `list` if it is there; returns whether it was. */
function removeFrom<T>(list: T[], item: T, from = 0): boolean {
  const i = list.indexOf(item, from);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

function noop(): void {}

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
 * import { checkOverflow } from "@x/pubsub";
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

/**
 * The machinery behind one subscription, shared by both source kinds.
 *
 * The stream's own queue (highWaterMark 0, so `pull` means "a read is
 * waiting and the queue is empty") holds messages handed to the stream; a
 * private FIFO holds those that must be handed out one at a time (under
 * `"drop-oldest"`, and messages whose `deliver()` waits to be taken). The
 * sum of both never exceeds the highWaterMark.
 */
class Machine<M> implements PushController<M> {
  readonly #source: Source<M>;
  readonly #hwm: number;
  readonly #policy: OverflowPolicy;
  readonly #abort = new AbortController();
  readonly #own: Entry<M>[] = [];
  #head = 0;
  readonly #waiters: Waiter<M>[] = [];
  #controller!: ReadableStreamDefaultController<M>;
  #waitingRead = false;
  #pending: (() => void) | undefined;
  #paused = false;
  #ending = false;
  #done = false;
  #dropped = 0;
  #resolveClosed!: (reason: unknown) => void;
  readonly closed: Promise<unknown>;
  #userSignal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #tornDown: Promise<void> | undefined;

  constructor(source: Source<M>, options: StreamOptions) {
    this.#source = source;
    this.#hwm = checkHighWaterMark(options.highWaterMark, 16, "Subscribing");
    this.#policy = checkOverflow(options.overflow, "Subscribing");
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new TypeError("Subscribing failed: signal is not an AbortSignal");
    }
    this.#userSignal = options.signal;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get ended(): boolean {
    return this.#done;
  }

  get dropped(): number {
    return this.#dropped;
  }

  #queued(): number {
    const d = this.#controller?.desiredSize;
    return d === null || d === undefined || d > 0 ? 0 : -d;
  }

  /** Messages in the buffer proper: the stream's queue and the private FIFO. */
  #occupancy(): number {
    return this.#own.length - this.#head + this.#queued();
  }

  get buffered(): number {
    return this.#occupancy() + this.#waiters.length + (this.#source.held ?? 0);
  }

  get desiredSize(): number {
    return this.#hwm - this.#occupancy();
  }

  get highWaterMark(): number {
    return this.#hwm;
  }

  underlying(): UnderlyingDefaultSource<M> {
    return {
      start: (controller) => this.#start(controller),
      pull: () => this.#pull(),
      cancel: (reason) => this.teardown(reason),
    };
  }

  armSignal(close: (reason: unknown) => void): void {
    const signal = this.#userSignal;
    if (signal === undefined) return;
    if (signal.aborted) {
      queueMicrotask(() => close(signal.reason));
      return;
    }
    this.#onAbort = () => close(signal.reason);
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  async #start(controller: ReadableStreamDefaultController<M>): Promise<void> {
    this.#controller = controller;
    try {
      if (this.#source.kind === "push") await this.#source.start(this);
      else await this.#source.start?.(this);
    } catch (err) {
      await this.teardown(err);
      throw err;
    }
  }

  /** Called only while a read waits and the stream's queue is empty. */
  #pull(): void | Promise<void> {
    if (this.#done) return;
    if (this.#source.kind === "pull") return this.#fetch(this.#source);
    this.#waitingRead = true;
    if (this.#head < this.#own.length) {
      this.#waitingRead = false;
      this.#hand(this.#shift());
      // Later messages may join the stream's queue, up to the next one whose taking is awaited.
      if (this.#policy !== "drop-oldest") {
        while (this.#head < this.#own.length && this.#own[this.#head]!.taken === undefined) {
          this.#controller.enqueue(this.#shift().message);
        }
      }
    }
    while (this.#waiters.length > 0 && (this.#waitingRead || this.#occupancy() < this.#hwm)) {
      const w = this.#waiters.shift()!;
      this.#accept(w.entry);
      w.resolve();
    }
    if (this.#paused && this.#waiters.length === 0 && this.#occupancy() < this.#hwm) {
      this.#paused = false;
      this.#source.resume?.();
    }
    if (!this.#waitingRead) return;
    if (this.#ending) {
      this.#waitingRead = false;
      this.#finish();
      return;
    }
    return new Promise<void>((resolve) => this.#pending = resolve);
  }

  async #fetch(source: PullSource<M>): Promise<void> {
    let items: Iterable<M> | null;
    try {
      items = await source.pull(Math.max(1, this.#hwm), this);
    } catch (err) {
      this.error(err);
      return;
    }
    if (this.#done) return;
    if (items === null) {
      this.#finish();
      return;
    }
    for (const message of items) this.#controller.enqueue(message);
  }

  #shift(): Entry<M> {
    const entry = this.#own[this.#head]!;
    this.#own[this.#head] = undefined as unknown as Entry<M>;
    this.#head++;
    if (this.#head === this.#own.length) {
      this.#own.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#own.length) {
      this.#own.splice(0, this.#head);
      this.#head = 0;
    }
    return entry;
  }

  /** Hands an entry to the waiting read: that read takes it at once. */
  #hand(entry: Entry<M>): void {
    this.#controller.enqueue(entry.message);
    entry.taken?.resolve();
  }

  #wake(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.();
  }

  #accept(entry: Entry<M>): boolean {
    if (this.#done || this.#ending) return false;
    if (this.#waitingRead) {
      this.#waitingRead = false;
      this.#hand(entry);
      // While messages flow, the pull stays pending: later ones go straight to
      // the stream's queue (or to a read waiting on it) with no pull per message.
      // Without a buffer, each message needs to know a read waits: wake now.
      if (this.#hwm === 0) this.#wake();
      return true;
    }
    const buffered = this.#occupancy();
    if (buffered < this.#hwm) {
      if (entry.taken === undefined && this.#policy !== "drop-oldest" && this.#head === this.#own.length) {
        this.#controller.enqueue(entry.message);
      } else {
        this.#own.push(entry);
        this.#wake(); // the stream will pull once a read waits on an empty queue, to hand this over
      }
      if (buffered + 1 >= this.#hwm) this.#pauseSource();
      return true;
    }
    switch (this.#policy) {
      case "block":
        this.#pauseSource();
        return false;
      case "drop-oldest": {
        this.#dropped++;
        if (this.#head === this.#own.length) {
          entry.taken?.reject(this.#dropError());
          return true;
        }
        this.#shift().taken?.reject(this.#dropError());
        this.#own.push(entry);
        this.#wake();
        return true;
      }
      case "drop-newest":
        this.#dropped++;
        entry.taken?.reject(this.#dropError());
        return true;
      case "error":
        this.error(
          new OverflowError(
            `Buffering a message failed: the reader fell behind by more than ${this.#hwm} messages`,
            { highWaterMark: this.#hwm },
          ),
        );
        return true;
    }
  }

  #dropError(): OverflowError {
    return new OverflowError(`The message was dropped: the buffer of ${this.#hwm} was full`, {
      highWaterMark: this.#hwm,
    });
  }

  #pauseSource(): void {
    if (this.#policy !== "block" || this.#paused) return;
    this.#paused = true;
    this.#wake(); // so that the stream pulls, and we resume, once the reader drained the queue
    if (this.#source.kind === "push") this.#source.pause?.();
  }

  offer(message: M): boolean {
    if (this.#waiters.length > 0) return false;
    return this.#accept({ message });
  }

  push(message: M, options: PushOptions = {}): Promise<void> {
    return this.#wait({ message }, options.signal);
  }

  deliver(message: M, options: PushOptions = {}): Promise<void> {
    const signal = options.signal;
    return new Promise<void>((resolve, reject) => {
      const entry: Entry<M> = { message, taken: { resolve, reject } };
      if (signal !== undefined) {
        const withdraw = () => {
          // Still in the private FIFO: not handed to a read yet, so it can be taken back.
          if (removeFrom(this.#own, entry, this.#head)) reject(signal.reason);
        };
        signal.addEventListener("abort", withdraw, { once: true });
        entry.taken = {
          resolve: () => {
            signal.removeEventListener("abort", withdraw);
            resolve();
          },
          reject: (err) => {
            signal.removeEventListener("abort", withdraw);
            reject(err);
          },
        };
      }
      this.#wait(entry, signal).catch((err) => entry.taken!.reject(err));
    });
  }

  #wait(entry: Entry<M>, signal?: AbortSignal): Promise<void> {
    if (this.#done || this.#ending) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#waiters.length === 0 && this.#accept(entry)) return Promise.resolve();
    if (this.#done) return Promise.reject(this.#closedError());
    if (this.#waiters.length >= Math.max(1, this.#hwm)) {
      return Promise.reject(
        new OverflowError(
          `Delivering a message failed: ${this.#waiters.length} more already wait for room beyond the buffer of ${this.#hwm}`,
          { highWaterMark: this.#hwm },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter<M> = { entry, resolve, reject };
      this.#waiters.push(waiter);
      if (signal === undefined) return;
      const onAbort = () => {
        if (removeFrom(this.#waiters, waiter)) reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const off = () => signal.removeEventListener("abort", onAbort);
      waiter.resolve = () => {
        off();
        resolve();
      };
      waiter.reject = (err) => {
        off();
        reject(err);
      };
    });
  }

  #closedError(): ClosedError {
    return new ClosedError("Delivering a message failed: the subscription has ended");
  }

  end(): void {
    if (this.#done || this.#ending) return;
    this.#ending = true;
    if (this.#waitingRead) {
      this.#waitingRead = false;
      this.#finish();
    }
    this.#wake(); // the next pull, on an empty queue, sees the end
  }

  #finish(): void {
    if (this.#done) return;
    void this.teardown(undefined).then(() => {
      try {
        this.#controller.close();
      } catch { /* already closed by a cancel */ }
    });
  }

  error(error: unknown): void {
    if (this.#done) return;
    try {
      this.#controller.error(error);
    } catch { /* already closed */ }
    this.#wake();
    void this.teardown(error);
  }

  close(reason: unknown): Promise<void> {
    if (this.#done) return this.closed.then(noop);
    // What was buffered is still handed to the reader, ahead of the end.
    while (this.#head < this.#own.length) {
      const entry = this.#shift();
      if (entry.taken === undefined) this.#controller.enqueue(entry.message);
      else entry.taken.reject(this.#closedError());
    }
    const done = this.teardown(reason);
    try {
      this.#controller.close();
    } catch { /* already closed or errored */ }
    this.#wake();
    return done;
  }

  teardown(reason: unknown): Promise<void> {
    if (this.#tornDown !== undefined) return this.#tornDown;
    this.#done = true;
    if (this.#onAbort !== undefined) this.#userSignal?.removeEventListener("abort", this.#onAbort);
    this.#abort.abort(reason);
    const err = this.#closedError();
    for (let i = this.#head; i < this.#own.length; i++) this.#own[i]?.taken?.reject(err);
    this.#own.length = 0;
    this.#head = 0;
    for (const w of this.#waiters.splice(0)) {
      w.entry.taken?.reject(err);
      w.reject(err);
    }
    const source = this.#source;
    this.#tornDown = (async () => {
      try {
        await source.cancel?.(reason);
      } catch { /* the subscription is over either way */ }
      this.#resolveClosed(reason);
    })();
    return this.#tornDown;
  }
}

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
  readonly #machine: Machine<M>;
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
    const machine = new Machine(source, options);
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
