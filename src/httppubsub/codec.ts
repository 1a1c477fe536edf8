/**
 * The httppubsub (lonelypsp) stateless wire format: the binary bodies of every
 * HTTP request and response, the documents HMAC signs, the strong etag, and
 * the `Authorization` / `Repr-Digest` headers. Pure functions, no I/O.
 *
 * @module
 */

import { ByteReader } from "../core/byte_reader.ts";
import { ByteWriter } from "../core/byte_writer.ts";
import { ProtocolError } from "../core/errors.ts";

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Uint8Array, offset: number): string {
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

function cachedUtf8(value: string): Uint8Array {
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

function field(w: ByteWriter, value: TopicInput, width: 1 | 2, what: string, cache = true): void {
  const bytes = typeof value !== "string" ? value : cache ? cachedUtf8(value) : utf8.encode(value);
  const max = width === 1 ? 0xff : 0xffff;
  if (bytes.length > max) {
    throw new RangeError(`Encoding ${what} failed: its ${bytes.length} bytes are more than ${max}`);
  }
  w.lengthPrefixed(bytes, width);
}

function sha(w: ByteWriter, value: Uint8Array, what: string): void {
  if (value.length !== SHA512_LENGTH) {
    throw new RangeError(`Encoding ${what} failed: it has ${value.length} bytes, not ${SHA512_LENGTH}`);
  }
  w.bytes(value);
}

function wrap<T>(what: string, decode: (r: ByteReader) => T, bytes: Uint8Array, exact = true): T {
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

function readType(r: ByteReader, expected: number, what: string): void {
  const at = r.offset;
  const type = r.u16();
  if (type !== expected) {
    throw new ProtocolError(`the type is ${type}, not ${expected} (${what})`, { offset: at });
  }
}

function readAuthorization(r: ByteReader): string | undefined {
  const s = r.string(2);
  return s === "" ? undefined : s;
}

// ---------------------------------------------------------------------------
// Authorization documents (what HMAC signs)
// ---------------------------------------------------------------------------

/** What an authorization covers: one typed document per kind of request or response. */
export type AuthDocument =
  | { type: "subscribe-exact"; url: string; recovery: string; topic: TopicInput }
  | { type: "subscribe-glob"; url: string; recovery: string; glob: string }
  | { type: "notify"; topic: TopicInput; identifier: Uint8Array; sha512: Uint8Array }
  | {
    type: "configure";
    subscriberNonce: Uint8Array;
    enableZstd: boolean;
    enableTraining: boolean;
    initialDict: number;
  }
  | { type: "check-subscriptions"; url: string }
  | { type: "set-subscriptions"; url: string; etag: Uint8Array }
  | { type: "continue-receive"; identifier: Uint8Array; partId: number; url: string }
  | { type: "confirm-receive"; identifier: Uint8Array; numSubscribers: number; url: string }
  | { type: "confirm-missed"; topic: TopicInput; url: string }
  | { type: "receive"; url: string; topic: TopicInput; identifier: Uint8Array; sha512: Uint8Array }
  | { type: "missed"; recovery: string; topic: TopicInput }
  | { type: "confirm-subscribe-exact"; url: string; recovery: string; topic: TopicInput }
  | { type: "confirm-subscribe-glob"; url: string; recovery: string; glob: string }
  | { type: "confirm-notify"; identifier: Uint8Array; subscribers: number; topic: TopicInput; sha512: Uint8Array }
  | { type: "check-subscriptions-response"; etag: Uint8Array }
  | { type: "set-subscriptions-response"; etag: Uint8Array }
  | { type: "confirm-configure"; broadcasterNonce: Uint8Array }
  | { type: "continue-notify"; identifier: Uint8Array; partId: number };

/** The `AuthMessageType` number of each document kind. */
export const AUTH_DOCUMENT_NUMBERS: Readonly<Record<AuthDocument["type"], number>> = {
  "subscribe-exact": 1,
  "subscribe-glob": 2,
  "notify": 3,
  "configure": 4,
  "check-subscriptions": 5,
  "set-subscriptions": 6,
  "continue-receive": 7,
  "confirm-receive": 8,
  "confirm-missed": 9,
  "receive": 10,
  "missed": 11,
  "confirm-subscribe-exact": 12,
  "confirm-subscribe-glob": 13,
  "confirm-notify": 14,
  "check-subscriptions-response": 15,
  "set-subscriptions-response": 16,
  "confirm-configure": 17,
  "continue-notify": 21,
};

/** The writer {@linkcode encodeAuthDocument} reuses (every request and answer signs or checks one). */
let spareAuthWriter: ByteWriter | undefined;

/**
 * Builds the bytes HMAC-SHA512 signs for a document:
 * `u8 type | u64 ts | lp8(nonce) | lp16(tracing) | fields`.
 *
 * @example
 * ```ts
 * import { encodeAuthDocument } from "@x/pubsub/httppubsub/wire";
 *
 * const doc = encodeAuthDocument(1700000000, "n0nce1", new Uint8Array(0), {
 *   type: "check-subscriptions",
 *   url: "http://127.0.0.1:3002/v1/receive#1",
 * });
 * console.log(doc[0]); // 5
 * ```
 *
 * @param timestamp Unix seconds.
 * @param nonce The nonce, without `:`.
 * @param tracing The tracing blob of the message signed.
 * @param doc What is signed.
 * @returns The document.
 * @throws {RangeError} When a field is too long or a number out of range.
 */
export function encodeAuthDocument(
  timestamp: number,
  nonce: string,
  tracing: Uint8Array,
  doc: AuthDocument,
): Uint8Array<ArrayBuffer> {
  // Taken, not shared (a failed encoding leaves it to the garbage collector).
  const w = spareAuthWriter?.reset() ?? new ByteWriter(256);
  spareAuthWriter = undefined;
  w.u8(AUTH_DOCUMENT_NUMBERS[doc.type]);
  w.u64(BigInt(Math.floor(timestamp)));
  // Nonces are new every time: not worth remembering.
  field(w, nonce, 1, "the nonce", false);
  field(w, tracing, 2, "the tracing");
  switch (doc.type) {
    case "subscribe-exact":
    case "confirm-subscribe-exact":
      field(w, doc.url, 2, "the url");
      field(w, doc.recovery, 2, "the recovery url");
      field(w, doc.topic, 2, "the topic");
      break;
    case "subscribe-glob":
    case "confirm-subscribe-glob":
      field(w, doc.url, 2, "the url");
      field(w, doc.recovery, 2, "the recovery url");
      field(w, doc.glob, 2, "the glob");
      break;
    case "notify":
      field(w, doc.topic, 2, "the topic");
      field(w, doc.identifier, 1, "the identifier");
      sha(w, doc.sha512, "the SHA-512");
      break;
    case "configure":
      field(w, doc.subscriberNonce, 1, "the subscriber nonce");
      w.bool(doc.enableZstd).bool(doc.enableTraining).u16(doc.initialDict);
      break;
    case "check-subscriptions":
      field(w, doc.url, 2, "the url");
      break;
    case "set-subscriptions":
      field(w, doc.url, 2, "the url");
      w.u8(0);
      sha(w, doc.etag, "the etag");
      break;
    case "continue-receive":
      field(w, doc.identifier, 1, "the identifier");
      // The reference signs the part id in one byte (it wraps past 255 parts).
      w.u8(doc.partId & 0xff);
      field(w, doc.url, 2, "the url");
      break;
    case "confirm-receive":
      field(w, doc.identifier, 1, "the identifier");
      w.u32(doc.numSubscribers);
      field(w, doc.url, 2, "the url");
      break;
    case "confirm-missed":
      field(w, doc.topic, 2, "the topic");
      field(w, doc.url, 2, "the url");
      break;
    case "receive":
      field(w, doc.url, 2, "the url");
      field(w, doc.topic, 2, "the topic");
      field(w, doc.identifier, 1, "the identifier");
      sha(w, doc.sha512, "the SHA-512");
      break;
    case "missed":
      field(w, doc.recovery, 2, "the recovery url");
      field(w, doc.topic, 2, "the topic");
      break;
    case "confirm-notify":
      field(w, doc.identifier, 1, "the identifier");
      w.u32(doc.subscribers);
      field(w, doc.topic, 2, "the topic");
      sha(w, doc.sha512, "the SHA-512");
      break;
    case "check-subscriptions-response":
    case "set-subscriptions-response":
      w.u8(0);
      sha(w, doc.etag, "the etag");
      break;
    case "confirm-configure":
      field(w, doc.broadcasterNonce, 1, "the broadcaster nonce");
      break;
    case "continue-notify":
      field(w, doc.identifier, 1, "the identifier");
      w.u32(doc.partId);
      break;
  }
  const out = w.finish() as Uint8Array<ArrayBuffer>;
  if (w.length <= 4096) spareAuthWriter = w;
  return out;
}

// ---------------------------------------------------------------------------
// Authorization header
// ---------------------------------------------------------------------------

/** A parsed `X-HMAC ts:nonce:code` authorization. */
export interface HmacAuthorization {
  /** Unix seconds. */
  timestamp: number;
  /** The nonce. */
  nonce: string;
  /** The 64-byte HMAC-SHA512 code. */
  code: Uint8Array;
}

/**
 * Standard base64 with padding.
 *
 * @example
 * ```ts
 * import { base64Encode } from "./codec.ts";
 *
 * console.log(base64Encode(new Uint8Array([255, 254]))); // "//4="
 * ```
 *
 * @param bytes The bytes.
 * @returns The text.
 */
export function base64Encode(bytes: Uint8Array): string {
  // By table: `btoa(String.fromCharCode(...))` costs several times more for the 64-byte codes and digests sent
  // with every message.
  const n = bytes.length;
  let s = "";
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += B64_PAIRS[v >> 12]! + B64_PAIRS[v & 0xfff]!;
  }
  if (i + 1 === n) {
    const v = bytes[i]! << 16;
    s += B64_PAIRS[v >> 12]! + "==";
  } else if (i + 2 === n) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    s += B64_PAIRS[v >> 12]! + B64_ALPHABET[(v >> 6) & 63]! + "=";
  }
  return s;
}

const B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** Two base64 characters for each 12-bit value. */
const B64_PAIRS: string[] = Array.from({ length: 4096 }, (_, v) => B64_ALPHABET[v >> 6]! + B64_ALPHABET[v & 63]!);
/** The 6-bit value of each character code of standard and url-safe base64, -1 for any other. */
const B64_VALUES = new Int8Array(128).fill(-1);
for (let v = 0; v < 64; v++) B64_VALUES[B64_ALPHABET.charCodeAt(v)] = v;
B64_VALUES["-".charCodeAt(0)] = 62;
B64_VALUES["_".charCodeAt(0)] = 63;

/**
 * Decodes standard or url-safe base64, with or without padding.
 *
 * @example
 * ```ts
 * import { base64Decode } from "./codec.ts";
 *
 * console.log(base64Decode("__4")); // Uint8Array(2) [ 255, 254 ]
 * ```
 *
 * @param text The text.
 * @returns The bytes, or `undefined` when it is not base64.
 */
export function base64Decode(text: string): Uint8Array | undefined {
  // Trailing "=" are dropped, whatever their number; any other character outside both alphabets refuses the
  // text, as does a length that leaves one character over; bits left over at the end are ignored (as atob does).
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  if (end % 4 === 1) return undefined;
  const out = new Uint8Array((end * 3) >> 2);
  let at = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64_VALUES[c]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * Formats an HMAC authorization header value.
 *
 * @example
 * ```ts
 * import { formatHmacAuthorization } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(formatHmacAuthorization({ timestamp: 1, nonce: "n", code: new Uint8Array(64) }).slice(0, 12)); // "X-HMAC 1:n:A"
 * ```
 *
 * @param auth Timestamp, nonce and code.
 * @returns `X-HMAC <ts>:<nonce>:<base64 code>`.
 * @throws {TypeError} When the nonce contains `:`.
 */
export function formatHmacAuthorization(auth: HmacAuthorization): string {
  if (auth.nonce.includes(":")) {
    throw new TypeError(`Formatting an HMAC authorization failed: nonce ${JSON.stringify(auth.nonce)} contains ":"`);
  }
  return `X-HMAC ${Math.floor(auth.timestamp)}:${auth.nonce}:${base64Encode(auth.code)}`;
}

/**
 * Parses an `X-HMAC ts:nonce:code` header value.
 *
 * @example
 * ```ts
 * import { parseHmacAuthorization } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(parseHmacAuthorization("Bearer x")); // undefined
 * ```
 *
 * @param value The header value.
 * @returns The parts, or `undefined` when it is not a well-formed HMAC authorization.
 */
export function parseHmacAuthorization(value: string): HmacAuthorization | undefined {
  if (!value.startsWith("X-HMAC ")) return undefined;
  const rest = value.slice(7);
  const a = rest.indexOf(":");
  if (a < 0) return undefined;
  const b = rest.indexOf(":", a + 1);
  if (b < 0) return undefined;
  const tsText = rest.slice(0, a);
  if (!/^-?[0-9]{1,15}$/.test(tsText)) return undefined;
  const code = base64Decode(rest.slice(b + 1));
  if (code === undefined || code.length !== SHA512_LENGTH) return undefined;
  return { timestamp: Number(tsText), nonce: rest.slice(a + 1, b), code };
}

/**
 * Formats a `Repr-Digest` header value for a SHA-512.
 *
 * @example
 * ```ts
 * import { formatReprDigest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(formatReprDigest(new Uint8Array(64)).slice(0, 10)); // "sha-512=AA"
 * ```
 *
 * @param sha512 The 64-byte digest.
 * @returns `sha-512=<standard base64>`.
 * @throws {RangeError} When the digest is not 64 bytes.
 */
export function formatReprDigest(sha512: Uint8Array): string {
  if (sha512.length !== SHA512_LENGTH) {
    throw new RangeError(`Formatting a Repr-Digest failed: the digest has ${sha512.length} bytes, not 64`);
  }
  return `sha-512=${base64Encode(sha512)}`;
}

/**
 * Finds the `sha-512=` entry of a comma-separated `Repr-Digest` header
 * (`sha-512=<b64>` as lonelypss writes it, or the RFC 9530 `sha-512=:<b64>:`).
 *
 * @example
 * ```ts
 * import { formatReprDigest, parseReprDigest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(parseReprDigest("md5=x, " + formatReprDigest(new Uint8Array(64)))?.length); // 64
 * ```
 *
 * @param value The header value.
 * @returns The 64-byte digest, or `undefined` when there is none or it is malformed.
 */
export function parseReprDigest(value: string | null | undefined): Uint8Array | undefined {
  if (value === null || value === undefined) return undefined;
  let found: Uint8Array | undefined;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() !== "sha-512") continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith(":") && v.endsWith(":") && v.length >= 2) v = v.slice(1, -1);
    const bytes = base64Decode(v);
    if (bytes === undefined || bytes.length !== SHA512_LENGTH) return undefined;
    found = bytes;
  }
  return found;
}

