import assert from "node:assert/strict";
import { PosttrollPubSub } from "../../src/posttroll/adapter.ts";
import type { PosttrollMessage } from "../../src/posttroll/message.ts";
import { startTestNameserver } from "../../src/testing/posttroll/mod.ts";
import { delay } from "../../src/core/async.ts";

Deno.test("PosttrollPubSub sends JSON payloads as application/json and the type header as the type", async () => {
  await using ps = new PosttrollPubSub({ host: "127.0.0.1" });
  const sub = ps.subscribe("files");
  await sub.ready;
  await ps.publish("files/new", '{"uri":"file:///x","n":1.0,"big":123456789012345678901}', {
    headers: { "content-type": "application/json", "x-posttroll-type": "file" },
  });
  await ps.publish("files/raw", new Uint8Array([0xff, 0x00, 0x41]));
  const reader = sub.getReader();
  const a = (await reader.read()).value!;
  assert.equal(a.subject, "/files/new");
  assert.equal(a.type, "file");
  assert.equal(a.mime, "application/json");
  assert.equal(a.text(), '{"uri": "file:///x", "n": 1.0, "big": 123456789012345678901}');
  assert.equal(a.headers.get("content-type"), "application/json");
  const b = (await reader.read()).value!;
  assert.equal(b.mime, "binary/octet-stream");
  assert.deepEqual(b.data, new Uint8Array([0xff, 0x00, 0x41]));
  reader.releaseLock();
  await assert.rejects(ps.publish("x", "{bad", { headers: { "content-type": "application/json" } }), TypeError);
  assert.throws(() => ps.subscribe("a b"), TypeError);
  assert.throws(() => ps.subscribe("a", { group: "g" }), TypeError);
  await sub.close();
});

Deno.test("PosttrollPubSub finds another adapter's publisher through the nameserver", async () => {
  await using ns = await startTestNameserver();
  await using a = new PosttrollPubSub({
    name: "adapter_a",
    host: "127.0.0.1",
    advertisedAddress: "127.0.0.1",
    nameservers: ns.publisherOptions.nameservers,
    config: ns.config,
  });
  // Bind and register A before B looks for it.
  await a.publish("warmup", "x");
  await using b = new PosttrollPubSub({
    host: "127.0.0.1",
    nameserver: "127.0.0.1",
    services: "adapter_a",
    config: ns.config,
    timeout: 5000,
  });
  const sub = b.subscribe("news");
  await sub.ready;
  const reader = sub.getReader();
  let got: PosttrollMessage | undefined;
  const reading = reader.read().then((r) => got = r.value);
  const deadline = Date.now() + 5000;
  while (got === undefined && Date.now() < deadline) {
    await a.publish("news/today", "hello");
    await delay(30);
  }
  await reading;
  assert.equal(got?.topic, "news/today");
  assert.equal(got?.text(), "hello");
  reader.releaseLock();
  await sub.close();
});
