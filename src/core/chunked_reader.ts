/**
 * An incremental reader that parses a chunked byte stream (TCP, WebSocket)
 * value by value, saying "need more bytes" instead of throwing.
 *
 * @module
 */

import { ByteReader, TruncatedInputError } from "./byte_reader.ts";
import { ProtocolError } from "./errors.ts";

/**
 * The value {@linkcode ChunkedReader.read} returns when the buffered bytes do
 * not yet hold a whole value.
 *
 * @example
 * ```ts
 * import { ChunkedReader, NEED_MORE } from "./chunked_reader.ts";
 *
 * const input = new ChunkedReader();
 * input.push(new Uint8Array([0, 0]));
 * console.log(input.read((r) => r.u32()) === NEED_MORE); // true
 * ```
 */
export const NEED_MORE: unique symbol = Symbol("NEED_MORE");

/** Options of {@linkcode ChunkedReader}. */
export interface ChunkedReaderOptions {
  /**
   * The most bytes held while waiting for a value to be complete. A peer that
   * sends a larger value gets a {@linkcode ProtocolError} instead of making
   * memory grow. Default 16 MiB.
   */
  maxBuffered?: number;
}

/**
 * Parses values out of a byte stream that arrives in chunks of any size.
 *
 * `push()` the chunks as they come, then call `read(decode)` until it
 * returns {@linkcode NEED_MORE}. A decode that runs out of bytes is undone and
 * retried on the next call, so decoders are written as if the whole message
 * were there. Byte fields returned by the decoder are views into chunks the
 * reader was given; it never writes over bytes it has handed out.
 *
 * @example Two 16-bit values split over three chunks
 * ```ts
 * import { ChunkedReader, NEED_MORE } from "./chunked_reader.ts";
 *
 * const input = new ChunkedReader();
 * const seen: number[] = [];
 * for (const chunk of [[0], [1, 0], [2]]) {
 *   input.push(new Uint8Array(chunk));
 *   for (let v = input.read((r) => r.u16()); v !== NEED_MORE; v = input.read((r) => r.u16())) {
 *     seen.push(v);
 *   }
 * }
 * console.log(seen); // [1, 2]
 * ```
 */
export class ChunkedReader {
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #owned = false;
  readonly #max: number;

  /**
   * Creates an empty reader.
   *
   * @param options The buffer limit.
   */
  constructor(options: ChunkedReaderOptions = {}) {
    const max = options.maxBuffered ?? 16 * 1024 * 1024;
    if (!(max > 0)) throw new RangeError(`Creating a ChunkedReader failed: maxBuffered ${max} is not positive`);
    this.#max = max;
  }

  /** The number of bytes received and not yet consumed. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Adds a chunk. The reader may keep a reference to it: do not change the
   * chunk afterwards.
   *
   * @param chunk The bytes that arrived.
   * @throws {ProtocolError} When more than `maxBuffered` bytes would be held.
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const held = this.#end - this.#start;
    if (held + chunk.length > this.#max) {
      throw new ProtocolError(
        `Buffering input failed: a value needs more than the ${this.#max} bytes allowed`,
      );
    }
    if (held === 0) {
      this.#buf = chunk;
      this.#start = 0;
      this.#end = chunk.length;
      this.#owned = false;
      return;
    }
    if (this.#owned && this.#buf.length - this.#end >= chunk.length) {
      this.#buf.set(chunk, this.#end);
      this.#end += chunk.length;
      return;
    }
    // Never compact in place: earlier values may hold views into #buf.
    const size = Math.min(Math.max(2 * (held + chunk.length), 4096), Math.max(this.#max, held + chunk.length));
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(this.#start, this.#end));
    next.set(chunk, held);
    this.#buf = next;
    this.#start = 0;
    this.#end = held + chunk.length;
    this.#owned = true;
  }

  /**
   * Decodes one value from the buffered bytes.
   *
   * @param decode Reads one whole value; may throw {@linkcode ProtocolError}.
   * @returns The value, or {@linkcode NEED_MORE} when the bytes so far end
   *   inside it (nothing is consumed then).
   * @throws {ProtocolError} What `decode` throws, other than running out of bytes.
   */
  read<T>(decode: (reader: ByteReader) => T): T | typeof NEED_MORE {
    if (this.#start === this.#end) return NEED_MORE;
    const reader = new ByteReader(this.#buf, this.#start, this.#end);
    let value: T;
    try {
      value = decode(reader);
    } catch (err) {
      if (err instanceof TruncatedInputError) return NEED_MORE;
      throw err;
    }
    this.#start = reader.offset;
    if (this.#start === this.#end) {
      this.#buf = new Uint8Array(0);
      this.#start = this.#end = 0;
      this.#owned = false;
    }
    return value;
  }

  /**
   * Takes every byte buffered and not yet consumed.
   *
   * @returns The bytes, a view.
   */
  drain(): Uint8Array {
    const rest = this.#buf.subarray(this.#start, this.#end);
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = 0;
    this.#owned = false;
    return rest;
  }
}
