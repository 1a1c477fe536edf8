import assert from "node:assert/strict";
import { ByteReader } from "../../src/core/byte_reader.ts";
import { ChunkedReader, NEED_MORE } from "../../src/core/chunked_reader.ts";
import { ProtocolError } from "../../mod.ts";
import { encodeAuthDocument } from "../../src/httppubsub/auth_document.ts";
import { encodeBase64 as base64Encode } from "../../src/core/base64.ts";
import {
  base64Decode,
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
import { compareBytes } from "../../src/httppubsub/strong_etag.ts";
import { decodeNotifyPrefix, decodeReceivePrefix } from "../../src/httppubsub/wire.ts";

const EMPTY = new Uint8Array(0);
const te = new TextEncoder();
const td = new TextDecoder();
const etag = Uint8Array.from({ length: 64 }, (_, i) => i);

Deno.test("encodeSubscribeRequest() puts url, topic, recovery, tracing in that order", () => {
  const body = encodeSubscribeRequest({ url: "u", key: "t", recovery: "r", tracing: new Uint8Array([9]) });
  assert.deepEqual([...body], [0, 1, 117, 0, 1, 116, 0, 1, 114, 0, 1, 9]);
  const back = decodeSubscribeRequest(body);
  assert.equal(back.url, "u");
  assert.equal(td.decode(back.key), "t");
  assert.equal(back.recovery, "r");
  assert.deepEqual([...back.tracing], [9]);
});

Deno.test("encodeUnsubscribeRequest() round-trips", () => {
  const back = decodeUnsubscribeRequest(
    encodeUnsubscribeRequest({ url: "http://x/v1/receive#1", key: "a/b", tracing: EMPTY }),
  );
  assert.equal(back.url, "http://x/v1/receive#1");
  assert.equal(td.decode(back.key), "a/b");
});

Deno.test("encodeCheckSubscriptionsRequest() puts tracing before the url", () => {
  const body = encodeCheckSubscriptionsRequest({ tracing: new Uint8Array([7]), url: "u" });
  assert.deepEqual([...body], [0, 1, 7, 0, 1, 117]);
  assert.equal(decodeCheckSubscriptionsRequest(body).url, "u");
});

Deno.test("encodeSetSubscriptionsRequest() sorts entries and decode checks the order", () => {
  const body = encodeSetSubscriptionsRequest({
    tracing: EMPTY,
    url: "u",
    etag,
    exact: [{ key: toBytes("b"), recovery: "" }, { key: toBytes("a"), recovery: "r" }],
    glob: [{ key: "z*", recovery: "" }, { key: "c/*", recovery: "r" }],
  });
  const back = decodeSetSubscriptionsRequest(body);
  assert.deepEqual(back.exact.map((e) => td.decode(e.key)), ["a", "b"]);
  assert.deepEqual(back.exact.map((e) => e.recovery), ["r", ""]);
  assert.deepEqual(back.glob.map((e) => e.key), ["c/*", "z*"]);
  assert.deepEqual([...back.etag], [...etag]);
  // Swap the two exact entries by hand: the decoder refuses unsorted sets.
  const w = encodeSetSubscriptionsRequest({
    tracing: EMPTY,
    url: "u",
    etag,
    exact: [{ key: toBytes("a"), recovery: "" }, { key: toBytes("b"), recovery: "" }],
    glob: [],
  });
  const at = 4 + 1 + 1 + 64 + 4; // tracing, url, format, etag, count
  const swapped = w.slice();
  swapped[at + 2] = 0x62;
  swapped[at + 2 + 1 + 2 + 2] = 0x61;
  assert.throws(() => decodeSetSubscriptionsRequest(swapped), ProtocolError);
  assert.throws(
    () =>
      encodeSetSubscriptionsRequest({
        tracing: EMPTY,
        url: "u",
        etag,
        exact: [{ key: toBytes("a"), recovery: "" }, { key: toBytes("a"), recovery: "" }],
        glob: [],
      }),
    TypeError,
  );
});

Deno.test("encodeNotifyPrefix() matches the documented layout", () => {
  const sha = new Uint8Array(64).fill(1);
  const p = encodeNotifyPrefix({
    topic: "t",
    sha512: sha,
    tracing: EMPTY,
    identifier: new Uint8Array([5, 6]),
    length: 3,
  });
  assert.deepEqual([...p.subarray(0, 3)], [0, 1, 116]);
  assert.deepEqual([...p.subarray(3, 67)], [...sha]);
  assert.deepEqual([...p.subarray(67)], [0, 0, 2, 5, 6, 0, 0, 0, 0, 0, 0, 0, 3]);
  const back = readNotifyPrefix(new ByteReader(p));
  assert.equal(back.length, 3);
  assert.deepEqual([...back.identifier], [5, 6]);
  assert.throws(
    () => encodeNotifyPrefix({ topic: "t", sha512: sha, tracing: EMPTY, identifier: new Uint8Array(256), length: 1 }),
    RangeError,
  );
  assert.throws(
    () => encodeNotifyPrefix({ topic: "t", sha512: new Uint8Array(3), tracing: EMPTY, identifier: EMPTY, length: 1 }),
    RangeError,
  );
});

Deno.test("readReceivePrefix() decodes incrementally through a ChunkedReader", () => {
  const p = encodeReceivePrefix({
    tracing: new Uint8Array([1, 2]),
    topic: "foo/bar",
    identifier: new Uint8Array(8).fill(0xaa),
    length: 1234,
  });
  const input = new ChunkedReader();
  let got: ReturnType<typeof readReceivePrefix> | typeof NEED_MORE = NEED_MORE;
  for (const b of p) {
    assert.equal(got, NEED_MORE);
    input.push(new Uint8Array([b]));
    got = input.read(readReceivePrefix);
  }
  assert.notEqual(got, NEED_MORE);
  if (got === NEED_MORE) return;
  assert.equal(td.decode(got.topic), "foo/bar");
  assert.equal(got.length, 1234);
});

Deno.test("readReceivePrefix() refuses a length beyond 2^53", () => {
  const p = encodeReceivePrefix({ tracing: EMPTY, topic: "t", identifier: EMPTY, length: 0 });
  p.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], p.length - 8);
  assert.throws(() => readReceivePrefix(new ByteReader(p)), ProtocolError);
});

