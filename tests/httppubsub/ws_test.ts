import assert from "node:assert/strict";
import { ConnectionError, ProtocolError } from "../../mod.ts";
import { toBytes } from "../../src/httppubsub/codec.ts";
import {
  type AuthConfig,
  generateSecret,
  hmacAuth,
  HttpPubSubClient,
  type HttpPubSubMessage,
  type HttpPubSubSubscription,
  noneAuth,
  tokenAuth,
  WebsocketPubSubClient,
  type WebsocketPubSubClientOptions,
} from "../../src/httppubsub/mod.ts";
import { connectionNonce, decodeB2S, decodeS2B, encodeS2B, websocketUrl } from "../../src/httppubsub/wire.ts";
import { FakeBroadcaster, type FakeBroadcasterOptions } from "../../src/testing/httppubsub/mod.ts";

type Scheme = "none" | "token" | "hmac";
const make = (scheme: Scheme, secret: string): AuthConfig =>
  scheme === "none" ? noneAuth() : scheme === "token" ? tokenAuth(secret) : hmacAuth(secret);

interface Bed {
  fake: FakeBroadcaster;
  toBroadcaster: string;
  url: string;
  ws(options?: Partial<WebsocketPubSubClientOptions>): WebsocketPubSubClient;
  http(): HttpPubSubClient;
  close(): Promise<void>;
}

