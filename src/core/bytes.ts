/**
 * Binary helpers for the codecs: big-endian integers, length-prefixed fields,
 * and an incremental reader that parses a chunked byte stream (TCP, WebSocket)
 * message by message, saying "need more bytes" instead of throwing.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";

/**
 * The value {@linkcode ChunkedReader.read} returns when the buffered bytes do
 * not yet hold a whole value.
 *
 * @example
 * ```ts
 * import { ChunkedReader, NEED_MORE } from "@x/pubsub";
 *
 * const input = new ChunkedReader();
 * input.push(new Uint8Array([0, 0]));
 * console.log(input.read((r) => r.u32()) === NEED_MORE); // true
 * ```
 */
export const NEED_MORE: unique symbol = Symbol("NEED_MORE");

/**
 * The bytes of a view that owns little of its buffer, copied: a message kept
 * for a reader must not keep alive the whole read chunk it was cut from (a
 * buffer of `highWaterMark` messages would otherwise hold as many chunks).
 *
 * @internal
 * @param view Bytes, possibly a window into a larger buffer.
 * @returns `view` itself when it spans most of its buffer, else a copy.
 */
export function detachBytes(view: Uint8Array): Uint8Array {
  return view.buffer.byteLength > view.byteLength * 2 + 1024 ? view.slice() : view;
}

/** The width in bytes of a length prefix. */
export type PrefixWidth = 1 | 2 | 4;

/**
 * Thrown by {@linkcode ByteReader} when the input ends in the middle of a
 * value. It is a {@linkcode ProtocolError} (a truncated message), except
 * inside {@linkcode ChunkedReader.read}, where it means "wait for more bytes".
 *
 * @example
 * ```ts
 * import { ByteReader, TruncatedInputError } from "@x/pubsub";
 *
 * try {
 *   new ByteReader(new Uint8Array([1])).u16();
 * } catch (err) {
 *   console.log(err instanceof TruncatedInputError); // true
 * }
 * ```
 */
export class TruncatedInputError extends ProtocolError {
  /** The error's name. */
  override name: string = "TruncatedInputError";
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function checkUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Writing ${what} failed: ${value} is not an integer from 0 to ${max}`);
  }
}

function checkInt(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Writing ${what} failed: ${value} is not an integer from ${min} to ${max}`);
  }
}

