/**
 * `Outbox`: one connection's write queue in {@linkcode FakeMessageBus}.
 *
 * @module
 */

/** The part of a connection the outbox writes to. */
export interface Writer {
  /** Writes some of `bytes`, resolving with how many were written. */
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Bytes sent to one connection, written in order by a single writer that
 * batches what queued up while the previous write was in flight. `queued`
 * counts the bytes not yet written (in flight included), which is what the
 * fake compares with its `maxQueuedBytes` to hold a publisher.
 */
export class Outbox {
  readonly #conn: Writer;
  readonly #onError: () => void;
  #queue: Uint8Array[] = [];
  #writing: Promise<void> | undefined;
  #draining = false;
  #waiters: (() => void)[] = [];
  #closed = false;
  /** Bytes sent and not yet written. */
  queued = 0;

  /**
   * @param conn Where the bytes go.
   * @param onError Called once when a write fails (the outbox is closed by then).
   */
  constructor(conn: Writer, onError: () => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /** Whether {@linkcode Outbox.close} was called or a write failed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The writer, while it runs; settles once the queue is empty (or the outbox closed). */
  get writing(): Promise<void> | undefined {
    return this.#draining ? this.#writing : undefined;
  }

  /**
   * Queues bytes; they are written after everything sent before them.
   *
   * @param bytes The bytes (not copied: do not reuse them).
   */
  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(bytes);
    this.queued += bytes.length;
    // The writer is "running" until the very turn its loop sees an empty queue: a flag cleared inside that turn,
    // not a promise cleared by a `finally` one job later, where a send() in between would find the old writer
    // still set and leave its bytes queued with nobody to write them.
    if (this.#draining) return;
    this.#draining = true;
    this.#writing = this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const parts = this.#queue;
        this.#queue = [];
        let size = 0;
        for (const p of parts) size += p.length;
        const bytes = new Uint8Array(size);
        let at = 0;
        for (const p of parts) {
          bytes.set(p, at);
          at += p.length;
        }
        try {
          let off = 0;
          while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
        } catch {
          this.close();
          this.#onError();
          return;
        } finally {
          this.queued -= size;
          this.#wake();
        }
      }
    } finally {
      this.#draining = false; // in the same turn as the loop's last look at the queue
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /**
   * Waits until fewer than `limit` bytes are queued, or the outbox is closed.
   *
   * @param limit The byte count to get below.
   * @returns A promise that resolves then.
   */
  async below(limit: number): Promise<void> {
    while (!this.#closed && this.queued >= limit) await new Promise<void>((r) => this.#waiters.push(r));
  }

  /** Drops what is queued and wakes every waiter; later sends are ignored. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#wake();
  }
}
