import assert from "node:assert/strict";
import { AuthError, ClosedError, ConnectionError, OverflowError, ProtocolError } from "../../src/core/errors.ts";
import { StreamSeaClient, StreamSeaError, type StreamSeaMessage } from "../../src/streamsea/mod.ts";
import { isUuid } from "../../src/streamsea/codec.ts";
import { delay } from "../../src/core/async.ts";
import { CLIENT, env, framesOf, record, take, until, within } from "./_helpers.ts";

const GROUP = "0f8fad5b-d9cb-469f-a165-70867728950e";

Deno.test("subscribe() authenticates with id 1, subscribes with id 2 and yields messages published after it", async () => {
  await using e = await env();
  await e.client.publish("boiler_data", { before: true }); // nobody subscribed: not delivered
  const sub = e.client.subscribe("boiler_data");
  await within(sub.ready);
  for (let i = 0; i < 5; i++) await e.client.publish("boiler_data", { i });
  const got = await take(sub.getReader(), 5);
  assert.deepEqual(got.map((m) => m.payload), [0, 1, 2, 3, 4].map((i) => ({ i })));
  const m = got[0]!;
  assert.equal(m.topic, "boiler_data");
  assert.equal(m.stream, "boiler_data");
  assert.equal(m.text(), '{"i":0}');
  assert.deepEqual(m.json(), { i: 0 });
  assert.equal([...m.headers].length, 0);
  assert.deepEqual(framesOf(e.fake, 1), [
    { id: 1, action: "authenticate", payload: { type: "basic", clientId: "abc", clientSecret: "def123" } },
    { id: 2, action: "subscribe", payload: "boiler_data" },
  ]);
  await sub.close();
  assert.equal(e.fake.connectionCount, 0);
});

Deno.test("subscribe() sends an explicit groupId, a named group's UUID, or a fresh UUID in fanout mode", async () => {
  await using e = await env();
  const a = e.client.subscribe("s", { groupId: GROUP });
  const b = e.client.subscribe("s", { group: "workers" });
  const c = e.client.subscribe("s", { fanout: true });
  const d = e.client.subscribe("s", { fanout: true });
  await within(Promise.all([a.ready, b.ready, c.ready, d.ready]));
  const ids = e.fake.subscriptions.map((s) => s.groupId);
  assert.equal(ids.length, 4);
  assert.ok(ids.includes(GROUP));
  assert.ok(ids.every((g) => g !== undefined && isUuid(g)));
  assert.equal(new Set(ids).size, 4);
  await Promise.all([a, b, c, d].map((s) => s.close()));
});

Deno.test("subscribe() rejects a groupId that is not a UUID and conflicting group options with TypeError", async () => {
  await using e = await env();
  assert.throws(() => e.client.subscribe("s", { groupId: "workers" }), TypeError);
  assert.throws(() => e.client.subscribe("s", { groupId: GROUP, fanout: true }), TypeError);
  assert.throws(() => e.client.subscribe("s", { group: "w", groupId: GROUP }), TypeError);
  assert.throws(() => e.client.subscribe(""), TypeError);
  assert.throws(() => e.client.subscribe("s", { highWaterMark: -1 }), RangeError);
  assert.throws(() => e.client.subscribe("s", { reconnect: { factor: 0.5 } }), RangeError);
  assert.equal(e.fake.connectionCount, 0);
});

for (const replyAction of ["subscription", "subscribe"] as const) {
  Deno.test(`subscribe() accepts the "${replyAction}" reply spelling`, async () => {
    await using e = await env({ replyAction });
    const sub = e.client.subscribe("s", { fanout: true });
    await within(sub.ready);
    await e.client.publish("s", { ok: replyAction });
    assert.deepEqual((await take(sub.getReader(), 1))[0]!.payload, { ok: replyAction });
  });
}