/**
 * Builds a byte array from big-endian numbers, raw bytes and length-prefixed
 * fields. The buffer grows as needed.
 *
 * @example Writing a length-prefixed string after a 32-bit integer
 * ```ts
 * import { ByteWriter } from "@x/pubsub";
 *
 * const bytes = new ByteWriter().u32(7).string("hé", 2).finish();
 * console.log(bytes); // Uint8Array(9) [0, 0, 0, 7, 0, 3, 104, 195, 169]
 * ```
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #length = 0;

  /**
   * Creates an empty writer.
   *
   * @param initialCapacity Bytes to allocate up front.
   */
  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** The number of bytes written so far. */
  get length(): number {
    return this.#length;
  }

  #reserve(n: number): number {
    const at = this.#length;
    const need = at + n;
    if (need > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#length = need;
    return at;
  }

  /**
   * Writes an unsigned 8-bit integer.
   *
   * @param value 0 to 255.
   * @returns This writer.
   * @throws {RangeError} When the value is out of range.
   */
  u8(value: number): this {
    checkUint(value, 0xff, "an unsigned 8-bit integer");
    const at = this.#reserve(1);
    this.#buf[at] = value;
    return this;
  }

  /**
   * Writes a signed 8-bit integer.
   *
   * @param value -128 to 127.
   * @returns This writer.
   * @throws {RangeError} When the value is out of range.
   */
  i8(value: number): this {
    checkInt(value, -0x80, 0x7f, "a signed 8-bit integer");
    const at = this.#reserve(1);
    this.#view.setInt8(at, value);
    return this;
  }

  /**
   * Writes a boolean as one byte, 1 or 0.
   *
   * @param value The flag.
   * @returns This writer.
   */
  bool(value: boolean): this {
    const at = this.#reserve(1);
    this.#buf[at] = value ? 1 : 0;
    return this;
  }

  /**
   * Writes an unsigned 16-bit big-endian integer.
   *
   * @param value 0 to 65535.
   * @returns This writer.
   * @throws {RangeError} When the value is out of range.
   */
  u16(value: number): this {
    checkUint(value, 0xffff, "an unsigned 16-bit integer");
    const at = this.#reserve(2);
    this.#view.setUint16(at, value);
    return this;
  }

  /**
   * Writes a signed 16-bit big-endian integer.
   *
   * @param value -32768 to 32767.
   * @returns This writer.
   * @throws {RangeError} When the value is out of range.
   */
  i16(value: number): this {
    checkInt(value, -0x8000, 0x7fff, "a signed 16-bit integer");
    const at = this.#reserve(2);
    this.#view.setInt16(at, value);
    return this;
  }

  /**
   * Writes an unsigned 32-bit big-endian integer.
   *
   * @param value 0 to 4294967295.
   * @returns This writer.
   * @throws {RangeError} When the value is out of range.
   */
  u32(value: number): this {
    checkUint(value, 0xffffffff, "an unsigned 32-bit integer");
    const at = this.#reserve(4);
    this.#view.setUint32(at, value);
    return this;
  }

  /**
   * Writes a signed 32-bit big-endian integer.
   *
   * @param value -2147483648 to 2147483647.
   * @returns This writer.
   * @throws {RangeError} When the value is out of range.
   */
  i32(value: number): this {
    checkInt(value, -0x80000000, 0x7fffffff, "a signed 32-bit integer");
    const at = this.#reserve(4);
    this.#view.setInt32(at, value);
    return this;
  }

  /**
   * Writes an unsigned 64-bit big-endian integer.
   *
   * @param value 0 to 2^64-1.
   * @returns This writer.
   * @throws {RangeError} When the value is out of range.
   */
  u64(value: bigint): this {
    if (value < 0n || value > 0xffffffffffffffffn) {
      throw new RangeError(`Writing an unsigned 64-bit integer failed: ${value} is out of range`);
    }
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, value);
    return this;
  }

  /**
   * Writes a signed 64-bit big-endian integer.
   *
   * @param value -2^63 to 2^63-1.
   * @returns This writer.
   * @throws {RangeError} When the value is out of range.
   */
  i64(value: bigint): this {
    if (value < -0x8000000000000000n || value > 0x7fffffffffffffffn) {
      throw new RangeError(`Writing a signed 64-bit integer failed: ${value} is out of range`);
    }
    const at = this.#reserve(8);
    this.#view.setBigInt64(at, value);
    return this;
  }

  /**
   * Writes a 64-bit big-endian IEEE 754 float.
   *
   * @param value Any number.
   * @returns This writer.
   */
  f64(value: number): this {
    const at = this.#reserve(8);
    this.#view.setFloat64(at, value);
    return this;
  }

  /**
   * Writes raw bytes.
   *
   * @param value The bytes, copied.
   * @returns This writer.
   */
  bytes(value: Uint8Array): this {
    const at = this.#reserve(value.length);
    this.#buf.set(value, at);
    return this;
  }

  /**
   * Writes a big-endian unsigned length of `width` bytes, then the bytes.
   *
   * @param value The bytes.
   * @param width The width of the length prefix: 1, 2 or 4.
   * @returns This writer.
   * @throws {RangeError} When the length does not fit the prefix.
   */
  lengthPrefixed(value: Uint8Array, width: PrefixWidth = 4): this {
    this.#prefix(value.length, width);
    return this.bytes(value);
  }

  /**
   * Writes a string as UTF-8, prefixed by its length in bytes (not
   * characters).
   *
   * @param value The string.
   * @param width The width of the length prefix: 1, 2 or 4.
   * @returns This writer.
   * @throws {RangeError} When the encoded length does not fit the prefix.
   */
  string(value: string, width: PrefixWidth = 4): this {
    return this.lengthPrefixed(utf8Encoder.encode(value), width);
  }

  #prefix(length: number, width: PrefixWidth): void {
    if (width === 1) this.u8(length);
    else if (width === 2) this.u16(length);
    else this.u32(length);
  }

  /**
   * Returns the bytes written. The writer can go on writing afterwards; the
   * returned array is a copy.
   *
   * @returns The bytes.
   */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#length);
  }

  /**
   * Returns the bytes written as a view into the writer's buffer, without a
   * copy. The view is valid until the next write or `reset()`.
   *
   * @returns The bytes.
   */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }

  /**
   * Forgets what was written, keeping the buffer for reuse.
   *
   * @returns This writer.
   */
  reset(): this {
    this.#length = 0;
    return this;
  }
}

/**
 * Reads big-endian numbers, raw bytes and length-prefixed fields from one
 * byte array. Reading past the end throws {@linkcode TruncatedInputError};
 * invalid UTF-8 throws {@linkcode ProtocolError}. Byte fields are views into
 * the input, not copies.
 *
 * @example
 * ```ts
 * import { ByteReader } from "@x/pubsub";
 *
 * const r = new ByteReader(new Uint8Array([0, 0, 0, 7, 0, 3, 104, 195, 169]));
 * console.log(r.u32(), r.string(2), r.remaining); // 7 "hé" 0
 * ```
 */
