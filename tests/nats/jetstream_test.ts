import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { StatusEvent } from "../../src/core/status.ts";
import { ClosedError, isSettleable, ProtocolError, PubSubError, TimeoutError } from "../../mod.ts";
import { JetStreamMessage, type NatsMessage, NatsPubSub as WsNatsPubSub } from "../../src/nats/mod.ts";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { env, ignore, sleep, sniffPulls, until } from "./helpers.ts";

async function publishN(ps: { publish(t: string, d: string): Promise<unknown> }, subject: string, n: number, from = 0) {
  for (let i = from; i < from + n; i++) await ps.publish(subject, `${i}`);
}

async function readN(reader: ReadableStreamDefaultReader<NatsMessage>, n: number): Promise<JetStreamMessage[]> {
  const out: JetStreamMessage[] = [];
  while (out.length < n) {
    const r = await reader.read();
    if (r.done) throw new Error(`the stream ended after ${out.length} of ${n}`);
    assert.ok(r.value instanceof JetStreamMessage);
    out.push(r.value);
  }
  return out;
}

Deno.test({ name: "NatsPubSub.publish() resolves on the PubAck with the stream sequence", ignore }, async () => {
  await using e = await env();
  const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
  try {
    assert.deepEqual(
      { ...ps.capabilities, maxPayload: 0 },
      {
        settle: true,
        confirmedPublish: true,
        wildcards: "nats",
        maxPayload: 0,
        ordered: true,
        replay: true,
        groups: true,
        headers: true,
        overflow: ["block"],
        delivery: "at-least-once",
      },
    );
    const r1 = await ps.publish("s.a", "one");
    const r2 = await ps.publish("s.b", "two", { headers: { "x-k": "v" } });
    assert.deepEqual(r1, { topic: "s.a", confirmed: true, sequence: 1, id: "S:1" });
    assert.equal(r2.sequence, 2);
    const stored = await e.jsm.streams.getMessage("S", { seq: 2 });
    assert.ok(stored !== null);
    assert.equal(stored.subject, "s.b");
    assert.equal(stored.header.get("x-k"), "v");
    // No stream takes the subject: a typed error, not a hang.
    await assert.rejects(() => ps.publish("nostream.x", "x"), PubSubError);
  } finally {
    await ps.close();
  }
});

Deno.test({ name: "NatsPubSub.subscribe() does not pull ahead of a slow reader", ignore }, async () => {
  await using e = await env();
  const pulls = await sniffPulls(e.admin);
  const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
  try {
    await publishN(ps, "s.slow", 100);
    const hwm = 4;
    const sub = ps.subscribe("s.slow", { durable: "slow", deliver: "all", highWaterMark: hwm });
    await sub.ready;
    await sleep(200);
    assert.deepEqual(pulls.batches, [], "no pull before the first read");
    const reader = sub.getReader();
    let read = 0;
    const check = async () => {
      const info = await e.jsm.consumers.info("S", "slow");
      const delivered = info.delivered.consumer_seq;
      assert.ok(delivered >= read, `${delivered} delivered, ${read} read`);
      assert.ok(delivered - read <= hwm, `${delivered} delivered while only ${read} were read (highWaterMark ${hwm})`);
      return delivered;
    };
    for (const m of await readN(reader, 2)) await m.ack();
    read = 2;
    await sleep(300);
    const delivered = await check();
    const requests = pulls.batches.length;
    // The reader stalls: nothing more is requested or delivered.
    await sleep(700);
    assert.equal(await check(), delivered);
    assert.equal(pulls.batches.length, requests);
    // Reading on pulls again, still within the bound.
    for (let i = 0; i < 20; i++) {
      const [m] = await readN(reader, 1);
      assert.equal(m?.sequence, read + 1);
      await m!.ack();
      read++;
      if (i % 5 === 0) await check();
    }
    await sleep(200);
    await check();
    assert.ok(pulls.batches.every((b) => b >= 1 && b <= hwm), pulls.batches.join(","));
    reader.releaseLock();
    await sub.close();

    // highWaterMark 1: single-message pulls only.
    pulls.batches.length = 0;
    const one = ps.subscribe("s.slow", { durable: "one", deliver: "all", highWaterMark: 1 });
    const r1 = one.getReader();
    for (const m of await readN(r1, 5)) await m.ack();
    await sleep(200);
    assert.ok(pulls.batches.length >= 5 && pulls.batches.every((b) => b === 1), pulls.batches.join(","));
    assert.ok((await e.jsm.consumers.info("S", "one")).delivered.consumer_seq <= 6);
    r1.releaseLock();
    await one.close();
  } finally {
    pulls.stop();
    await ps.close();
  }
});

