/**
 * The documents HMAC signs: one per kind of message, numbered as lonelypsp
 * numbers them.
 *
 * @module
 */

import { ByteWriter } from "../core/byte_writer.ts";
import { field, sha, type TopicInput } from "./codec.ts";

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
