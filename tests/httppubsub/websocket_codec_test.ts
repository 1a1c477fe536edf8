import assert from "node:assert/strict";
import { ProtocolError } from "../../mod.ts";
import { toHex as hex } from "../../src/core/bytes.ts";
import { toBytes } from "../../src/httppubsub/codec.ts";
import {
  connectionNonce,
  decodeB2S,
  decodeS2B,
  decodeUintHeader,
  encodeB2S,
  encodeMinimalUint,
  encodeS2B,
  websocketUrl,
} from "../../src/httppubsub/websocket_codec.ts";

const EMPTY = new Uint8Array(0);
const te = new TextEncoder();
const unhex = (s: string) => Uint8Array.from(s.replace(/\s/g, "").match(/../g)!.map((b) => parseInt(b, 16)));

Deno.test("encodeS2B() reproduces the minimal SUBSCRIBE_EXACT vector", () => {
  const f = encodeS2B({ type: "subscribe-exact", authorization: undefined, tracing: EMPTY, topic: toBytes("foo/bar") });
  assert.equal(hex(f), "00010002" + "0000" + "0000" + "0007" + hex(te.encode("foo/bar")));
});

Deno.test("encodeS2B() reproduces the expanded SUBSCRIBE_EXACT vector, and decodeS2B() reads both", () => {
  const f = encodeS2B(
    { type: "subscribe-exact", authorization: undefined, tracing: EMPTY, topic: toBytes("foo/bar") },
    false,
  );
  const expected = "0000" + "0002" + "0003" + "000d" + hex(te.encode("authorization")) + "0000" + "0009" +
    hex(te.encode("x-tracing")) + "0000" + "0007" + hex(te.encode("x-topic")) + "0007" + hex(te.encode("foo/bar"));
  assert.equal(hex(f), expected);
  for (const frame of [f, unhex("00010002 0000 0000 0007 666f6f2f626172")]) {
    const m = decodeS2B(frame);
    assert.equal(m.type, "subscribe-exact");
    if (m.type !== "subscribe-exact") continue;
    assert.equal(new TextDecoder().decode(m.topic), "foo/bar");
    assert.equal(m.authorization, undefined);
  }
});

Deno.test("connectionNonce() reproduces the vector", async () => {
  assert.equal(
    await connectionNonce(new Uint8Array(32), new Uint8Array(32).fill(1)),
    "XIWVX3CSg+zOK3TxsVUpGIGfOQkRgW57tGaAWjirh/M=",
  );
});

Deno.test("websocketUrl() writes counters in lowercase hex with a sign", () => {
  assert.equal(websocketUrl("N=", -1), "websocket:N=:-1");
  assert.equal(websocketUrl("N=", -10), "websocket:N=:-a");
  assert.equal(websocketUrl("N=", 26), "websocket:N=:1a");
});