Deno.test({ name: "NatsPubSub messages carry subject, sequence, pending, timestamp and headers", ignore }, async () => {
  await using e = await env();
  const ps = await WsNatsPubSub.connect({ servers: e.server.wsUrl!, jetstream: true });
  try {
    const before = Date.now();
    await ps.publish("s.meta", "a", { headers: [["x-multi", "1"], ["x-multi", "2"], ["x-one", "v"]] });
    await ps.publish("s.meta", "b");
    const sub = ps.subscribe("s.meta", { deliver: "all" });
    const [a, b] = await readN(sub.getReader(), 2);
    assert.ok(a !== undefined && b !== undefined);
    assert.equal(a.subject, "s.meta");
    assert.equal(a.topic, "s.meta");
    assert.equal(a.text(), "a");
    assert.equal(a.sequence, 1);
    assert.equal(a.id, "1");
    assert.equal(a.pending, 1);
    assert.equal(b.pending, 0);
    assert.equal(a.stream, "S");
    assert.equal(a.redelivered, false);
    assert.equal(a.deliveryCount, 1);
    assert.match(a.reply ?? "", /^\$JS\.ACK\.S\./);
    assert.ok(a.timestamp instanceof Date && a.timestamp.getTime() >= before - 1000);
    assert.equal(a.time, a.timestamp);
    assert.equal(a.headers.get("x-multi"), "1, 2");
    assert.equal(a.headers.get("x-one"), "v");
    assert.equal([...b.headers].length, 0);
    await a.ack();
    await b.ack();
    await sub.close();
  } finally {
    await ps.close();
  }
});

Deno.test(
  { name: "JetStreamMessage nak() redelivers, term() and ack() do not, ack wait expiry redelivers", ignore },
  async () => {
    await using e = await env();
    const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
    try {
      const sub = ps.subscribe("s.settle", { durable: "settle", ackWaitMs: 400 });
      await sub.ready;
      const reader = sub.getReader();
      await publishN(ps, "s.settle", 4);
      const [m0, m1, m2, m3] = await readN(reader, 4);
      assert.ok(m0 && m1 && m2 && m3);
      assert.ok(isSettleable(m0));
      await m0.ack();
      await m0.nak(); // a second settlement is ignored
      assert.equal(m0.settled, true);
      await m1.nak();
      await m2.term("bad input");
      // m3 is left unacked: redelivered after the 400 ms ack wait.
      const again = new Map<number | undefined, number>();
      while (again.size < 2) {
        const [m] = await readN(reader, 1);
        assert.ok(m !== undefined);
        await m.ack(); // at once, so its own ack wait cannot expire
        assert.equal(m.redelivered, true);
        again.set(m.sequence, m.deliveryCount);
      }
      assert.deepEqual([...again.entries()].sort(), [[2, 2], [4, 2]]);
      await sleep(600);
      const info = await e.jsm.consumers.info("S", "settle");
      assert.equal(info.num_ack_pending, 0);
      assert.equal(info.num_redelivered, 0);
      assert.equal(info.ack_floor.stream_seq, 4);
      await assert.rejects(() => m3.nak(-1), RangeError);
      reader.releaseLock();
      await sub.close();
    } finally {
      await ps.close();
    }
    // Settling after the connection closed is a ClosedError.
    const ps2 = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
    const sub2 = ps2.subscribe("s.settle", { durable: "settle2", deliver: "all" });
    const [m] = await readN(sub2.getReader(), 1);
    await ps2.close();
    await assert.rejects(() => m!.ack(), ClosedError);
  },
);

Deno.test({ name: "NatsPubSub durable subscriptions resume where they left off", ignore }, async () => {
  await using e = await env();
  const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
  try {
    await publishN(ps, "s.resume", 10);
    let sub = ps.subscribe("s.resume", { durable: "resume", deliver: "all", highWaterMark: 1 });
    let got = await readN(sub.getReader(), 4);
    for (const m of got) await m.ack();
    await ps.connection.flush();
    await sub.close();
    sub = ps.subscribe("s.resume", { durable: "resume", deliver: "all" });
    got = await readN(sub.getReader(), 6);
    assert.deepEqual(got.map((m) => m.text()), ["4", "5", "6", "7", "8", "9"]);
    for (const m of got) await m.ack();
    await sub.close();
    // bind: reuse the existing consumer as it is.
    sub = ps.subscribe("s.resume", { durable: "resume", bind: true });
    await sub.ready;
    await publishN(ps, "s.resume", 1, 10);
    assert.deepEqual((await readN(sub.getReader(), 1)).map((m) => m.text()), ["10"]);
    await sub.close();
    const missing = ps.subscribe("s.resume", { durable: "nope", bind: true });
    await assert.rejects(() => missing.ready, PubSubError);
  } finally {
    await ps.close();
  }
});

