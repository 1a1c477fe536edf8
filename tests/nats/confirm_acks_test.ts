// `confirmAcks`: each settlement is a request the server answers once it took it (nats.js's ackAck). The truth is the
// server's: the requests seen on the wire carry a reply subject, the consumer's `num_ack_pending` has dropped by the
// time the ack resolves, and while the server is stopped nothing answers, so the ack rejects and can be made again.
import assert from "node:assert/strict";
import type { Msg } from "@nats-io/nats-core";
import { PubSubError } from "../../mod.ts";
import { type JetStreamMessage, NatsPubSub } from "../../src/nats/tcp.ts";
import { env, ignore, until } from "./helpers.ts";

Deno.test(
  {
    name: "NatsPubSub JetStream confirmAcks: settlements resolve on the server's answer, reject while it is down",
    ignore,
  },
  async () => {
    await using e = await env();
    const ps = await NatsPubSub.connect({
      servers: e.server.url,
      jetstream: { timeoutMs: 500 },
      reconnectTimeWaitMs: 50,
      maxReconnectAttempts: -1,
    });
    const acks: Msg[] = [];
    const sniffer = e.admin.subscribe("$JS.ACK.S.confirm.>", { callback: (_err, m) => void acks.push(m) });
    await e.admin.flush();
    try {
      for (let i = 0; i < 3; i++) await ps.publish("s.confirm", `${i}`);
      const sub = ps.consume("s.confirm", { durable: "confirm", deliver: "all", confirmAcks: true, highWaterMark: 1 });
      const reader = sub.getReader();
      const [m0, m1, m2] = [
        (await reader.read()).value as JetStreamMessage,
        (await reader.read()).value as JetStreamMessage,
        (await reader.read()).value as JetStreamMessage,
      ];
      await m0.ack();
      // Resolved: the server has it (no flush, no wait).
      assert.equal((await e.jsm.consumers.info("S", "confirm")).num_ack_pending, 2);
      await until(() => acks.length >= 1, 5_000, "the ack seen on the wire");
      assert.equal(new TextDecoder().decode(acks[0]!.data), "+ACK");
      assert.ok(typeof acks[0]!.reply === "string" && acks[0]!.reply !== "", "sent as a request");

      // The server stops: nothing confirms the ack, which rejects; the message stays unsettled.
      let failure: unknown;
      await e.server.restart({
        whileDown: async () => {
          failure = await m1.ack().then(() => "resolved", (err) => err);
          assert.equal(m1.settled, false);
        },
      });
      assert.ok(failure instanceof PubSubError, `the ack of a stopped server rejected: ${String(failure)}`);
      // Back up: the same message is settled again, and the restarted server confirms it.
      await until(
        async () => {
          try {
            await m1.ack();
            return true;
          } catch {
            return false; // still reconnecting
          }
        },
        10_000,
        "the ack confirmed after the restart",
      );
      assert.equal(m1.settled, true);
      await m2.nak();
      assert.equal(m2.settled, true);
      reader.releaseLock();
      await sub.close();
    } finally {
      sniffer.unsubscribe();
      await ps.close();
    }
  },
);
