// MDB subscriptions against a real nats-server (operator mode) and FakeMas.
import assert from "node:assert/strict";
import { AckPolicy, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import { jwtAuthenticator, wsconnect } from "@nats-io/nats-core";
import { AuthError, ClosedError, ConnectionError, ProtocolError } from "../../src/core/errors.ts";
import { durableName } from "../../src/mdb/durable_name.ts";
import { type MdbMessage, type MdbSubscription, Offset, UnknownDatasetError } from "../../src/mdb/mod.ts";
import { isSettleable } from "../../src/core/message.ts";
import { withDeadline } from "../../src/core/async.ts";
import type { MdbTestBed } from "../../src/testing/mdb/mod.ts";
import { bedTest } from "./_bed.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true (a wait for an asynchronous effect, not a timing assertion). */
async function until(probe: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Waiting for ${what} timed out`);
    await sleep(20);
  }
}

/** {@linkcode until} whose failure says what the probe saw last (the state is `[done, what was seen]`). */
async function untilSaying(probe: () => Promise<[boolean, unknown]>, what: string, ms = 5_000): Promise<void> {
  let seen: unknown;
  try {
    await until(
      async () => {
        const [done, state] = await probe();
        seen = state;
        return done;
      },
      what,
      ms,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(seen)}`, { cause: err });
  }
}

async function read(sub: MdbSubscription, n: number): Promise<MdbMessage[]> {
  const reader = sub.getReader();
  const out: MdbMessage[] = [];
  try {
    while (out.length < n) {
      const r = await reader.read();
      if (r.done) break;
      out.push(r.value);
    }
  } finally {
    reader.releaseLock();
  }
  return out;
}

const seqs = (msgs: MdbMessage[]) => msgs.map((m) => m.sequence);

/** Records the MSG.NEXT bodies on the wire (the admin user sees the requests in the same account). */
function sniffPulls(bed: MdbTestBed, stream: string): { bodies: string[]; stop(): void } {
  const sniffer = bed.sniff(`$JS.API.CONSUMER.MSG.NEXT.${stream}.*`);
  return { bodies: sniffer.messages, stop: sniffer.stop };
}

bedTest("Connection.subscribe() starts a new consumer at NOW by default and at BEGIN when asked", async (bed) => {
  await bed.createDataset("ds");
  for (let i = 1; i <= 3; i++) await bed.publish("ds", `old ${i}`);
  const alice = await bed.connect();
  const bob = await bed.connect({ cert: await bed.pki.issueClient("bob").then((c) => [c.certPath, c.keyPath]) });
  try {
    const now = await alice.subscribe("ds");
    const begin = await bob.subscribe("ds", { offset: Offset.BEGIN });
    await bed.publish("ds", "new", { "x-kind": "fresh" });
    const [first] = await read(now, 1);
    assert.equal(first!.sequence, 4);
    assert.equal(first!.text(), "new");
    assert.equal(first!.headers.get("x-kind"), "fresh");
    assert.equal(first!.subject, "EVENTS.ds");
    assert.equal(first!.topic, "ds");
    assert.deepEqual(seqs(await read(begin, 4)), [1, 2, 3, 4]);
    assert.equal(now.subject, "EVENTS.ds");
    assert.equal(now.stream, "EVENTS_ds");
    assert.equal(now.durable, await durableName("alice"));
    const info = await bed.consumerInfo("ds", await durableName("alice"));
    assert.equal(info?.config.deliver_policy, "new");
    assert.equal(info?.config.ack_policy, "explicit");
    assert.equal(info?.config.filter_subject, "EVENTS.ds");
    assert.equal(info?.config.inactive_threshold, 604_800_000_000_000);
    assert.equal((await bed.consumerInfo("ds", await durableName("bob")))?.config.deliver_policy, "all");
  } finally {
    await alice.close();
    await bob.close();
  }
});

bedTest('Connection.subscribe() names its NATS connection "<CN> (<dataset>)"', async (bed) => {
  await bed.createDataset("named");
  const conn = await bed.connect();
  try {
    await conn.subscribe("named");
    const connz = await (await fetch(`${bed.nats.monitorUrl}/connz`)).json() as { connections: { name?: string }[] };
    const names = connz.connections.map((c) => c.name);
    assert.ok(names.includes("alice (named)"), `connection names on the server: ${JSON.stringify(names)}`);
  } finally {
    await conn.close();
  }
});