Deno.test("subscribe() delivers a batch element by element with debatch, whole without", async () => {
  await using e = await env();
  const split = e.client.subscribe("s", { fanout: true });
  const whole = e.client.subscribe("s", { fanout: true, debatch: false });
  await within(Promise.all([split.ready, whole.ready]));
  await e.client.publish("s", [{ n: 1 }, { n: 2 }, { n: 3 }]);
  await e.client.publish("s", { n: 4 });
  assert.deepEqual((await take(split.getReader(), 4)).map((m) => m.payload), [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
  const w = await take(whole.getReader(), 2);
  assert.deepEqual(w.map((m) => m.payload), [[{ n: 1 }, { n: 2 }, { n: 3 }], { n: 4 }]);
});

Deno.test("subscribe() with the fake splitting batches yields the same elements", async () => {
  await using e = await env({ batchDelivery: "split" });
  const sub = e.client.subscribe("s", { fanout: true, debatch: false });
  await within(sub.ready);
  await e.client.publish("s", [{ n: 1 }, { n: 2 }]);
  assert.deepEqual((await take(sub.getReader(), 2)).map((m) => m.payload), [{ n: 1 }, { n: 2 }]);
});

Deno.test("subscribe() with wrong credentials fails with AuthError once, without retrying", async () => {
  await using e = await env({}, { clientSecret: "wrong" });
  const events = record(e.client.status, ["reconnecting", "error"]);
  const sub = e.client.subscribe("s", { reconnect: { delayMs: 1 } });
  const err = await sub.ready.catch((x) => x);
  assert.ok(err instanceof AuthError, String(err));
  assert.match(err.message, /Invalid credentials/);
  await assert.rejects(() => sub.getReader().read(), AuthError);
  assert.ok((await sub.closed) instanceof AuthError);
  await delay(30);
  assert.equal(new Set(e.fake.frames.map((f) => f.connection)).size, 1);
  assert.equal(events.filter((ev) => ev.type === "reconnecting").length, 0);
  assert.equal(e.fake.connectionCount, 0);
});

Deno.test("subscribe() fails with AuthError when the server refuses every authentication", async () => {
  await using e = await env({ refuseAuth: true });
  const sub = e.client.subscribe("s");
  await assert.rejects(() => sub.ready, AuthError);
});

Deno.test("subscribe() refused by the server fails with StreamSeaError", async () => {
  await using e = await env({ subscribeWithoutSchema: false });
  const sub = e.client.subscribe("nothing");
  const err = await sub.ready.catch((x) => x);
  assert.ok(err instanceof StreamSeaError, String(err));
  assert.match(err.message, /does not exist/);
});

Deno.test("subscribe() ignores replies with unknown ids and keeps delivering", async () => {
  await using e = await env();
  const ignored = record(e.client.status, ["ignored"]);
  const sub = e.client.subscribe("s", { fanout: true });
  await within(sub.ready);
  e.fake.inject("s", '{"id":99,"action":"subscription","streamName":"s","payload":{"stray":true}}');
  e.fake.inject("s", '{"id":1,"action":"authenticate","success":true,"payload":{}}');
  await e.client.publish("s", { ok: 1 });
  assert.deepEqual((await take(sub.getReader(), 1))[0]!.payload, { ok: 1 });
  assert.deepEqual(ignored.map((ev) => ev.detail.id), [99, 1]);
});

const BAD_FRAMES: [string, string][] = [
  ["malformed JSON", '{"id":2,"action":"subscription","payload":{'],
  ["a frame without an id", '{"action":"subscription","streamName":"s","payload":{}}'],
  ["a reply for another action", '{"id":2,"action":"authenticate","success":true}'],
  ["a delivery without payload", '{"id":2,"action":"subscription","streamName":"s"}'],
  ["a delivery for another stream", '{"id":2,"action":"subscription","streamName":"other","payload":{}}'],
];
for (const [what, frame] of BAD_FRAMES) {
  Deno.test(`subscribe() fails with ProtocolError and closes the socket on ${what}`, async () => {
    await using e = await env();
    const other = e.client.subscribe("untouched", { fanout: true });
    const sub = e.client.subscribe("s", { fanout: true, reconnect: { delayMs: 1 } });
    await within(Promise.all([sub.ready, other.ready]));
    const reader = sub.getReader();
    const read = reader.read();
    e.fake.inject("s", frame);
    await assert.rejects(() => within(read), ProtocolError);
    assert.ok((await sub.closed) instanceof ProtocolError);
    await until(() => e.fake.connectionCount === 1, 2000, "the bad socket closing");
    await e.client.publish("untouched", { still: "here" });
    assert.deepEqual((await take(other.getReader(), 1))[0]!.payload, { still: "here" });
  });
}

Deno.test("subscribe() fails with StreamSeaError on a failed delivery after the ack", async () => {
  await using e = await env();
  const sub = e.client.subscribe("s", { fanout: true });
  await within(sub.ready);
  const read = sub.getReader().read();
  e.fake.inject("s", '{"id":2,"action":"subscription","success":false,"error":{"message":"stream deleted"}}');
  const err = await within(read).catch((x) => x);
  assert.ok(err instanceof StreamSeaError && /stream deleted/.test(err.message), String(err));
});

Deno.test("subscriptions of one group share a stream with nothing lost or duplicated; fanout gets all", async () => {
  await using e = await env();
  const a = e.client.subscribe("s", { groupId: GROUP, highWaterMark: 256 });
  const b = e.client.subscribe("s", { groupId: GROUP, highWaterMark: 256 });
  const f1 = e.client.subscribe("s", { fanout: true, highWaterMark: 256 });
  const f2 = e.client.subscribe("s", { fanout: true, highWaterMark: 256 });
  await within(Promise.all([a.ready, b.ready, f1.ready, f2.ready]));
  const n = 100;
  for (let i = 0; i < n; i++) e.fake.publishLocal("s", { i });
  await until(() => a.buffered + b.buffered === n && f1.buffered === n && f2.buffered === n);
  const ga = await take(a.getReader(), a.buffered);
  const gb = await take(b.getReader(), b.buffered);
  assert.ok(ga.length > 0 && gb.length > 0);
  const shared = [...ga, ...gb].map((m) => (m.payload as { i: number }).i).sort((x, y) => x - y);
  assert.deepEqual(shared, Array.from({ length: n }, (_, i) => i));
  for (const f of [f1, f2]) {
    assert.deepEqual((await take(f.getReader(), n)).map((m) => (m.payload as { i: number }).i), shared);
  }
});

Deno.test("subscriptions without groupId share the client's default group; broadcast mode gives each all", async () => {
  for (const defaultGroup of ["per-client", "broadcast"] as const) {
    await using e = await env({ defaultGroup });
    const a = e.client.subscribe("s");
    const b = e.client.subscribe("s");
    await within(Promise.all([a.ready, b.ready]));
    for (let i = 0; i < 10; i++) e.fake.publishLocal("s", { i });
    await until(() => a.buffered + b.buffered === (defaultGroup === "per-client" ? 10 : 20));
    if (defaultGroup === "per-client") assert.ok(a.buffered > 0 && b.buffered > 0);
    else assert.ok(a.buffered === 10 && b.buffered === 10);
  }
});

Deno.test("cancelling one subscription closes only its socket", async () => {
  await using e = await env();
  const a = e.client.subscribe("s", { fanout: true });
  const b = e.client.subscribe("s", { fanout: true });
  await within(Promise.all([a.ready, b.ready]));
  assert.equal(e.fake.connectionCount, 2);
  const reader = a.getReader();
  await reader.cancel("done");
  await until(() => e.fake.connectionCount === 1);
  await e.client.publish("s", { after: 1 });
  assert.deepEqual((await take(b.getReader(), 1))[0]!.payload, { after: 1 });
});

Deno.test("closing the client ends its subscriptions and refuses new ones with ClosedError", async () => {
  await using e = await env();
  const sub = e.client.subscribe("s", { fanout: true });
  await within(sub.ready);
  const read = sub.getReader().read();
  await e.client.close();
  assert.equal((await within(read)).done, true);
  assert.equal(e.fake.connectionCount, 0);
  assert.throws(() => e.client.subscribe("s"), ClosedError);
});

Deno.test("subscribe() signal aborts the subscription and closes its socket", async () => {
  await using e = await env();
  const ac = new AbortController();
  const sub = e.client.subscribe("s", { fanout: true, signal: ac.signal });
  await within(sub.ready);
  ac.abort(new Error("enough"));
  assert.equal(((await within(sub.closed)) as Error).message, "enough");
  await until(() => e.fake.connectionCount === 0);
});

Deno.test("overflow drop-newest and drop-oldest keep the buffer bounded and count drops", async () => {
  await using e = await env();
  const newest = e.client.subscribe("s", { fanout: true, highWaterMark: 4, overflow: "drop-newest" });
  const oldest = e.client.subscribe("s", { fanout: true, highWaterMark: 4, overflow: "drop-oldest" });
  await within(Promise.all([newest.ready, oldest.ready]));
  for (let i = 0; i < 10; i++) e.fake.publishLocal("s", { i });
  await until(() => newest.dropped === 6 && oldest.dropped === 6);
  const ids = (ms: StreamSeaMessage[]) => ms.map((m) => (m.payload as { i: number }).i);
  assert.deepEqual(ids(await take(newest.getReader(), 4)), [0, 1, 2, 3]);
  assert.deepEqual(ids(await take(oldest.getReader(), 4)), [6, 7, 8, 9]);
});

Deno.test("overflow error fails the subscription with OverflowError", async () => {
  await using e = await env();
  const sub = e.client.subscribe("s", { fanout: true, highWaterMark: 2, overflow: "error" });
  await within(sub.ready);
  for (let i = 0; i < 3; i++) e.fake.publishLocal("s", { i });
  assert.ok((await within(sub.closed)) instanceof OverflowError);
  await until(() => e.fake.connectionCount === 0);
});

Deno.test("overflow block stops reading a pausable socket, then loses nothing, batches included", async () => {
  await using e = await env();
  const held = e.client.subscribe("s", { fanout: true, highWaterMark: 2 });
  await within(held.ready);
  // Three single messages and a batch of three: the buffer fills, the socket stops being read.
  for (let i = 0; i < 3; i++) e.fake.publishLocal("s", { i });
  e.fake.publishLocal("s", [{ i: 3 }, { i: 4 }, { i: 5 }]);
  for (let i = 6; i < 20; i++) e.fake.publishLocal("s", { i });
  await delay(50);
  // The buffer, and at most the rest of the frame read before the pause.
  assert.ok(held.buffered <= 2 + 3, `${held.buffered} held`);
  const got = await take(held.getReader(), 20);
  assert.deepEqual(got.map((m) => (m.payload as { i: number }).i), Array.from({ length: 20 }, (_, i) => i));
  assert.equal(held.dropped, 0);
});

Deno.test("overflow block is refused with TypeError where the socket cannot pause (the platform WebSocket)", async () => {
  await using e = await env({}, { webSocket: WebSocket });
  assert.throws(() => e.client.subscribe("s", { overflow: "block" }), TypeError);
  const sub = e.client.subscribe("s", { fanout: true, highWaterMark: 1 });
  await within(sub.ready);
  for (let i = 0; i < 3; i++) e.fake.publishLocal("s", { i });
  // The default there is "error".
  assert.ok((await within(sub.closed)) instanceof OverflowError);
});

Deno.test("subscribe() times out a silent handshake with TimeoutError", async () => {
  await using e = await env({ replyDelayMs: 500 });
  const sub = e.client.subscribe("s", { replyTimeoutMs: 50 });
  await assert.rejects(() => sub.ready, /timed out after 50 ms/);
});

Deno.test("a client with JWT credentials and no secret can subscribe but not call HTTP", async () => {
  await using e = await env();
  const front = new StreamSeaClient({
    ...e.fake.connection,
    clientId: "abc",
    credentials: { type: "jwt", clientId: "abc", jwt: "not-a-jwt" },
  });
  await assert.rejects(() => front.describeStream("s"), TypeError);
  const sub = front.subscribe("s", { fanout: true });
  await assert.rejects(() => sub.ready, AuthError); // no key registered on the fake
  await front.close();
  assert.throws(
    () => new StreamSeaClient({ remoteHost: "h", ...CLIENT, credentials: { type: "x" } as never }),
    TypeError,
  );
});

Deno.test("a subscription survives the server's protocol pings while idle", async () => {
  await using e = await env({ pingIntervalSeconds: 1 });
  const events = record(e.client.status, ["disconnected"]);
  const sub = e.client.subscribe("s", { fanout: true });
  await within(sub.ready);
  await delay(2500);
  await e.client.publish("s", { still: "alive" });
  assert.deepEqual((await take(sub.getReader(), 1))[0]!.payload, { still: "alive" });
  assert.equal(events.length, 0);
});

Deno.test("subscribe() to a server that is not there fails with ConnectionError without retrying", async () => {
  const e = await env();
  const port = e.fake.port;
  await e.fake.close();
  await e.client.close();
  const client = new StreamSeaClient({ remoteHost: "127.0.0.1", remotePort: port, ...CLIENT });
  const events = record(client.status, ["reconnecting"]);
  const sub = client.subscribe("s", { reconnect: { delayMs: 1 } });
  await assert.rejects(() => within(sub.ready), ConnectionError);
  assert.equal(events.length, 0);
  await client.close();
});

Deno.test("client-level subscribe defaults apply, and a call's own group choice overrides their fanout", async () => {
  await using e = await env({}, { subscribe: { fanout: true, debatch: false } });
  const a = e.client.subscribe("s");
  const b = e.client.subscribe("s", { groupId: GROUP });
  await within(Promise.all([a.ready, b.ready]));
  const groups = e.fake.subscriptions.map((x) => x.groupId);
  assert.ok(groups.includes(GROUP) && groups.every((g) => g !== undefined));
  await e.client.publish("s", [{ n: 1 }, { n: 2 }]);
  assert.deepEqual((await take(a.getReader(), 1))[0]!.payload, [{ n: 1 }, { n: 2 }]);
});

Deno.test("a subscription closed before its handshake ends opens nothing that outlives it", async () => {
  await using e = await env({ replyDelayMs: 50 });
  const named = e.client.subscribe("s", { group: "workers" });
  await named.close(); // before the group's UUID is even computed
  const opening = e.client.subscribe("s", { fanout: true });
  await delay(10);
  await opening.close(); // during the handshake
  await assert.rejects(() => named.ready);
  await assert.rejects(() => opening.ready);
  await until(() => e.fake.connectionCount === 0);
});
