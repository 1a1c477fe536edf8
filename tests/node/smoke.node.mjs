// Runs under Node's own test runner (`node --test`), against the entry points bundled by
// tests/node/node_test.ts. The peers (nats-server, FakeStreamSea, FakeBroadcaster) are started by that
// Deno test; their addresses come in the environment. Plain JavaScript on purpose: what a Node user
// of the published package runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.env.PUBSUB_BUNDLE_DIR;
assert.ok(dir, "PUBSUB_BUNDLE_DIR is not set: run tests/node/node_test.ts");
const entry = (name) => import(pathToFileURL(join(dir, `entry_${name}.js`)).href);
const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set`);
  return value;
};

/** Reads `n` messages or fails after `ms`. */
async function readN(sub, n, ms = 10_000) {
  const reader = sub.getReader();
  const out = [];
  const timer = setTimeout(() => reader.cancel(new Error(`only ${out.length} of ${n} messages in ${ms} ms`)), ms);
  try {
    while (out.length < n) {
      const { value, done } = await reader.read();
      assert.equal(done, false, `the stream ended after ${out.length} of ${n} messages`);
      out.push(value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return out;
}

test("`.`: open('memory:'), subscribe, publish, and a stalled reader stays within highWaterMark", async () => {
  const { open, Subscription } = await entry("mod");
  const ps = await open("memory:");
  try {
    const sub = ps.subscribe("node/*", { highWaterMark: 4, overflow: "drop-oldest" });
    assert.ok(sub instanceof Subscription);
    assert.ok(sub instanceof ReadableStream);
    await sub.ready;
    for (let i = 0; i < 10; i++) await ps.publish(`node/${i}`, `m${i}`);
    assert.equal(sub.buffered, 4);
    assert.equal(sub.dropped, 6);
    const got = await readN(sub, 4);
    assert.deepEqual(got.map((m) => m.text()), ["m6", "m7", "m8", "m9"]);
    await sub.close();
  } finally {
    await ps.close();
  }
});

test("./nats/tcp: core publish and subscribe against nats-server", async () => {
  const { NatsPubSub } = await entry("nats_tcp");
  const ps = await NatsPubSub.connect({ servers: env("NATS_URL") });
  try {
    const sub = ps.subscribe("node.core.*");
    await sub.ready;
    for (let i = 0; i < 20; i++) await ps.publish(`node.core.${i}`, `c${i}`, { headers: { "x-i": String(i) } });
    const got = await readN(sub, 20);
    assert.deepEqual(got.map((m) => m.text()), Array.from({ length: 20 }, (_, i) => `c${i}`));
    assert.equal(got[7].headers.get("x-i"), "7");
    await sub.close();
  } finally {
    await ps.close();
  }
});

test("./nats/tcp: JetStream pulls only what the reader has room for (backpressure at the server)", async () => {
  const { NatsPubSub } = await entry("nats_tcp");
  const ps = await NatsPubSub.connect({ servers: env("NATS_URL"), jetstream: true });
  try {
    const subject = `node.js.${Date.now()}`;
    // The stream is made by the Deno side (NODE_JS_STREAM takes node.js.>).
    for (let i = 0; i < 50; i++) {
      const receipt = await ps.publish(subject, `j${i}`);
      assert.equal(receipt.confirmed, true);
    }
    const sub = ps.subscribe(subject, { durable: "node-smoke", deliver: "all", highWaterMark: 5 });
    const first = await readN(sub, 1);
    await first[0].ack();
    // Ask the server, not our counters: what it delivered and awaits acks for stays within the reader's room.
    const info = await ps.consumerInfo("node-smoke", { stream: "NODE_JS_STREAM" });
    assert.ok(info.ackPending <= 5, `the server has ${info.ackPending} messages out, more than highWaterMark 5`);
    assert.ok(info.pending >= 40, `only ${info.pending} still pending at the server`);
    const rest = await readN(sub, 49);
    for (const m of rest) await m.ack();
    assert.deepEqual([...first, ...rest].map((m) => m.text()), Array.from({ length: 50 }, (_, i) => `j${i}`));
    await sub.close();
  } finally {
    await ps.close();
  }
});

test("./nats over Node's WebSocket: publish and subscribe", async () => {
  const { NatsPubSub } = await entry("nats");
  const ps = await NatsPubSub.connect({ servers: env("NATS_WS_URL") });
  try {
    const sub = ps.subscribe("node.ws");
    await sub.ready;
    await ps.publish("node.ws", "over websocket");
    const [m] = await readN(sub, 1);
    assert.equal(m.text(), "over websocket");
    await sub.close();
  } finally {
    await ps.close();
  }
});

test("./posttroll: the codec writes Python's bytes, and zeromq moves them", async () => {
  const { PosttrollMessage, Publisher, subscribe } = await entry("posttroll");
  const msg = new PosttrollMessage({
    subject: "/node/smoke",
    type: "info",
    data: { a: 1, b: [true, null, 2.5] },
    sender: "node@host",
    time: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
  });
  // Python posttroll 1.16's encode of this message, with Python's JSON spacing and isoformat time.
  assert.equal(
    msg.encode(),
    'pytroll://node/smoke info node@host 2026-01-02T03:04:05.678000 v1.01 application/json {"a": 1, "b": [true, null, 2.5]}',
  );
  const back = PosttrollMessage.decode(msg.encode());
  assert.deepEqual(back.payload, { a: 1, b: [true, null, 2.5] });

  const publisher = await new Publisher({ host: "127.0.0.1", port: 0, name: "node-smoke" }).start();
  try {
    const sub = subscribe({ addresses: [publisher.url], topics: ["/node"], nameserver: false });
    try {
      await sub.ready;
      const reader = sub.getReader();
      // PUB/SUB loses what is sent before the subscriber joined: send until one arrives.
      let got;
      const pending = reader.read().then((r) => (got = r));
      for (let i = 0; i < 200 && got === undefined; i++) {
        await publisher.send(msg);
        await new Promise((r) => setTimeout(r, 25));
      }
      await pending;
      assert.equal(got.value.subject, "/node/smoke");
      assert.deepEqual(got.value.payload, { a: 1, b: [true, null, 2.5] });
      reader.releaseLock();
    } finally {
      await sub.close();
    }
  } finally {
    await publisher.close();
  }
});

test("./streamsea: the client publishes and subscribes against FakeStreamSea", async () => {
  const { StreamSeaClient } = await entry("streamsea");
  const client = new StreamSeaClient({
    remoteHost: "127.0.0.1",
    remotePort: Number(env("STREAMSEA_PORT")),
    clientId: "abc",
    clientSecret: "def123",
  });
  try {
    await client.defineStream({ name: "node_smoke", version: 1, fields: [{ name: "n", type: "integer" }] });
    const sub = client.subscribe("node_smoke", { fanout: true });
    await sub.ready;
    await client.publish("node_smoke", [{ n: 1 }, { n: 2 }], { validate: true });
    const got = await readN(sub, 2);
    assert.deepEqual(got.map((m) => m.payload), [{ n: 1 }, { n: 2 }]);
    await sub.close();
  } finally {
    await client.close();
  }
});

test("./httppubsub: the HTTP client's receiver on node:http gets what FakeBroadcaster delivers", async () => {
  const { HttpPubSubClient } = await entry("httppubsub");
  // A Node user mounts `client.app` (a fetch handler) on their own server; here a minimal bridge from node:http.
  let client;
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length === 0 ? undefined : Buffer.concat(chunks);
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    const response = await client.app.fetch(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  try {
    client = new HttpPubSubClient({
      broadcasters: [env("HTTPPUBSUB_URL")],
      host: `http://127.0.0.1:${port}`,
      bind: { type: "manual" },
    });
    const sub = client.subscribeExact("node/http");
    await sub.ready;
    // The receiver answers the broadcaster once the reader took the message (it holds the sender): read first.
    const reading = readN(sub, 1);
    const result = await client.notify({ topic: "node/http", data: new TextEncoder().encode("through node:http") });
    assert.equal(result.notified, 1);
    const [m] = await reading;
    assert.equal(m.text(), "through node:http");
    await sub.close();
  } finally {
    await client?.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("./httppubsub: the WebSocket client over Node's WebSocket", async () => {
  const { WebsocketPubSubClient } = await entry("httppubsub");
  const client = new WebsocketPubSubClient({ broadcasters: [env("HTTPPUBSUB_URL")] });
  try {
    const sub = client.subscribeExact("node/ws");
    await sub.ready;
    const result = await client.notify({ topic: "node/ws", data: new TextEncoder().encode("over websocket") });
    assert.equal(result.notified, 1);
    const [m] = await readN(sub, 1);
    assert.equal(m.text(), "over websocket");
    await sub.close();
  } finally {
    await client.close();
  }
});

test("the four wire entries: each codec writes the bytes its spec gives", async () => {
  // httppubsub: a subscribe request body is u16-length-prefixed fields: url, topic, recovery, tracing.
  const { encodeSubscribeRequest } = await entry("httppubsub_wire");
  const url = [...new TextEncoder().encode("http://me/#1")];
  const body = encodeSubscribeRequest({ url: "http://me/#1", key: "t", recovery: "", tracing: new Uint8Array() });
  assert.deepEqual([...body], [0, url.length, ...url, 0, 1, 0x74, 0, 0, 0, 0]);
  // stream-sea: a subscribe frame is JSON with id, action and the stream as payload.
  const { encodeSubscribe } = await entry("streamsea_wire");
  assert.equal(encodeSubscribe(3, "readings"), '{"id":3,"action":"subscribe","payload":"readings"}');
  // messagebus v3 basic credentials: u32-length-prefixed user and password, then two empty u32 fields.
  const { encodeCredentials } = await entry("messagebus_wire");
  assert.deepEqual(
    [...encodeCredentials({ kind: "basic", username: "u", password: "p" }, "v3")],
    [0, 0, 0, 1, 0x75, 0, 0, 0, 1, 0x70, 0, 0, 0, 0, 0, 0, 0, 0],
  );
  // posttroll: Python's json.dumps spacing.
  const { pyDumps } = await entry("posttroll_wire");
  assert.equal(pyDumps({ a: 1, b: [true, null, 2.5] }), '{"a": 1, "b": [true, null, 2.5]}');
});