bedTest("Connection.subscribe() calls gateway, registry and MAS in speedracer's order and headers", async (bed) => {
  await bed.createDataset("ds");
  const conn = await bed.connect();
  try {
    await conn.subscribe("ds");
    assert.deepEqual(bed.mas.calls.map((c) => c.role), ["config", "gateway", "registry", "mas"]);
    const registry = bed.mas.callsOf("registry")[0]!;
    assert.equal(registry.path, "/api/v1/datasets?slug=eq.ds");
    assert.equal(registry.accept, "application/vnd.pgrst.object+json");
    assert.equal(registry.authorization, `Bearer ${conn.jwtManager.token}`);
    const mas = bed.mas.callsOf("mas")[0]!;
    assert.equal(mas.path, "/api/v1/user/jwt/ds");
    assert.equal(mas.authorization, `Bearer ${conn.jwtManager.token}`);
    assert.equal(bed.mas.callsOf("gateway")[0]!.cn, "alice");
    assert.equal(conn.subscriptions.length, 1);
  } finally {
    await conn.close();
  }
  assert.ok(await bed.consumerInfo("ds", await durableName("alice")), "close() keeps the durable consumer");
});

bedTest("Connection.subscribe() resumes where a closed client left off, ignoring offset", async (bed) => {
  await bed.createDataset("ds");
  for (let i = 1; i <= 5; i++) await bed.publish("ds", `m${i}`);
  const first = await bed.connect();
  const sub = await first.subscribe("ds", { offset: Offset.BEGIN, batch: 2 });
  assert.deepEqual(seqs(await read(sub, 2)), [1, 2]);
  await first.close();
  const second = await bed.connect();
  try {
    const again = await second.subscribe("ds", { offset: Offset.NOW, batch: 2 });
    assert.deepEqual(seqs(await read(again, 3)), [3, 4, 5]);
    assert.equal((await bed.consumerInfo("ds", await durableName("alice")))?.config.deliver_policy, "all");
  } finally {
    await second.close();
  }
});

bedTest("MdbSubscription with batch 1 sends single-message pulls; larger batches start with no_wait", async (bed) => {
  await bed.createDataset("ds");
  for (let i = 1; i <= 3; i++) await bed.publish("ds", `m${i}`);
  const sniff = sniffPulls(bed, "EVENTS_ds");
  const conn = await bed.connect();
  try {
    const one = await conn.subscribe("ds", { offset: Offset.BEGIN, batch: 1 });
    assert.deepEqual(seqs(await read(one, 3)), [1, 2, 3]);
    await until(() => sniff.bodies.length >= one.pullRequests, "the sniffed pulls");
    assert.equal(one.pullRequests, 3);
    assert.deepEqual(sniff.bodies, Array(3).fill('{"batch": 1, "expires": 9999900000}'));
    await one.close();
    await bed.consumerInfo("ds", await durableName("alice"));
    sniff.bodies.length = 0;
    const bob = await bed.connect({ cert: await bed.pki.issueClient("bob").then((c) => [c.certPath, c.keyPath]) });
    try {
      const four = await bob.subscribe("ds", { offset: Offset.BEGIN, batch: 4 });
      assert.deepEqual(seqs(await read(four, 3)), [1, 2, 3]);
      await until(() => sniff.bodies.length >= 1, "the sniffed pull");
      assert.equal(sniff.bodies[0], '{"batch": 4, "expires": 9999900000, "no_wait": true}');
    } finally {
      await bob.close();
    }
  } finally {
    sniff.stop();
    await conn.close();
  }
});

bedTest(
  "MdbSubscription with prefetch 0 does not pull ahead of a slow reader and acks each batch before yielding it",
  async (bed) => {
    await bed.createDataset("ds");
    for (let i = 1; i <= 30; i++) await bed.publish("ds", `m${i}`);
    const conn = await bed.connect();
    try {
      const sub = await conn.subscribe("ds", { offset: Offset.BEGIN, batch: 5, prefetch: 0 });
      const reader = sub.getReader();
      assert.equal((await reader.read()).value?.sequence, 1);
      const durable = await durableName("alice");
      // The whole first batch is acked although only its first message was read.
      await until(async () => (await bed.consumerInfo("ds", durable))?.ackFloorStreamSeq === 5, "the batch ack");
      await sleep(300); // the reader stalls
      const info = await bed.consumerInfo("ds", durable);
      assert.equal(info?.deliveredStreamSeq, 5, "nothing delivered beyond the first batch");
      assert.equal(info?.numAckPending, 0);
      assert.equal(sub.pullRequests, 1);
      for (let i = 2; i <= 6; i++) assert.equal((await reader.read()).value?.sequence, i);
      assert.equal(sub.pullRequests, 2);
      reader.releaseLock();
    } finally {
      await conn.close();
    }
  },
);

