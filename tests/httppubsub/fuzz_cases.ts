/**
 * The httppubsub fuzzers (run by fuzz_test.ts through tests/_fuzz.ts): every
 * decoder, on random bytes and on mutations of a valid frame, either decodes
 * or throws ProtocolError; the header parsers either parse or say
 * `undefined`, never throw.
 *
 * @module
 */

import { ByteReader } from "../../src/core/byte_reader.ts";
import { ProtocolError } from "../../mod.ts";
import {
  formatHmacAuthorization,
  formatReprDigest,
  parseHmacAuthorization,
  parseReprDigest,
} from "../../src/httppubsub/authorization_header.ts";
import {
  decodeCheckSubscriptionsResponse,
  decodeGenericResponse,
  decodeNotifyResponse,
  encodeCheckSubscriptionsResponse,
  encodeGenericResponse,
  encodeNotifyResponse,
} from "../../src/httppubsub/broadcaster_responses.ts";
import { toBytes } from "../../src/httppubsub/codec.ts";
import {
  decodeCheckSubscriptionsRequest,
  decodeSetSubscriptionsRequest,
  decodeSubscribeRequest,
  decodeUnsubscribeRequest,
  encodeCheckSubscriptionsRequest,
  encodeNotifyPrefix,
  encodeSetSubscriptionsRequest,
  encodeSubscribeRequest,
  encodeUnsubscribeRequest,
  readNotifyPrefix,
} from "../../src/httppubsub/requests_to_broadcaster.ts";
import {
  decodeMissedRequest,
  decodeSubscriberResponse,
  encodeMissedRequest,
  encodeReceivePrefix,
  encodeSubscriberResponse,
  readReceivePrefix,
} from "../../src/httppubsub/requests_to_subscriber.ts";
import { decodeB2S, decodeS2B, encodeB2S, encodeS2B } from "../../src/httppubsub/websocket_codec.ts";
import type { FuzzCase, FuzzOutcome } from "../_fuzz.ts";

const EMPTY = new Uint8Array(0);
const etag = new Uint8Array(64).fill(3);
/** Each decoder fuzzed, with a valid input of it. */
export const decoders: [string, (b: Uint8Array) => unknown, Uint8Array][] = [
  [
    "subscribe",
    decodeSubscribeRequest,
    encodeSubscribeRequest({ url: "http://a/v1/receive#1", key: "t/x", recovery: "r", tracing: EMPTY }),
  ],
  ["unsubscribe", decodeUnsubscribeRequest, encodeUnsubscribeRequest({ url: "u", key: "t", tracing: EMPTY })],
  ["check", decodeCheckSubscriptionsRequest, encodeCheckSubscriptionsRequest({ url: "u", tracing: EMPTY })],
  [
    "set",
    decodeSetSubscriptionsRequest,
    encodeSetSubscriptionsRequest({
      url: "u",
      tracing: EMPTY,
      etag,
      exact: [{ key: toBytes("a"), recovery: "r" }, { key: toBytes("b"), recovery: "" }],
      glob: [{ key: "g*", recovery: "" }],
    }),
  ],
  ["missed", decodeMissedRequest, encodeMissedRequest({ tracing: EMPTY, topic: "t" })],
  ["generic", decodeGenericResponse, encodeGenericResponse({ authorization: "X-HMAC 1:n:AAAA", tracing: EMPTY })],
  [
    "notify response",
    decodeNotifyResponse,
    encodeNotifyResponse({ authorization: undefined, tracing: EMPTY, subscribers: 3, identifier: new Uint8Array(8) }),
  ],
  [
    "check response",
    decodeCheckSubscriptionsResponse,
    encodeCheckSubscriptionsResponse({ authorization: "a", tracing: EMPTY, etag }),
  ],
  [
    "subscriber response",
    decodeSubscriberResponse,
    encodeSubscriberResponse({
      type: "confirm-receive",
      authorization: "a",
      tracing: EMPTY,
      identifier: new Uint8Array(8),
      numSubscribers: 1,
    }),
  ],
  [
    "notify prefix",
    (b) => readNotifyPrefix(new ByteReader(b)),
    encodeNotifyPrefix({ topic: "t", sha512: etag, tracing: EMPTY, identifier: new Uint8Array(4), length: 10 }),
  ],
  [
    "receive prefix",
    (b) => readReceivePrefix(new ByteReader(b)),
    encodeReceivePrefix({ topic: "t", tracing: EMPTY, identifier: new Uint8Array(8), length: 10 }),
  ],
  [
    "websocket subscriber frame",
    decodeS2B,
    encodeS2B({
      type: "notify-stream",
      authorization: "a",
      tracing: EMPTY,
      identifier: new Uint8Array(4),
      partId: 0,
      start: { topic: toBytes("t"), length: 9, sha512: etag },
      payload: new Uint8Array(3),
    }),
  ],
  [
    "websocket subscriber frame (expanded)",
    decodeS2B,
    encodeS2B({
      type: "confirm-receive",
      authorization: undefined,
      tracing: EMPTY,
      identifier: new Uint8Array(4),
      numSubscribers: 1,
    }, false),
  ],
  [
    "websocket broadcaster frame",
    decodeB2S,
    encodeB2S({
      type: "receive-stream",
      authorization: "a",
      tracing: EMPTY,
      identifier: new Uint8Array(4),
      partId: 0,
      start: { topic: toBytes("t"), length: 9, sha512: etag },
      payload: new Uint8Array(3),
    }),
  ],
  [
    "websocket broadcaster frame (expanded)",
    decodeB2S,
    encodeB2S({
      type: "confirm-notify",
      authorization: undefined,
      tracing: EMPTY,
      identifier: new Uint8Array(4),
      subscribers: 2,
    }, false),
  ],
];