export class ByteReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  readonly #end: number;
  #pos: number;

  /**
   * Creates a reader over `bytes[start, end)`.
   *
   * @param bytes The input.
   * @param start Where to start reading.
   * @param end Where the input ends.
   */
  constructor(bytes: Uint8Array, start = 0, end: number = bytes.length) {
    this.#buf = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = start;
    this.#end = end;
  }

  /** The position of the next byte to read, from the start of the input. */
  get offset(): number {
    return this.#pos;
  }

  /** The number of bytes left to read. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  #take(n: number): number {
    const at = this.#pos;
    if (n > this.#end - at) {
      throw new TruncatedInputError(
        `Reading ${n} bytes at offset ${at} failed: only ${this.#end - at} are left`,
        { offset: at },
      );
    }
    this.#pos = at + n;
    return at;
  }

  /**
   * Reads the next byte, unsigned.
   *
   * @returns The next byte, unsigned.
   */
  u8(): number {
    return this.#buf[this.#take(1)]!;
  }

  /**
   * Reads the next byte, signed.
   *
   * @returns The next byte, signed.
   */
  i8(): number {
    return this.#view.getInt8(this.#take(1));
  }

  /**
   * Reads a boolean byte: 0 is false, 1 is true.
   *
   * @param strict When false, any non-zero byte is true (as .NET's
   *   `BinaryReader.ReadBoolean`); when true (the default), bytes other than 0
   *   and 1 are refused.
   * @returns The flag.
   * @throws {ProtocolError} On any other byte, when strict.
   */
  bool(strict = true): boolean {
    const at = this.#take(1);
    const b = this.#buf[at]!;
    if (strict && b > 1) {
      throw new ProtocolError(`Reading a boolean at offset ${at} failed: byte ${b} is neither 0 nor 1`, { offset: at });
    }
    return b !== 0;
  }

  /**
   * Reads the next unsigned 16-bit big-endian integer.
   *
   * @returns The next unsigned 16-bit big-endian integer.
   */
  u16(): number {
    return this.#view.getUint16(this.#take(2));
  }

  /**
   * Reads the next signed 16-bit big-endian integer.
   *
   * @returns The next signed 16-bit big-endian integer.
   */
  i16(): number {
    return this.#view.getInt16(this.#take(2));
  }

  /**
   * Reads the next unsigned 32-bit big-endian integer.
   *
   * @returns The next unsigned 32-bit big-endian integer.
   */
  u32(): number {
    return this.#view.getUint32(this.#take(4));
  }

  /**
   * Reads the next signed 32-bit big-endian integer.
   *
   * @returns The next signed 32-bit big-endian integer.
   */
  i32(): number {
    return this.#view.getInt32(this.#take(4));
  }

  /**
   * Reads the next unsigned 64-bit big-endian integer.
   *
   * @returns The next unsigned 64-bit big-endian integer.
   */
  u64(): bigint {
    return this.#view.getBigUint64(this.#take(8));
  }

  /**
   * Reads the next signed 64-bit big-endian integer.
   *
   * @returns The next signed 64-bit big-endian integer.
   */
  i64(): bigint {
    return this.#view.getBigInt64(this.#take(8));
  }

  /**
   * Reads the next 64-bit big-endian IEEE 754 float.
   *
   * @returns The next 64-bit big-endian IEEE 754 float.
   */
  f64(): number {
    return this.#view.getFloat64(this.#take(8));
  }

  /**
   * Reads `n` raw bytes.
   *
   * @param n How many.
   * @returns A view into the input (not a copy).
   */
  bytes(n: number): Uint8Array {
    const at = this.#take(n);
    return this.#buf.subarray(at, at + n);
  }

  /**
   * Reads a big-endian unsigned length of `width` bytes, then that many bytes.
   *
   * @param width The width of the length prefix.
   * @param max The largest length accepted.
   * @returns A view into the input.
   * @throws {ProtocolError} When the length is over `max`.
   */
  lengthPrefixed(width: PrefixWidth = 4, max: number = Number.MAX_SAFE_INTEGER): Uint8Array {
    const at = this.#pos;
    const n = width === 1 ? this.u8() : width === 2 ? this.u16() : this.u32();
    if (n > max) {
      throw new ProtocolError(`Reading a field at offset ${at} failed: its length ${n} is over ${max}`, { offset: at });
    }
    return this.bytes(n);
  }

  /**
   * Reads `n` bytes as UTF-8.
   *
   * @param n The length in bytes.
   * @returns The string.
   * @throws {ProtocolError} When the bytes are not valid UTF-8.
   */
  utf8(n: number): string {
    const at = this.#pos;
    const bytes = this.bytes(n);
    try {
      return utf8Decoder.decode(bytes);
    } catch (cause) {
      throw new ProtocolError(`Reading a string at offset ${at} failed: it is not valid UTF-8`, { offset: at, cause });
    }
  }

  /**
   * Reads a UTF-8 string prefixed by its length in bytes.
   *
   * @param width The width of the length prefix.
   * @param max The largest length accepted, in bytes.
   * @returns The string.
   * @throws {ProtocolError} When the bytes are not valid UTF-8 or too long.
   */
  string(width: PrefixWidth = 4, max: number = Number.MAX_SAFE_INTEGER): string {
    const at = this.#pos;
    const bytes = this.lengthPrefixed(width, max);
    try {
      return utf8Decoder.decode(bytes);
    } catch (cause) {
      throw new ProtocolError(`Reading a string at offset ${at} failed: it is not valid UTF-8`, { offset: at, cause });
    }
  }

  /**
   * Skips `n` bytes.
   *
   * @param n How many.
   */
  skip(n: number): void {
    this.#take(n);
  }
}

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
 * import { ChunkedReader, NEED_MORE } from "@x/pubsub";
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