bedTest(
  "MdbSubscription prefetches 2 batches (unacked until the reader reaches them) and hands them back when it closes",
  async (bed) => {
    await bed.createDataset("ds");
    for (let i = 1; i <= 30; i++) await bed.publish("ds", `m${i}`);
    const sniff = sniffPulls(bed, "EVENTS_ds");
    const conn = await bed.connect();
    const durable = await durableName("alice");
    try {
      const sub = await conn.subscribe("ds", { offset: Offset.BEGIN, batch: 5 });
      assert.equal(sub.prefetch, 2);
      const reader = sub.getReader();
      assert.equal((await reader.read()).value?.sequence, 1);
      // The server's view: the first batch acked whole, two more delivered ahead and not acked.
      await untilSaying(async () => {
        const info = await bed.consumerInfo("ds", durable);
        const done = info?.ackFloorStreamSeq === 5 && info.deliveredStreamSeq === 15 && info.numAckPending === 10;
        return [done, { info, buffered: sub.buffered }];
      }, "the first batch acked and two more delivered ahead");
      // speedracer's bodies, byte for byte: three no_wait requests of the batch.
      await until(() => sniff.bodies.length >= 3, "the sniffed pulls");
      assert.deepEqual(sniff.bodies, Array(3).fill('{"batch": 5, "expires": 9999900000, "no_wait": true}'));
      // Reaching the second batch acks it whole, before its first message is handed out.
      for (let i = 2; i <= 6; i++) assert.equal((await reader.read()).value?.sequence, i);
      await until(
        async () => (await bed.consumerInfo("ds", durable))?.ackFloorStreamSeq === 10,
        "the second batch ack",
      );
      reader.releaseLock();
      await sub.close();
      // What was held ahead (11..20) and never handed out was naked: the next reader gets it first, at once, as
      // redeliveries (acked on arrival it would be lost; left unsettled it would come only after the 30 s ack wait).
      const again = await conn.subscribe("ds", { batch: 5 });
      const got = await withDeadline(10_000, read(again, 20), {
        error: "the next reader's 20 messages took over 10 s",
      });
      assert.deepEqual(seqs(got), Array.from({ length: 20 }, (_, i) => 11 + i));
      assert.ok(got.slice(0, 10).every((m) => m.delivered === 2) && got.slice(10).every((m) => m.delivered === 1));
    } finally {
      sniff.stop();
      await conn.close();
    }
  },
);

bedTest(
  "MdbSubscription hands prefetched batches back to the server when the reader stalls past a third of the ack wait",
  async (bed) => {
    await bed.createDataset("ds");
    for (let i = 1; i <= 20; i++) await bed.publish("ds", `m${i}`);
    const durable = await durableName("alice");
    // The user's durable exists with an ack wait of 3 s: prefetched messages are held for at most 1 s.
    const { jwt, seed } = await bed.nats.adminCredentials();
    const admin = await wsconnect({ servers: bed.nats.wsUrl!, authenticator: jwtAuthenticator(jwt, seed) });
    const conn = await bed.connect();
    const other = await bed.connect();
    try {
      await (await jetstreamManager(admin)).consumers.add("EVENTS_ds", {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: "EVENTS.ds",
        ack_wait: 3_000_000_000,
      });
      const sub = await conn.subscribe("ds", { batch: 5 });
      const reader = sub.getReader();
      assert.equal((await reader.read()).value?.sequence, 1);
      await untilSaying(async () => {
        const info = await bed.consumerInfo("ds", durable);
        return [info?.deliveredStreamSeq === 15, { info, buffered: sub.buffered }];
      }, "the prefetch");
      // The reader stalls: after 1 s the 10 held ahead are handed back; 2..5 (acked, its batch taken) stay.
      await untilSaying(
        async () => [sub.buffered === 4, { buffered: sub.buffered, info: await bed.consumerInfo("ds", durable) }],
        "the hand-back",
      );
      // Another program of the same user (same durable) gets them next, as redeliveries, before the 16..20 never
      // delivered: the server took them back (left to the ack wait, they would come after 16..20 and 2 s later).
      const second = await other.subscribe("ds", { batch: 5, prefetch: 0 });
      const got = await withDeadline(1_500, read(second, 10), { error: "the handed-back messages took over 1.5 s" });
      assert.deepEqual(seqs(got), Array.from({ length: 10 }, (_, i) => i + 6));
      assert.ok(got.every((m) => m.delivered === 2));
      // The stalled reader reads on: what it held, then the rest; nothing twice.
      const rest: MdbMessage[] = [];
      for (let i = 0; i < 9; i++) rest.push((await reader.read()).value!);
      assert.deepEqual(seqs(rest), [2, 3, 4, 5, 16, 17, 18, 19, 20]);
      reader.releaseLock();
    } finally {
      await admin.close();
      await conn.close();
      await other.close();
    }
  },
);

