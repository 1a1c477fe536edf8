// FakeStreamSea's handles for driving it from outside (what `pubsub fake streamsea` uses): connections, schemas(),
// onRequest and onFrame.

import assert from "node:assert/strict";
import { StreamSeaClient } from "../../src/streamsea/mod.ts";
import type { FakeFrameRecord, FakeRequestRecord } from "../../src/testing/streamsea/mod.ts";
import { env, until, within } from "./_helpers.ts";

Deno.test("FakeStreamSea.connections and schemas() list the WebSockets and the stored schemas, per jail", async () => {
  await using e = await env({
    clients: [{ clientId: "abc", clientSecret: "def123" }, { clientId: "zed", clientSecret: "s", jailId: "north" }],
  });
  const zed = new StreamSeaClient({ ...e.fake.connection, clientId: "zed", clientSecret: "s" });
  try {
    await e.client.defineStream({ name: "b", version: 1, fields: [{ name: "x", type: "string" }] });
    await e.client.defineStream({ name: "a", version: 2, fields: [{ name: "y", type: "float" }] });
    await zed.defineStream({ name: "a", version: 1, fields: [{ name: "z", type: "integer" }] });
    const sorted = (l: { jailId: string; schema: { name: string; version: number } }[]) =>
      l.map(({ jailId, schema }) => [jailId, schema.name, schema.version])
        .sort((p, q) => String(p).localeCompare(String(q)));
    assert.deepEqual(sorted(e.fake.schemas()), [["north", "a", 1], ["some_jail", "a", 2], ["some_jail", "b", 1]]);
    assert.deepEqual(sorted(e.fake.schemas("north")), [["north", "a", 1]]);
    assert.deepEqual(e.fake.schemas("nowhere"), []);
    assert.deepEqual(e.fake.schemas("north")[0]!.schema.fields, [{ name: "z", type: "integer" }]);

    assert.equal(e.fake.connections.length, 0);
    const s1 = e.client.subscribe("a", { groupId: crypto.randomUUID() });
    const s2 = e.client.subscribe("b", { groupId: crypto.randomUUID() });
    const s3 = zed.subscribe("a", { groupId: crypto.randomUUID() });
    await Promise.all([s1.ready, s2.ready, s3.ready]);
    const conns = e.fake.connections.sort((p, q) => String(p.clientId).localeCompare(String(q.clientId)));
    // StreamSeaClient opens one WebSocket per subscription.
    assert.deepEqual(conns.map((c) => [c.clientId, c.jailId, c.subscriptions]), [
      ["abc", "some_jail", 1],
      ["abc", "some_jail", 1],
      ["zed", "north", 1],
    ]);
    assert.equal(new Set(conns.map((c) => c.connection)).size, 3);

    // One raw socket: unauthenticated it is listed without a client; then it holds two subscriptions.
    const ws = new WebSocket(`ws://127.0.0.1:${e.fake.port}/api/v1/streams`);
    const replies: string[] = [];
    ws.onmessage = (ev) => replies.push(String(ev.data));
    await new Promise((resolve) => ws.onopen = resolve);
    await until(() => e.fake.connections.length === 4, 5000, "the raw socket listed");
    const raw = () => e.fake.connections.find((c) => !conns.some((d) => d.connection === c.connection))!;
    assert.deepEqual([raw().clientId, raw().jailId, raw().subscriptions], [undefined, undefined, 0]);
    ws.send(JSON.stringify({
      id: 1,
      action: "authenticate",
      payload: { type: "basic", clientId: "abc", clientSecret: "def123" },
    }));
    ws.send(JSON.stringify({ id: 2, action: "subscribe", payload: "a" }));
    ws.send(JSON.stringify({ id: 3, action: "subscribe", payload: "b" }));
    await until(() => replies.length === 3, 5000, "three replies");
    assert.deepEqual([raw().clientId, raw().jailId, raw().subscriptions], ["abc", "some_jail", 2]);
    const closed = new Promise((resolve) => ws.onclose = resolve);
    ws.close();
    await closed;

    await s3.close();
    await zed.close();
    await until(() => e.fake.connections.length === 2, 5000, "zed's socket gone");
  } finally {
    await zed.close();
  }
});

Deno.test("FakeStreamSea.onRequest and onFrame are told of each request and client frame; a throwing one is harmless", async () => {
  await using e = await env();
  const requests: FakeRequestRecord[] = [];
  const frames: FakeFrameRecord[] = [];
  e.fake.onRequest = (r) => {
    requests.push(r);
    throw new Error("a listener that throws");
  };
  e.fake.onFrame = (f) => {
    frames.push(f);
    throw new Error("a listener that throws");
  };
  await e.client.defineStream({ name: "s", version: 1, fields: [{ name: "x", type: "string" }] });
  const sub = e.client.subscribe("s", { groupId: crypto.randomUUID() });
  await sub.ready;
  const reader = sub.getReader();
  await e.client.publish("s", { x: "hello" });
  assert.deepEqual((await within(reader.read())).value!.payload, { x: "hello" });
  reader.releaseLock();

  assert.deepEqual(requests.map((r) => [r.method, r.path, r.status]), [
    ["POST", "/api/v1/streams/s/define", 200],
    ["POST", "/api/v1/streams/s/publish", 200],
  ]);
  assert.deepEqual(requests[1]!.body, { payload: { x: "hello" } });
  const parsed = frames.map((f) => JSON.parse(f.text));
  assert.deepEqual(parsed.map((f) => f.action), ["authenticate", "subscribe"]);
  assert.deepEqual(frames.map((f) => f.connection), [1, 1]);
  assert.deepEqual(e.fake.frames, frames, "the same records the fake keeps");
});
