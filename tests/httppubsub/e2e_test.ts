import assert from "node:assert/strict";
import { AuthError, ClosedError, ProtocolError } from "../../mod.ts";
import {
  AmbiguousError,
  type AuthConfig,
  generateSecret,
  hmacAuth,
  HttpPubSubClient,
  type HttpPubSubClientOptions,
  type HttpPubSubMessage,
  type HttpPubSubSubscription,
  noneAuth,
  RefusedError,
  RetriesExhaustedError,
  tokenAuth,
} from "../../src/httppubsub/mod.ts";
import { encodeSubscribeRequest, encodeUnsubscribeRequest } from "../../src/httppubsub/wire.ts";
import { FakeBroadcaster, type FakeBroadcasterOptions } from "../../src/testing/httppubsub/mod.ts";

type Scheme = "none" | "token" | "hmac";
const make = (scheme: Scheme, secret: string): AuthConfig =>
  scheme === "none" ? noneAuth() : scheme === "token" ? tokenAuth(secret) : hmacAuth(secret);

interface Pair {
  fake: FakeBroadcaster;
  client: HttpPubSubClient;
  url: string;
  close(): Promise<void>;
}

async function pair(
  toBroadcaster: Scheme = "none",
  toSubscriber: Scheme = "none",
  fakeOptions: FakeBroadcasterOptions = {},
  clientOptions: Partial<HttpPubSubClientOptions> = {},
): Promise<Pair> {
  const tb = generateSecret();
  const ts = generateSecret();
  const fake = new FakeBroadcaster({
    toBroadcasterAuth: make(toBroadcaster, tb),
    toSubscriberAuth: make(toSubscriber, ts),
    ...fakeOptions,
  });
  const url = await fake.serve();
  const client = new HttpPubSubClient({
    broadcasters: [url],
    bind: { type: "serve", hostname: "127.0.0.1", port: 0 },
    sendAuth: make(toBroadcaster, tb),
    receiveAuth: make(toSubscriber, ts),
    backoffMs: 10,
    ...clientOptions,
  });
  return { fake, client, url, close: () => client.close().then(() => fake.close()) };
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

const matrix: [Scheme, Scheme][] = [
  ["none", "none"],
  ["token", "token"],
  ["hmac", "hmac"],
  ["hmac", "token"],
  ["token", "hmac"],
  ["none", "hmac"],
  ["hmac", "none"],
];
for (const [tb, ts] of matrix) {
  Deno.test(`HttpPubSubClient subscribes, notifies and receives over loopback (to-broadcaster ${tb}, to-subscriber ${ts})`, async () => {
    const p = await pair(tb, ts);
    try {
      const exact = p.client.subscribeExact("orders/1");
      const glob = p.client.subscribeGlob("orders/*");
      await Promise.all([exact.ready, glob.ready]);
      assert.equal(p.fake.subscriptions().length, 2);
      const [r, a, b] = await Promise.all([
        p.client.notify({ topic: "orders/1", data: "one" }),
        next(exact),
        next(glob),
      ]);
      assert.equal(r.notified, 2);
      assert.equal(a.text(), "one");
      assert.equal(b.text(), "one");
      // The glob's * crosses "/".
      const [r2, c] = await Promise.all([p.client.notify({ topic: "orders/eu/2", data: "deep" }), next(glob)]);
      assert.equal(r2.notified, 1);
      assert.equal(c.topic, "orders/eu/2");
      assert.equal(p.fake.stats.failedReceives, 0);
      // orders/1 matched two registrations and came twice; each subscription got it once.
      assert.equal(exact.buffered + glob.buffered, 0);
    } finally {
      await p.close();
    }
  });
}

Deno.test("HttpPubSubClient refuses wrong credentials with AuthError in each direction", async () => {
  const p = await pair("hmac", "hmac", {}, { sendAuth: hmacAuth(generateSecret()) });
  try {
    const sub = p.client.subscribeExact("x");
    await assert.rejects(() => sub.ready, AuthError);
    await assert.rejects(
      () => p.client.notify({ topic: "x", data: "d" }),
      (e) => e instanceof AuthError && e.status === 403,
    );
  } finally {
    await p.close();
  }
  const q = await pair("token", "token", {}, { receiveAuth: tokenAuth("not-the-token") });
  try {
    // The broadcaster's signed answer does not verify: the subscription fails to start.
    await assert.rejects(() => q.client.subscribeExact("x").ready, AuthError);
  } finally {
    await q.close();
  }
});

Deno.test("HttpPubSubClient reference-counts overlapping subscriptions and unregisters on close", async () => {
  const p = await pair("hmac", "hmac");
  try {
    const a = p.client.subscribeExact("t");
    const b = p.client.subscribeExact("t");
    await Promise.all([a.ready, b.ready]);
    assert.equal(p.client.registrations.exact.get("t"), 2);
    assert.equal(p.fake.subscriptions().length, 1);
    assert.equal(await p.client.checkSubscriptions(), true, "the signed etag answer verifies and matches");
    await a.close();
    assert.equal(p.fake.subscriptions().length, 1);
    const [r, m] = await Promise.all([p.client.notify({ topic: "t", data: "x" }), next(b)]);
    assert.equal(r.notified, 1);
    assert.equal(m.text(), "x");
    await b.close();
    assert.equal(p.fake.subscriptions().length, 0);
    assert.equal((await p.client.notify({ topic: "t", data: "y" })).notified, 0);
  } finally {
    await p.close();
  }
});

Deno.test("HttpPubSubClient.subscribeMulti() adds and removes topics and globs on one stream", async () => {
  const p = await pair("hmac", "hmac");
  try {
    const multi = p.client.subscribeMulti();
    await multi.ready;
    await multi.subscribeExact("a");
    await multi.subscribeGlob("logs/*");
    assert.deepEqual(p.fake.subscriptions().map((s) => s.key).sort(), ["a", "logs/*"]);
    const [, m1] = await Promise.all([p.client.notify({ topic: "a", data: "1" }), next(multi)]);
    const [, m2] = await Promise.all([p.client.notify({ topic: "logs/x/y", data: "2" }), next(multi)]);
    assert.deepEqual([m1.topic, m2.topic], ["a", "logs/x/y"]);
    await multi.unsubscribeExact("a");
    assert.deepEqual(p.fake.subscriptions().map((s) => s.key), ["logs/*"]);
    assert.equal((await p.client.notify({ topic: "a", data: "3" })).notified, 0);
    await multi.unsubscribeGlob("logs/*");
    assert.equal(p.fake.subscriptions().length, 0);
  } finally {
    await p.close();
  }
});

Deno.test("HttpPubSubClient.notify() streams 20 MiB with the SHA-512 computed while streaming", async () => {
  const p = await pair("hmac", "hmac", { maxMessageBytes: 32 * 1024 * 1024 });
  try {
    const sub = p.client.subscribeExact("big");
    await sub.ready;
    const size = 20 * 1024 * 1024;
    const chunk = 64 * 1024;
    const open = () => {
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= size) return c.close();
          const part = new Uint8Array(chunk);
          for (let i = 0; i < chunk; i += 4096) part[i] = ((sent + i) >>> 12) & 0xff;
          sent += chunk;
          c.enqueue(part);
        },
      });
    };
    const reading = (async () => {
      const msg = await next(sub);
      assert.equal(msg.streamed, true);
      assert.equal(msg.length, size);
      let n = 0;
      let ok = true;
      for await (const part of msg.body) {
        for (let i = 0; i < part.length; i++) {
          const at = n + i;
          if (at % 4096 === 0 && part[i] !== ((at >>> 12) & 0xff)) ok = false;
        }
        n += part.length;
      }
      return { n, ok };
    })();
    const [r, got] = await Promise.all([p.client.notify({ topic: "big", data: open, length: size }), reading]);
    assert.equal(r.notified, 1);
    assert.deepEqual(got, { n: size, ok: true });
  } finally {
    await p.close();
  }
});