Deno.test("broadcaster responses round-trip and carry their type tag", () => {
  const g = encodeGenericResponse({ authorization: "Bearer x", tracing: new Uint8Array([1]) });
  assert.deepEqual([...g.subarray(0, 2)], [0, 3]);
  assert.equal(decodeGenericResponse(g).authorization, "Bearer x");
  const n = encodeNotifyResponse({
    authorization: undefined,
    tracing: EMPTY,
    subscribers: 70000,
    identifier: new Uint8Array([1, 2]),
  });
  assert.deepEqual([...n], [0, 4, 0, 0, 0, 0, 0, 1, 0x11, 0x70, 2, 1, 2]);
  const nb = decodeNotifyResponse(n);
  assert.equal(nb.subscribers, 70000);
  assert.equal(nb.authorization, undefined);
  const c = encodeCheckSubscriptionsResponse({ authorization: undefined, tracing: EMPTY, etag });
  assert.deepEqual([...decodeCheckSubscriptionsResponse(c).etag], [...etag]);
  assert.throws(() => decodeGenericResponse(n), ProtocolError);
  assert.throws(() => decodeNotifyResponse(g), ProtocolError);
  assert.throws(() => decodeGenericResponse(new Uint8Array([...g, 0])), ProtocolError);
});

Deno.test("subscriber responses round-trip", () => {
  const r = encodeSubscriberResponse({
    type: "confirm-receive",
    authorization: "a",
    tracing: EMPTY,
    identifier: new Uint8Array([9]),
    numSubscribers: 2,
  });
  assert.deepEqual([...r], [0, 8, 0, 1, 97, 0, 0, 1, 9, 0, 0, 0, 2]);
  assert.deepEqual(decodeSubscriberResponse(r), {
    type: "confirm-receive",
    authorization: "a",
    tracing: EMPTY,
    identifier: new Uint8Array([9]),
    numSubscribers: 2,
  });
  const m = encodeSubscriberResponse({ type: "confirm-missed", authorization: undefined, tracing: EMPTY });
  assert.deepEqual([...m], [0, 9, 0, 0, 0, 0]);
  assert.equal(decodeSubscriberResponse(m).type, "confirm-missed");
  assert.deepEqual([...encodeSubscriberResponse({ type: "unsubscribe-immediate" })], [0, 10]);
  assert.throws(() => decodeSubscriberResponse(new Uint8Array([0, 11])), ProtocolError);
  assert.throws(() => decodeSubscriberResponse(new Uint8Array([0, 10, 0])), ProtocolError);
});

Deno.test("encodeMissedRequest() round-trips", () => {
  const back = decodeMissedRequest(encodeMissedRequest({ tracing: EMPTY, topic: new Uint8Array([0xff, 0]) }));
  assert.deepEqual([...back.topic], [0xff, 0]);
});

