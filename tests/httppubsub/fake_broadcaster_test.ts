// FakeBroadcaster against what lonelypss 0.0.11 (commit 5c5d4c7e, lonelypsp 0.0.46) answers on the wire.
// Bodies are built by hand from the spec's layouts (§5, §6.1); answers are read by hand.
import assert from "node:assert/strict";
import { type AuthDocument, generateSecret, hmacAuth } from "../../src/httppubsub/mod.ts";
import { decodeGenericResponse, strongEtag } from "../../src/httppubsub/wire.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";
import { cat, lp16, lp8 } from "./_hand_bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const TRAIL = [0xde, 0xad, 0xbe];

/** A cursor over an answer. */
function reader(b: Uint8Array) {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  let at = 0;
  return {
    u8: () => b[at++]!,
    u16: () => (at += 2, v.getUint16(at - 2)),
    u32: () => (at += 4, v.getUint32(at - 4)),
    u64: () => (at += 8, v.getBigUint64(at - 8)),
    f64: () => (at += 8, v.getFloat64(at - 8)),
    bytes: (n: number) => (at += n, b.subarray(at - n, at)),
    get left() {
      return b.length - at;
    },
  };
}

async function post(base: string, path: string, body: Uint8Array<ArrayBuffer>) {
  const res = await fetch(base + path, { method: "POST", body });
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
}

/** POST /v1/notify: lp16(topic) sha512 lp16(tracing) lp8(identifier) u64(length) message. */
async function notify(base: string, topic: string, text: string) {
  const data = enc.encode(text);
  const sha = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
  const body = cat(lp16(topic), sha, lp16(""), lp8(new Uint8Array([1, 2])), [0, 0, 0, 0, 0, 0, 0, data.length], data);
  const res = await post(base, "/v1/notify", body);
  assert.equal(res.status, 200);
  // RESPONSE_NOTIFY: u16(4) lp16(authorization) lp16(tracing) u32(subscribers) lp8(identifier)
  const r = reader(res.body);
  assert.equal(r.u16(), 4);
  r.bytes(r.u16());
  const tracing = r.bytes(r.u16()).slice();
  const subscribers = r.u32();
  assert.deepEqual([...r.bytes(r.u8())], [1, 2]);
  return { subscribers, tracing };
}

/** lonelypsp's simple tracer record: u8 truncated, u16 n, n×[lp16 name, lp16 extra, f64 at], u64 received, u64 sent. */
function readTrace(t: Uint8Array) {
  const r = reader(t);
  const truncated = r.u8();
  const events: string[] = [];
  const times: number[] = [];
  for (let n = r.u16(); n > 0; n--) {
    const name = dec.decode(r.bytes(r.u16()));
    const extra = dec.decode(r.bytes(r.u16()));
    times.push(r.f64());
    events.push(extra === "{}" ? name : `${name} ${extra}`);
  }
  const received = r.u64();
  const sent = r.u64();
  assert.equal(r.left, 0, "nothing after the two timestamps");
  return { truncated, events, times, received, sent };
}

