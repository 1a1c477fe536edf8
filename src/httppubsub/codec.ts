/**
 * What every httppubsub (lonelypsp) body shares: the field limits, the
 * response type numbers, length-prefixed fields, and decoding a whole body
 * into a typed `ProtocolError` on malformed input. The messages themselves
 * are in `auth_document.ts`, `authorization_header.ts`, `strong_etag.ts`,
 * `requests_to_broadcaster.ts`, `broadcaster_responses.ts` and
 * `requests_to_subscriber.ts`; `wire.ts` gathers them for users.
 *
 * @module
 */

import { ByteReader } from "../core/byte_reader.ts";
import type { ByteWriter } from "../core/byte_writer.ts";
import { ProtocolError } from "../core/errors.ts";

export const utf8: TextEncoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function decodeUtf8(bytes: Uint8Array, offset: number): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (cause) {
    throw new ProtocolError("a glob is not valid UTF-8", { cause, offset });
  }
}

/** The largest length of a 2-byte-prefixed field: topics, globs, urls, tracing, authorizations. */
export const MAX_U16_FIELD = 0xffff;
/** The largest identifier on the HTTP side, in bytes. */
export const MAX_IDENTIFIER = 0xff;
/** The length of a SHA-512 digest and of a strong etag, in bytes. */
export const SHA512_LENGTH = 64;

/** Response type tags that start the body of a broadcaster's response. */
export const BroadcasterResponseType = {
  /** `u16(3) lp16(authorization) lp16(tracing)`. */
  GENERIC: 3,
  /** `u16(4) lp16(authorization) lp16(tracing) u32(subscribers) lp8(identifier)`. */
  NOTIFY: 4,
  /** `u16(5) lp16(authorization) lp16(tracing) u8(0) etag(64)`. */
  CHECK_SUBSCRIPTIONS: 5,
} as const;

/** Response type tags that start the body of a subscriber's answer to the broadcaster. */
export const SubscriberResponseType = {
  /** `u16(8) lp16(authorization) lp16(tracing) lp8(identifier) u32(num_subscribers)`. */
  CONFIRM_RECEIVE: 8,
  /** `u16(9) lp16(authorization) lp16(tracing)`. */
  CONFIRM_MISSED: 9,
  /** Exactly `u16(10)`: the broadcaster deletes the subscription that matched. */
  UNSUBSCRIBE_IMMEDIATE: 10,
} as const;

/** A topic: bytes, or a string taken as UTF-8. */
export type TopicInput = Uint8Array | string;

/**
 * Encodes a topic, url or glob as bytes.
 *
 * @example
 * ```ts
 * import { toBytes } from "./codec.ts";
 *
 * console.log(toBytes("ab")); // Uint8Array(2) [ 97, 98 ]
 * ```
 *
 * @param value Bytes (returned as they are) or a string (encoded as UTF-8).
 * @returns The bytes.
 */
export function toBytes(value: TopicInput): Uint8Array {
  return typeof value === "string" ? utf8.encode(value) : value;
}

/** UTF-8 of the short strings that repeat in every signed document and request (urls, topics). */
const encodedStrings = new Map<string, Uint8Array>();

export function cachedUtf8(value: string): Uint8Array {
  let bytes = encodedStrings.get(value);
  if (bytes === undefined) {
    bytes = utf8.encode(value);
    if (value.length <= 512) {
      if (encodedStrings.size >= 1024) encodedStrings.clear();
      encodedStrings.set(value, bytes);
    }
  }
  return bytes;
}

export function field(w: ByteWriter, value: TopicInput, width: 1 | 2, what: string, cache = true): void {
  const bytes = typeof value !== "string" ? value : cache ? cachedUtf8(value) : utf8.encode(value);
  const max = width === 1 ? 0xff : 0xffff;
  if (bytes.length > max) {
    throw new RangeError(`Encoding ${what} failed: its ${bytes.length} bytes are more than ${max}`);
  }
  w.lengthPrefixed(bytes, width);
}

export function sha(w: ByteWriter, value: Uint8Array, what: string): void {
  if (value.length !== SHA512_LENGTH) {
    throw new RangeError(`Encoding ${what} failed: it has ${value.length} bytes, not ${SHA512_LENGTH}`);
  }
  w.bytes(value);
}

export function wrap<T>(what: string, decode: (r: ByteReader) => T, bytes: Uint8Array, exact = true): T {
  const r = new ByteReader(bytes);
  let value: T;
  try {
    value = decode(r);
  } catch (err) {
    if (err instanceof ProtocolError) {
      const message = err.name === "TruncatedInputError" ? "the body is truncated" : err.message;
      throw new ProtocolError(`Decoding ${what} failed: ${message}`, { cause: err, offset: err.offset ?? 0 });
    }
    throw err;
  }
  if (exact && r.remaining !== 0) {
    throw new ProtocolError(`Decoding ${what} failed: ${r.remaining} unexpected bytes follow it`, {
      offset: r.offset,
    });
  }
  return value;
}

export function readType(r: ByteReader, expected: number, what: string): void {
  const at = r.offset;
  const type = r.u16();
  if (type !== expected) {
    throw new ProtocolError(`the type is ${type}, not ${expected} (${what})`, { offset: at });
  }
}

export function readAuthorization(r: ByteReader): string | undefined {
  const s = r.string(2);
  return s === "" ? undefined : s;
}

/** Checks a message length before it is encoded as a u64. */
export function checkLength(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Encoding ${what} failed: length ${n} is not a safe integer of 0 or more`);
  }
}

/** Reads a u64 message length that must be a safe integer. */
export function readLength(r: ByteReader): number {
  const at = r.offset;
  const n = r.u64();
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError(`the message length ${n} is too large`, { offset: at });
  }
  return Number(n);
}
