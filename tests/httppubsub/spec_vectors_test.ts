import assert from "node:assert/strict";
import { toHex as hex } from "../../src/core/bytes.ts";
import { type AuthDocument, encodeAuthDocument } from "../../src/httppubsub/auth_document.ts";
import {
  type B2SMessage,
  decodeB2S,
  decodeS2B,
  encodeB2S,
  encodeS2B,
  type S2BMessage,
} from "../../src/httppubsub/websocket_codec.ts";

// Vectors derived by hand from the spec (specs/httppubsub.md §4.3 signed documents, §9.1–9.2 websocket
// frames), independently of our encoder (a separate byte layout written from the tables, see the report of
// issue #13), with the reference's wire choices the spec leaves open: x-num-subscribers is 4 bytes
// (lonelypsp's to_bytes(4)), x-compressor is a single 00, other integers minimal (0 empty), part 0 is 00.
// A non-empty tracing ("tr") and authorization in every vector, so that their order shows.

const TS = 1700000000;
const NONCE = "n0nce1";
const enc = new TextEncoder();
const TR = enc.encode("tr");
const URL_ = "http://127.0.0.1:3002/v1/receive#1";
const REC = "http://127.0.0.1:3002/v1/recover#1";
const SHA = Uint8Array.from({ length: 64 }, (_, i) => i);
const ETAG = Uint8Array.from({ length: 64 }, (_, i) => 64 + i);
const ID = new Uint8Array([0xaa, 0xbb, 0xcc, 0xdd]);
const SNONCE = new Uint8Array(32).fill(1);
const BNONCE = new Uint8Array(32).fill(2);
const AUTH = "X-HMAC 1:a:b";

const DOCS: Record<AuthDocument["type"], string> = {
  "subscribe-exact":
    "01000000006553f100066e306e636531000274720022687474703a2f2f3132372e302e302e313a333030322f76312f7265636569766523310022687474703a2f2f3132372e302e302e313a333030322f76312f7265636f76657223310007666f6f2f626172",
  "subscribe-glob":
    "02000000006553f100066e306e636531000274720022687474703a2f2f3132372e302e302e313a333030322f76312f7265636569766523310022687474703a2f2f3132372e302e302e313a333030322f76312f7265636f76657223310005666f6f2f2a",
  "notify":
    "03000000006553f100066e306e636531000274720007666f6f2f62617a04aabbccdd000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
  "configure":
    "04000000006553f100066e306e6365310002747220010101010101010101010101010101010101010101010101010101010101010101000102",
  "check-subscriptions":
    "05000000006553f100066e306e636531000274720022687474703a2f2f3132372e302e302e313a333030322f76312f726563656976652331",
  "set-subscriptions":
    "06000000006553f100066e306e636531000274720022687474703a2f2f3132372e302e302e313a333030322f76312f72656365697665233100404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
  "continue-receive":
    "07000000006553f100066e306e6365310002747204aabbccdd030022687474703a2f2f3132372e302e302e313a333030322f76312f726563656976652331",
  "confirm-receive":
    "08000000006553f100066e306e6365310002747204aabbccdd000000020022687474703a2f2f3132372e302e302e313a333030322f76312f726563656976652331",
  "confirm-missed":
    "09000000006553f100066e306e636531000274720007666f6f2f62617a0022687474703a2f2f3132372e302e302e313a333030322f76312f7265636f7665722331",
  "receive":
    "0a000000006553f100066e306e636531000274720022687474703a2f2f3132372e302e302e313a333030322f76312f7265636569766523310007666f6f2f62617a04aabbccdd000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
  "missed":
    "0b000000006553f100066e306e636531000274720022687474703a2f2f3132372e302e302e313a333030322f76312f7265636f76657223310007666f6f2f62617a",
  "confirm-subscribe-exact":
    "0c000000006553f100066e306e636531000274720022687474703a2f2f3132372e302e302e313a333030322f76312f7265636569766523310022687474703a2f2f3132372e302e302e313a333030322f76312f7265636f76657223310007666f6f2f626172",
  "confirm-subscribe-glob":
    "0d000000006553f100066e306e636531000274720022687474703a2f2f3132372e302e302e313a333030322f76312f7265636569766523310022687474703a2f2f3132372e302e302e313a333030322f76312f7265636f76657223310005666f6f2f2a",
  "confirm-notify":
    "0e000000006553f100066e306e6365310002747204aabbccdd000000050007666f6f2f62617a000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
  "check-subscriptions-response":
    "0f000000006553f100066e306e6365310002747200404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
  "set-subscriptions-response":
    "10000000006553f100066e306e6365310002747200404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
  "confirm-configure":
    "11000000006553f100066e306e63653100027472200202020202020202020202020202020202020202020202020202020202020202",
  "continue-notify": "15000000006553f100066e306e6365310002747204aabbccdd00000007",
};