// ---------------------------------------------------------------------------
// Strong etag
// ---------------------------------------------------------------------------

/** One subscription in a set: an exact topic or a glob, with its recovery url ("" for none). */
export interface SubscriptionEntry<T = Uint8Array> {
  /** The exact topic (bytes) or glob (string). */
  key: T;
  /** The recovery url, "" for none. */
  recovery: string;
}

/** The subscriptions of one url, as `set_subscriptions` carries them. */
export interface SubscriptionSet {
  /** Exact topics. */
  exact: SubscriptionEntry<Uint8Array>[];
  /** Globs. */
  glob: SubscriptionEntry<string>[];
}

/**
 * Compares byte arrays lexicographically.
 *
 * @example
 * ```ts
 * import { compareBytes } from "./codec.ts";
 *
 * console.log(compareBytes(new Uint8Array([1]), new Uint8Array([1, 0]))); // -1
 * ```
 *
 * @param a One.
 * @param b The other.
 * @returns Negative, zero or positive.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Sorts a subscription set ascending bytewise and checks it has no duplicates.
 *
 * @example
 * ```ts
 * import { sortSubscriptionSet } from "@x/pubsub/httppubsub/wire";
 * import { toBytes } from "./codec.ts";
 *
 * const s = sortSubscriptionSet({ exact: [{ key: toBytes("b"), recovery: "" }, { key: toBytes("a"), recovery: "" }], glob: [] });
 * console.log(s.exact[0]?.key); // Uint8Array(1) [ 97 ]
 * ```
 *
 * @param set The set.
 * @returns A sorted copy.
 * @throws {TypeError} When a topic or glob appears twice.
 */