/** A subscriber whose answer to a RECEIVE the test chooses, given the identifier it was sent. */
function subscriber(answer: (identifier: Uint8Array) => { status: number; body: Uint8Array<ArrayBuffer> }) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    // RECEIVE body: lp16(tracing) lp16(topic) lp8(identifier) u64(length) message
    const r = reader(new Uint8Array(await req.arrayBuffer()));
    r.bytes(r.u16());
    r.bytes(r.u16());
    const a = answer(r.bytes(r.u8()).slice());
    return new Response(a.body, { status: a.status });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/receive`, close: () => server.shutdown() };
}

/** RESPONSE_CONFIRM_RECEIVE: u16(8) lp16(authorization) lp16(tracing) lp8(identifier) u32(num_subscribers). */
const confirm = (identifier: Uint8Array, n: number) => cat([0, 8], lp16(""), lp16(""), lp8(identifier), [0, 0, 0, n]);

async function subscribeExact(base: string, url: string, topic: string) {
  // lp16(url) lp16(topic) lp16(recovery) lp16(tracing)
  const res = await post(base, "/v1/subscribe/exact", cat(lp16(url), lp16(topic), lp16(""), lp16("")));
  assert.equal(res.status, 200);
  return res.body;
}

Deno.test("FakeBroadcaster answers a notify with lonelypss's simple-tracer record and other requests with empty tracing", async () => {
  const fake = new FakeBroadcaster();
  const base = await fake.serve();
  const sub = subscriber((id) => ({ status: 200, body: confirm(id, 1) }));
  try {
    // No subscriber: spec §3 observed 118 bytes of tracing in such a RESPONSE_NOTIFY.
    const none = await notify(base, "t/nobody", "x");
    assert.equal(none.subscribers, 0);
    assert.equal(none.tracing.length, 118);
    const t0 = readTrace(none.tracing);
    assert.equal(t0.truncated, 0);
    assert.deepEqual(t0.events, ["auth_tentatively_accepted", "auth_accepted", "no_more_subscribers"]);
    assert.ok(t0.received <= t0.sent);
    assert.ok(Math.abs(t0.times[0]! - Date.now() / 1000) < 60, "seconds since the epoch");

    // RESPONSE_GENERIC u16(3) lp16(authorization) lp16(tracing): lonelypss leaves tracing empty here.
    const generic = await subscribeExact(base, `${sub.url}#one`, "t/1");
    assert.deepEqual([...generic], [0, 3, 0, 0, 0, 0]);

    const one = await notify(base, "t/1", "y");
    assert.equal(one.subscribers, 1);
    const t1 = readTrace(one.tracing);
    assert.equal(t1.events.length, 7);
    assert.deepEqual(t1.events.slice(0, 3), [
      "auth_tentatively_accepted",
      "auth_accepted",
      `exact_subscriber_found {"url": "${sub.url}#one"}`,
    ]);
    assert.match(t1.events[3]!, /^sending_receive \{"identifier_b64url": "[A-Za-z0-9_-]{11}="\}$/);
    assert.deepEqual(t1.events.slice(4), [
      'response_received {"status_code": 200}',
      'receive_confirmed {"num_subscribers": 1}',
      "no_more_subscribers",
    ]);
    assert.ok(t1.times.every((t, i) => i === 0 || t >= t1.times[i - 1]!), "in order");
  } finally {
    await sub.close();
    await fake.close();
  }
});

Deno.test("FakeBroadcaster answers another method on a route with 405 and an unknown path with 404, as FastAPI does", async () => {
  const fake = new FakeBroadcaster();
  const base = await fake.serve();
  try {
    for (
      const [method, path] of <[string, string][]> [["GET", "/v1/notify"], ["PUT", "/v1/subscribe/exact"], [
        "DELETE",
        "/v1/set_subscriptions",
      ]]
    ) {
      const res = await fetch(base + path, { method });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get("allow"), "POST");
      assert.deepEqual(await res.json(), { detail: "Method Not Allowed" });
    }
    for (
      const [method, path] of <[string, string][]> [["GET", "/v1/nothing"], ["GET", "/v1/websocket"], [
        "POST",
        "/v1/websocket",
      ]]
    ) {
      const res = await fetch(base + path, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.deepEqual(await res.json(), { detail: "Not Found" });
    }
  } finally {
    await fake.close();
  }
});

Deno.test("FakeBroadcaster reads each request's fields in order and ignores bytes after them, as lonelypss does", async () => {
  const fake = new FakeBroadcaster();
  const base = await fake.serve();
  try {
    const url = "http://127.0.0.1:9/r#trail";
    const exact = cat(lp16(url), lp16("tr/1"), lp16(""), lp16(""), TRAIL);
    const glob = cat(lp16(url), lp16("tr/*"), lp16(""), lp16(""), TRAIL);
    assert.equal((await post(base, "/v1/subscribe/exact", exact)).status, 200);
    assert.equal((await post(base, "/v1/subscribe/glob", glob)).status, 200);
    assert.deepEqual(fake.subscriptions(url).map((s) => s.key), ["tr/1", "tr/*"]);
    // The same url and topic again: 409 (spec §5), nothing stored twice.
    assert.equal((await post(base, "/v1/subscribe/exact", exact)).status, 409);
    assert.equal(fake.subscriptions(url).length, 2);
    // check_subscriptions: lp16(tracing) lp16(url)
    assert.equal((await post(base, "/v1/check_subscriptions", cat(lp16(""), lp16(url), TRAIL))).status, 200);
    // unsubscribe: lp16(url) lp16(topic or glob) lp16(tracing)
    assert.equal(
      (await post(base, "/v1/unsubscribe/exact", cat(lp16(url), lp16("tr/1"), lp16(""), TRAIL))).status,
      200,
    );
    assert.equal((await post(base, "/v1/unsubscribe/glob", cat(lp16(url), lp16("tr/*"), lp16(""), TRAIL))).status, 200);
    assert.equal(fake.subscriptions(url).length, 0);
    // Unsubscribing what is not stored: 409 (spec §5).
    assert.equal((await post(base, "/v1/unsubscribe/glob", cat(lp16(url), lp16("tr/*"), lp16(""), TRAIL))).status, 409);
    // set_subscriptions: lp16(tracing) lp16(url) u8(0) etag(64) u32(E) E×[lp16 topic, lp16 recovery] u32(G) ...
    // (the etag from the codec, checked against the spec's vectors in vectors_test.ts)
    const etag = await strongEtag(url, { exact: [{ key: enc.encode("tr/2"), recovery: "" }], glob: [] });
    const set = cat(lp16(""), lp16(url), [0], etag, [0, 0, 0, 1], lp16("tr/2"), lp16(""), [0, 0, 0, 0], TRAIL);
    assert.equal((await post(base, "/v1/set_subscriptions", set)).status, 200);
    assert.deepEqual(fake.subscriptions(url).map((s) => s.key), ["tr/2"]);
    // A field cut short is still refused.
    assert.equal((await post(base, "/v1/subscribe/exact", cat(lp16(url), [0, 9, 0x61]))).status, 400);
    // A notify's message is its declared length: bytes beyond it are refused (lonelypss: 400 too).
    const data = enc.encode("m");
    const sha = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
    const body = cat(lp16("tr/1"), sha, lp16(""), lp8(new Uint8Array([1])), [0, 0, 0, 0, 0, 0, 0, 1], data, TRAIL);
    assert.equal((await post(base, "/v1/notify", body)).status, 400);
  } finally {
    await fake.close();
  }
});