const documents: AuthDocument[] = [
  { type: "subscribe-exact", url: URL_, recovery: REC, topic: "foo/bar" },
  { type: "subscribe-glob", url: URL_, recovery: REC, glob: "foo/*" },
  { type: "notify", topic: "foo/baz", identifier: ID, sha512: SHA },
  { type: "configure", subscriberNonce: SNONCE, enableZstd: true, enableTraining: false, initialDict: 0x0102 },
  { type: "check-subscriptions", url: URL_ },
  { type: "set-subscriptions", url: URL_, etag: ETAG },
  { type: "continue-receive", identifier: ID, partId: 3, url: URL_ },
  { type: "confirm-receive", identifier: ID, numSubscribers: 2, url: URL_ },
  { type: "confirm-missed", topic: "foo/baz", url: REC },
  { type: "receive", url: URL_, topic: "foo/baz", identifier: ID, sha512: SHA },
  { type: "missed", recovery: REC, topic: "foo/baz" },
  { type: "confirm-subscribe-exact", url: URL_, recovery: REC, topic: "foo/bar" },
  { type: "confirm-subscribe-glob", url: URL_, recovery: REC, glob: "foo/*" },
  { type: "confirm-notify", identifier: ID, subscribers: 5, topic: "foo/baz", sha512: SHA },
  { type: "check-subscriptions-response", etag: ETAG },
  { type: "set-subscriptions-response", etag: ETAG },
  { type: "confirm-configure", broadcasterNonce: BNONCE },
  { type: "continue-notify", identifier: ID, partId: 7 },
];

Deno.test("encodeAuthDocument() matches the spec's layout for every signed document", () => {
  assert.deepEqual(new Set(documents.map((d) => d.type)), new Set(Object.keys(DOCS)), "a document has no vector");
  for (const d of documents) assert.equal(hex(encodeAuthDocument(TS, NONCE, TR, d)), DOCS[d.type], d.type);
});

const S2B = {
  "configure":
    "000100010020010101010101010101010101010101010101010101010101010101010101010100010000010000020000000c582d484d414320313a613a6200027472",
  "subscribe-exact": "00010002000c582d484d414320313a613a62000274720007666f6f2f626172",
  "subscribe-glob": "00010003000c582d484d414320313a613a62000274720005666f6f2f2a",
  "unsubscribe-exact": "00010004000c582d484d414320313a613a62000274720007666f6f2f626172",
  "unsubscribe-glob": "00010005000c582d484d414320313a613a62000274720005666f6f2f2a",
  "notify":
    "00010006000c582d484d414320313a613a62000274720004aabbccdd0007666f6f2f62617a0001000001050001050040000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f68656c6c6f",
  "notify-stream part 0":
    "00010007000c582d484d414320313a613a62000274720004aabbccdd0001000007666f6f2f62617a0001000001050001050040000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f68656c",
  "notify-stream part 1": "00010007000c582d484d414320313a613a62000274720004aabbccdd0001016c6f",
  "continue-receive": "000100080004aabbccdd000103000c582d484d414320313a613a6200027472",
  "confirm-receive": "000100090004aabbccdd000c582d484d414320313a613a6200027472000400000002",
  "confirm-receive (expanded)":
    "000000090004000c782d6964656e7469666965720004aabbccdd000d617574686f72697a6174696f6e000c582d484d414320313a613a620009782d74726163696e67000274720011782d6e756d2d7375627363726962657273000400000002",
};

const B2S = {
  "confirm-configure":
    "0001000100200202020202020202020202020202020202020202020202020202020202020202000c582d484d414320313a613a6200027472",
  "confirm-subscribe-exact": "000100020007666f6f2f626172000c582d484d414320313a613a6200027472",
  "confirm-subscribe-glob": "000100030005666f6f2f2a000c582d484d414320313a613a6200027472",
  "confirm-unsubscribe-exact": "000100040007666f6f2f626172000c582d484d414320313a613a6200027472",
  "confirm-unsubscribe-glob": "000100050005666f6f2f2a000c582d484d414320313a613a6200027472",
  "confirm-notify": "000100060004aabbccdd0002012c000c582d484d414320313a613a6200027472",
  "continue-notify": "000100070004aabbccdd000103000c582d484d414320313a613a6200027472",
  "receive-stream part 0":
    "00010008000c582d484d414320313a613a62000274720004aabbccdd0001000007666f6f2f62617a0001000001050001050040000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f68656c",
  "receive-stream part 1": "00010008000c582d484d414320313a613a62000274720004aabbccdd0001016c6f",
  "missed": "0001000c000c582d484d414320313a613a62000274720007666f6f2f62617a",
  "missed (expanded)":
    "0000000c0003000d617574686f72697a6174696f6e000c582d484d414320313a613a620009782d74726163696e67000274720007782d746f7069630007666f6f2f62617a",
};

