/**
 * Connection status events, as an `EventTarget` and an async iterable.
 *
 * @module
 */

/**
 * The kinds of status event. Systems may add their own (httppubsub's
 * `"missed"`, for instance).
 */
export type StatusType =
  | "connecting"
  | "connected"
  | "disconnected"
  | "reconnecting"
  | "reconnected"
  | "error"
  | "closed"
  | (string & Record<never, never>);

/**
 * One status event. `detail` carries system-specific fields (a server
 * address, an attempt count, a topic); `error` the error that caused it.
 *
 * @example
 * ```ts
 * import { StatusEvent } from "@x/pubsub";
 *
 * const ev = new StatusEvent("reconnecting", { attempt: 2 });
 * console.log(ev.type, ev.detail.attempt); // reconnecting 2
 * ```
 */
export class StatusEvent extends Event {
  /** System-specific fields. */
  readonly detail: Readonly<Record<string, unknown>>;
  /** The error behind the event, where there is one. */
  readonly error: unknown;

  /**
   * Creates the event.
   *
   * @param type The kind.
   * @param detail System-specific fields.
   * @param error The error behind it.
   */
  constructor(type: StatusType, detail: Record<string, unknown> = {}, error?: unknown) {
    super(type);
    this.detail = detail;
    this.error = error;
  }
}

/**
 * Where a client reports its connection's life. Listen with
 * `addEventListener(type, fn)` or iterate with `for await`; each iterator
 * keeps at most 64 unread events (older ones are dropped) and ends after the
 * `"closed"` event.
 *
 * @example
 * ```ts
 * import { StatusChannel } from "@x/pubsub";
 *
 * const status = new StatusChannel();
 * status.addEventListener("connected", () => console.log("up"));
 * status.emit("connected");
 * status.close();
 * ```
 */
export class StatusChannel extends EventTarget implements AsyncIterable<StatusEvent> {
  #closed = false;

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Dispatches an event (ignored after `close()`).
   *
   * @param type The kind.
   * @param detail System-specific fields.
   * @param error The error behind it.
   * @returns The event.
   */
  emit(type: StatusType, detail?: Record<string, unknown>, error?: unknown): StatusEvent {
    const ev = new StatusEvent(type, detail, error);
    if (!this.#closed) this.dispatchEvent(ev);
    return ev;
  }

  /** Dispatches `"closed"` and ends every iterator. */
  close(): void {
    if (this.#closed) return;
    this.emit("closed");
    this.#closed = true;
  }

  /**
   * Iterates over the events dispatched from now on.
   *
   * @returns The iterator.
   */
  [Symbol.asyncIterator](): AsyncIterator<StatusEvent> {
    const queue: StatusEvent[] = [];
    let wake: (() => void) | undefined;
    let ended = this.#closed;
    const listener = (ev: Event) => {
      if (!(ev instanceof StatusEvent)) return;
      queue.push(ev);
      if (queue.length > 64) queue.shift();
      if (ev.type === "closed") stop();
      wake?.();
    };
    const stop = () => {
      ended = true;
      this.#iterators.delete(listener);
    };
    if (!ended) this.#iterators.add(listener);
    return {
      next: async (): Promise<IteratorResult<StatusEvent>> => {
        while (queue.length === 0) {
          if (ended) return { done: true, value: undefined };
          await new Promise<void>((resolve) => wake = resolve);
          wake = undefined;
        }
        return { done: false, value: queue.shift()! };
      },
      return: (): Promise<IteratorResult<StatusEvent>> => {
        stop();
        queue.length = 0;
        wake?.();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  readonly #iterators = new Set<(ev: Event) => void>();

  /**
   * Dispatches to listeners and iterators.
   *
   * @param event The event.
   * @returns Whether it was not cancelled.
   */
  override dispatchEvent(event: Event): boolean {
    for (const it of this.#iterators) it(event);
    return super.dispatchEvent(event);
  }
}
