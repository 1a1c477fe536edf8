/**
 * The bodies a subscriber sends a broadcaster: subscribe and unsubscribe
 * (exact or glob), the notify prefix, check_subscriptions and
 * set_subscriptions.
 *
 * @module
 */

import { ByteReader } from "../core/byte_reader.ts";
import { ByteWriter } from "../core/byte_writer.ts";
import { ProtocolError } from "../core/errors.ts";
import { checkLength, decodeUtf8, field, readLength, sha, SHA512_LENGTH, type TopicInput, wrap } from "./codec.ts";
import { compareBytes, sortSubscriptionSet, type SubscriptionEntry, type SubscriptionSet } from "./strong_etag.ts";

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

/**
 * Decodes a notify prefix from the start of a body. Used with
 * `ChunkedReader.read` while the body streams in.
 *
 * @example
 * ```ts
 * import { ByteReader } from "../core/byte_reader.ts";
 * import { encodeNotifyPrefix } from "@x/pubsub/httppubsub/wire";
 * import { readNotifyPrefix } from "./requests_to_broadcaster.ts";
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