const start = { topic: enc.encode("foo/baz"), length: 5, sha512: SHA };
const s2b: [keyof typeof S2B, S2BMessage, boolean][] = [
  ["configure", {
    type: "configure",
    subscriberNonce: SNONCE,
    enableZstd: false,
    enableTraining: false,
    initialDict: 0,
    authorization: AUTH,
    tracing: TR,
  }, true],
  [
    "subscribe-exact",
    { type: "subscribe-exact", authorization: AUTH, tracing: TR, topic: enc.encode("foo/bar") },
    true,
  ],
  ["subscribe-glob", { type: "subscribe-glob", authorization: AUTH, tracing: TR, glob: "foo/*" }, true],
  [
    "unsubscribe-exact",
    { type: "unsubscribe-exact", authorization: AUTH, tracing: TR, topic: enc.encode("foo/bar") },
    true,
  ],
  ["unsubscribe-glob", { type: "unsubscribe-glob", authorization: AUTH, tracing: TR, glob: "foo/*" }, true],
  ["notify", {
    type: "notify",
    authorization: AUTH,
    tracing: TR,
    identifier: ID,
    topic: enc.encode("foo/baz"),
    sha512: SHA,
    payload: enc.encode("hello"),
  }, true],
  ["notify-stream part 0", {
    type: "notify-stream",
    authorization: AUTH,
    tracing: TR,
    identifier: ID,
    partId: 0,
    start,
    payload: enc.encode("hel"),
  }, true],
  ["notify-stream part 1", {
    type: "notify-stream",
    authorization: AUTH,
    tracing: TR,
    identifier: ID,
    partId: 1,
    start: undefined,
    payload: enc.encode("lo"),
  }, true],
  ["continue-receive", { type: "continue-receive", identifier: ID, partId: 3, authorization: AUTH, tracing: TR }, true],
  [
    "confirm-receive",
    { type: "confirm-receive", identifier: ID, authorization: AUTH, tracing: TR, numSubscribers: 2 },
    true,
  ],
  ["confirm-receive (expanded)", {
    type: "confirm-receive",
    identifier: ID,
    authorization: AUTH,
    tracing: TR,
    numSubscribers: 2,
  }, false],
];
const b2s: [keyof typeof B2S, B2SMessage, boolean][] = [
  [
    "confirm-configure",
    { type: "confirm-configure", broadcasterNonce: BNONCE, authorization: AUTH, tracing: TR },
    true,
  ],
  ["confirm-subscribe-exact", {
    type: "confirm-subscribe-exact",
    topic: enc.encode("foo/bar"),
    authorization: AUTH,
    tracing: TR,
  }, true],
  ["confirm-subscribe-glob", { type: "confirm-subscribe-glob", glob: "foo/*", authorization: AUTH, tracing: TR }, true],
  ["confirm-unsubscribe-exact", {
    type: "confirm-unsubscribe-exact",
    topic: enc.encode("foo/bar"),
    authorization: AUTH,
    tracing: TR,
  }, true],
  [
    "confirm-unsubscribe-glob",
    { type: "confirm-unsubscribe-glob", glob: "foo/*", authorization: AUTH, tracing: TR },
    true,
  ],
  [
    "confirm-notify",
    { type: "confirm-notify", identifier: ID, subscribers: 300, authorization: AUTH, tracing: TR },
    true,
  ],
  ["continue-notify", { type: "continue-notify", identifier: ID, partId: 3, authorization: AUTH, tracing: TR }, true],
  ["receive-stream part 0", {
    type: "receive-stream",
    authorization: AUTH,
    tracing: TR,
    identifier: ID,
    partId: 0,
    start,
    payload: enc.encode("hel"),
  }, true],
  ["receive-stream part 1", {
    type: "receive-stream",
    authorization: AUTH,
    tracing: TR,
    identifier: ID,
    partId: 1,
    start: undefined,
    payload: enc.encode("lo"),
  }, true],
  ["missed", { type: "missed", authorization: AUTH, tracing: TR, topic: enc.encode("foo/baz") }, true],
  ["missed (expanded)", { type: "missed", authorization: AUTH, tracing: TR, topic: enc.encode("foo/baz") }, false],
];

const bytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));

Deno.test("every subscriber→broadcaster websocket frame is encoded and decoded as the spec lays it out", () => {
  assert.deepEqual(new Set(s2b.map(([k]) => k)), new Set(Object.keys(S2B)));
  for (const [name, msg, minimal] of s2b) {
    assert.equal(hex(encodeS2B(msg, minimal)), S2B[name], `encoding ${name}`);
    assert.deepEqual(decodeS2B(bytes(S2B[name])), msg, `decoding ${name}`);
  }
});

Deno.test("every broadcaster→subscriber websocket frame is encoded and decoded as the spec lays it out", () => {
  assert.deepEqual(new Set(b2s.map(([k]) => k)), new Set(Object.keys(B2S)));
  for (const [name, msg, minimal] of b2s) {
    assert.equal(hex(encodeB2S(msg, minimal)), B2S[name], `encoding ${name}`);
    assert.deepEqual(decodeB2S(bytes(B2S[name])), msg, `decoding ${name}`);
  }
});