bedTest("MdbSubscription with ack manual leaves ack, nak and term to the reader", async (bed) => {
  await bed.createDataset("ds");
  for (let i = 1; i <= 3; i++) await bed.publish("ds", `m${i}`);
  const conn = await bed.connect();
  try {
    const sub = await conn.subscribe("ds", { offset: Offset.BEGIN, batch: 3, ack: "manual" });
    const got = await read(sub, 3);
    assert.ok(got.every(isSettleable));
    const durable = await durableName("alice");
    assert.equal((await bed.consumerInfo("ds", durable))?.numAckPending, 3);
    const [a, b, c] =
      got as (MdbMessage & { ack(): Promise<void>; nak(d?: number): Promise<void>; term(): Promise<void> })[];
    await a!.ack();
    await b!.nak();
    await c!.term();
    const [again] = await read(sub, 1);
    assert.equal(again!.sequence, 2);
    assert.equal(again!.delivered, 2);
    if (isSettleable(again!)) await again.ack();
    await until(async () => (await bed.consumerInfo("ds", durable))?.numAckPending === 0, "the settlements");
  } finally {
    await conn.close();
  }
});

bedTest("MdbSubscription.seek() restarts at a stream sequence and at a time", async (bed) => {
  await bed.createDataset("ds");
  for (let i = 1; i <= 4; i++) await bed.publish("ds", `m${i}`);
  await sleep(30);
  const cut = new Date();
  await sleep(30);
  for (let i = 5; i <= 10; i++) await bed.publish("ds", `m${i}`);
  const conn = await bed.connect();
  try {
    const sub = await conn.subscribe("ds", { offset: Offset.BEGIN, batch: 3 });
    assert.deepEqual(seqs(await read(sub, 2)), [1, 2]);
    await sub.seek(7);
    assert.deepEqual(seqs(await read(sub, 4)), [7, 8, 9, 10]);
    const durable = await durableName("alice");
    const bySeq = await bed.consumerInfo("ds", durable);
    assert.equal(bySeq?.config.deliver_policy, "by_start_sequence");
    assert.equal(bySeq?.config.opt_start_seq, 7);
    await sub.seek(cut);
    assert.deepEqual(seqs(await read(sub, 2)), [5, 6]);
    assert.equal((await bed.consumerInfo("ds", durable))?.config.deliver_policy, "by_start_time");
    await assert.rejects(() => sub.seek(0), RangeError);
    await assert.rejects(() => sub.seek("3" as unknown as number), TypeError);
  } finally {
    await conn.close();
  }
});

bedTest("MdbSubscription delivers to a callback and wait() counts the messages it got", async (bed) => {
  await bed.createDataset("ds");
  const conn = await bed.connect();
  try {
    const got: number[] = [];
    const sub = await conn.subscribe("ds", { callback: (m) => void got.push(m.sequence) });
    const waiting = sub.wait({ messages: 3 });
    for (let i = 1; i <= 3; i++) await bed.publish("ds", `m${i}`);
    await waiting;
    await until(() => got.length === 3, "the callback");
    assert.deepEqual(got, [1, 2, 3]);
    await sub.wait({ timeout: new Date(Date.now() - 1000) }); // a past time returns at once
    await assert.rejects(() => sub.wait({ messages: -1 }), RangeError);
    const stranded = assert.rejects(() => sub.wait({ messages: 5 }), /ended/);
    await sub.close();
    await stranded;
  } finally {
    await conn.close();
  }
});