Deno.test("encodeAuthDocument() signs the subscribe fields in url, recovery, topic order", () => {
  const doc = encodeAuthDocument(1, "n", EMPTY, { type: "subscribe-exact", url: "u", recovery: "r", topic: "t" });
  assert.deepEqual([...doc], [1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 110, 0, 0, 0, 1, 117, 0, 1, 114, 0, 1, 116]);
  const cont = encodeAuthDocument(1, "n", EMPTY, {
    type: "continue-receive",
    identifier: new Uint8Array([1]),
    partId: 257,
    url: "u",
  });
  assert.equal(cont.at(-4), 1, "part id is signed in one byte, as the reference does");
  assert.throws(
    () => encodeAuthDocument(1, "n".repeat(256), EMPTY, { type: "check-subscriptions", url: "u" }),
    RangeError,
  );
});

Deno.test("parseHmacAuthorization() reads what formatHmacAuthorization() writes and refuses the rest", () => {
  const code = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
  const h = formatHmacAuthorization({ timestamp: 1700000000, nonce: "abc", code });
  const back = parseHmacAuthorization(h);
  assert.equal(back?.timestamp, 1700000000);
  assert.equal(back?.nonce, "abc");
  assert.deepEqual(back?.code, code);
  assert.equal(parseHmacAuthorization("Bearer x"), undefined);
  assert.equal(parseHmacAuthorization("X-HMAC 1:abc"), undefined);
  assert.equal(parseHmacAuthorization("X-HMAC x:abc:" + base64Encode(code)), undefined);
  assert.equal(parseHmacAuthorization("X-HMAC 1:abc:" + base64Encode(code.subarray(1))), undefined);
  assert.throws(() => formatHmacAuthorization({ timestamp: 1, nonce: "a:b", code }), TypeError);
});

Deno.test("parseReprDigest() takes the sha-512 entry of a list", () => {
  const sha = new Uint8Array(64).fill(7);
  assert.deepEqual(parseReprDigest(`sha-256=abc, ${formatReprDigest(sha)}`), sha);
  assert.deepEqual(parseReprDigest(`sha-512=:${base64Encode(sha)}:`), sha);
  assert.equal(parseReprDigest("sha-256=abc"), undefined);
  assert.equal(parseReprDigest("sha-512=notbase64!"), undefined);
  assert.equal(parseReprDigest(null), undefined);
});

Deno.test("base64Decode() accepts standard and url-safe text and refuses junk", () => {
  assert.deepEqual(base64Decode("-_8"), new Uint8Array([0xfb, 0xff]));
  assert.deepEqual(base64Decode("+/8="), new Uint8Array([0xfb, 0xff]));
  // More "=" than padding needs is accepted, as before core/base64 (which refuses it) took over the decoding.
  assert.deepEqual(base64Decode("+/8==="), new Uint8Array([0xfb, 0xff]));
  assert.equal(base64Decode("a"), undefined);
  assert.equal(base64Decode("a b"), undefined);
});

Deno.test("compareBytes() orders bytewise with prefixes first", () => {
  assert.equal(compareBytes(te.encode("a"), te.encode("b")), -1);
  assert.equal(compareBytes(te.encode("ab"), te.encode("a")), 1);
  assert.equal(compareBytes(te.encode("a"), te.encode("a")), 0);
});

Deno.test("decodeReceivePrefix/decodeNotifyPrefix read hand-built prefixes, say where the message starts, refuse a cut one", () => {
  // lp16 tracing "" | lp16 topic "t" | lp8 identifier [7] | u64 length 3 | the message "abc"
  const receive = new Uint8Array([0, 0, 0, 1, 0x74, 1, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63]);
  const r = decodeReceivePrefix(receive);
  assert.equal(r.prefixLength, 15);
  assert.deepEqual(r.prefix.topic, new Uint8Array([0x74]));
  assert.deepEqual(r.prefix.identifier, new Uint8Array([7]));
  assert.equal(r.prefix.length, 3);
  assert.throws(() => decodeReceivePrefix(receive.subarray(0, 10)), ProtocolError);
  // lp16 topic "t" | 64-byte sha512 | lp16 tracing "" | lp8 identifier [9] | u64 length 2
  const notify = new Uint8Array([0, 1, 0x74, ...new Uint8Array(64).fill(5), 0, 0, 1, 9, 0, 0, 0, 0, 0, 0, 0, 2]);
  const n = decodeNotifyPrefix(notify);
  assert.equal(n.prefixLength, notify.length);
  assert.deepEqual(n.prefix.sha512, new Uint8Array(64).fill(5));
  assert.equal(n.prefix.length, 2);
  assert.throws(() => decodeNotifyPrefix(notify.subarray(0, 40)), ProtocolError);
});
