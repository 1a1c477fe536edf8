// bridge() from a JetStream durable consumer into targets that only report
// "written" (PostTroll, messagebus): what was written arrives, and
// `stats.written` is the count the receiver got.
import assert from "node:assert/strict";
import { MessageBusPubSub } from "../../src/messagebus/mod.ts";
import { PosttrollPubSub } from "../../src/posttroll/adapter.ts";
import { FakeMessageBus } from "../../src/testing/messagebus/mod.ts";
import { startTestNameserver } from "../../src/testing/posttroll/mod.ts";
import {
  checkArrivals,
  checkCounters,
  collect,
  ignore,
  jetStreamSource,
  RecordingTarget,
  runBridge,
  settleAll,
  sleep,
  until,
} from "./_helpers.ts";

Deno.test(
  { name: "bridge() from JetStream into PostTroll: what was written arrives, counters match", ignore },
  async () => {
    await using source = await jetStreamSource();
    await using ns = await startTestNameserver();
    await using publisher = new PosttrollPubSub({ name: "bridge_target", ...ns.publisherOptions });
    await publisher.publish("bridged/warmup", "warmup");
    await using receiver = new PosttrollPubSub({
      host: "127.0.0.1",
      nameserver: "127.0.0.1",
      services: "bridge_target",
      config: ns.config,
      timeout: 5_000,
    });
    const sub = receiver.subscribe("bridged");
    await sub.ready;
    const got: string[] = [];
    const reading = collect(sub, got);
    try {
      // PUB/SUB drops what is sent before the subscriber is connected: warm up first.
      for (let i = 0; !got.includes("warmup"); i++) {
        if (i > 200) throw new Error("the receiver never connected to the publisher");
        await publisher.publish("bridged/warmup", "warmup");
        await sleep(25);
      }
      const data = () => got.filter((t) => t !== "warmup");
      const target = new RecordingTarget(publisher);
      const b = runBridge(source, target, "bridged/data");
      await settleAll(source, target, b);
      const stats = await b.stop();
      checkCounters(stats, target, "written");
      assert.equal(stats.failed, 0);
      await until(() => data().length >= stats.written, 10_000, "the receiver to get what was written");
      await sleep(100);
      assert.equal(data().length, stats.written, "the receiver got exactly what the bridge counted as written");
      assert.equal(checkArrivals("PostTroll", data()).duplicates, 0);
    } finally {
      await reading.stop();
    }
  },
);

Deno.test(
  { name: "bridge() from JetStream into messagebus: what was written arrives, counters match", ignore },
  async () => {
    await using source = await jetStreamSource();
    await using server = await FakeMessageBus.start();
    const publisher = await MessageBusPubSub.connect("127.0.0.1", server.port);
    const receiver = await MessageBusPubSub.connect("127.0.0.1", server.port);
    const got: string[] = [];
    const sub = receiver.subscribe("BRIDGE/data");
    await sub.ready;
    const reading = collect(sub, got);
    try {
      const target = new RecordingTarget(publisher);
      const b = runBridge(source, target, "BRIDGE/data");
      await settleAll(source, target, b);
      const stats = await b.stop();
      checkCounters(stats, target, "written");
      assert.equal(stats.failed, 0);
      await until(() => got.length >= stats.written, 10_000, "the receiver to get what was written");
      await sleep(100);
      assert.equal(got.length, stats.written, "the receiver got exactly what the bridge counted as written");
      assert.equal(checkArrivals("messagebus", got).duplicates, 0);
    } finally {
      await reading.stop();
      await publisher.close();
      await receiver.close();
    }
  },
);