bedTest("MdbSubscription ends with the callback's error when the callback throws", async (bed) => {
  await bed.createDataset("ds");
  const conn = await bed.connect();
  try {
    const boom = new Error("callback failed");
    const sub = await conn.subscribe("ds", {
      callback: () => {
        throw boom;
      },
    });
    await bed.publish("ds", "x");
    assert.equal(await sub.closed, boom);
    await sub.close(); // returns at once on an ended subscription
  } finally {
    await conn.close();
  }
});

bedTest("MdbSubscription reconnects with a fresh MAS JWT when the user JWT expires, losing nothing", async (bed) => {
  await bed.createDataset("ds");
  const conn = await bed.connect();
  try {
    const sub = await conn.subscribe("ds", { offset: Offset.BEGIN, batch: 5 });
    const events: string[] = [];
    sub.status.addEventListener("reconnected", () => events.push("reconnected"));
    const total = 40;
    const publishing = (async () => {
      for (let i = 1; i <= total; i++) {
        await bed.publish("ds", `m${i}`);
        await sleep(100);
      }
    })();
    const got = await read(sub, total);
    await publishing;
    assert.deepEqual(seqs(got), Array.from({ length: total }, (_, i) => i + 1));
    assert.ok(events.includes("reconnected"), "the connection was renewed");
    assert.ok(bed.mas.issuedUserJwts.length >= 2, "a fresh MAS JWT was fetched");
  } finally {
    await conn.close();
  }
}, { userJwtTtlSeconds: 2 });

bedTest("MdbSubscription goes on after nats-server restarts mid-stream, losing nothing", async (bed) => {
  await bed.createDataset("ds");
  for (let i = 1; i <= 10; i++) await bed.publish("ds", `m${i}`);
  const conn = await bed.connect();
  try {
    const sub = await conn.subscribe("ds", { offset: Offset.BEGIN, batch: 5 });
    assert.deepEqual(seqs(await read(sub, 5)), [1, 2, 3, 4, 5]);
    const durable = await durableName("alice");
    await until(async () => (await bed.consumerInfo("ds", durable))?.ackFloorStreamSeq === 5, "the batch's acks");
    await bed.nats.restart();
    const reading = read(sub, 10);
    await until(() => bed.streamReady("EVENTS_ds"), "JetStream", 20_000);
    for (let i = 11; i <= 15; i++) await bed.publish("ds", `m${i}`);
    assert.deepEqual(seqs(await reading), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  } finally {
    await conn.close();
  }
});

bedTest("Connection.subscribe() over TCP (websocket: false) and on an OBJECTS dataset", async (bed) => {
  await bed.createDataset("obj", { data_object_backend: "MDB" });
  await bed.publish("obj", "blob");
  const conn = await bed.connect({ websocket: false });
  try {
    const sub = await conn.subscribe("obj", { offset: Offset.BEGIN });
    assert.equal(sub.subject, "OBJECTS.obj");
    const [m] = await read(sub, 1);
    assert.equal(m!.text(), "blob");
    assert.equal(m!.stream, "OBJECTS_obj");
  } finally {
    await conn.close();
  }
});

bedTest("Connection.subscribe() throws AuthError naming the URL and status when the MAS refuses", async (bed) => {
  await bed.createDataset("ds");
  const conn = await bed.connect();
  try {
    bed.mas.failures.mas = 403;
    const err = await conn.subscribe("ds").then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof AuthError, String(err));
    assert.equal(err.status, 403);
    assert.equal(err.url, `${bed.mas.url}/api/v1/user/jwt/ds`);
    assert.equal(conn.subscriptions.length, 0);
    bed.mas.failures = { gateway: 401 };
    const fresh = await bed.connect();
    try {
      const gw = await fresh.subscribe("ds").then(() => undefined, (e: unknown) => e);
      assert.ok(gw instanceof AuthError && gw.status === 401 && gw.url === `${bed.mas.url}/getjwt`, String(gw));
    } finally {
      await fresh.close();
    }
  } finally {
    await conn.close();
  }
});