/** Decodes, and says how it went: a decoded input, or a ProtocolError; anything else is a finding. */
function decodeOutcome(decode: (b: Uint8Array) => unknown, input: Uint8Array, what: string): FuzzOutcome {
  try {
    decode(input);
    return "accepted";
  } catch (err) {
    if (err instanceof ProtocolError) return "rejected";
    throw new Error(`${what}: ${String(err)} for [${[...input.subarray(0, 32)]}]`);
  }
}

function randomBytes(next: () => number): Uint8Array {
  return Uint8Array.from({ length: Math.floor(next() * 200) }, () => Math.floor(next() * 256));
}

function mutated(valid: Uint8Array, next: () => number): Uint8Array {
  const m = valid.slice();
  const flips = 1 + Math.floor(next() * 4);
  for (let f = 0; f < flips; f++) m[Math.floor(next() * m.length)] = Math.floor(next() * 256);
  const cut = next() < 0.3 ? Math.floor(next() * m.length) : m.length;
  return m.subarray(0, cut);
}

const ALPHABET = "X-HMAC :sha-512=,abcAZ09+/_=-\u00e9";

function mutatedText(valid: string, next: () => number): string {
  const chars = [...valid];
  const edits = Math.floor(next() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * (chars.length + 1));
    const c = ALPHABET[Math.floor(next() * ALPHABET.length)]!;
    const op = next();
    if (op < 0.33) chars.splice(at, 1);
    else if (op < 0.66) chars.splice(at, 0, c);
    else chars[at] = c;
  }
  return chars.join("");
}

const code = Uint8Array.from({ length: 64 }, (_, i) => i * 7);
const VALID_HMAC = formatHmacAuthorization({ timestamp: 1700000000, nonce: "n0nce", code });
const VALID_DIGEST = formatReprDigest(code);

/** The cases, one per decoder, and the two header parsers. */
export const cases: FuzzCase[] = [
  ...decoders.map(([name, decode, valid]): FuzzCase => ({
    name: `decoding a ${name} gives only ProtocolError on random bytes and mutated frames`,
    seed: 0x5eed ^ name.length * 7919,
    inputs: 6000,
    run: (next, i) =>
      i % 2 === 0
        ? decodeOutcome(decode, randomBytes(next), `${name} random #${i}`)
        : decodeOutcome(decode, mutated(valid, next), `${name} mutation #${i}`),
  })),
  {
    name: "parseHmacAuthorization() parses or says undefined, never throws, on random and mutated text",
    seed: 42,
    inputs: 5000,
    run: (next) => {
      const s = next() < 0.5
        ? Array.from({ length: Math.floor(next() * 120) }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join(
          "",
        )
        : mutatedText(VALID_HMAC, next);
      return parseHmacAuthorization(s) === undefined ? "rejected" : "accepted";
    },
  },
  {
    name: "parseReprDigest() parses or says undefined, never throws, on random and mutated text",
    seed: 43,
    inputs: 5000,
    run: (next) => {
      const s = next() < 0.5
        ? `sha-512=${
          Array.from({ length: Math.floor(next() * 100) }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join(
            "",
          )
        }`
        : mutatedText(next() < 0.5 ? VALID_DIGEST : `md5=x, ${VALID_DIGEST}`, next);
      return parseReprDigest(s) === undefined ? "rejected" : "accepted";
    },
  },
];
