/**
 * Reading big-endian numbers, raw bytes and length-prefixed fields from one
 * byte array, for the codecs.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";

/** The width in bytes of a length prefix. */
export type PrefixWidth = 1 | 2 | 4;

/**
 * Thrown by {@linkcode ByteReader} when the input ends in the middle of a
 * value. It is a {@linkcode ProtocolError} (a truncated message), except
 * inside {@linkcode ChunkedReader.read}, where it means "wait for more bytes".
 *
 * @example
 * ```ts
 * import { ByteReader, TruncatedInputError } from "./byte_reader.ts";
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

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads big-endian numbers, raw bytes and length-prefixed fields from one
 * byte array. Reading past the end throws {@linkcode TruncatedInputError};
 * invalid UTF-8 throws {@linkcode ProtocolError}. Byte fields are views into
 * the input, not copies.
 *
 * @example
 * ```ts
 * import { ByteReader } from "./byte_reader.ts";
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
