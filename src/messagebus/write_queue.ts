/**
 * `WriteQueue`: what a messagebus client has to write, in call order, kept
 * while it is disconnected and written in large contiguous batches.
 *
 * @module
 */

import { ClosedError, ConnectionError } from "../core/errors.ts";

/**
 * What a queued write is: `"state"` (a subscription or notification
 * request, restored from the client's tables on reconnection), `"data"`
 * (publish, send, authorize: kept across a reconnection unless the
 * connection took it whole), `"ping"` (fails with its connection).
 */
export type WriteKind = "state" | "data" | "ping";

interface Pending {
  bytes: Uint8Array;
  kind: WriteKind;
  resolve(): void;
  reject(err: unknown): void;
}

/** What the queue needs from its client. */
export interface WriteTarget {
  /** The client's URL, for errors. */
  readonly url: string;
  /** The connection to write to, or `undefined` while not started, reconnecting or closed. */
  writable(): Deno.Conn | undefined;
  /** Whether the client is stopping or ended. */
  closing(): boolean;
  /** A write to `conn` failed: nothing more goes to it (the client closes it, which ends its read loop). */
  broken(conn: Deno.Conn, err: ConnectionError): void;
}

/** Writes larger than this are not merged with the next message. */
const MAX_BATCH = 256 * 1024;

function noop(): void {}

/**
 * The client's write queue. Every message is queued, then one drain writes
 * the queue in batches of up to 256 KiB: messages encoded one after the
 * other (`encodePacked`) lie next to each other in memory and go out as one
 * view, without a copy.
 */
export class WriteQueue {
  readonly #target: WriteTarget;
  readonly #maxQueued: number;
  #queue: Pending[] = [];
  #queuedBytes = 0;
  #draining = false;
  /** The last drain (settled when none runs). */
  #writing: Promise<void> | undefined;

  constructor(target: WriteTarget, maxQueuedBytes: number) {
    this.#target = target;
    this.#maxQueued = maxQueuedBytes;
  }

  /** The last drain of the queue, settled when none runs; `undefined` before the first. */
  get writing(): Promise<void> | undefined {
    return this.#writing;
  }

  /**
   * Queues `bytes`; resolves once written (or, for `"state"`, once they no
   * longer need writing).
   */
  enqueue(bytes: Uint8Array, kind: WriteKind): Promise<void> {
    const url = this.#target.url;
    if (this.#target.closing()) {
      return Promise.reject(new ClosedError(`Writing to ${url} failed: the client is closed`));
    }
    if (this.#target.writable() === undefined && this.#queuedBytes + bytes.length > this.#maxQueued) {
      return Promise.reject(
        new ConnectionError(
          `Queueing ${bytes.length} bytes for ${url} failed: ${this.#queuedBytes} bytes already wait for the ` +
            `connection (maxQueuedBytes ${this.#maxQueued})`,
          { url },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ bytes, kind, resolve, reject });
      this.#queuedBytes += bytes.length;
      this.kick();
    });
  }

  /** Puts state requests (a reconnection's restored subscriptions) at the head of the queue. */
  restore(requests: readonly Uint8Array[]): void {
    const restore: Pending[] = requests.map((bytes) => ({ bytes, kind: "state", resolve: noop, reject: noop }));
    for (const p of restore) this.#queuedBytes += p.bytes.length;
    this.#queue.unshift(...restore);
  }

  /** Starts a drain unless one runs, the connection is not writable or nothing waits. */
  kick(): void {
    if (this.#draining || this.#queue.length === 0 || this.#target.writable() === undefined) return;
    this.#draining = true;
    this.#writing = this.#drain();
  }

  /**
   * The connection was lost: pings fail with `err`, state requests resolve
   * (the reconnection restores them from the tables), data stays queued.
   */
  dropPings(err: Error): void {
    const keep: Pending[] = [];
    for (const p of this.#queue) {
      if (p.kind === "ping") {
        p.reject(err);
        this.#queuedBytes -= p.bytes.length;
      } else if (p.kind === "state") {
        p.resolve();
        this.#queuedBytes -= p.bytes.length;
      } else keep.push(p);
    }
    this.#queue = keep;
  }

  /** Rejects everything queued with `err` (the client ended). */
  rejectAll(err: Error): void {
    for (const p of this.#queue.splice(0)) p.reject(err);
    this.#queuedBytes = 0;
  }

  async #drain(): Promise<void> {
    try {
      for (let conn = this.#target.writable(); conn !== undefined; conn = this.#target.writable()) {
        const queue = this.#queue;
        if (queue.length === 0) break;
        let take = 0;
        let size = 0;
        while (take < queue.length && (take === 0 || size + queue[take]!.bytes.length <= MAX_BATCH)) {
          size += queue[take]!.bytes.length;
          take++;
        }
        // One splice per batch: shift() per message is linear in the queue, quadratic over a burst of publishes.
        const batch = take === 1 ? [queue.shift()!] : queue.splice(0, take);
        this.#queuedBytes -= size;
        let bytes: Uint8Array = batch[0]!.bytes;
        if (batch.length > 1) {
          // Messages encoded one after the other lie next to each other (encodePacked): one view, no copy.
          let contiguous = true;
          for (let i = 1; i < batch.length && contiguous; i++) {
            const a = batch[i - 1]!.bytes;
            const b = batch[i]!.bytes;
            contiguous = b.buffer === a.buffer && b.byteOffset === a.byteOffset + a.length;
          }
          if (contiguous) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, size);
          else {
            bytes = new Uint8Array(size);
            let at = 0;
            for (const p of batch) {
              bytes.set(p.bytes, at);
              at += p.bytes.length;
            }
          }
        }
        let written = 0;
        try {
          while (written < bytes.length) written += await conn.write(bytes.subarray(written));
        } catch (cause) {
          this.#writeFailed(conn, batch, written, cause);
          return;
        }
        for (const p of batch) p.resolve();
      }
    } finally {
      // Cleared in the same step as the loop ends, so the next enqueue starts a drain itself.
      this.#draining = false;
      this.kick();
    }
  }

  /**
   * A write to `conn` failed after `written` bytes of the batch. A message the
   * connection took whole may or may not have been read by the server (the
   * protocol has no acknowledgement): its caller gets a ConnectionError, and
   * it is not resent, so it is never delivered twice. A message of which
   * none or only part went out never reached the server whole: data is put
   * back at the head of the queue and written after the reconnection, in
   * order. Subscription requests are restored from the table on
   * reconnection; pings fail.
   */
  #writeFailed(conn: Deno.Conn, batch: Pending[], written: number, cause: unknown): void {
    const url = this.#target.url;
    const why = (cause as Error)?.message ?? String(cause);
    const unknown = new ConnectionError(
      `Writing to ${url} failed: ${why}; the message had been handed to the connection, and whether the ` +
        `server read it cannot be known`,
      { url, cause },
    );
    const lost = new ConnectionError(`Writing to ${url} failed: ${why}`, { url, cause });
    const keep: Pending[] = [];
    let at = 0;
    for (const p of batch) {
      const whole = at + p.bytes.length <= written;
      at += p.bytes.length;
      if (p.kind === "state") p.resolve();
      else if (p.kind === "ping") p.reject(lost);
      else if (whole) p.reject(unknown);
      else keep.push(p);
    }
    if (this.#target.closing()) {
      for (const p of keep) p.reject(new ClosedError(`Writing to ${url} failed: the client is closed`));
      return;
    }
    for (const p of keep) this.#queuedBytes += p.bytes.length;
    this.#queue.unshift(...keep);
    this.#target.broken(conn, lost);
  }
}