export function sortSubscriptionSet(set: SubscriptionSet): SubscriptionSet {
  const exact = [...set.exact].sort((a, b) => compareBytes(a.key, b.key));
  const glob = [...set.glob].map((g) => ({ ...g, bytes: utf8.encode(g.key) })).sort((a, b) =>
    compareBytes(a.bytes, b.bytes)
  );
  for (let i = 1; i < exact.length; i++) {
    if (compareBytes(exact[i - 1]!.key, exact[i]!.key) === 0) {
      throw new TypeError("Sorting subscriptions failed: an exact topic appears twice");
    }
  }
  for (let i = 1; i < glob.length; i++) {
    if (compareBytes(glob[i - 1]!.bytes, glob[i]!.bytes) === 0) {
      throw new TypeError(`Sorting subscriptions failed: glob ${JSON.stringify(glob[i]!.key)} appears twice`);
    }
  }
  return { exact, glob: glob.map(({ key, recovery }) => ({ key, recovery })) };
}

/**
 * Builds the document whose SHA-512 is the strong etag of a url's
 * subscriptions: `"URL" lp16(url) "\nEXACT" {lp16(topic) lp16(recovery)}*
 * "\nGLOB" {lp16(glob) lp16(recovery)}* "\n"`, entries sorted bytewise.
 *
 * @example
 * ```ts
 * import { encodeEtagDocument } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(encodeEtagDocument("u", { exact: [], glob: [] }).length); // 18
 * ```
 *
 * @param url The subscriber url as registered, with its fragment.
 * @param set The subscriptions (sorted here).
 * @returns The document.
 * @throws {TypeError} On duplicates.
 * @throws {RangeError} When a field is too long.
 */
