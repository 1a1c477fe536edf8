/**
 * The controller behind one {@linkcode Subscription}: the push controller a
 * push source is given and the driver of a pull source, with the buffer,
 * the overflow policy and the teardown they share.
 *
 * @module
 */

import { ClosedError, OverflowError } from "./errors.ts";
import {
  checkHighWaterMark,
  checkOverflow,
  type OverflowPolicy,
  type PullSource,
  type PushController,
  type PushOptions,
  type Source,
  type StreamOptions,
} from "./source.ts";

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

/**
 * The controller behind one subscription, shared by both source kinds.
 *
 * The stream's own queue (highWaterMark 0, so `pull` means "a read is
 * waiting and the queue is empty") holds messages handed to the stream; a
 * private FIFO holds those that must be handed out one at a time (under
 * `"drop-oldest"`, and messages whose `deliver()` waits to be taken). The
 * sum of both never exceeds the highWaterMark.
 */
export class SubscriptionController<M> implements PushController<M> {
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
