import assert from "node:assert/strict";
import { AuthError, ConnectionError } from "../../src/core/errors.ts";
import { reconnectDelay, resolveReconnectOptions } from "../../src/core/backoff.ts";
import { env, framesOf, record, take, until, within } from "./_helpers.ts";

const GROUP = "0f8fad5b-d9cb-469f-a165-70867728950e";
const FAST = { delayMs: 20, maxDelayMs: 100, jitter: 0 };

Deno.test("a dropped socket is reconnected: ids restart at 1 and 2, the same group, and the stream goes on", async () => {
  await using e = await env();
  const events = record(e.client.status, ["disconnected", "reconnecting", "reconnected"]);
  const sub = e.client.subscribe("s", { groupId: GROUP, reconnect: FAST });
  await within(sub.ready);
  const reader = sub.getReader();
  await e.client.publish("s", { n: 1 });
  assert.deepEqual((await take(reader, 1))[0]!.payload, { n: 1 });
  const dropped = Date.now();
  await e.fake.dropConnections();
  await until(() => events.some((ev) => ev.type === "reconnected"), 3000, "reconnection");
  assert.ok(Date.now() - dropped >= 15, "the reconnect delay was not honoured");
  await e.client.publish("s", { n: 2 });
  assert.deepEqual((await take(reader, 1))[0]!.payload, { n: 2 });
  assert.deepEqual(events.map((ev) => ev.type), ["disconnected", "reconnecting", "reconnected"]);
  assert.equal(events[1]!.detail.delayMs, 20);
  const second = framesOf(e.fake, 2);
  assert.deepEqual(second.map((f) => f.id), [1, 2]);
  assert.equal(second[0]!.action, "authenticate");
  assert.deepEqual(second[1], { id: 2, action: "subscribe", payload: "s", groupId: GROUP });
});

Deno.test("a fanout subscription gets a fresh groupId on each connection", async () => {
  await using e = await env();
  const events = record(e.client.status, ["reconnected"]);
  const sub = e.client.subscribe("s", { fanout: true, reconnect: FAST });
  await within(sub.ready);
  const first = e.fake.subscriptions[0]!.groupId;
  await e.fake.dropConnections();
  await until(() => events.length === 1, 3000, "reconnection");
  const second = e.fake.subscriptions[0]!.groupId;
  assert.ok(first !== undefined && second !== undefined && first !== second);
  await sub.close();
});

Deno.test("the server killing sockets mid-stream loses nothing published while connected", async () => {
  await using e = await env({ killAfterMessages: 5 });
  const events = record(e.client.status, ["reconnected"]);
  const sub = e.client.subscribe("s", { fanout: true, reconnect: FAST });
  await within(sub.ready);
  const reader = sub.getReader();
  const got: number[] = [];
  for (let round = 0; round < 3; round++) {
    await until(() => e.fake.subscriptions.length === 1, 3000, "resubscription");
    for (let i = 0; i < 5; i++) e.fake.publishLocal("s", { i: round * 5 + i });
    for (const m of await take(reader, 5)) got.push((m.payload as { i: number }).i);
  }
  assert.deepEqual(got, Array.from({ length: 15 }, (_, i) => i));
  await until(() => events.length >= 2, 3000, "reconnections");
});

Deno.test("reconnect: false ends the stream with ConnectionError when the socket drops", async () => {
  await using e = await env();
  const sub = e.client.subscribe("s", { reconnect: false });
  await within(sub.ready);
  const read = assert.rejects(() => within(sub.getReader().read()), ConnectionError);
  await e.fake.dropConnections();
  await read;
});

Deno.test("credentials refused on reconnection end the stream with AuthError, with no retry loop", async () => {
  await using e = await env();
  const events = record(e.client.status, ["reconnecting"]);
  const sub = e.client.subscribe("s", { reconnect: FAST });
  await within(sub.ready);
  e.fake.settings.refuseAuth = true;
  await e.fake.dropConnections();
  assert.ok((await within(sub.closed)) instanceof AuthError);
  assert.equal(events.length, 1);
  assert.equal(new Set(e.fake.frames.map((f) => f.connection)).size, 2);
});

Deno.test("reconnection gives up after maxAttempts with ConnectionError", async () => {
  const e = await env();
  const events = record(e.client.status, ["reconnecting"]);
  const sub = e.client.subscribe("s", { reconnect: { ...FAST, maxAttempts: 3 } });
  await within(sub.ready);
  await e.fake.close(); // the server goes away for good
  const reason = await within(sub.closed, 5000);
  assert.ok(reason instanceof ConnectionError, String(reason));
  assert.match(reason.message, /gave up after 3 attempts/);
  assert.deepEqual(events.map((ev) => ev.detail.attempt), [1, 2, 3]);
  assert.deepEqual(events.map((ev) => ev.detail.delayMs), [20, 40, 80]);
  await e.client.close();
});

Deno.test("closing a subscription while it waits to reconnect stops the retries", async () => {
  await using e = await env();
  const events = record(e.client.status, ["reconnecting"]);
  const sub = e.client.subscribe("s", { reconnect: { delayMs: 10_000 } });
  await within(sub.ready);
  await e.fake.dropConnections();
  await until(() => events.length === 1, 3000, "the first retry being scheduled");
  await within(sub.close(), 1000);
  assert.equal(e.fake.connectionCount, 0);
});

Deno.test("reconnectDelay() grows by the factor up to the cap, with jitter within bounds", () => {
  const fixed = resolveReconnectOptions({ factor: 1, jitter: 0 });
  assert.deepEqual([1, 2, 10].map((n) => reconnectDelay(n, fixed)), [3000, 3000, 3000]);
  const o = resolveReconnectOptions({ delayMs: 100, maxDelayMs: 1000, jitter: 0.5 });
  assert.equal(reconnectDelay(1, o, () => 0), 50);
  assert.equal(reconnectDelay(1, o, () => 0.999999), 150);
  assert.equal(reconnectDelay(3, o, () => 0.5), 400);
  assert.equal(reconnectDelay(20, o, () => 0.999999), 1000);
  assert.throws(() => resolveReconnectOptions({ delayMs: -1 }), RangeError);
  assert.throws(() => resolveReconnectOptions({ maxDelayMs: 10, delayMs: 20 }), RangeError);
  assert.throws(() => resolveReconnectOptions({ jitter: 2 }), RangeError);
  assert.throws(() => resolveReconnectOptions({ maxAttempts: 0 }), RangeError);
});