Deno.test({ name: "NatsPubSub deliver option picks where a new consumer starts", ignore }, async () => {
  await using e = await env();
  const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
  try {
    await publishN(ps, "s.deliver", 5);
    await sleep(20);
    const cut = new Date();
    await sleep(20);
    await publishN(ps, "s.deliver", 2, 5);
    const cases: [NonNullable<Parameters<typeof ps.subscribe>[1]>["deliver"], string][] = [
      ["all", "0"],
      ["last", "6"],
      [{ sequence: 3 }, "2"],
      [{ time: cut }, "5"],
    ];
    for (const [deliver, first] of cases) {
      const sub = ps.subscribe("s.deliver", { deliver });
      const [m] = await readN(sub.getReader(), 1);
      assert.equal(m?.text(), first, JSON.stringify(deliver));
      await sub.close();
    }
    const fresh = ps.subscribe("s.deliver"); // default "new"
    const reader = fresh.getReader();
    await fresh.ready;
    await ps.publish("s.deliver", "new");
    assert.equal((await readN(reader, 1))[0]?.text(), "new");
    reader.releaseLock();
    await fresh.close();
    assert.throws(() => ps.subscribe("s.deliver", { deliver: { sequence: 0 } }), TypeError);
    assert.throws(() => ps.subscribe("s.deliver", { deliver: "bogus" as "all" }), TypeError);
    assert.throws(() => ps.subscribe("s.deliver", { durable: "a.b" }), TypeError);
    assert.throws(() => ps.subscribe("s.deliver", { ackWaitMs: 0 }), RangeError);
    assert.throws(() => ps.subscribe("s.deliver", { bind: true }), TypeError);
  } finally {
    await ps.close();
  }
});

Deno.test({ name: "NatsPubSub ephemeral consumers are deleted when the subscription ends", ignore }, async () => {
  await using e = await env();
  const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
  try {
    const sub = ps.subscribe("s.eph");
    await sub.ready;
    assert.equal((await e.jsm.streams.info("S")).state.consumer_count, 1);
    await sub.close();
    assert.equal((await e.jsm.streams.info("S")).state.consumer_count, 0);
  } finally {
    await ps.close();
  }
});

Deno.test({ name: "NatsPubSub loses nothing when the server restarts mid-stream with its store", ignore }, async () => {
  await using e = await env();
  const ps = await NatsPubSub.connect({
    servers: e.server.url,
    jetstream: true,
    reconnectTimeWaitMs: 50,
    maxReconnectAttempts: -1,
  });
  const events: string[] = [];
  ps.status.addEventListener("disconnected", () => events.push("disconnected"));
  ps.status.addEventListener("reconnected", () => events.push("reconnected"));
  try {
    await publishN(ps, "s.restart", 50);
    const sub = ps.subscribe("s.restart", { durable: "restart", deliver: "all", highWaterMark: 8, expiresMs: 1000 });
    const reader = sub.getReader();
    const seen: number[] = [];
    for (const m of await readN(reader, 20)) {
      seen.push(Number(m.text()));
      await m.ack();
    }
    await ps.connection.flush();
    // The reader waits on a pull while the server goes away.
    const rest = (async () => {
      for (const m of await readN(reader, 80)) {
        seen.push(Number(m.text()));
        await m.ack();
      }
    })();
    await e.server.restart();
    await until(() => events.includes("reconnected"), 10_000, "the reconnect");
    await until(() => !e.admin.isClosed() && e.admin.info !== undefined, 10_000, "the admin reconnect");
    for (let i = 50; i < 100; i++) {
      await until(async () => {
        try {
          await ps.publish("s.restart", `${i}`);
          return true;
        } catch {
          return false;
        }
      });
    }
    await rest;
    const sorted = [...seen].sort((a, b) => a - b);
    assert.deepEqual(sorted, Array.from({ length: 100 }, (_, i) => i), "each message once");
    assert.deepEqual(events.slice(0, 2), ["disconnected", "reconnected"]);
    reader.releaseLock();
    await sub.close();
  } finally {
    await ps.close();
  }
});