Deno.test("HttpPubSubClient answers unsubscribe-immediately for a registration it no longer holds", async () => {
  const p = await pair();
  try {
    const sub = p.client.subscribeExact("mine");
    await sub.ready;
    // Someone registered our url for another topic behind our back.
    const res = await fetch(`${p.url}/v1/subscribe/exact`, {
      method: "POST",
      body: encodeSubscribeRequest({
        url: p.client.receiveUrl!,
        key: "stale",
        recovery: "",
        tracing: new Uint8Array(0),
      }),
    });
    await res.body?.cancel();
    assert.equal(p.fake.subscriptions().length, 2);
    assert.equal((await p.client.notify({ topic: "stale", data: "x" })).notified, 0);
    assert.equal(p.fake.stats.unsubscribedImmediately, 1);
    assert.deepEqual(p.fake.subscriptions().map((s) => s.key), ["mine"]);
  } finally {
    await p.close();
  }
});

Deno.test("HttpPubSubClient: a reader slower than the broadcaster's timeout gives notified 0, still gets the message, and hears a missed notice", async () => {
  const p = await pair("hmac", "hmac", { receiveTimeoutMs: 200, missedDelayMs: 10, missedBurst: 3 });
  try {
    const missed: string[] = [];
    const sub = p.client.subscribeExact("slow", { onMissed: (t) => missed.push(t) });
    await sub.ready;
    const events: string[] = [];
    p.client.status.addEventListener("missed", () => events.push("missed"));
    const r = await p.client.notify({ topic: "slow", data: "late" });
    assert.equal(r.notified, 0);
    assert.equal((await next(sub)).text(), "late");
    const deadline = Date.now() + 3000;
    while (p.fake.stats.missedConfirmed < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(p.fake.stats.missedConfirmed, 3, "every missed notice of the burst is confirmed");
    assert.deepEqual(events, ["missed"], "a burst is reported once");
    assert.deepEqual(missed, ["slow"]);
  } finally {
    await p.close();
  }
});

Deno.test("HttpPubSubSubscription.withTimeout() yields null when nothing arrives in time", async () => {
  const p = await pair();
  try {
    const sub = p.client.subscribeExact("w");
    await sub.ready;
    const seen: (string | null)[] = [];
    for await (const m of sub.withTimeout(50)) {
      seen.push(m === null ? null : m.text());
      if (seen.length === 1) void p.client.notify({ topic: "w", data: "hi" });
      if (m !== null) break;
    }
    assert.equal(seen[0], null);
    assert.equal(seen.at(-1), "hi");
    await sub.closed;
  } finally {
    await p.close();
  }
});

Deno.test("HttpPubSubClient.notify() retries 503 and signs every attempt afresh", async () => {
  const seen: string[] = [];
  const p = await pair("hmac", "hmac", {}, {
    retries: 3,
    fetch: (input, init) => {
      const h = new Headers(init?.headers).get("authorization");
      if (String(input).endsWith("/v1/notify") && h !== null) seen.push(h);
      return fetch(input, init);
    },
  });
  try {
    p.fake.failNext(503, 503);
    const r = await p.client.notify({ topic: "r", data: "x" });
    assert.equal(r.notified, 0);
    assert.equal(seen.length, 3);
    assert.equal(new Set(seen).size, 3, "each attempt carries its own signature");
    p.fake.failNext(503, 503, 503);
    await assert.rejects(() => p.client.notify({ topic: "r", data: "x" }), RetriesExhaustedError);
    p.fake.failNext(400);
    await assert.rejects(
      () => p.client.notify({ topic: "r", data: "x" }),
      (e) => e instanceof RefusedError && e.status === 400,
    );
  } finally {
    await p.close();
  }
});

Deno.test("HttpPubSubClient moves past a dead broadcaster, or fails with AmbiguousError when told not to retry", async () => {
  const dead = new FakeBroadcaster();
  const deadUrl = await dead.serve();
  await dead.close();
  const p = await pair("none", "none", {}, {});
  const client = new HttpPubSubClient({
    broadcasters: [{ host: deadUrl, priority: 0 }, { host: p.url, priority: 1 }],
    bind: { type: "serve" },
    backoffMs: 5,
  });
  const strict = new HttpPubSubClient({ broadcasters: [deadUrl], bind: { type: "serve" }, retryAmbiguous: false });
  try {
    assert.equal((await client.notify({ topic: "d", data: "x" })).notified, 0);
    await assert.rejects(() => strict.notify({ topic: "d", data: "x" }), AmbiguousError);
  } finally {
    await strict.close();
    await client.close();
    await p.close();
  }
});

Deno.test("HttpPubSubClient gives ClosedError after close() and ends its subscriptions", async () => {
  const p = await pair();
  const sub = p.client.subscribeExact("c");
  await sub.ready;
  await p.close();
  assert.equal(await sub.closed, undefined);
  await assert.rejects(() => p.client.notify({ topic: "c", data: "x" }), ClosedError);
  assert.throws(() => p.client.subscribeExact("c"), ClosedError);
});

Deno.test("HttpPubSubClient checks its arguments", async () => {
  assert.throws(() => new HttpPubSubClient({ broadcasters: [] }), TypeError);
  assert.throws(() => new HttpPubSubClient({ broadcasters: ["nope"], host: "http://h" }), TypeError);
  assert.throws(() => new HttpPubSubClient({ broadcasters: ["http://b"] }), TypeError, "manual bind needs host");
  assert.throws(
    () => new HttpPubSubClient({ broadcasters: ["http://b"], host: "http://h", timeoutMs: -1 }),
    RangeError,
  );
  const c = new HttpPubSubClient({ broadcasters: ["http://127.0.0.1:9"], host: "http://127.0.0.1:1/p#f" });
  assert.equal(c.receiveUrl, "http://127.0.0.1:1/p/v1/receive#f");
  assert.equal(c.recoverUrl, "http://127.0.0.1:1/p/v1/recover#f");
  assert.throws(() => c.subscribeExact("x".repeat(70_000)), RangeError);
  assert.throws(() => c.subscribeGlob(42 as unknown as string), TypeError);
  await assert.rejects(() => c.notify({ topic: "t", data: new ReadableStream() }), TypeError, "a stream needs length");
  await assert.rejects(() => c.notify({ topic: "t", data: new Uint8Array(3), length: 4 }), RangeError);
  await assert.rejects(() => c.notify({ topic: "t", data: 5 as unknown as string }), TypeError);
  await c.close();
});

Deno.test("HttpPubSubClient.checkSubscriptions() detects a broadcaster that lost our set and restores it", async () => {
  const p = await pair("none", "none");
  try {
    const sub = p.client.subscribeGlob("k/*");
    await sub.ready;
    assert.equal(await p.client.checkSubscriptions(), true);
    // The broadcaster forgets us (as after a restart with an in-memory database).
    const res = await fetch(`${p.url}/v1/unsubscribe/glob`, {
      method: "POST",
      body: encodeUnsubscribeRequest({ url: p.client.receiveUrl!, key: "k/*", tracing: new Uint8Array(0) }),
    });
    await res.body?.cancel();
    assert.equal(p.fake.subscriptions().length, 0);
    assert.equal(await p.client.checkSubscriptions(), false);
    assert.deepEqual(p.fake.subscriptions().map((s) => s.key), ["k/*"]);
  } finally {
    await p.close();
  }
});

Deno.test("HttpPubSubClient serves its receiver under the path prefix and fragment of host", async () => {
  const fake = new FakeBroadcaster();
  const url = await fake.serve();
  // Find a free port for the receiver, since host must name it.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const client = new HttpPubSubClient({
    broadcasters: [url],
    bind: { type: "serve", hostname: "127.0.0.1", port },
    host: `http://127.0.0.1:${port}/pubsub/x#proc-7`,
  });
  try {
    const sub = client.subscribeExact("p");
    await sub.ready;
    assert.equal(fake.subscriptions()[0]?.url, `http://127.0.0.1:${port}/pubsub/x/v1/receive#proc-7`);
    assert.equal(fake.subscriptions()[0]?.recovery, `http://127.0.0.1:${port}/pubsub/x/v1/recover#proc-7`);
    const [r, m] = await Promise.all([client.notify({ topic: "p", data: "prefixed" }), next(sub)]);
    assert.equal(r.notified, 1);
    assert.equal(m.text(), "prefixed");
  } finally {
    await client.close();
    await fake.close();
  }
});