bedTest("Connection.subscribe() throws AuthError when NATS refuses the user JWT or its permissions", async (bed) => {
  await bed.createDataset("ds");
  await bed.createDataset("other");
  const conn = await bed.connect();
  try {
    bed.mas.bearerUserJwts = false; // an empty signature is then an authorization violation
    await assert.rejects(
      () => conn.subscribe("ds"),
      (e: unknown) => e instanceof AuthError && /Authorization/i.test(e.message),
    );
    bed.mas.bearerUserJwts = true;
    bed.mas.streamOverride = "EVENTS_other"; // a JWT for another dataset's stream
    await assert.rejects(
      () => conn.subscribe("ds"),
      (e: unknown) => e instanceof AuthError && /Permission/i.test(e.message),
    );
  } finally {
    await conn.close();
  }
});

bedTest("Connection.subscribe() names an unknown dataset, or falls back to EVENTS when told to", async (bed) => {
  const conn = await bed.connect();
  const lenient = await bed.connect({ unknownDataset: "events" });
  try {
    const err = await conn.subscribe("nope").then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof UnknownDatasetError);
    assert.equal(err.dataset, "nope");
    assert.match(err.message, /dataset nope/);
    // Known to the registry but without a stream.
    bed.mas.datasets.set("empty", { slug: "empty" });
    await assert.rejects(() => conn.subscribe("empty"), /no stream holds EVENTS\.empty/);
    // Not in the registry, but the stream exists: speedracer 0.0.2's silent EVENTS fallback.
    await bed.addStream("EVENTS_hidden", ["EVENTS.hidden"]);
    bed.mas.streamOverride = "EVENTS_hidden";
    bed.mas.datasets.set("hidden", { slug: "hidden" });
    bed.mas.failures.registry = 406;
    const sub = await lenient.subscribe("hidden");
    assert.equal(sub.subject, "EVENTS.hidden");
    assert.throws(() => conn.open("a.b"), TypeError);
    assert.throws(() => conn.open("ds", { batch: 0 }), RangeError);
    assert.throws(() => conn.open("ds", { offset: "later" as Offset }), TypeError);
  } finally {
    await conn.close();
    await lenient.close();
  }
});

/** A wss:// endpoint with the test PKI's server certificate, relaying to nats-server's ws:// listener. */
function wssRelay(bed: MdbTestBed): { url: string; close(): Promise<void> } {
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: bed.pki.serverCert,
    key: bed.pki.serverKey,
    onListen: () => {},
  }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    const upstream = new WebSocket(bed.nats.wsUrl!);
    upstream.binaryType = "arraybuffer";
    socket.binaryType = "arraybuffer";
    sockets.add(socket);
    sockets.add(upstream);
    const queued: (string | ArrayBuffer)[] = [];
    upstream.onopen = () => queued.splice(0).forEach((d) => upstream.send(d));
    socket.onmessage = (e) => upstream.readyState === WebSocket.OPEN ? upstream.send(e.data) : queued.push(e.data);
    upstream.onmessage = (e) => socket.readyState === WebSocket.OPEN && socket.send(e.data);
    socket.onclose = () => upstream.close();
    upstream.onclose = () => socket.readyState === WebSocket.OPEN && socket.close();
    return response;
  });
  return {
    url: `wss://127.0.0.1:${server.addr.port}`,
    async close() {
      for (const s of sockets) if (s.readyState < WebSocket.CLOSING) s.close();
      await server.shutdown();
    },
  };
}

bedTest("Connection.subscribe() verifies a wss:// NATS server with the CA bundle", async (bed) => {
  await bed.createDataset("ds");
  await bed.publish("ds", "over tls");
  const relay = wssRelay(bed);
  bed.mas.natsWebsocketUrl = relay.url;
  const conn = await bed.connect();
  try {
    const sub = await conn.subscribe("ds", { offset: Offset.BEGIN });
    const [m] = await read(sub, 1);
    assert.equal(m!.text(), "over tls");
  } finally {
    await conn.close();
    await relay.close();
  }
});

bedTest(
  "Connection.subscribe() with subjects slug uses the lower-cased dataset and skips the registry",
  async (bed) => {
    await bed.addStream("weather", ["weather"]);
    bed.mas.datasets.set("Weather", { slug: "Weather" });
    bed.mas.streamOverride = "weather";
    const conn = await bed.connect({ subjects: "slug" });
    try {
      const sub = await conn.subscribe("Weather", { offset: Offset.BEGIN });
      assert.equal(sub.subject, "weather");
      assert.equal(sub.stream, "weather");
      assert.equal(bed.mas.callsOf("registry").length, 0);
      await assert.rejects(() => bed.connect({ subjects: "other" as "slug" }), TypeError);
    } finally {
      await conn.close();
    }
  },
);