Deno.test("encodeMinimalUint() and decodeUintHeader() round-trip and bound lengths", () => {
  for (const n of [0, 1, 255, 256, 65535, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
    assert.equal(decodeUintHeader(encodeMinimalUint(n), 8, "x"), n);
  }
  assert.equal(encodeMinimalUint(0).length, 0);
  assert.throws(() => decodeUintHeader(new Uint8Array(9), 8, "x"), ProtocolError);
  assert.throws(() => decodeUintHeader(new Uint8Array(8).fill(255), 8, "x"), ProtocolError);
  assert.throws(() => encodeMinimalUint(-1), RangeError);
});

Deno.test("stream parts round-trip: part 0 carries the start fields as a 00 part id, later parts do not", () => {
  const sha = new Uint8Array(64).fill(9);
  const p0 = encodeB2S({
    type: "receive-stream",
    authorization: "X",
    tracing: EMPTY,
    identifier: new Uint8Array([1, 2, 3, 4]),
    partId: 0,
    start: { topic: toBytes("t"), length: 300, sha512: sha },
    payload: new Uint8Array(100),
  });
  const d0 = decodeB2S(p0);
  assert.equal(d0.type, "receive-stream");
  if (d0.type !== "receive-stream") return;
  assert.equal(d0.partId, 0);
  assert.equal(d0.start?.length, 300);
  assert.equal(d0.payload.length, 100);
  // x-part-id of part 0 is the single byte 00.
  assert.deepEqual([...p0.subarray(4 + 2 + 1 + 2 + 0 + 2 + 4, 4 + 2 + 1 + 2 + 0 + 2 + 4 + 3)], [0, 1, 0]);
  const p1 = encodeS2B({
    type: "notify-stream",
    authorization: undefined,
    tracing: EMPTY,
    identifier: new Uint8Array([1]),
    partId: 1,
    start: undefined,
    payload: new Uint8Array(5),
  });
  const d1 = decodeS2B(p1);
  assert.equal(d1.type, "notify-stream");
  if (d1.type !== "notify-stream") return;
  assert.equal(d1.partId, 1);
  assert.equal(d1.start, undefined);
  assert.equal(d1.payload.length, 5);
});

Deno.test("every subscriber and broadcaster frame round-trips in minimal and expanded form", () => {
  const sha = new Uint8Array(64).fill(3);
  const s2b = [
    {
      type: "configure",
      subscriberNonce: new Uint8Array(32).fill(7),
      enableZstd: false,
      enableTraining: false,
      initialDict: 0,
      authorization: "a",
      tracing: EMPTY,
    },
    { type: "subscribe-glob", authorization: undefined, tracing: EMPTY, glob: "a/*" },
    { type: "unsubscribe-exact", authorization: undefined, tracing: EMPTY, topic: toBytes("x") },
    { type: "unsubscribe-glob", authorization: "b", tracing: EMPTY, glob: "g" },
    {
      type: "notify",
      authorization: undefined,
      tracing: EMPTY,
      identifier: new Uint8Array([1]),
      topic: toBytes("t"),
      sha512: sha,
      payload: new Uint8Array([1, 2, 3]),
    },
    {
      type: "continue-receive",
      identifier: new Uint8Array([1]),
      partId: 300,
      authorization: undefined,
      tracing: EMPTY,
    },
    {
      type: "confirm-receive",
      identifier: new Uint8Array([1]),
      authorization: undefined,
      tracing: EMPTY,
      numSubscribers: 1,
    },
  ] as const;
  for (const m of s2b) {
    for (const minimal of [true, false]) assert.deepEqual(decodeS2B(encodeS2B(m, minimal)), m);
  }
  const b2s = [
    { type: "confirm-configure", broadcasterNonce: new Uint8Array(32), authorization: undefined, tracing: EMPTY },
    { type: "confirm-subscribe-exact", topic: toBytes("t"), authorization: "z", tracing: EMPTY },
    { type: "confirm-unsubscribe-glob", glob: "g*", authorization: undefined, tracing: EMPTY },
    {
      type: "confirm-notify",
      identifier: new Uint8Array([1]),
      subscribers: 70000,
      authorization: undefined,
      tracing: EMPTY,
    },
    { type: "continue-notify", identifier: new Uint8Array([1]), partId: 2, authorization: undefined, tracing: EMPTY },
    { type: "missed", authorization: undefined, tracing: EMPTY, topic: toBytes("m") },
  ] as const;
  for (const m of b2s) {
    for (const minimal of [true, false]) assert.deepEqual(decodeB2S(encodeB2S(m, minimal)), m);
  }
});

Deno.test("decodeB2S() refuses compression frames, unknown types and bad lengths", () => {
  assert.throws(() => decodeB2S(unhex("0001 0009 0000")), ProtocolError);
  assert.throws(() => decodeB2S(unhex("0001 00ff")), ProtocolError);
  assert.throws(() => decodeS2B(unhex("0001 0002 0000")), ProtocolError);
  const notify = encodeS2B({
    type: "notify",
    authorization: undefined,
    tracing: EMPTY,
    identifier: new Uint8Array([1]),
    topic: toBytes("t"),
    sha512: new Uint8Array(64),
    payload: new Uint8Array(3),
  });
  assert.throws(
    () => decodeS2B(notify.subarray(0, notify.length - 1)),
    ProtocolError,
    "payload shorter than its length",
  );
});
