// Overlapping websocket subscriptions and the copies lonelypss sends for them.
//
// What the reference does (lonelypss 0.0.11, run on loopback): it feeds its websocket clients
// through one internal registration per distinct exact topic and per distinct glob across all of
// them, and each registration a notify matches hands the message to every websocket client the
// topic is relevant to, counting 1 each. One client subscribed to `wo/1` and `wo/*`, one HTTP
// notify to `wo/1`: notified=2 and two RECEIVE_STREAM frames on the socket. Clients A (`e/1`) and
// B (`e/*`): notified=4, two frames each. The frames below are built by hand from the spec's
// layouts (§9.1, §9.2, §13.2) and the notify body and answer from §5, not with our encoder.
import assert from "node:assert/strict";
import {
  HttpPubSubClient,
  type HttpPubSubMessage,
  type HttpPubSubSubscription,
  WebsocketPubSubClient,
} from "../../src/httppubsub/mod.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";
import { cat, lp16 } from "./_hand_bytes.ts";

const enc = new TextEncoder();

/** A raw websocket subscriber: CONFIGURE, then SUBSCRIBE_EXACT / SUBSCRIBE_GLOB in minimal headers, no auth. */
async function rawSubscriber(base: string, exact: string[], globs: string[]) {
  const ws = new WebSocket(`${base.replace("http", "ws")}/v1/websocket`);
  ws.binaryType = "arraybuffer";
  const types: number[] = [];
  let wake: (() => void) | undefined;
  ws.onmessage = (ev) => {
    const f = new Uint8Array(ev.data as ArrayBuffer);
    types.push((f[2]! << 8) | f[3]!); // u16 flags | u16 type | ...
    wake?.();
  };
  const closed = new Promise((r) => ws.onclose = r);
  await new Promise((r) => ws.onopen = r);
  const until = async (n: number, type: number) => {
    const deadline = Date.now() + 10_000;
    while (types.filter((t) => t === type).length < n) {
      if (Date.now() > deadline) throw new Error(`waited for ${n} frames of type ${type}, got ${types.join(",")}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
  };
  // CONFIGURE (type 1): nonce(32), zstd 0, training 0, initial dict (0: empty), authorization, tracing.
  ws.send(cat(
    [0, 1, 0, 1],
    lp16(new Uint8Array(32).fill(7)),
    lp16(new Uint8Array([0])),
    lp16(new Uint8Array([0])),
    [
      0,
      0,
    ],
    [0, 0],
    [0, 0],
  ));
  await until(1, 1); // CONFIRM_CONFIGURE
  let confirms = 0;
  // SUBSCRIBE_EXACT (2) and SUBSCRIBE_GLOB (3): authorization, tracing, topic or glob (§13.2's vector layout).
  for (const t of exact) ws.send(cat([0, 1, 0, 2], [0, 0], [0, 0], lp16(enc.encode(t)))), await until(++confirms, 2);
  confirms = 0;
  for (const g of globs) ws.send(cat([0, 1, 0, 3], [0, 0], [0, 0], lp16(enc.encode(g)))), await until(++confirms, 3);
  return {
    receiveStreams: () => types.filter((t) => t === 8).length,
    until,
    close: async () => {
      ws.close();
      await closed;
    },
  };
}

/** POST /v1/notify with a hand-built body; returns `subscribers` from the RESPONSE_NOTIFY. */
async function notify(base: string, topic: string, text: string): Promise<number> {
  const data = enc.encode(text);
  const sha = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
  // lp16(topic) sha512(64) lp16(tracing) lp8(identifier) u64(length) message
  const body = cat(lp16(enc.encode(topic)), sha, [0, 0], [1, 9], [0, 0, 0, 0, 0, 0, 0, data.length], data);
  const res = await fetch(`${base}/v1/notify`, { method: "POST", body });
  const b = new Uint8Array(await res.arrayBuffer());
  assert.equal(res.status, 200);
  // u16(4) lp16(authorization) lp16(tracing) u32(subscribers) lp8(identifier)
  assert.deepEqual([b[0], b[1]], [0, 4]);
  const auth = (b[2]! << 8) | b[3]!;
  const tracing = (b[4 + auth]! << 8) | b[5 + auth]!;
  return new DataView(b.buffer, 6 + auth + tracing, 4).getUint32(0);
}

async function next(sub: HttpPubSubSubscription): Promise<HttpPubSubMessage> {
  const reader = sub.getReader();
  try {
    const r = await reader.read();
    assert.ok(!r.done, "the subscription ended");
    return r.value;
  } finally {
    reader.releaseLock();
  }
}

Deno.test("FakeBroadcaster sends a websocket client one copy per internal registration and counts each, as lonelypss does", async () => {
  const fake = new FakeBroadcaster();
  const base = await fake.serve();
  try {
    const one = await rawSubscriber(base, ["wo/1"], ["wo/*"]);
    assert.equal(await notify(base, "wo/1", "x"), 2);
    await one.until(2, 8);
    assert.equal(fake.websocketRegistrations.exact.size + fake.websocketRegistrations.glob.size, 2);
    await one.close();

    const a = await rawSubscriber(base, ["e/1"], []);
    const b = await rawSubscriber(base, [], ["e/*"]);
    assert.equal(await notify(base, "e/1", "y"), 4);
    await a.until(2, 8);
    await b.until(2, 8);
    // A topic only B's glob covers: one registration, B alone.
    assert.equal(await notify(base, "e/2", "z"), 1);
    await b.until(3, 8);
    assert.equal(a.receiveStreams(), 2);
    await a.close();
    await b.close();
    // Closing counted their subscriptions out: nothing is left registered.
    assert.equal(fake.websocketRegistrations.exact.size + fake.websocketRegistrations.glob.size, 0);
    assert.equal(await notify(base, "e/1", "w"), 0);
  } finally {
    await fake.close();
  }
});

Deno.test("WebsocketPubSubClient delivers a message once to each local subscription although the broadcaster sends copies", async () => {
  const fake = new FakeBroadcaster();
  const base = await fake.serve();
  const http = new HttpPubSubClient({
    broadcasters: [base],
    bind: { type: "manual" },
    host: "http://127.0.0.1:9/unused",
  });
  const c = new WebsocketPubSubClient({ broadcasters: [base] });
  const a = new WebsocketPubSubClient({ broadcasters: [base] });
  const b = new WebsocketPubSubClient({ broadcasters: [base] });
  try {
    // One client, an exact topic and a glob over it.
    const exact = c.subscribeExact("wo/1");
    const glob = c.subscribeGlob("wo/*");
    await Promise.all([exact.ready, glob.ready]);
    assert.equal((await http.notify({ topic: "wo/1", data: "one" })).notified, 2, "the broadcaster counts copies");
    assert.equal((await c.notify({ topic: "wo/1", data: "two" })).notified, 2);
    // Per socket the order is kept, so a second copy of "one" would come before "two". (Read both
    // subscriptions in turn: under the default "block" policy one unread message holds the socket.)
    for (const text of ["one", "two"]) {
      assert.equal((await next(exact)).text(), text);
      assert.equal((await next(glob)).text(), text);
    }
    // Two clients: A's exact topic and B's glob bring each of them two copies.
    const sa = a.subscribeExact("e/1");
    const sb = b.subscribeGlob("e/*");
    await Promise.all([sa.ready, sb.ready]);
    assert.equal((await http.notify({ topic: "e/1", data: "three" })).notified, 4);
    assert.equal((await http.notify({ topic: "e/1", data: "four" })).notified, 4);
    for (const text of ["three", "four"]) {
      assert.equal((await next(sa)).text(), text);
      assert.equal((await next(sb)).text(), text);
    }
  } finally {
    for (const x of [c, a, b, http]) await x.close();
    await fake.close();
  }
});

Deno.test("WebsocketPubSubClient with duplicateWindowMs 0 delivers every copy, as lonelypsc does", async () => {
  const fake = new FakeBroadcaster();
  const base = await fake.serve();
  const c = new WebsocketPubSubClient({ broadcasters: [base], duplicateWindowMs: 0 });
  const other = new WebsocketPubSubClient({ broadcasters: [base] });
  try {
    // Another client's glob over our topic is enough to bring us a second copy.
    const exact = c.subscribeExact("d/1");
    const glob = other.subscribeGlob("d/*");
    await Promise.all([exact.ready, glob.ready]);
    await c.notify({ topic: "d/1", data: "one" });
    await c.notify({ topic: "d/1", data: "two" });
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await next(exact)).text());
    assert.deepEqual(got, ["one", "one", "two", "two"]);
  } finally {
    await c.close();
    await other.close();
    await fake.close();
  }
});

Deno.test("WebsocketPubSubClient delivers the same body again once duplicateWindowMs has passed, and not within it", async () => {
  const fake = new FakeBroadcaster();
  const base = await fake.serve();
  const short = new WebsocketPubSubClient({ broadcasters: [base], duplicateWindowMs: 20 });
  const long = new WebsocketPubSubClient({ broadcasters: [base], duplicateWindowMs: 60_000 });
  try {
    // One registration each: no copies, so every repeat below is a message of its own.
    const s = short.subscribeExact("r/1");
    const l = long.subscribeExact("r/2");
    await Promise.all([s.ready, l.ready]);
    await short.notify({ topic: "r/1", data: "same" });
    assert.equal((await next(s)).text(), "same");
    await new Promise((r) => setTimeout(r, 100)); // well past the 20 ms window (a slower machine only adds to it)
    await short.notify({ topic: "r/1", data: "same" });
    assert.equal((await next(s)).text(), "same", "delivered again after the window");
    // Within the window an identical message on the topic is taken for a copy: the documented price.
    await long.notify({ topic: "r/2", data: "same" });
    await long.notify({ topic: "r/2", data: "same" });
    await long.notify({ topic: "r/2", data: "other" });
    assert.equal((await next(l)).text(), "same");
    assert.equal((await next(l)).text(), "other");
  } finally {
    await short.close();
    await long.close();
    await fake.close();
  }
});
