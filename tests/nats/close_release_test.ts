// What a JetStream subscription holds when it ends: messages the pull source received and the reader never got. They
// are handed back (nak) at once, so the consumer's other readers get them now rather than after the ack wait. The truth
// is the server's: what it delivered (`delivered.stream_seq`), the delivery counts another member of the group sees, and
// its `num_ack_pending` at the end.
import assert from "node:assert/strict";
import { type JetStreamMessage, NatsPubSub } from "../../src/nats/tcp.ts";
import { env, ignore, until } from "./helpers.ts";

const N = 40;
/** Far longer than the test: only a nak can bring a held message back in time. */
const ACK_WAIT_MS = 120_000;

Deno.test(
  { name: "NatsPubSub JetStream close() hands back at once what the source held and the reader never got", ignore },
  async () => {
    await using e = await env();
    const a = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
    const b = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
    try {
      for (let i = 0; i < N; i++) await a.publish("s.rel", `${i}`);
      const options = { group: "rel", deliver: "all" as const, ackWaitMs: ACK_WAIT_MS, highWaterMark: 16 };
      const subA = a.consume("s.rel", options);
      const readerA = subA.getReader();
      const first = await readerA.read();
      await first.value!.ack();
      // The source asked for the room the reader gives: the server counts those as delivered and not acked.
      await until(async () => (await e.jsm.consumers.info("S", "rel")).num_ack_pending >= 8, 5_000, "the read-ahead");
      readerA.releaseLock();
      await subA.close();
      // What close() left in the stream for the reader is still the reader's: read and ack it.
      const seenA = [first.value!.text()];
      for await (const m of subA) {
        seenA.push(m.text());
        await m.ack();
      }
      // The server's view: what it delivered to A (a nak leaves a message counted as ack-pending until it is delivered
      // again, so the hand-back shows in what the next member gets, and how).
      const atClose = await e.jsm.consumers.info("S", "rel");
      const deliveredToA = atClose.delivered.stream_seq;
      assert.ok(deliveredToA > seenA.length, `A held ${deliveredToA - seenA.length} messages its reader never got`);
      // Another member of the group gets every other message now: what A held first, as redeliveries, then the rest.
      const subB = b.consume("s.rel", { ...options, highWaterMark: 64 });
      const seenB: JetStreamMessage[] = [];
      const timer = setTimeout(() => void subB.close(), 10_000);
      for await (const m of subB) {
        seenB.push(m);
        await m.ack();
        if (seenA.length + seenB.length >= N) break;
      }
      clearTimeout(timer);
      const all = [...seenA, ...seenB.map((m) => m.text())].map(Number).sort((x, y) => x - y);
      assert.deepEqual(all, Array.from({ length: N }, (_, i) => i), "each message once, across both members, in time");
      const heldByA = Array.from({ length: deliveredToA }, (_, i) => i + 1).filter((seq) =>
        !seenA.includes(`${seq - 1}`)
      );
      const redelivered = seenB.filter((m) => m.deliveryCount === 2).map((m) => m.sequence!).sort((x, y) => x - y);
      assert.deepEqual(redelivered, heldByA, "what A held came to B at once, as redeliveries");
      assert.ok(seenB.every((m) => m.deliveryCount === (m.sequence! <= deliveredToA ? 2 : 1)));
      await b.connection.flush();
      const info = await e.jsm.consumers.info("S", "rel");
      assert.equal(info.num_ack_pending, 0);
      assert.equal(info.num_pending, 0);
    } finally {
      await a.close();
      await b.close();
    }
  },
);

Deno.test(
  { name: "NatsPubSub JetStream close() also hands back the deliveries still on their way", ignore },
  async () => {
    await using e = await env();
    const a = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
    const b = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
    try {
      // One pull of 200 messages of 32 KiB: 6.4 MiB that the server is still sending when the reader's first message
      // arrives and the subscription is closed. The inbox is drained (UNSUB, then a round trip), so what arrives
      // meanwhile is handed back too; unsubscribing at once would drop it on the floor (ack wait).
      const n = 200;
      const pad = "x".repeat(32 * 1024);
      for (let i = 0; i < n; i++) await a.publish("s.big", `${i} ${pad}`);
      const options = { group: "big", deliver: "all" as const, ackWaitMs: ACK_WAIT_MS, highWaterMark: n };
      const subA = a.consume("s.big", options);
      const readerA = subA.getReader();
      const first = await readerA.read();
      readerA.releaseLock();
      await subA.close();
      await first.value!.ack();
      const seenA = [first.value!.text().split(" ")[0]!];
      for await (const m of subA) {
        seenA.push(m.text().split(" ")[0]!);
        await m.ack();
      }
      const seenB = new Set<string>();
      const subB = b.consume("s.big", { ...options, highWaterMark: 64 });
      const timer = setTimeout(() => void subB.close(), 10_000);
      for await (const m of subB) {
        seenB.add(m.text().split(" ")[0]!);
        await m.ack();
        if (seenA.length + seenB.size >= n) break;
      }
      clearTimeout(timer);
      const missing = Array.from({ length: n }, (_, i) => `${i}`).filter((k) => !seenA.includes(k) && !seenB.has(k));
      assert.deepEqual(missing, [], `A read ${seenA.length}, B ${seenB.size}: every message came in time`);
    } finally {
      await a.close();
      await b.close();
    }
  },
);