export function encodeEtagDocument(url: string, set: SubscriptionSet): Uint8Array<ArrayBuffer> {
  const sorted = sortSubscriptionSet(set);
  const w = new ByteWriter(256);
  w.bytes(utf8.encode("URL"));
  field(w, url, 2, "the url");
  w.bytes(utf8.encode("\nEXACT"));
  for (const e of sorted.exact) {
    field(w, e.key, 2, "a topic");
    field(w, e.recovery, 2, "a recovery url");
  }
  w.bytes(utf8.encode("\nGLOB"));
  for (const e of sorted.glob) {
    field(w, e.key, 2, "a glob");
    field(w, e.recovery, 2, "a recovery url");
  }
  w.bytes(utf8.encode("\n"));
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Computes the strong etag (SHA-512 of {@linkcode encodeEtagDocument}) with WebCrypto.
 *
 * @example
 * ```ts
 * import { strongEtag } from "@x/pubsub/httppubsub/wire";
 *
 * const etag = await strongEtag("http://127.0.0.1:3002/v1/receive#1", { exact: [], glob: [] });
 * console.log(etag.length); // 64
 * ```
 *
 * @param url The subscriber url, with fragment.
 * @param set The subscriptions.
 * @returns The 64-byte etag.
 * @throws {TypeError} On duplicates.
 */
export async function strongEtag(url: string, set: SubscriptionSet): Promise<Uint8Array> {
  const doc = encodeEtagDocument(url, set);
  return new Uint8Array(await crypto.subtle.digest("SHA-512", doc as Uint8Array<ArrayBuffer>));
}

// ---------------------------------------------------------------------------
// Subscriber → broadcaster requests
// ---------------------------------------------------------------------------

/** The body of `/v1/subscribe/exact` or `/v1/subscribe/glob`. */
export interface SubscribeRequest<T = Uint8Array> {
  /** The url messages go to, with fragment. */
  url: string;
  /** The exact topic (bytes) or glob (string). */
  key: T;
  /** The recovery url, "" for none. */
  recovery: string;
  /** The tracing blob. */
  tracing: Uint8Array;
}

/**
 * Encodes `lp16(url) lp16(topic or glob) lp16(recovery) lp16(tracing)`.
 *
 * @example
 * ```ts
 * import { encodeSubscribeRequest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(encodeSubscribeRequest({ url: "u", key: "t", recovery: "", tracing: new Uint8Array(0) }).length); // 10
 * ```
 *
 * @param req The request.
 * @returns The body.
 * @throws {RangeError} When a field is too long.
 */
export function encodeSubscribeRequest(req: SubscribeRequest<TopicInput>): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter(64);
  field(w, req.url, 2, "the url");
  field(w, req.key, 2, "the topic");
  field(w, req.recovery, 2, "the recovery url");
  field(w, req.tracing, 2, "the tracing");
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Decodes a subscribe request body.
 *
 * @example
 * ```ts
 * import { decodeSubscribeRequest, encodeSubscribeRequest } from "@x/pubsub/httppubsub/wire";
 *
 * const body = encodeSubscribeRequest({ url: "u", key: "t", recovery: "", tracing: new Uint8Array(0) });
 * console.log(decodeSubscribeRequest(body).url); // "u"
 * ```
 *
 * @param body The body.
 * @returns The request (the key as bytes).
 * @throws {ProtocolError} When the body is malformed.
 */
export function decodeSubscribeRequest(body: Uint8Array): SubscribeRequest {
  return wrap("a subscribe request", readSubscribeRequest, body);
}

/**
 * Reads the fields of a subscribe request body, leaving the reader after
 * them (lonelypss reads a body this way and ignores what follows).
 *
 * @param r A reader at the start of the body.
 * @returns The request (the key as bytes).
 * @throws {ProtocolError} When the input is malformed or ends early.
 */
export function readSubscribeRequest(r: ByteReader): SubscribeRequest {
  const url = r.string(2);
  const key = r.lengthPrefixed(2);
  const recovery = r.string(2);
  const tracing = r.lengthPrefixed(2);
  return { url, key, recovery, tracing };
}

/** The body of `/v1/unsubscribe/exact` or `/v1/unsubscribe/glob`. */
export interface UnsubscribeRequest<T = Uint8Array> {
  /** The url, with fragment. */
  url: string;
  /** The exact topic (bytes) or glob (string). */
  key: T;
  /** The tracing blob. */
  tracing: Uint8Array;
}

/**
 * Encodes `lp16(url) lp16(topic or glob) lp16(tracing)`.
 *
 * @example
 * ```ts
 * import { encodeUnsubscribeRequest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(encodeUnsubscribeRequest({ url: "u", key: "t", tracing: new Uint8Array(0) }).length); // 8
 * ```
 *
 * @param req The request.
 * @returns The body.
 * @throws {RangeError} When a field is too long.
 */
export function encodeUnsubscribeRequest(req: UnsubscribeRequest<TopicInput>): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter(64);
  field(w, req.url, 2, "the url");
  field(w, req.key, 2, "the topic");
  field(w, req.tracing, 2, "the tracing");
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Decodes an unsubscribe request body.
 *
 * @example
 * ```ts
 * import { decodeUnsubscribeRequest, encodeUnsubscribeRequest } from "@x/pubsub/httppubsub/wire";
 *
 * const body = encodeUnsubscribeRequest({ url: "u", key: "t", tracing: new Uint8Array(0) });
 * console.log(decodeUnsubscribeRequest(body).key); // Uint8Array(1) [ 116 ]
 * ```
 *
 * @param body The body.
 * @returns The request.
 * @throws {ProtocolError} When the body is malformed.
 */
export function decodeUnsubscribeRequest(body: Uint8Array): UnsubscribeRequest {
  return wrap("an unsubscribe request", readUnsubscribeRequest, body);
}

/**
 * Reads the fields of an unsubscribe request body, leaving the reader after them.
 *
 * @param r A reader at the start of the body.
 * @returns The request.
 * @throws {ProtocolError} When the input is malformed or ends early.
 */
export function readUnsubscribeRequest(r: ByteReader): UnsubscribeRequest {
  const url = r.string(2);
  const key = r.lengthPrefixed(2);
  const tracing = r.lengthPrefixed(2);
  return { url, key, tracing };
}

/** The fixed part of a `/v1/notify` body, before the message bytes. */
export interface NotifyPrefix {
  /** The topic. */
  topic: Uint8Array;
  /** SHA-512 of the message. */
  sha512: Uint8Array;
  /** The tracing blob. */
  tracing: Uint8Array;
  /** The identifier, at most 255 bytes. */
  identifier: Uint8Array;
  /** The message length. */
  length: number;
}

/** The longest notify prefix: 2+65535+64+2+65535+1+255+8 bytes. */
export const MAX_NOTIFY_PREFIX: number = 2 + 0xffff + 64 + 2 + 0xffff + 1 + 0xff + 8;

/**
 * Encodes `lp16(topic) sha512 lp16(tracing) lp8(identifier) u64(length)`; the message follows it.
 *
 * @example
 * ```ts
 * import { encodeNotifyPrefix } from "@x/pubsub/httppubsub/wire";
 *
 * const p = encodeNotifyPrefix({ topic: "t", sha512: new Uint8Array(64), tracing: new Uint8Array(0), identifier: new Uint8Array(1), length: 5 });
 * console.log(p.length); // 79
 * ```
 *
 * @param p The prefix fields.
 * @returns The bytes.
 * @throws {RangeError} When a field is too long or the length is not a safe integer.
 */
export function encodeNotifyPrefix(p: Omit<NotifyPrefix, "topic"> & { topic: TopicInput }): Uint8Array<ArrayBuffer> {
  checkLength(p.length, "a notify request");
  const w = new ByteWriter(128);
  field(w, p.topic, 2, "the topic");
  sha(w, p.sha512, "the SHA-512");
  field(w, p.tracing, 2, "the tracing");
  field(w, p.identifier, 1, "the identifier");
  w.u64(BigInt(p.length));
  return w.finish() as Uint8Array<ArrayBuffer>;
}

function checkLength(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Encoding ${what} failed: length ${n} is not a safe integer of 0 or more`);
  }
}

function readLength(r: ByteReader): number {
  const at = r.offset;
  const n = r.u64();
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError(`the message length ${n} is too large`, { offset: at });
  }
  return Number(n);
}

/**
 * Decodes a notify prefix from the start of a body. Used with
 * `ChunkedReader.read` while the body streams in.
 *
 * @example
 * ```ts
 * import { ByteReader } from "../core/byte_reader.ts";
 * import { encodeNotifyPrefix } from "@x/pubsub/httppubsub/wire";
 * import { readNotifyPrefix } from "./codec.ts";
 *
 * const p = encodeNotifyPrefix({ topic: "t", sha512: new Uint8Array(64), tracing: new Uint8Array(0), identifier: new Uint8Array(1), length: 5 });
 * console.log(readNotifyPrefix(new ByteReader(p)).length); // 5
 * ```
 *
 * @param r A reader at the start of the body; left after the prefix.
 * @returns The prefix.
 * @throws {ProtocolError} When the input is malformed; `TruncatedInputError` when it ends early.
 */
export function readNotifyPrefix(r: ByteReader): NotifyPrefix {
  const topic = r.lengthPrefixed(2);
  const sha512 = r.bytes(SHA512_LENGTH);
  const tracing = r.lengthPrefixed(2);
  const identifier = r.lengthPrefixed(1);
  const length = readLength(r);
  return { topic, sha512, tracing, identifier, length };
}

/**
 * Decodes the notify prefix at the start of a `/v1/notify` body (a proxy
 * reads up to {@linkcode MAX_NOTIFY_PREFIX} bytes, decodes, and passes the
 * rest of the body on as the message).
 *
 * @example
 * ```ts
 * import { decodeNotifyPrefix, encodeNotifyPrefix } from "@x/pubsub/httppubsub/wire";
 *
 * const p = encodeNotifyPrefix({ topic: "t", sha512: new Uint8Array(64), tracing: new Uint8Array(0), identifier: new Uint8Array(1), length: 5 });
 * const { prefix, prefixLength } = decodeNotifyPrefix(p);
 * console.log(prefix.length, prefixLength === p.length); // 5 true
 * ```
 *
 * @param bytes The start of the body (at least the whole prefix; more is left alone).
 * @returns The prefix, and how many bytes it took.
 * @throws {ProtocolError} When malformed, or when `bytes` ends inside the prefix (`TruncatedInputError`).
 */
export function decodeNotifyPrefix(bytes: Uint8Array): { prefix: NotifyPrefix; prefixLength: number } {
  const r = new ByteReader(bytes);
  const prefix = readNotifyPrefix(r);
  return { prefix, prefixLength: r.offset };
}

/** The body of `/v1/check_subscriptions`. */
export interface CheckSubscriptionsRequest {
  /** The tracing blob. */
  tracing: Uint8Array;
  /** The url, with fragment. */
  url: string;
}

/**
 * Encodes `lp16(tracing) lp16(url)` (tracing first).
 *
 * @example
 * ```ts
 * import { encodeCheckSubscriptionsRequest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(encodeCheckSubscriptionsRequest({ tracing: new Uint8Array(0), url: "u" })); // Uint8Array(5) [ 0, 0, 0, 1, 117 ]
 * ```
 *
 * @param req The request.
 * @returns The body.
 * @throws {RangeError} When a field is too long.
 */
export function encodeCheckSubscriptionsRequest(req: CheckSubscriptionsRequest): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter(64);
  field(w, req.tracing, 2, "the tracing");
  field(w, req.url, 2, "the url");
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Decodes a check_subscriptions body.
 *
 * @example
 * ```ts
 * import { decodeCheckSubscriptionsRequest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(decodeCheckSubscriptionsRequest(new Uint8Array([0, 0, 0, 1, 117])).url); // "u"
 * ```
 *
 * @param body The body.
 * @returns The request.
 * @throws {ProtocolError} When malformed.
 */
export function decodeCheckSubscriptionsRequest(body: Uint8Array): CheckSubscriptionsRequest {
  return wrap("a check_subscriptions request", readCheckSubscriptionsRequest, body);
}

/**
 * Reads the fields of a check_subscriptions body, leaving the reader after them.
 *
 * @param r A reader at the start of the body.
 * @returns The request.
 * @throws {ProtocolError} When the input is malformed or ends early.
 */
export function readCheckSubscriptionsRequest(r: ByteReader): CheckSubscriptionsRequest {
  const tracing = r.lengthPrefixed(2);
  const url = r.string(2);
  return { tracing, url };
}

/** The body of `/v1/set_subscriptions`. */
export interface SetSubscriptionsRequest extends SubscriptionSet {
  /** The tracing blob. */
  tracing: Uint8Array;
  /** The url, with fragment. */
  url: string;
  /** The strong etag of the set. */
  etag: Uint8Array;
}

/**
 * Encodes `lp16(tracing) lp16(url) u8(0) etag u32(E) E×[lp16(topic) lp16(recovery)] u32(G) G×[lp16(glob) lp16(recovery)]`,
 * with the entries sorted.
 *
 * @example
 * ```ts
 * import { encodeSetSubscriptionsRequest } from "@x/pubsub/httppubsub/wire";
 *
 * const body = encodeSetSubscriptionsRequest({ tracing: new Uint8Array(0), url: "u", etag: new Uint8Array(64), exact: [], glob: [] });
 * console.log(body.length); // 78
 * ```
 *
 * @param req The request.
 * @returns The body.
 * @throws {TypeError} On duplicate entries.
 * @throws {RangeError} When a field is too long.
 */
export function encodeSetSubscriptionsRequest(req: SetSubscriptionsRequest): Uint8Array<ArrayBuffer> {
  const sorted = sortSubscriptionSet(req);
  const w = new ByteWriter(256);
  field(w, req.tracing, 2, "the tracing");
  field(w, req.url, 2, "the url");
  w.u8(0);
  sha(w, req.etag, "the etag");
  w.u32(sorted.exact.length);
  for (const e of sorted.exact) {
    field(w, e.key, 2, "a topic");
    field(w, e.recovery, 2, "a recovery url");
  }
  w.u32(sorted.glob.length);
  for (const e of sorted.glob) {
    field(w, e.key, 2, "a glob");
    field(w, e.recovery, 2, "a recovery url");
  }
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Decodes a set_subscriptions body and checks the entries are strictly ascending.
 *
 * @example
 * ```ts
 * import { decodeSetSubscriptionsRequest, encodeSetSubscriptionsRequest } from "@x/pubsub/httppubsub/wire";
 *
 * const body = encodeSetSubscriptionsRequest({ tracing: new Uint8Array(0), url: "u", etag: new Uint8Array(64), exact: [], glob: [] });
 * console.log(decodeSetSubscriptionsRequest(body).url); // "u"
 * ```
 *
 * @param body The body.
 * @returns The request.
 * @throws {ProtocolError} When malformed, unsorted or duplicated.
 */
export function decodeSetSubscriptionsRequest(body: Uint8Array): SetSubscriptionsRequest {
  return wrap("a set_subscriptions request", readSetSubscriptionsRequest, body);
}

/**
 * Reads the fields of a set_subscriptions body and checks the entries are
 * strictly ascending, leaving the reader after them.
 *
 * @param r A reader at the start of the body.
 * @returns The request.
 * @throws {ProtocolError} When malformed, unsorted, duplicated or cut short.
 */
export function readSetSubscriptionsRequest(r: ByteReader): SetSubscriptionsRequest {
  const tracing = r.lengthPrefixed(2);
  const url = r.string(2);
  const format = r.u8();
  if (format !== 0) throw new ProtocolError(`the etag format is ${format}, not 0`, { offset: r.offset - 1 });
  const etag = r.bytes(SHA512_LENGTH);
  const exact: SubscriptionEntry<Uint8Array>[] = [];
  const e = r.u32();
  for (let i = 0; i < e; i++) {
    const key = r.lengthPrefixed(2);
    const recovery = r.string(2);
    const prev = exact.at(-1);
    if (prev !== undefined && compareBytes(prev.key, key) >= 0) {
      throw new ProtocolError("the exact topics are not strictly ascending", { offset: r.offset });
    }
    exact.push({ key, recovery });
  }
  const glob: SubscriptionEntry<string>[] = [];
  let prevGlob: Uint8Array | undefined;
  const g = r.u32();
  for (let i = 0; i < g; i++) {
    const at = r.offset;
    const bytes = r.lengthPrefixed(2);
    const key = decodeUtf8(bytes, at);
    const recovery = r.string(2);
    if (prevGlob !== undefined && compareBytes(prevGlob, bytes) >= 0) {
      throw new ProtocolError("the globs are not strictly ascending", { offset: at });
    }
    prevGlob = bytes;
    glob.push({ key, recovery });
  }
  return { tracing, url, etag, exact, glob };
}

// ---------------------------------------------------------------------------
// Broadcaster responses
// ---------------------------------------------------------------------------

/** A RESPONSE_GENERIC body. */
export interface GenericResponse {
  /** The authorization, `undefined` for none. */
  authorization: string | undefined;
  /** The tracing blob. */
  tracing: Uint8Array;
}

/** A RESPONSE_NOTIFY body. */
export interface NotifyResponse extends GenericResponse {
  /** How many subscribers confirmed. */
  subscribers: number;
  /** The notify's identifier, echoed. */
  identifier: Uint8Array;
}

/** A RESPONSE_CHECK_SUBSCRIPTIONS body. */
export interface CheckSubscriptionsResponse extends GenericResponse {
  /** The strong etag of the url's subscriptions on the broadcaster. */
  etag: Uint8Array;
}

function writeHead(w: ByteWriter, type: number, res: GenericResponse): void {
  w.u16(type);
  field(w, res.authorization ?? "", 2, "the authorization");
  field(w, res.tracing, 2, "the tracing");
}

function readHead(r: ByteReader, type: number, what: string): GenericResponse {
  readType(r, type, what);
  const authorization = readAuthorization(r);
  const tracing = r.lengthPrefixed(2);
  return { authorization, tracing };
}

/**
 * Encodes `u16(3) lp16(authorization) lp16(tracing)`.
 *
 * @example
 * ```ts
 * import { encodeGenericResponse } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(encodeGenericResponse({ authorization: undefined, tracing: new Uint8Array(0) })); // Uint8Array(6) [ 0, 3, 0, 0, 0, 0 ]
 * ```
 *
 * @param res The response.
 * @returns The body.
 * @throws {RangeError} When a field is too long.
 */
export function encodeGenericResponse(res: GenericResponse): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter(64);
  writeHead(w, BroadcasterResponseType.GENERIC, res);
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Decodes a RESPONSE_GENERIC body.
 *
 * @example
 * ```ts
 * import { decodeGenericResponse } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(decodeGenericResponse(new Uint8Array([0, 3, 0, 0, 0, 0])).authorization); // undefined
 * ```
 *
 * @param body The body.
 * @returns The response.
 * @throws {ProtocolError} When malformed or of another type.
 */
export function decodeGenericResponse(body: Uint8Array): GenericResponse {
  return wrap("a generic response", (r) => readHead(r, BroadcasterResponseType.GENERIC, "RESPONSE_GENERIC"), body);
}

/**
 * Encodes `u16(4) lp16(authorization) lp16(tracing) u32(subscribers) lp8(identifier)`.
 *
 * @example
 * ```ts
 * import { encodeNotifyResponse } from "@x/pubsub/httppubsub/wire";
 *
 * const body = encodeNotifyResponse({ authorization: undefined, tracing: new Uint8Array(0), subscribers: 2, identifier: new Uint8Array([7]) });
 * console.log(body.length); // 12
 * ```
 *
 * @param res The response.
 * @returns The body.
 * @throws {RangeError} When a field is too long.
 */
export function encodeNotifyResponse(res: NotifyResponse): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter(64);
  writeHead(w, BroadcasterResponseType.NOTIFY, res);
  w.u32(res.subscribers);
  field(w, res.identifier, 1, "the identifier");
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Decodes a RESPONSE_NOTIFY body.
 *
 * @example
 * ```ts
 * import { decodeNotifyResponse, encodeNotifyResponse } from "@x/pubsub/httppubsub/wire";
 *
 * const body = encodeNotifyResponse({ authorization: undefined, tracing: new Uint8Array(0), subscribers: 2, identifier: new Uint8Array([7]) });
 * console.log(decodeNotifyResponse(body).subscribers); // 2
 * ```
 *
 * @param body The body.
 * @returns The response.
 * @throws {ProtocolError} When malformed or of another type.
 */
export function decodeNotifyResponse(body: Uint8Array): NotifyResponse {
  return wrap("a notify response", (r) => {
    const head = readHead(r, BroadcasterResponseType.NOTIFY, "RESPONSE_NOTIFY");
    const subscribers = r.u32();
    const identifier = r.lengthPrefixed(1);
    return { ...head, subscribers, identifier };
  }, body);
}

/**
 * Encodes `u16(5) lp16(authorization) lp16(tracing) u8(0) etag`.
 *
 * @example
 * ```ts
 * import { encodeCheckSubscriptionsResponse } from "@x/pubsub/httppubsub/wire";
 *
 * const body = encodeCheckSubscriptionsResponse({ authorization: undefined, tracing: new Uint8Array(0), etag: new Uint8Array(64) });
 * console.log(body.length); // 71
 * ```
 *
 * @param res The response.
 * @returns The body.
 * @throws {RangeError} When a field is too long or the etag is not 64 bytes.
 */
export function encodeCheckSubscriptionsResponse(res: CheckSubscriptionsResponse): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter(128);
  writeHead(w, BroadcasterResponseType.CHECK_SUBSCRIPTIONS, res);
  w.u8(0);
  sha(w, res.etag, "the etag");
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Decodes a RESPONSE_CHECK_SUBSCRIPTIONS body.
 *
 * @example
 * ```ts
 * import { decodeCheckSubscriptionsResponse, encodeCheckSubscriptionsResponse } from "@x/pubsub/httppubsub/wire";
 *
 * const body = encodeCheckSubscriptionsResponse({ authorization: undefined, tracing: new Uint8Array(0), etag: new Uint8Array(64) });
 * console.log(decodeCheckSubscriptionsResponse(body).etag.length); // 64
 * ```
 *
 * @param body The body.
 * @returns The response.
 * @throws {ProtocolError} When malformed or of another type.
 */
export function decodeCheckSubscriptionsResponse(body: Uint8Array): CheckSubscriptionsResponse {
  return wrap("a check_subscriptions response", (r) => {
    const head = readHead(r, BroadcasterResponseType.CHECK_SUBSCRIPTIONS, "RESPONSE_CHECK_SUBSCRIPTIONS");
    const format = r.u8();
    if (format !== 0) throw new ProtocolError(`the etag format is ${format}, not 0`, { offset: r.offset - 1 });
    const etag = r.bytes(SHA512_LENGTH);
    return { ...head, etag };
  }, body);
}

// ---------------------------------------------------------------------------
// Broadcaster → subscriber requests and the subscriber's answers
// ---------------------------------------------------------------------------

/** The fixed part of a receive body, before the message bytes. */
export interface ReceivePrefix {
  /** The tracing blob. */
  tracing: Uint8Array;
  /** The topic. */
  topic: Uint8Array;
  /** The identifier (lonelypss: 8 random bytes). */
  identifier: Uint8Array;
  /** The message length. */
  length: number;
}

/** The longest receive prefix: 2+65535+2+65535+1+255+8 bytes. */
export const MAX_RECEIVE_PREFIX: number = 2 + 0xffff + 2 + 0xffff + 1 + 0xff + 8;

/**
 * Encodes `lp16(tracing) lp16(topic) lp8(identifier) u64(length)`; the message follows it.
 *
 * @example
 * ```ts
 * import { encodeReceivePrefix } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(encodeReceivePrefix({ tracing: new Uint8Array(0), topic: "t", identifier: new Uint8Array(8), length: 3 }).length); // 22
 * ```
 *
 * @param p The fields.
 * @returns The bytes.
 * @throws {RangeError} When a field is too long.
 */
export function encodeReceivePrefix(p: Omit<ReceivePrefix, "topic"> & { topic: TopicInput }): Uint8Array<ArrayBuffer> {
  checkLength(p.length, "a receive request");
  const w = new ByteWriter(64);
  field(w, p.tracing, 2, "the tracing");
  field(w, p.topic, 2, "the topic");
  field(w, p.identifier, 1, "the identifier");
  w.u64(BigInt(p.length));
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Reads a receive prefix. Used with `ChunkedReader.read` while the body streams in.
 *
 * @example
 * ```ts
 * import { ByteReader } from "../core/byte_reader.ts";
 * import { encodeReceivePrefix } from "@x/pubsub/httppubsub/wire";
 * import { readReceivePrefix } from "./codec.ts";
 *
 * const p = encodeReceivePrefix({ tracing: new Uint8Array(0), topic: "t", identifier: new Uint8Array(8), length: 3 });
 * console.log(readReceivePrefix(new ByteReader(p)).length); // 3
 * ```
 *
 * @param r A reader at the start of the body; left after the prefix.
 * @returns The prefix.
 * @throws {ProtocolError} When malformed; `TruncatedInputError` when it ends early.
 */
export function readReceivePrefix(r: ByteReader): ReceivePrefix {
  const tracing = r.lengthPrefixed(2);
  const topic = r.lengthPrefixed(2);
  const identifier = r.lengthPrefixed(1);
  const length = readLength(r);
  return { tracing, topic, identifier, length };
}

/**
 * Decodes the receive prefix at the start of a `/v1/receive` body (the
 * message follows it).
 *
 * @example
 * ```ts
 * import { decodeReceivePrefix, encodeReceivePrefix } from "@x/pubsub/httppubsub/wire";
 *
 * const p = encodeReceivePrefix({ tracing: new Uint8Array(0), topic: "t", identifier: new Uint8Array(1), length: 3 });
 * console.log(decodeReceivePrefix(p).prefix.length); // 3
 * ```
 *
 * @param bytes The start of the body (at least the whole prefix).
 * @returns The prefix, and how many bytes it took.
 * @throws {ProtocolError} When malformed, or when `bytes` ends inside the prefix (`TruncatedInputError`).
 */
export function decodeReceivePrefix(bytes: Uint8Array): { prefix: ReceivePrefix; prefixLength: number } {
  const r = new ByteReader(bytes);
  const prefix = readReceivePrefix(r);
  return { prefix, prefixLength: r.offset };
}

/** A missed (recover) body. */
export interface MissedRequest {
  /** The tracing blob. */
  tracing: Uint8Array;
  /** The topic that may have been missed. */
  topic: Uint8Array;
}

/**
 * Encodes `lp16(tracing) lp16(topic)`.
 *
 * @example
 * ```ts
 * import { encodeMissedRequest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(encodeMissedRequest({ tracing: new Uint8Array(0), topic: "t" })); // Uint8Array(5) [ 0, 0, 0, 1, 116 ]
 * ```
 *
 * @param req The request.
 * @returns The body.
 * @throws {RangeError} When a field is too long.
 */
export function encodeMissedRequest(req: { tracing: Uint8Array; topic: TopicInput }): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter(32);
  field(w, req.tracing, 2, "the tracing");
  field(w, req.topic, 2, "the topic");
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Decodes a missed body.
 *
 * @example
 * ```ts
 * import { decodeMissedRequest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(decodeMissedRequest(new Uint8Array([0, 0, 0, 1, 116])).topic); // Uint8Array(1) [ 116 ]
 * ```
 *
 * @param body The body.
 * @returns The request.
 * @throws {ProtocolError} When malformed.
 */
export function decodeMissedRequest(body: Uint8Array): MissedRequest {
  return wrap("a missed request", (r) => {
    const tracing = r.lengthPrefixed(2);
    const topic = r.lengthPrefixed(2);
    return { tracing, topic };
  }, body);
}

/** A subscriber's answer to a receive or missed request. */
export type SubscriberResponse =
  | {
    type: "confirm-receive";
    authorization: string | undefined;
    tracing: Uint8Array;
    identifier: Uint8Array;
    numSubscribers: number;
  }
  | { type: "confirm-missed"; authorization: string | undefined; tracing: Uint8Array }
  | { type: "unsubscribe-immediate" };

/**
 * Encodes a subscriber's answer.
 *
 * @example
 * ```ts
 * import { encodeSubscriberResponse } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(encodeSubscriberResponse({ type: "unsubscribe-immediate" })); // Uint8Array(2) [ 0, 10 ]
 * ```
 *
 * @param res The answer.
 * @returns The body.
 * @throws {RangeError} When a field is too long.
 */
export function encodeSubscriberResponse(res: SubscriberResponse): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter(64);
  switch (res.type) {
    case "confirm-receive":
      writeHead(w, SubscriberResponseType.CONFIRM_RECEIVE, res);
      field(w, res.identifier, 1, "the identifier");
      w.u32(res.numSubscribers);
      break;
    case "confirm-missed":
      writeHead(w, SubscriberResponseType.CONFIRM_MISSED, res);
      break;
    case "unsubscribe-immediate":
      w.u16(SubscriberResponseType.UNSUBSCRIBE_IMMEDIATE);
      break;
  }
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Decodes a subscriber's answer, as the broadcaster does.
 *
 * @example
 * ```ts
 * import { decodeSubscriberResponse } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(decodeSubscriberResponse(new Uint8Array([0, 10])).type); // "unsubscribe-immediate"
 * ```
 *
 * @param body The body.
 * @returns The answer.
 * @throws {ProtocolError} When malformed or of an unknown type.
 */
export function decodeSubscriberResponse(body: Uint8Array): SubscriberResponse {
  return wrap("a subscriber response", readSubscriberResponse, body);
}

/**
 * Reads a subscriber's answer, leaving the reader after its fields (the
 * broadcaster reads the fields it needs and ignores what follows).
 *
 * @param r A reader at the start of the body.
 * @returns The answer.
 * @throws {ProtocolError} When malformed, of an unknown type, or cut short.
 */
export function readSubscriberResponse(r: ByteReader): SubscriberResponse {
  const type = r.u16();
  switch (type) {
    case SubscriberResponseType.CONFIRM_RECEIVE: {
      const authorization = readAuthorization(r);
      const tracing = r.lengthPrefixed(2);
      const identifier = r.lengthPrefixed(1);
      const numSubscribers = r.u32();
      return { type: "confirm-receive", authorization, tracing, identifier, numSubscribers };
    }
    case SubscriberResponseType.CONFIRM_MISSED: {
      const authorization = readAuthorization(r);
      const tracing = r.lengthPrefixed(2);
      return { type: "confirm-missed", authorization, tracing };
    }
    case SubscriberResponseType.UNSUBSCRIBE_IMMEDIATE:
      return { type: "unsubscribe-immediate" };
    default:
      throw new ProtocolError(`the response type ${type} is unknown`, { offset: 0 });
  }
}

/**
 * Formats bytes as lowercase hex.
 *
 * @example
 * ```ts
 * import { hex } from "./codec.ts";
 *
 * console.log(hex(new Uint8Array([0, 171]))); // "00ab"
 * ```
 *
 * @param bytes The bytes.
 * @returns The hex text.
 */
export function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