bedTest("MdbSubscription fails with ConnectionError when nats-server goes away for good", async (bed) => {
  await bed.createDataset("ds");
  await bed.publish("ds", "one");
  const conn = await bed.connect({ maxReconnectAttempts: 2, reconnectTimeWaitMs: 100 });
  try {
    const sub = await conn.subscribe("ds", { offset: Offset.BEGIN, batch: 1 });
    const reader = sub.getReader();
    assert.equal((await reader.read()).value?.text(), "one");
    const pending = reader.read();
    await bed.nats.stop();
    await assert.rejects(() => pending, ConnectionError);
    assert.ok((await sub.closed) instanceof ConnectionError);
    reader.releaseLock();
  } finally {
    await conn.close();
  }
});

bedTest("MdbSubscription.close() right after open() releases everything it started", async (bed) => {
  await bed.createDataset("ds");
  const conn = await bed.connect();
  try {
    for (const delay of [0, 5, 50]) {
      const sub = conn.open("ds");
      let readied = false;
      sub.ready.then(() => readied = true, () => {});
      await sleep(delay);
      // How far the start got depends on the machine (the WebSocket can be up within 50 ms): a start that had not
      // finished must fail `ready`; one that had keeps it resolved. Either way everything is released.
      const finished = readied;
      await sub.close("early");
      assert.equal(await sub.closed, "early");
      if (!finished) await assert.rejects(() => sub.ready);
    }
    assert.equal(conn.subscriptions.length, 0);
  } finally {
    await conn.close();
  }
});

bedTest("MdbSubscription fails with ProtocolError on a delivery with a malformed ack subject", async (bed) => {
  await bed.createDataset("ds");
  const sniff = bed.sniff("$JS.API.CONSUMER.MSG.NEXT.EVENTS_ds.*");
  const conn = await bed.connect();
  try {
    const sub = await conn.subscribe("ds", { batch: 1 });
    const reader = sub.getReader();
    const failed = assert.rejects(() => reader.read(), ProtocolError);
    await until(() => sniff.replies.length === 1, "the pull request");
    // Nothing is published, so the pull stays open and no further pull goes out while the reader waits.
    await sleep(300);
    assert.equal(sub.pullRequests, 1);
    // A delivery whose reply subject is not a JetStream ack subject. (A forged "$JS.ACK." reply
    // published by another user was not delivered by nats-server 2.9.10 in our runs.)
    await bed.inject(sniff.replies[0]!, "forged", "_INBOX.not.an.ack");
    await failed;
    assert.ok((await sub.closed) instanceof ProtocolError);
    reader.releaseLock();
    assert.equal(conn.subscriptions.length, 0);
  } finally {
    sniff.stop();
    await conn.close();
  }
});

bedTest(
  "MdbSubscription ends with ClosedError when its durable consumer is deleted under a waiting reader",
  async (bed) => {
    await bed.createDataset("ds");
    const sniff = bed.sniff("$JS.API.CONSUMER.MSG.NEXT.EVENTS_ds.*");
    const conn = await bed.connect();
    const { jwt, seed } = await bed.nats.adminCredentials();
    const admin = await wsconnect({ servers: bed.nats.wsUrl!, authenticator: jwtAuthenticator(jwt, seed) });
    try {
      const sub = await conn.subscribe("ds", { batch: 1 });
      const reader = sub.getReader();
      const read = assert.rejects(() => reader.read(), ClosedError);
      await until(() => sniff.messages.length === 1, "the long poll");
      await (await jetstreamManager(admin)).consumers.delete("EVENTS_ds", await durableName("alice"));
      // Bounded: a subscription that ignored the deletion would wait on forever.
      const timer = setTimeout(() => void sub.close(new Error("still open 10 s after the deletion")), 10_000);
      await read.finally(() => clearTimeout(timer));
      assert.ok((await sub.closed) instanceof ClosedError);
      reader.releaseLock();
    } finally {
      sniff.stop();
      await admin.close();
      await conn.close();
    }
  },
);
