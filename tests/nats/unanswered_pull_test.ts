// Pull requests nats-server does not answer. A `no_wait` pull is answered at once by a server that serves the consumer;
// when none does, the account's import of `$JS.API.>` takes the `MSG.NEXT` request and nothing answers it (checked by
// hand against nats-server 2.9.10: no message, no status, no "no responders"). A replica meets that when it pulls from a
// clustered consumer whose leader is not elected yet; here, on one server, the consumer is deleted between the
// subscription's setup and its first pull, and made again later. The server also holds a `no_wait` pull, rightly, while
// the consumer's ack window (`max_ack_pending`) is full: that one must be waited on, not retried.
import assert from "node:assert/strict";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import type { Msg } from "@nats-io/nats-core";
import type { StatusEvent } from "../../src/core/status.ts";
import { type JetStreamMessage, NatsPubSub } from "../../src/nats/tcp.ts";
import { env, ignore, sniffPulls, until } from "./helpers.ts";

/** Reads one message, or `undefined` when nothing came within `ms` (the subscription is then closed). */
async function readWithin(
  sub: { getReader(): ReadableStreamDefaultReader<unknown>; close(): Promise<void> },
  reader: ReadableStreamDefaultReader<unknown>,
  ms: number,
): Promise<JetStreamMessage | undefined> {
  const timer = setTimeout(() => void sub.close(), ms);
  try {
    const r = await reader.read();
    return r.done ? undefined : r.value as JetStreamMessage;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test(
  {
    name: "NatsPubSub JetStream retries a no_wait pull nothing answers, and reads once the consumer is served",
    ignore,
  },
  async () => {
    await using e = await env();
    const pulls = await sniffPulls(e.admin);
    const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: { timeoutMs: 400 } });
    const statuses: StatusEvent[] = [];
    ps.status.addEventListener("pull-status", (ev) => statuses.push(ev as StatusEvent));
    try {
      const sub = ps.consume("s.lost", { durable: "lost", deliver: "all" });
      await sub.ready;
      // No server serves the consumer from now on: the first pull goes unanswered.
      await e.jsm.consumers.delete("S", "lost");
      await ps.publish("s.lost", "one");
      const reader = sub.getReader();
      const read = readWithin(sub, reader as ReadableStreamDefaultReader<unknown>, 15_000);
      await until(() => statuses.length >= 1, 10_000, "the unanswered pull reported");
      const first = statuses[0]!.detail;
      assert.equal(first.code, 0);
      assert.equal(first.topic, "s.lost");
      assert.match(String(first.description), /no answer within 400 ms/);
      assert.ok((first.retryInMs as number) > 0);
      // Served again: a retry is answered.
      await e.jsm.consumers.add("S", {
        durable_name: "lost",
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: "s.lost",
      });
      const m = await read;
      assert.equal(m?.text(), "one", "the read was answered after the retry (today's code waits forever)");
      assert.ok(pulls.batches.length >= 2, `${pulls.batches.length} pull requests: the lost one was sent again`);
      await m!.ack();
      reader.releaseLock();
      await sub.close();
    } finally {
      pulls.stop();
      await ps.close();
    }
  },
);

Deno.test(
  { name: "NatsPubSub JetStream waits on a no_wait pull the server holds while the ack window is full", ignore },
  async () => {
    await using e = await env();
    await e.jsm.consumers.add("S", {
      durable_name: "full",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: "s.full",
      max_ack_pending: 2,
    });
    const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: { timeoutMs: 300 } });
    for (let i = 0; i < 6; i++) await ps.publish("s.full", `${i}`);
    const pulls = await sniffPulls(e.admin);
    // The source's consumer-info requests, seen on the wire: each one is a check of the held pull.
    const infos: Msg[] = [];
    const infoSniffer = e.admin.subscribe("$JS.API.CONSUMER.INFO.S.full", {
      callback: (_err, m) => void infos.push(m),
    });
    await e.admin.flush();
    const statuses: StatusEvent[] = [];
    ps.status.addEventListener("pull-status", (ev) => statuses.push(ev as StatusEvent));
    try {
      const hwm = 4;
      const sub = ps.consume("s.full", { durable: "full", bind: true, highWaterMark: hwm });
      const reader = sub.getReader();
      const got: JetStreamMessage[] = [];
      for (let i = 0; i < 2; i++) got.push((await reader.read()).value!);
      // Two delivered, not acked: the window is full and the server holds the rest of the request.
      const third = reader.read();
      // (The first consumer-info request is bind's, at setup.)
      await until(() => infos.length >= 2, 10_000, "a check of the held pulls");
      const sent = pulls.batches.length;
      await until(() => infos.length >= 5 || statuses.length > 0, 10_000, "more checks of the held pulls");
      assert.deepEqual(statuses, [], "the held pulls were not taken as lost");
      assert.equal(pulls.batches.length, sent, `pulls: ${pulls.batches.join(",")}: nothing was sent again`);
      const info = await e.jsm.consumers.info("S", "full");
      assert.equal(info.num_ack_pending, 2);
      assert.equal(info.num_waiting, pulls.batches.length, "the server holds every pull");
      // An ack frees the window: the held pull is served.
      await got[0]!.ack();
      const r = await third;
      assert.equal(r.value?.text(), "2");
      await r.value!.ack();
      await got[1]!.ack();
      const after = await e.jsm.consumers.info("S", "full");
      assert.ok(after.delivered.consumer_seq <= 3 + hwm, `delivered ${after.delivered.consumer_seq}, read 3`);
      reader.releaseLock();
      await sub.close();
    } finally {
      infoSniffer.unsubscribe();
      pulls.stop();
      await ps.close();
    }
  },
);
