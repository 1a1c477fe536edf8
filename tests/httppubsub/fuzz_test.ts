import assert from "node:assert/strict";
import { ByteReader, ProtocolError } from "../../mod.ts";
import {
  decodeCheckSubscriptionsRequest,
  decodeCheckSubscriptionsResponse,
  decodeGenericResponse,
  decodeMissedRequest,
  decodeNotifyResponse,
  decodeSetSubscriptionsRequest,
  decodeSubscribeRequest,
  decodeSubscriberResponse,
  decodeUnsubscribeRequest,
  encodeCheckSubscriptionsRequest,
  encodeCheckSubscriptionsResponse,
  encodeGenericResponse,
  encodeMissedRequest,
  encodeNotifyPrefix,
  encodeNotifyResponse,
  encodeReceivePrefix,
  encodeSetSubscriptionsRequest,
  encodeSubscribeRequest,
  encodeSubscriberResponse,
  encodeUnsubscribeRequest,
  parseHmacAuthorization,
  parseReprDigest,
  readNotifyPrefix,
  readReceivePrefix,
  toBytes,
} from "../../src/httppubsub/codec.ts";
import { decodeB2S, decodeS2B, encodeB2S, encodeS2B } from "../../src/httppubsub/ws_codec.ts";
import { rng } from "../_seeded.ts";

const EMPTY = new Uint8Array(0);
const etag = new Uint8Array(64).fill(3);
const decoders: [string, (b: Uint8Array) => unknown, Uint8Array][] = [
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

function onlyProtocolErrors(decode: (b: Uint8Array) => unknown, input: Uint8Array, what: string): void {
  try {
    decode(input);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `${what}: ${String(err)} for ${[...input.subarray(0, 32)]}`);
  }
}

for (const [name, decode, valid] of decoders) {
  Deno.test(`decoding a ${name} gives only ProtocolError on random bytes and mutated frames`, () => {
    const next = rng(0x5eed ^ name.length * 7919);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(next() * 200);
      const bytes = Uint8Array.from({ length: len }, () => Math.floor(next() * 256));
      onlyProtocolErrors(decode, bytes, `${name} random #${i}`);
    }
    for (let i = 0; i < 3000; i++) {
      const m = valid.slice();
      const flips = 1 + Math.floor(next() * 4);
      for (let f = 0; f < flips; f++) m[Math.floor(next() * m.length)] = Math.floor(next() * 256);
      const cut = next() < 0.3 ? Math.floor(next() * m.length) : m.length;
      onlyProtocolErrors(decode, m.subarray(0, cut), `${name} mutation #${i}`);
    }
    // The valid frame itself decodes.
    decode(valid);
  });
}

Deno.test("parseHmacAuthorization() and parseReprDigest() never throw on random text", () => {
  const next = rng(42);
  const alphabet = "X-HMAC :sha-512=,abcAZ09+/_=-\u00e9";
  for (let i = 0; i < 5000; i++) {
    const s = Array.from({ length: Math.floor(next() * 120) }, () => alphabet[Math.floor(next() * alphabet.length)])
      .join("");
    parseHmacAuthorization(s);
    parseHmacAuthorization(`X-HMAC ${s}`);
    parseReprDigest(s);
    parseReprDigest(`sha-512=${s}`);
  }
});
