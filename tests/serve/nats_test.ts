// `pubsub serve` replicas as separate processes against a real nats-server: JetStream → JetStream through one shared
// durable consumer. The truth is the servers' own view: the target stream's contents (every payload counted) and the
// source consumer's pending and ack-pending counts.
import assert from "node:assert/strict";
import { createMessage } from "../../src/core/message.ts";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { countPayloads, Replica, stopAll, until } from "./_replica.ts";

const skip = natsServerSkipReason();
if (skip !== undefined) console.log(skip);

const MAX_IN_FLIGHT = 16;
const HIGH_WATER_MARK = 16;
/** What one replica holds unacked at most: its window of publishes and what its subscription fetched ahead. */
const WINDOW = MAX_IN_FLIGHT + HIGH_WATER_MARK;

async function setup(ackWaitMs: number) {
  const server = await NatsServer.start({ websocket: false });
  const ps = await NatsPubSub.connect({ servers: server.url, jetstream: true });
  const jsm = await ps.jetstreamManager();
  await jsm.streams.add({ name: "SRC", subjects: ["src.>"] });
  await jsm.streams.add({ name: "DST", subjects: ["dst.>"] });
  const dir = await Deno.makeTempDir({ prefix: "x-pubsub-serve-" });
  const file = `${dir}/bridge.jsonc`;
  await Deno.writeTextFile(
    file,
    `{
      "replicas": 3,
      "drainTimeoutMs": 5000,
      "routes": [{
        "name": "r",
        "from": { "url": "${server.url}?jetstream", "topic": "src.>", "deliver": "all", "ackWaitMs": ${ackWaitMs},
                  "highWaterMark": ${HIGH_WATER_MARK} },
        "to": { "url": "${server.url}?jetstream", "topic": "dst.{2..}" },
        "maxInFlight": ${MAX_IN_FLIGHT},
        "retry": { "attempts": 5, "delayMs": 100 },
      }],
    }`,
  );
  const stored = async (stream: string) => (await jsm.streams.info(stream)).state.messages;
  const consumer = () => jsm.consumers.info("SRC", "r");
  /** Waits until the server has nothing pending or unacked for the route, and the target stream holds `n`. */
  const everyAcked = (n: number) =>
    until(
      async () => {
        const c = await consumer();
        return c.num_pending === 0 && c.num_ack_pending === 0 && await stored("DST") >= n;
      },
      60_000,
      "every message acked",
    );
  return {
    server,
    ps,
    file,
    stored,
    consumer,
    everyAcked,
    async publish(n: number, from = 0) {
      const w = ps.writable(undefined, { maxInFlight: 256 }).getWriter();
      for (let i = from; i < from + n; i++) await w.write(createMessage(`src.${i % 7}.x`, String(i)));
      await w.close();
    },
    async dispose() {
      await ps.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "serve: 3 replicas share one durable consumer; a SIGKILLed one's messages come through the others",
  ignore: skip !== undefined,
  async fn() {
    const N = 3000;
    const env = await setup(4000);
    const replicas = [0, 1, 2].map((i) => new Replica(`replica ${i}`, env.file));
    try {
      await Promise.all(replicas.map((r) => r.ready()));
      // A quarter first; once the victim took part it is frozen (SIGSTOP): it keeps what it fetched and its waiting
      // pull, so some of the rest, published now, goes to it and stays unacked. Then it is killed. (Watching its
      // in_flight gauge instead missed: on a quiet machine a message is in flight for well under a millisecond.)
      const victim = replicas[1]!;
      await env.publish(N / 4);
      await until(
        async () => await victim.metric("received_total") > 0 && await env.stored("DST") >= N / 8,
        60_000,
        "the victim at work",
      );
      // Idle now, every replica has a pull waiting at the server (the victim's is what it will be handed while frozen).
      await until(async () => (await env.consumer()).num_waiting >= 3, 60_000, "3 waiting pulls");
      victim.kill("SIGSTOP");
      await env.publish(N - N / 4, N / 4);
      victim.kill("SIGKILL");
      assert.equal((await victim.exited()).signal, "SIGKILL");
      const survivors = [replicas[0]!, replicas[2]!];
      await env.everyAcked(N);
      const seen = await countPayloads(env.ps, "dst.>", await env.stored("DST"));
      const missing = Array.from({ length: N }, (_, i) => String(i)).filter((k) => !seen.has(k));
      assert.deepEqual(missing, [], "every message arrived");
      const copies = [...seen.values()].reduce((a, b) => a + b, 0) - seen.size;
      console.log(`  ${N} messages, ${copies} duplicates (window of the killed replica: ${WINDOW})`);
      assert.ok(copies <= WINDOW, `${copies} duplicates, more than the killed replica's window of ${WINDOW}`);
      // The survivors' own view: the server's consumer has nothing pending; they took part.
      let redelivered = 0;
      for (const r of survivors) {
        assert.equal(await r.metric("source_pending"), 0);
        assert.equal(await r.metric("source_ack_pending"), 0);
        assert.ok(await r.metric("received_total") > 0, `${r.name} took part`);
        redelivered += await r.metric("redelivered_total");
      }
      console.log(`  ${redelivered} redelivered to the survivors`);
      assert.ok(redelivered >= copies, `each copy was a redelivery (${redelivered} redelivered, ${copies} copies)`);
      assert.ok(redelivered > 0, "what the killed replica held came again, to the survivors");
      assert.match(victim.stderr, /ready: 1 route running/);
      // SIGTERM: drain and exit 0.
      for (const r of survivors) r.kill("SIGTERM");
      for (const r of survivors) {
        const s = await r.exited();
        assert.equal(s.code, 0, r.stderr);
        assert.match(r.stderr, /drained in \d+ ms; \d+ handed back \(nak\), 0 left in flight/);
      }
    } finally {
      await stopAll(replicas);
      await env.dispose();
    }
  },
});

Deno.test({
  name: "serve: SIGTERM mid-stream drains (in flight finished, fetched-ahead handed back), exits 0, no copies",
  ignore: skip !== undefined,
  async fn() {
    const N = 3000;
    const env = await setup(5000);
    const replicas = [0, 1].map((i) => new Replica(`replica ${i}`, env.file));
    try {
      await Promise.all(replicas.map((r) => r.ready()));
      await env.publish(N);
      const leaving = replicas[0]!;
      await until(async () => await leaving.metric("acked_total") >= 200, 60_000, "the leaving replica at work");
      leaving.kill("SIGTERM");
      const status = await leaving.exited();
      assert.equal(status.code, 0, leaving.stderr);
      const drained = /drained in (\d+) ms; (\d+) handed back \(nak\), 0 left in flight/.exec(leaving.stderr);
      assert.ok(drained !== null, leaving.stderr);
      assert.ok(Number(drained[1]) < 5000, "within the drain deadline");
      await env.everyAcked(N);
      const seen = await countPayloads(env.ps, "dst.>", await env.stored("DST"));
      assert.equal(seen.size, N, "every message arrived");
      const copies = [...seen.values()].reduce((a, b) => a + b, 0) - seen.size;
      assert.equal(copies, 0, "a drained replica published nothing it did not ack");
      console.log(`  the drained replica handed back ${drained[2]} messages`);
      replicas[1]!.kill("SIGTERM");
      assert.equal((await replicas[1]!.exited()).code, 0);
    } finally {
      await stopAll(replicas);
      await env.dispose();
    }
  },
});

Deno.test({
  name: "serve: a bad configuration exits 2 with its line, before connecting anywhere",
  ignore: skip !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/bad.jsonc`,
        `{\n  "routes": [\n    { "name": "r", "from": { "url": "nats://127.0.0.1:1?jetstream", "topic": "a" },\n      "to": { "url": "nats://user:hunter2@127.0.0.1:1" } }\n  ]\n}\n`,
      );
      const r = new Replica("bad", `${dir}/bad.jsonc`);
      const s = await r.exited();
      assert.equal(s.code, 2);
      assert.match(r.stderr, /bad\.jsonc:4:\d+: routes\[0\]\.to\.url: the password is written in the file/);
      assert.ok(!r.stderr.includes("hunter2"), r.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