Deno.test(
  { name: "NatsPubSub fails a subscription with ProtocolError on a malformed ack subject", ignore },
  async () => {
    await using e = await env();
    // Answer every pull request with a forged message whose reply is not an ack subject.
    const forger = e.admin.subscribe("$JS.API.CONSUMER.MSG.NEXT.S.>", {
      callback: (_err, m) => {
        // (nats-server drops client messages whose reply starts with $JS.ACK, so the forgery is of another shape.)
        if (m.reply) e.admin.publish(m.reply, "forged", { reply: "not.an.ack.subject" });
      },
    });
    await e.admin.flush();
    const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
    try {
      const sub = ps.subscribe("s.forged");
      const reader = sub.getReader();
      await assert.rejects(() => reader.read(), ProtocolError);
      assert.ok((await sub.closed) instanceof ProtocolError);
      // The connection goes on.
      forger.unsubscribe();
      assert.equal((await ps.publish("s.forged", "fine")).confirmed, true);
    } finally {
      await ps.close();
    }
  },
);

Deno.test(
  { name: "NatsPubSub ends a subscription with ClosedError when its consumer is deleted", ignore },
  async () => {
    await using e = await env();
    const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
    try {
      const sub = ps.subscribe("s.del", { durable: "del", expiresMs: 3000 });
      const reader = sub.getReader();
      const read = assert.rejects(reader.read(), ClosedError);
      await sleep(200); // the long poll is waiting
      await e.jsm.consumers.delete("S", "del");
      await read;
      assert.ok((await sub.closed) instanceof ClosedError);
    } finally {
      await ps.close();
    }
  },
);

Deno.test({ name: "NatsPubSub.publish() throws TimeoutError when no PubAck comes in time", ignore }, async () => {
  await using e = await env({ websocket: false });
  // Something takes the message but never acknowledges it (not a stream).
  const silent = e.admin.subscribe("hang.>", { callback: () => {} });
  await e.admin.flush();
  const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: { timeoutMs: 300 } });
  try {
    const err = await ps.publish("hang.x", "x").catch((x) => x);
    assert.ok(err instanceof TimeoutError, String(err));
    // An aborted signal gives up at once, with the signal's reason.
    const abort = new AbortController();
    const pending = ps.publish("hang.y", "y", { signal: abort.signal });
    abort.abort(new Error("stop"));
    await assert.rejects(pending, /stop/);
  } finally {
    silent.unsubscribe();
    await ps.close();
  }
});

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  Deno.test(
    {
      name: `NatsPubSub JetStream reader idle on a long poll loses nothing when the server restarts (${signal})`,
      ignore,
    },
    async () => {
      await using e = await env();
      const ps = await NatsPubSub.connect({
        servers: e.server.url,
        jetstream: true,
        reconnectTimeWaitMs: 50,
        maxReconnectAttempts: -1,
      });
      const pulls = await sniffPulls(e.admin);
      const statuses: StatusEvent[] = [];
      ps.status.addEventListener("pull-status", (ev) => statuses.push(ev as StatusEvent));
      try {
        await publishN(ps, "s.idle", 3);
        // A long poll far longer than the test: only the server's own answer (or the reconnect) can end it.
        const sub = ps.subscribe("s.idle", { durable: "idle", deliver: "all", highWaterMark: 4, expiresMs: 60_000 });
        const reader = sub.getReader();
        for (const m of await readN(reader, 3)) await m.ack();
        const before = pulls.batches.length;
        // At least once: every new message arrives; 0..2 may come again (nats-server 2.9.10 can restart from a
        // consumer state older than the acks it had), nothing else.
        const rest = (async () => {
          const texts: string[] = [];
          while (!Array.from({ length: 10 }, (_, i) => `${i + 3}`).every((t) => texts.includes(t))) {
            const [m] = await readN(reader, 1);
            texts.push(m!.text());
            await m!.ack();
            if (texts.length > 30) break;
          }
          return texts;
        })();
        rest.catch(() => {}); // awaited below
        await until(() => pulls.batches.length > before, 5_000, "the long poll");
        await e.server.restart({ signal });
        await until(() => !e.admin.isClosed() && e.admin.info !== undefined, 10_000, "the admin reconnect");
        for (let i = 3; i < 13; i++) {
          await until(
            async () => {
              try {
                await ps.publish("s.idle", `${i}`);
                return true;
              } catch {
                return false;
              }
            },
            10_000,
            `publishing ${i}`,
          );
        }
        const got = await rest;
        const fresh = got.filter((t) => Number(t) >= 3);
        assert.deepEqual(fresh, Array.from({ length: 10 }, (_, i) => `${i + 3}`), got.join(","));
        assert.ok(got.every((t) => Number(t) >= 0 && Number(t) < 13), got.join(","));
        if (signal === "SIGTERM") {
          // The graceful shutdown told the waiting pull "409 Server Shutdown": reported, then retried.
          assert.ok(statuses.some((s) => s.detail.code === 409 && /shutdown/i.test(String(s.detail.description))));
          assert.equal(statuses[0]?.detail.topic, "s.idle");
        }
        reader.releaseLock();
        await sub.close();
      } finally {
        pulls.stop();
        await ps.close();
      }
    },
  );
}