Deno.test("FakeBroadcaster judges a receive answer as lonelypss does: status ignored, echoed identifier trusted, trailing bytes ignored", async () => {
  const fake = new FakeBroadcaster();
  const base = await fake.serve();
  let answer: (id: Uint8Array) => { status: number; body: Uint8Array<ArrayBuffer> } = (id) => ({
    status: 200,
    body: confirm(id, 1),
  });
  const sub = subscriber((id) => answer(id));
  try {
    await subscribeExact(base, sub.url, "c/1");
    const cases: [string, typeof answer, number][] = [
      ["a wrong identifier echoed", (id) => ({ status: 200, body: confirm(id.map((b) => b ^ 0xff), 1) }), 1],
      ["status 500 with a good body", (id) => ({ status: 500, body: confirm(id, 1) }), 1],
      ["bytes after the fields", (id) => ({ status: 200, body: cat(confirm(id, 3), TRAIL) }), 3],
      ["a body cut short", () => ({ status: 200, body: cat([0, 8, 0]) }), 0],
    ];
    for (const [what, a, expected] of cases) {
      answer = a;
      assert.equal((await notify(base, "c/1", what)).subscribers, expected, what);
    }
    assert.equal(fake.stats.confirmed, 3);
    assert.equal(fake.stats.failedReceives, 1);
  } finally {
    await sub.close();
    await fake.close();
  }
});

Deno.test("FakeBroadcaster signs its subscribe and unsubscribe answers as CONFIRM_SUBSCRIBE_* documents (spec §5, §6)", async () => {
  const secret = generateSecret();
  const fake = new FakeBroadcaster({ toSubscriberAuth: hmacAuth(secret) });
  const base = await fake.serve();
  try {
    const url = "http://127.0.0.1:9/r#signed";
    const exact = cat(lp16(url), lp16("tr/1"), lp16(""), lp16(""));
    const glob = cat(lp16(url), lp16("tr/*"), lp16(""), lp16(""));
    const answers = [
      [await post(base, "/v1/subscribe/exact", exact), { type: "confirm-subscribe-exact", topic: "tr/1" }],
      [await post(base, "/v1/subscribe/glob", glob), { type: "confirm-subscribe-glob", glob: "tr/*" }],
      // An unsubscribe is answered with the same confirmation document (spec §6: CONFIRM_SUBSCRIBE_* for both).
      [await post(base, "/v1/unsubscribe/exact", cat(lp16(url), lp16("tr/1"), lp16(""))), {
        type: "confirm-subscribe-exact",
        topic: "tr/1",
      }],
    ] as const;
    for (const [res, want] of answers) {
      assert.equal(res.status, 200);
      const answer = decodeGenericResponse(res.body);
      const doc = { ...want, url, recovery: "" } as AuthDocument;
      // Not the request's own document: a fresh verifier each time (a verified code may not be used twice).
      const request = want.type === "confirm-subscribe-exact"
        ? { type: "subscribe-exact", url, recovery: "", topic: "tr/1" }
        : { type: "subscribe-glob", url, recovery: "", glob: "tr/*" };
      assert.equal(
        await hmacAuth(secret).verify(request as AuthDocument, answer.authorization, answer.tracing),
        "forbidden",
      );
      assert.equal(await hmacAuth(secret).verify(doc, answer.authorization, answer.tracing), "ok", want.type);
    }
  } finally {
    await fake.close();
  }
});