Deno.test("HttpPubSubClient times out a broadcaster that never answers", async () => {
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await release.promise;
    return new Response(null, { status: 503 });
  });
  const client = new HttpPubSubClient({
    broadcasters: [`http://127.0.0.1:${server.addr.port}`],
    host: "http://127.0.0.1:1",
    timeoutMs: 100,
    retryAmbiguous: false,
  });
  try {
    await assert.rejects(() => client.notify({ topic: "t", data: "x" }), AmbiguousError, "timed out after 100 ms");
  } finally {
    release.resolve();
    await client.close();
    await server.shutdown();
  }
});

Deno.test("HttpPubSubClient refuses a broadcaster answer that is malformed or signed wrongly", async () => {
  const body = { current: new Uint8Array([0, 4, 0]) as Uint8Array<ArrayBuffer> };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    return new Response(body.current);
  });
  const client = new HttpPubSubClient({
    broadcasters: [`http://127.0.0.1:${server.addr.port}`],
    host: "http://127.0.0.1:1",
    receiveAuth: tokenAuth("expected"),
  });
  try {
    await assert.rejects(() => client.notify({ topic: "t", data: "x" }), ProtocolError);
    // A well-formed RESPONSE_NOTIFY for another identifier.
    body.current = new Uint8Array([0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 1, 7]);
    await assert.rejects(() => client.notify({ topic: "t", data: "x" }), ProtocolError);
    // A set_subscriptions answer with the wrong token.
    const bearer = new TextEncoder().encode("Bearer wrong");
    body.current = new Uint8Array([0, 3, 0, bearer.length, ...bearer, 0, 0]);
    await assert.rejects(() => client.subscribeExact("t").ready, AuthError);
  } finally {
    await client.close();
    await server.shutdown();
  }
});

Deno.test("FakeBroadcaster.close() answers 503 to a notify whose fan-out it cut short, never a confirmation", async () => {
  const p = await pair("none", "none", { receiveTimeoutMs: 10_000 }, { retries: 1 });
  try {
    const sub = p.client.subscribeExact("held");
    await sub.ready;
    // Nobody reads: the broadcaster's delivery waits on our receiver until close() cuts it.
    const notifying = p.client.notify({ topic: "held", data: "x" });
    const deadline = Date.now() + 3000;
    while (p.fake.stats.receives === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(p.fake.stats.receives, 1, "the fan-out started");
    const closing = p.fake.close();
    await assert.rejects(notifying, (e) => !(e instanceof ClosedError));
    await closing;
    await sub.cancel();
  } finally {
    await p.close();
  }
});