Deno.test({ name: "NatsPubSub.consume() reads through JetStream in core mode too", ignore }, async () => {
  await using e = await env();
  const ps = await NatsPubSub.connect({ servers: e.server.url });
  try {
    assert.equal(ps.jetstream, false);
    await jetstream(e.admin).publish("s.core", "stored");
    const sub = ps.consume("s.core", { deliver: "all" });
    // A core subscription would never see the stored message: bound the wait so that the test fails, not hangs.
    const timer = setTimeout(() => void sub.close(), 5_000);
    const [m] = await readN(sub.getReader(), 1).finally(() => clearTimeout(timer));
    assert.equal(m?.text(), "stored");
    assert.equal(m?.sequence, 1);
    await m?.ack();
    await sub.close();
  } finally {
    await ps.close();
  }
});

Deno.test({ name: "NatsPubSub leaves out headers a web Headers cannot carry, keeping the rest", ignore }, async () => {
  await using e = await env();
  const ps = await WsNatsPubSub.connect({ servers: e.server.wsUrl!, jetstream: true });
  try {
    const h = natsHeaders();
    h.append("x-euro", "5 €"); // above U+00FF: not a byte string
    h.append("x-plain", "fine");
    await jetstream(e.admin).publish("s.hdr", "x", { headers: h });
    const sub = ps.subscribe("s.hdr", { deliver: "all" });
    const [m] = await readN(sub.getReader(), 1);
    assert.equal(m?.headers.get("x-plain"), "fine");
    assert.equal(m?.headers.get("x-euro"), null);
    await sub.close();
  } finally {
    await ps.close();
  }
});

Deno.test(
  {
    name: "NatsPubSub JetStream retries a pull ended by a non-terminal status and ends only on a terminal one",
    ignore,
  },
  async () => {
    await using e = await env();
    // Records each pull request's reply subject, to answer it with a status as the server would.
    const replies: string[] = [];
    const sniffer = e.admin.subscribe("$JS.API.CONSUMER.MSG.NEXT.S.>", {
      callback: (_err, m) => void replies.push(m.reply!),
    });
    await e.admin.flush();
    const ps = await NatsPubSub.connect({ servers: e.server.url, jetstream: true });
    const statuses: StatusEvent[] = [];
    ps.status.addEventListener("pull-status", (ev) => statuses.push(ev as StatusEvent));
    /** Answers the newest pull request not answered yet; returns its reply subject. */
    const answered = new Set<string>();
    const answer = async (code: number, description: string) => {
      await until(() => replies.length > 0 && !answered.has(replies.at(-1)!), 5_000, "a new pull request");
      const target = replies.at(-1)!;
      answered.add(target);
      e.admin.publish(target, new Uint8Array(0), { headers: natsHeaders(code, description) });
      await e.admin.flush();
      return target;
    };
    try {
      const sub = ps.subscribe("s.status", { durable: "status", expiresMs: 60_000 });
      const reader = sub.getReader();
      const first = reader.read();
      first.catch(() => {});
      // Let the stream's first no_wait request end (404) so that the long poll is the newest request.
      await until(() => replies.length >= 2, 5_000, "the long poll");
      for (const description of ["Leadership Change", "Exceeded MaxWaiting"]) {
        const target = await answer(409, description);
        await until(() => statuses.some((s) => s.detail.description === description), 5_000, description);
        await until(() => replies.at(-1) !== target, 5_000, `the pull after "${description}"`); // retried
      }
      assert.deepEqual(statuses.map((s) => [s.detail.code, s.detail.topic]), [[409, "s.status"], [409, "s.status"]]);
      assert.ok((statuses[1]!.detail.retryInMs as number) > (statuses[0]!.detail.retryInMs as number), "backoff");
      // Still reading.
      await ps.publish("s.status", "still here");
      assert.equal((await first).value?.text(), "still here");
      // A status that no retry can get past ends the subscription.
      const last = reader.read();
      await answer(409, "Consumer is push based");
      await assert.rejects(last, PubSubError);
      assert.ok((await sub.closed) instanceof PubSubError);
    } finally {
      sniffer.unsubscribe();
      await ps.close();
    }
  },
);
