/**
 * What a broadcaster sends a subscriber's receiver (the receive prefix, the
 * missed notice) and the subscriber's answers.
 *
 * @module
 */

import { ByteReader } from "../core/byte_reader.ts";
import { ByteWriter } from "../core/byte_writer.ts";
import { ProtocolError } from "../core/errors.ts";
import {
  checkLength,
  field,
  readAuthorization,
  readLength,
  SubscriberResponseType,
  type TopicInput,
  wrap,
} from "./codec.ts";
import { writeHead } from "./broadcaster_responses.ts";

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
 * import { readReceivePrefix } from "./requests_to_subscriber.ts";
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
