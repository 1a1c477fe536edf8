/**
 * Building a byte array from big-endian numbers, raw bytes and
 * length-prefixed fields, for the codecs.
 *
 * @module
 */

import type { PrefixWidth } from "./byte_reader.ts";

const utf8Encoder = new TextEncoder();

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
 * import { ByteWriter } from "./byte_writer.ts";
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
