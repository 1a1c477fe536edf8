/**
 * A broadcaster's answers: the generic response, the notify response and the
 * check_subscriptions response.
 *
 * @module
 */

import type { ByteReader } from "../core/byte_reader.ts";
import { ByteWriter } from "../core/byte_writer.ts";
import { ProtocolError } from "../core/errors.ts";
import { BroadcasterResponseType, field, readAuthorization, readType, sha, SHA512_LENGTH, wrap } from "./codec.ts";

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

/** Writes the head every answer starts with: type, authorization, tracing. */
export function writeHead(w: ByteWriter, type: number, res: GenericResponse): void {
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
