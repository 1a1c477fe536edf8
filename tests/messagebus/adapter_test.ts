import assert from "node:assert/strict";
import { MessageBusClient, MessageBusPubSub } from "../../src/messagebus/mod.ts";
import { FakeMessageBus } from "../../src/testing/messagebus/mod.ts";
import { take, utf8 } from "./_helpers.ts";

Deno.test("MessageBusPubSub maps feed/topic to the native feed and topic, both ways", async () => {
  await using server = await FakeMessageBus.start();
  const ps = await MessageBusPubSub.connect("127.0.0.1", server.port);
  const native = await MessageBusClient.create("127.0.0.1", server.port);
  await native.start();
  const nativeSub = native.subscribe("PRICES", "EUR/USD", { sync: true });
  await nativeSub.ready;
  const sub = ps.subscribe("PRICES/EUR/USD");
  await sub.ready;
  const receipt = await ps.publish("PRICES/EUR/USD", "1.08", { headers: { "x-ignored": "1" } });
  assert.deepEqual(receipt, { topic: "PRICES/EUR/USD", confirmed: false });
  const [viaAdapter] = await take(sub, 1);
  assert.equal(viaAdapter?.topic, "PRICES/EUR/USD");
  assert.equal(viaAdapter?.feed, "PRICES");
  assert.equal(viaAdapter?.topicName, "EUR/USD");
  assert.equal(viaAdapter?.isImage, false);
  assert.deepEqual(viaAdapter?.packets, [{ entitlements: null, data: utf8("1.08") }]);
  assert.equal([...viaAdapter!.headers].length, 0);
  const [viaNative] = await take(nativeSub, 1);
  assert.equal(viaNative?.topic, "EUR/USD");
  assert.equal(viaNative?.feed, "PRICES");
  assert.equal(ps.status, ps.client.status);
  await native.stop();
  await ps.close();
});

Deno.test("MessageBusPubSub with a feed option keeps topics whole", async () => {
  await using server = await FakeMessageBus.start();
  const ps = await MessageBusPubSub.connect("127.0.0.1", server.port, { feed: "ALL" });
  const native = await MessageBusClient.create("127.0.0.1", server.port);
  await native.start();
  const nativeSub = native.subscribe("ALL", "a/b", { sync: true });
  await nativeSub.ready;
  await ps.publish("a/b", "x");
  assert.equal((await take(nativeSub, 1))[0]?.text(), "x");
  await native.stop();
  await ps.close();
});

Deno.test("MessageBusPubSub refuses topics without a feed, and groups", async () => {
  await using server = await FakeMessageBus.start();
  const ps = await MessageBusPubSub.connect("127.0.0.1", server.port);
  for (const bad of ["nofeed", "feed/", "/topic"]) {
    assert.throws(() => ps.subscribe(bad), (e: unknown) => e instanceof TypeError && e.message.includes(bad));
    await assert.rejects(ps.publish(bad, "x"), TypeError);
  }
  assert.throws(() => ps.subscribe("f/t", { group: "g" }), /no groups/);
  assert.throws(() => new MessageBusPubSub(ps.client, { maxPayload: 0 }), RangeError);
  assert.equal(ps.capabilities.wildcards, "none");
  assert.equal(ps.capabilities.confirmedPublish, false);
  await ps.close();
});

Deno.test("MessageBusPubSub does not deliver the server's stale notice", async () => {
  await using server = await FakeMessageBus.start();
  const ps = await MessageBusPubSub.connect("127.0.0.1", server.port);
  const sub = ps.subscribe("F/T");
  await sub.ready;
  const first = await MessageBusClient.create("127.0.0.1", server.port);
  await first.start();
  await first.publish("F", "T", false, [{ entitlements: null, data: utf8("from first") }]);
  await first.stop(); // The last publisher leaves: the server sends "stale".
  const second = await MessageBusClient.create("127.0.0.1", server.port);
  await second.start();
  // Wait until the server has processed the first client's departure before publishing again.
  while (server.clients.length > 2) await new Promise((r) => setTimeout(r, 5));
  await second.ping();
  await second.publish("F", "T", false, [{ entitlements: null, data: utf8("from second") }]);
  const got = await take(sub, 2);
  assert.deepEqual(got.map((m) => m.text()), ["from first", "from second"]);
  await second.stop();
  await ps.close();
});
