// The scale test, at CI size: a 3-node nats-server cluster, R3 source and target streams, 3 `pubsub serve` replicas as
// separate processes sharing one durable consumer; one replica SIGKILLed and one NATS node stopped mid-run. The truth
// is the servers' own view: every payload counted in the target stream, the consumer's pending and ack-pending.
// (bench/serve/scale.ts runs the same with 100,000 messages and measures 1 against 3 replicas.)
import assert from "node:assert/strict";
import { createMessage } from "../../src/core/message.ts";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { NatsCluster, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { countPayloads, Replica, stopAll, until } from "./_replica.ts";

const skip = natsServerSkipReason();

const N = 10_000;
const MAX_IN_FLIGHT = 32;
const HIGH_WATER_MARK = 32;
/** What one replica holds unacked at most. */
const WINDOW = MAX_IN_FLIGHT + HIGH_WATER_MARK;

Deno.test({
  name: "serve at scale: 3 replicas, R3 streams, a replica SIGKILLed and a node stopped: every message arrives",
  ignore: skip !== undefined,
  async fn() {
    const t0 = performance.now();
    const cluster = await NatsCluster.start();
    const ps = await NatsPubSub.connect({ servers: cluster.urls, jetstream: true, maxReconnectAttempts: -1 });
    const dir = await Deno.makeTempDir({ prefix: "x-pubsub-scale-" });
    const replicas: Replica[] = [];
    try {
      const jsm = await ps.jetstreamManager();
      await jsm.streams.add({ name: "SRC", subjects: ["src.>"], num_replicas: 3 });
      await jsm.streams.add({ name: "DST", subjects: ["dst.>"], num_replicas: 3 });
      const urls = JSON.stringify(cluster.urls.map((u) => `${u}?jetstream&maxReconnectAttempts=-1`));
      await Deno.writeTextFile(
        `${dir}/bridge.jsonc`,
        `{
          "replicas": 3,
          "drainTimeoutMs": 10000,
          "routes": [{
            "name": "r",
            "from": { "url": ${urls}, "topic": "src.>", "deliver": "all", "ackWaitMs": 6000,
                      "highWaterMark": ${HIGH_WATER_MARK} },
            "to": { "url": ${urls}, "topic": "dst.{2..}" },
            "maxInFlight": ${MAX_IN_FLIGHT},
            "retry": { "attempts": 10, "delayMs": 100, "maxDelayMs": 2000 },
          }],
        }`,
      );
      for (let i = 0; i < 3; i++) replicas.push(new Replica(`replica ${i}`, `${dir}/bridge.jsonc`));
      await Promise.all(replicas.map((r) => r.ready()));
      // Every replica is pulling: the server holds a waiting pull request of each (a replica whose first pull went
      // unanswered would never send another while nothing is pending).
      await until(async () => (await jsm.consumers.info("SRC", "r")).num_waiting >= 3, 20_000, "3 waiting pulls");
      const stored = async () => {
        try {
          return (await jsm.streams.info("DST")).state.messages;
        } catch {
          return 0; // between leaders
        }
      };
      const tPublish = performance.now();
      const publish = async (from: number, to: number) => {
        const w = ps.writable(undefined, { maxInFlight: 256 }).getWriter();
        for (let i = from; i < to; i++) await w.write(createMessage(`src.${i % 10}.x`, String(i)));
        await w.close();
      };
      // The first half; once the victim is at work it is frozen (SIGSTOP) while the half is still being published,
      // so it keeps what it fetched and is handed more it never acks; then it is killed and the second half follows.
      // (Its in_flight gauge is no signal: on a quiet machine a message is in flight for well under a millisecond.)
      const firstHalf = publish(0, N / 2);
      firstHalf.catch(() => {}); // awaited below; never an unhandled rejection while the wait runs
      const victim = replicas[1]!;
      await until(async () => await victim.metric("received_total") >= 100, 120_000, "the victim at work")
        .catch(async (err) => {
          await firstHalf.catch(() => {});
          throw err;
        });
      const victimReceived = await victim.metric("received_total");
      victim.kill("SIGSTOP");
      await firstHalf;
      victim.kill("SIGKILL");
      await victim.exited();
      await publish(N / 2, N);
      // The node leading the consumer stops while the second half is still being bridged.
      const consumerLeader = (await jsm.consumers.info("SRC", "r")).cluster?.leader;
      const stopped = cluster.nodes.findIndex((n) => n.name === consumerLeader);
      assert.ok(stopped >= 0, `the consumer's leader ${consumerLeader} is a node`);
      const atStop = await stored();
      await cluster.stopNode(stopped);
      assert.ok(atStop < N, `the node stopped mid-run (${atStop} of ${N} through)`);

      await until(
        async () => {
          try {
            const c = await jsm.consumers.info("SRC", "r");
            return c.num_pending === 0 && c.num_ack_pending === 0 && await stored() >= N;
          } catch {
            return false;
          }
        },
        120_000,
        "every message acked",
      ).catch(async (err) => {
        // What each side saw, for the CI log.
        console.log(JSON.stringify(await jsm.consumers.info("SRC", "r").catch(String)), await stored());
        for (const r of replicas) console.log(`--- ${r.name}\n${r.stderr}`, await r.metrics().catch(() => "exited"));
        throw err;
      });
      const tDone = performance.now();

      const seen = await countPayloads(ps, "dst.>", await stored());
      const missing = Array.from({ length: N }, (_, i) => String(i)).filter((k) => !seen.has(k));
      assert.deepEqual(missing, [], "every message arrived");
      const copies = [...seen.values()].reduce((a, b) => a + b, 0) - seen.size;
      const survivors = [replicas[0]!, replicas[2]!];
      const received = [await survivors[0]!.metric("received_total"), await survivors[1]!.metric("received_total")];
      console.log(
        `  ${N} messages in ${Math.round(tDone - tPublish)} ms, ${copies} duplicates; received: ` +
          `${received[0]}, ${victimReceived} (killed), ${received[1]}; node ${consumerLeader} stopped at ${atStop}; ` +
          `test ${Math.round(performance.now() - t0)} ms`,
      );
      // Copies come from what a replica published but could not ack: the killed one's window, and acks lost with the
      // stopped node (each replica's window at most).
      assert.ok(copies <= 3 * WINDOW, `${copies} duplicates, more than the 3 replicas' windows of ${WINDOW}`);
      assert.ok(victimReceived > 0 && received.every((n) => n > 0), "every replica took part");
      for (const r of survivors) {
        assert.equal(await r.metric("source_pending"), 0);
        assert.equal(await r.metric("source_ack_pending"), 0);
      }
      for (const r of survivors) r.kill("SIGTERM");
      for (const r of survivors) {
        const s = await r.exited();
        assert.equal(s.code, 0, r.stderr);
      }
    } finally {
      await stopAll(replicas);
      await ps.close();
      await cluster.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
