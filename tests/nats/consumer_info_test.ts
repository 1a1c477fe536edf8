// NatsPubSub.consumerInfo(): the server's view of a consumer, checked against nats.js's own consumer-info call on
// the admin connection (an independent reading of the same server), and its refusals.
import assert from "node:assert/strict";
import { ClosedError, PubSubError } from "../../mod.ts";
import { type JetStreamMessage, NatsPubSub } from "../../src/nats/tcp.ts";
import { NatsCluster, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { env, ignore, until } from "./helpers.ts";

Deno.test({ name: "NatsPubSub.consumerInfo() reports what the server counts for a consumer", ignore }, async () => {
  await using e = await env();
  const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
  try {
    for (let i = 0; i < 30; i++) await ps.publish("s.info", `${i}`);
    const sub = ps.consume("s.info", { durable: "info", deliver: "all", highWaterMark: 4, ackWaitMs: 300 });
    const reader = sub.getReader();
    const read: JetStreamMessage[] = [];
    for (let i = 0; i < 3; i++) read.push((await reader.read()).value as JetStreamMessage);
    await read[0]!.ack();
    // Unacked ones come back once the 300 ms ack wait is over: read on until one is redelivered.
    await new Promise((r) => setTimeout(r, 400));
    while (!read.at(-1)!.redelivered) read.push((await reader.read()).value as JetStreamMessage);
    // Read between two readings of nats.js that agree (the reader's source may still be receiving).
    const view = async () => {
      const i = await e.jsm.consumers.info("S", "info");
      return [i.num_pending, i.num_ack_pending, i.num_waiting, i.num_redelivered, i.config.max_ack_pending];
    };
    let ours, before, after;
    do {
      before = await view();
      ours = await ps.consumerInfo("info", { topic: "s.info" });
      after = await view();
    } while (JSON.stringify(before) !== JSON.stringify(after));
    const [pending, ackPending, waiting, redelivered, maxAckPending] = after;
    assert.deepEqual(ours, {
      stream: "S",
      name: "info",
      pending,
      ackPending,
      waiting,
      redelivered,
      maxAckPending,
      leader: undefined, // not clustered
    });
    assert.ok(ours.pending > 0 && ours.ackPending > 0 && ours.redelivered > 0, JSON.stringify(ours));
    const byStream = await ps.consumerInfo("info", { stream: "S" });
    assert.deepEqual([byStream.stream, byStream.name, byStream.maxAckPending], ["S", "info", 1000]);
    reader.releaseLock();
    await sub.close();

    // Refusals: typed errors, nothing hangs.
    await assert.rejects(() => ps.consumerInfo("nope", { stream: "S" }), PubSubError);
    await assert.rejects(() => ps.consumerInfo("info", { topic: "nostream.x" }), PubSubError);
    await assert.rejects(() => ps.consumerInfo("a.b", { stream: "S" }), TypeError);
    await assert.rejects(() => ps.consumerInfo("info", { topic: "bad subject" }), TypeError);
    await assert.rejects(() => ps.consumerInfo("info", null as unknown as { stream: string }), TypeError);
  } finally {
    await ps.close();
  }
  await assert.rejects(() => ps.consumerInfo("info", { stream: "S" }), ClosedError);
});

Deno.test({ name: "NatsPubSub.consumerInfo() counts the pull requests the server holds", ignore }, async () => {
  await using e = await env();
  const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
  try {
    const sub = ps.consume("s.wait", { durable: "wait", expiresMs: 30_000 });
    await sub.ready;
    assert.equal((await ps.consumerInfo("wait", { stream: "S" })).waiting, 0, "no pull before the first read");
    const reader = sub.getReader();
    const next = reader.read();
    await until(async () => (await ps.consumerInfo("wait", { stream: "S" })).waiting === 1, 5_000, "the long poll");
    assert.equal((await e.jsm.consumers.info("S", "wait")).num_waiting, 1);
    await ps.publish("s.wait", "x");
    await ((await next).value as JetStreamMessage).ack();
    reader.releaseLock();
    await sub.close();
  } finally {
    await ps.close();
  }
});

const clusterSkip = natsServerSkipReason();

Deno.test({
  name: "NatsPubSub.consumerInfo() names the server that leads a clustered consumer",
  ignore: clusterSkip !== undefined,
  async fn() {
    const cluster = await NatsCluster.start();
    const ps = await NatsPubSub.connect({ servers: cluster.urls, jetstream: true });
    try {
      const jsm = await ps.jetstreamManager();
      await jsm.streams.add({ name: "R3", subjects: ["r3.>"], num_replicas: 3 });
      const sub = ps.consume("r3.>", { durable: "led" });
      await sub.ready;
      await until(
        async () => {
          try {
            return ((await ps.consumerInfo("led", { stream: "R3" })).leader ?? "") !== "";
          } catch {
            return false; // no leader yet: nothing answers
          }
        },
        20_000,
        "the consumer's leader",
      );
      const ours = await ps.consumerInfo("led", { topic: "r3.x" });
      const theirs = await jsm.consumers.info("R3", "led");
      assert.equal(ours.leader, theirs.cluster?.leader);
      assert.ok(cluster.nodes.some((n) => n.name === ours.leader), `${ours.leader} is a node`);
      await sub.close();
    } finally {
      await ps.close();
      await cluster.stop();
    }
  },
});