async function bed(scheme: Scheme = "hmac", fakeOptions: FakeBroadcasterOptions = {}): Promise<Bed> {
  const tb = generateSecret();
  const ts = generateSecret();
  const fake = new FakeBroadcaster({
    toBroadcasterAuth: make(scheme, tb),
    toSubscriberAuth: make(scheme, ts),
    ...fakeOptions,
  });
  const url = await fake.serve();
  const clients: { close(): Promise<void> }[] = [];
  return {
    fake,
    toBroadcaster: tb,
    url,
    ws: (options = {}) => {
      const c = new WebsocketPubSubClient({
        broadcasters: [url],
        sendAuth: make(scheme, tb),
        receiveAuth: make(scheme, ts),
        ...options,
      });
      clients.push(c);
      return c;
    },
    http: () => {
      const c = new HttpPubSubClient({
        broadcasters: [url],
        bind: { type: "serve" },
        sendAuth: make(scheme, tb),
        receiveAuth: make(scheme, ts),
      });
      clients.push(c);
      return c;
    },
    close: async () => {
      for (const c of clients) await c.close();
      await fake.close();
    },
  };
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

for (const scheme of ["none", "token", "hmac"] as const) {
  Deno.test(`WebsocketPubSubClient configures, subscribes and receives an HTTP notify (${scheme})`, async () => {
    const b = await bed(scheme);
    try {
      const ws = b.ws();
      const exact = ws.subscribeExact("a/b");
      const glob = ws.subscribeGlob("a/*");
      await Promise.all([exact.ready, glob.ready]);
      assert.match(ws.nonce, /^[A-Za-z0-9+/]{43}=$/);
      const http = b.http();
      const [r, m1, m2] = await Promise.all([http.notify({ topic: "a/b", data: "hi" }), next(exact), next(glob)]);
      // lonelypss counts a copy per internal registration the topic matches (a/b and a/*); the client delivers one.
      assert.equal(r.notified, 2, "one copy per registration");
      assert.equal(m1.text(), "hi");
      assert.equal(m2.text(), "hi");
      await b.fake.websocketPeers[0]!.deliver(
        toBytes("a/c/d"),
        toBytes("deep"),
        new Uint8Array(await crypto.subtle.digest("SHA-512", new TextEncoder().encode("deep"))),
      );
      assert.equal((await next(glob)).topic, "a/c/d");
    } finally {
      await b.close();
    }
  });
}

Deno.test("WebsocketPubSubClient reassembles a message sent in parts, acknowledging each", async () => {
  const b = await bed("hmac", { websocketPartBytes: 1024 });
  try {
    const ws = b.ws();
    const sub = ws.subscribeExact("big");
    await sub.ready;
    const data = crypto.getRandomValues(new Uint8Array(10_000));
    const http = b.http();
    const [, m] = await Promise.all([http.notify({ topic: "big", data }), next(sub)]);
    assert.deepEqual(m.data, data);
    const deadline = Date.now() + 2000;
    while (b.fake.websocketPeers[0]!.confirmed < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(b.fake.websocketPeers[0]!.confirmed, 1);
    assert.equal(b.fake.websocketPeers[0]!.closedFor, undefined);
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient.notify() sends one frame or a signed NOTIFY_STREAM", async () => {
  const b = await bed("hmac");
  try {
    const http = b.http();
    const sub = http.subscribeExact("n");
    await sub.ready;
    const ws = b.ws({ maxFrameBytes: 4096 });
    const [r1, m1] = await Promise.all([ws.notify({ topic: "n", data: "small" }), next(sub)]);
    assert.equal(r1.notified, 1);
    assert.equal(m1.text(), "small");
    const data = crypto.getRandomValues(new Uint8Array(9000)); // three parts of 3072
    const [r2, m2] = await Promise.all([ws.notify({ topic: "n", data }), next(sub)]);
    assert.equal(r2.notified, 1);
    assert.deepEqual(m2.data, data);
    assert.equal(b.fake.websocketPeers[0]!.closedFor, undefined);
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient unsubscribes when the last subscription to a topic ends", async () => {
  const b = await bed("hmac");
  try {
    const ws = b.ws();
    const one = ws.subscribeExact("u");
    const two = ws.subscribeExact("u");
    await Promise.all([one.ready, two.ready]);
    const peer = b.fake.websocketPeers[0]!;
    assert.equal(peer.exact.size, 1, "sent once: a duplicate would close the socket");
    await one.close();
    assert.equal(peer.exact.size, 1);
    await two.close();
    assert.equal(peer.exact.size, 0);
    assert.equal((await b.http().notify({ topic: "u", data: "x" })).notified, 0);
    assert.equal(peer.closedFor, undefined);
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient hears missed notices", async () => {
  const b = await bed("hmac");
  try {
    const ws = b.ws();
    const missed: string[] = [];
    const sub = ws.subscribeGlob("m/*", { onMissed: (t) => missed.push(t) });
    await sub.ready;
    await b.fake.missedToWebsockets("m/1");
    const deadline = Date.now() + 2000;
    while (missed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(missed, ["m/1"]);
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient ends with ProtocolError when the broadcaster floods it beyond what it acknowledged", async () => {
  const b = await bed("hmac");
  try {
    const ws = b.ws({ reconnect: false });
    const sub = ws.subscribeGlob("m/*", { onMissed: () => {}, highWaterMark: 0 });
    await sub.ready;
    // A message nobody reads holds the client's receiving (no acknowledgement until it is taken)...
    void b.http().notify({ topic: "m/1", data: "unread" }).catch(() => {});
    await new Promise<void>((resolve) => {
      const wait = () => sub.buffered > 0 ? resolve() : void setTimeout(wait, 5);
      wait();
    });
    // ...and frames the broadcaster sends regardless pile up behind it: past 64, the client ends the connection.
    await Promise.all(Array.from({ length: 100 }, () => b.fake.missedToWebsockets("m/1").catch(() => {})));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reason = await Promise.race([
      sub.closed,
      new Promise((resolve) => timer = setTimeout(() => resolve("still open after 5 s"), 5000)),
    ]);
    clearTimeout(timer);
    assert.ok(reason instanceof ProtocolError, String(reason));
    assert.match((reason as Error).message, /unacknowledged/);
  } finally {
    await b.close();
  }
});

Deno.test("FakeBroadcaster closes a websocket whose HMAC counter is wrong, or that skips configure", async () => {
  const b = await bed("hmac");
  const open = async () => {
    const raw = new WebSocket(b.url.replace("http", "ws") + "/v1/websocket");
    raw.binaryType = "arraybuffer";
    await new Promise((r) => raw.onopen = r);
    const frames: Uint8Array[] = [];
    raw.onmessage = (ev) => frames.push(new Uint8Array(ev.data as ArrayBuffer));
    const closed = new Promise<CloseEvent>((r) => raw.onclose = r);
    return { raw, frames, closed };
  };
  try {
    const first = await open();
    first.raw.send(
      encodeS2B({ type: "subscribe-exact", authorization: undefined, tracing: new Uint8Array(0), topic: toBytes("t") }),
    );
    assert.equal((await first.closed).code, 1000, "a frame before configure closes the socket");

    const sign = hmacAuth(b.toBroadcaster);
    const { raw, frames, closed } = await open();
    const subscriberNonce = new Uint8Array(32).fill(5);
    const configure = {
      type: "configure",
      subscriberNonce,
      enableZstd: false,
      enableTraining: false,
      initialDict: 0,
    } as const;
    raw.send(encodeS2B({ ...configure, authorization: await sign.authorize(configure), tracing: new Uint8Array(0) }));
    while (frames.length === 0) await new Promise((r) => setTimeout(r, 5));
    const reply = decodeB2S(frames[0]!);
    assert.equal(reply.type, "confirm-configure");
    if (reply.type !== "confirm-configure") return;
    const nonce = await connectionNonce(subscriberNonce, reply.broadcasterNonce);
    // The first subscriber url is counter -1; sign for -2 instead.
    const authorization = await sign.authorize({
      type: "subscribe-exact",
      url: websocketUrl(nonce, -2),
      recovery: "",
      topic: "t",
    });
    raw.send(encodeS2B({ type: "subscribe-exact", authorization, tracing: new Uint8Array(0), topic: toBytes("t") }));
    assert.equal((await closed).code, 1000);
    assert.equal(frames.length, 1, "no confirmation was sent");
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient fails to connect with the wrong secret", async () => {
  const b = await bed("hmac");
  try {
    const ws = b.ws({ sendAuth: hmacAuth(generateSecret()) });
    await assert.rejects(() => ws.connect(), ConnectionError);
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient fails with ProtocolError on a malformed frame and closes the socket", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = () => socket.send(new Uint8Array([0, 1, 0, 99, 1, 2, 3]));
    return response;
  });
  const ws = new WebsocketPubSubClient({ broadcasters: [`http://127.0.0.1:${server.addr.port}`] });
  try {
    await assert.rejects(() => ws.connect(), ProtocolError);
  } finally {
    await ws.close();
    await server.shutdown();
  }
});

Deno.test("WebsocketPubSubClient with reconnect: false ends its subscriptions with ConnectionError when the socket goes", async () => {
  const b = await bed("none");
  try {
    const ws = b.ws({ reconnect: false });
    const sub = ws.subscribeExact("gone");
    await sub.ready;
    const events: string[] = [];
    ws.status.addEventListener("disconnected", () => events.push("disconnected"));
    b.fake.websocketPeers[0]!.close(1001, "going away");
    const reason = await sub.closed;
    assert.ok(reason instanceof ConnectionError, String(reason));
    assert.deepEqual(events, ["disconnected"]);
    await assert.rejects(() => ws.notify({ topic: "gone", data: "x" }), ConnectionError);
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient streams a message over bufferLimit, acknowledging parts as the reader reads", async () => {
  const b = await bed("hmac", { websocketPartBytes: 1024 });
  try {
    const ws = b.ws({ bufferLimit: 2048 });
    const sub = ws.subscribeExact("s");
    await sub.ready;
    const data = crypto.getRandomValues(new Uint8Array(50_000));
    const sha = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
    const peer = b.fake.websocketPeers[0]!;
    void peer.deliver(toBytes("s"), data, sha);
    const msg = await next(sub);
    assert.equal(msg.streamed, true);
    assert.equal(msg.length, 50_000);
    const reader = msg.body.getReader();
    const first = await reader.read();
    assert.equal(first.value?.length, 1024);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(peer.confirmed, 0, "not confirmed before the body was read");
    const parts: Uint8Array[] = [first.value!];
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    const got = new Uint8Array(50_000);
    let at = 0;
    for (const p of parts) {
      got.set(p, at);
      at += p.length;
    }
    assert.deepEqual(got, data);
    const deadline = Date.now() + 2000;
    while (peer.confirmed < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(peer.confirmed, 1);
    assert.equal(peer.closedFor, undefined);

    // A wrong SHA-512 errors the body and closes the connection.
    void peer.deliver(toBytes("s"), data, new Uint8Array(64));
    const bad = await next(sub).catch((e) => e);
    if (bad instanceof Error) assert.ok(bad instanceof ProtocolError, String(bad));
    else await assert.rejects(() => bad.bytes(), ProtocolError);
    assert.ok((await sub.closed) instanceof ProtocolError);
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient reconnects a lost socket, subscribes again, reports the gap as missed, and keeps the stream", async () => {
  const b = await bed("hmac");
  try {
    const ws = b.ws();
    const missed: string[] = [];
    const exact = ws.subscribeExact("kept", { onMissed: (t) => missed.push(t) });
    const glob = ws.subscribeGlob("k*");
    await Promise.all([exact.ready, glob.ready]);
    const events: string[] = [];
    for (const e of ["connected", "disconnected", "missed"]) {
      ws.status.addEventListener(
        e,
        (ev) => events.push(`${e}${e === "missed" ? ` ${(ev as CustomEvent).detail.topic}` : ""}`),
      );
    }
    const firstNonce = ws.nonce;
    b.fake.websocketPeers[0]!.close(1001, "going away");
    // Subscribed while the socket is down: sent once on the new socket, not again by the resubscription
    // (the broadcaster closes a socket that subscribes twice).
    await new Promise((r) => setTimeout(r, 10));
    const late = ws.subscribeExact("late");
    // Back on a new socket with both subscriptions: the broadcaster holds them again.
    const deadline = Date.now() + 5000;
    while (b.fake.websocketPeers.length === 0 || !events.includes("missed k*")) {
      if (Date.now() > deadline) throw new Error(`not reconnected: ${events.join(", ")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await late.ready;
    assert.notEqual(ws.nonce, firstNonce, "a new connection, with its own HMAC counters");
    assert.deepEqual(events, ["disconnected", "connected", "missed kept", "missed k*"]);
    assert.deepEqual(missed, ["kept"]);
    // The same streams carry messages again, notified over HTTP and over the new socket (signed with fresh counters).
    const { notified } = await b.http().notify({ topic: "kept", data: "after" });
    assert.equal(notified, 2, "kept and k* each bring a copy");
    assert.equal((await next(exact)).text(), "after");
    assert.equal((await next(glob)).text(), "after");
    assert.equal((await ws.notify({ topic: "kx", data: "again" })).notified, 1);
    assert.equal((await next(glob)).text(), "again");
    assert.equal((await b.http().notify({ topic: "late", data: "late too" })).notified, 1);
    assert.equal((await next(late)).text(), "late too");
    assert.equal(b.fake.websocketPeers.length, 1, "still the one new socket");
    await late.cancel();
    await exact.cancel();
    await glob.cancel();
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient gives up reconnecting after reconnectTimeoutMs and ends its subscriptions", async () => {
  const b = await bed("none");
  const ws = b.ws({ reconnectTimeoutMs: 300 });
  try {
    const sub = ws.subscribeExact("gone");
    await sub.ready;
    await b.fake.close();
    const reason = await sub.closed;
    assert.ok(reason instanceof ConnectionError, String(reason));
    assert.match((reason as Error).message, /within 300 ms/);
    await assert.rejects(() => ws.notify({ topic: "gone", data: "x" }), ConnectionError);
  } finally {
    await ws.close();
  }
});

Deno.test("WebsocketPubSubClient.close() during a reconnection ends at once", async () => {
  const b = await bed("none");
  const ws = b.ws({ reconnectTimeoutMs: 60_000 });
  const sub = ws.subscribeExact("x");
  await sub.ready;
  await b.fake.close();
  await new Promise((r) => setTimeout(r, 150));
  const t = performance.now();
  await ws.close();
  assert.ok(performance.now() - t < 1000, "close() does not wait out the backoff");
  await sub.closed;
});

Deno.test("WebsocketPubSubClient moves past a broadcaster that closes the socket during configuration", async () => {
  const b = await bed("none");
  const dropper = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => socket.close(1011, "not today");
    return response;
  });
  try {
    const ws = b.ws({
      broadcasters: [{ host: `http://127.0.0.1:${dropper.addr.port}`, priority: 0 }, { host: b.url, priority: 1 }],
    });
    const sub = ws.subscribeExact("moved");
    await sub.ready;
    assert.equal((await ws.notify({ topic: "moved", data: "on" })).notified, 1);
    assert.equal((await next(sub)).text(), "on");
    await sub.cancel();
  } finally {
    await b.close();
    await dropper.shutdown();
  }
});

Deno.test("WebsocketPubSubClient checks the subscribe options as the HTTP client does", async () => {
  const b = await bed("none");
  try {
    const ws = b.ws();
    const bad = [{ filter: 1 }, { onMissed: "x" }, { hold: "later" }] as unknown as object[];
    for (const options of bad) assert.throws(() => ws.subscribeExact("t", options), TypeError, JSON.stringify(options));
  } finally {
    await b.close();
  }
});

Deno.test("WebsocketPubSubClient fails a notify in flight with ConnectionError when the socket goes before its confirmation", async () => {
  const b = await bed("none");
  try {
    const ws = b.ws({ reconnect: false });
    await ws.connect();
    // The broadcaster drops the socket as soon as it sees the NOTIFY: no CONFIRM_NOTIFY ever comes.
    b.fake.onFrame = (peer, frame) => {
      if (frame instanceof Uint8Array && decodeS2B(frame).type === "notify") peer.close(1001, "going away");
    };
    await assert.rejects(() => ws.notify({ topic: "t", data: "x" }), ConnectionError);
  } finally {
    b.fake.onFrame = undefined;
    await b.close();
  }
});
