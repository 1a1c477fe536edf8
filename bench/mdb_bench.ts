// Consume throughput of MDB: our subscription (MAS auth, durable pull, ack
// before yield) against raw @nats-io/jetstream consume() on the same
// nats-server, same stream, same batch, 1 KiB messages, in the same run.
// Both read over WebSocket and ack every message.
// Run: deno bench -A bench/mdb_bench.ts
import { jwtAuthenticator, wsconnect } from "@nats-io/nats-core";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Offset } from "../src/mdb/mod.ts";
import { MdbTestBed } from "../src/testing/mdb/mod.ts";

const N = 5_000;
const BATCH = 100;
const RUNS = 10;
const WARMUP = 2;

const bed = await MdbTestBed.start();
await bed.createDataset("bench");
const payload = new Uint8Array(1024).fill(42);
const window: Promise<unknown>[] = [];
for (let i = 0; i < N; i++) {
  window.push(bed.publish("bench", payload));
  if (window.length >= 256) await window.shift();
}
await Promise.all(window);

const conn = await bed.connect();
const sub = await conn.subscribe("bench", { offset: Offset.BEGIN, batch: BATCH });
const reader = sub.getReader();
const { jwt, seed } = await bed.nats.adminCredentials();
const raw = await wsconnect({ servers: bed.nats.wsUrl!, authenticator: jwtAuthenticator(jwt, seed) });
const js = jetstream(raw);
const jsm = await jetstreamManager(raw);

let done = 0;
async function finish(): Promise<void> {
  if (++done < 2 * (RUNS + WARMUP)) return;
  reader.releaseLock();
  await conn.close();
  await raw.close();
  await bed.stop();
}

Deno.bench({
  name: `raw consume(): ${N} x 1 KiB`,
  group: "mdb consume 1 KiB",
  baseline: true,
  n: RUNS,
  warmup: WARMUP,
  async fn(b) {
    await jsm.consumers.delete("EVENTS_bench", "raw").catch(() => {});
    await jsm.consumers.add("EVENTS_bench", {
      durable_name: "raw",
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.Explicit,
      filter_subject: "EVENTS.bench",
    });
    const consumer = await js.consumers.get("EVENTS_bench", "raw");
    b.start();
    const messages = await consumer.consume({ max_messages: BATCH });
    let n = 0;
    for await (const m of messages) {
      m.ack();
      if (++n === N) break;
    }
    b.end();
    await messages.close();
    await finish();
  },
});

Deno.bench({
  name: `MdbSubscription: ${N} x 1 KiB`,
  group: "mdb consume 1 KiB",
  n: RUNS,
  warmup: WARMUP,
  async fn(b) {
    await sub.seek(1);
    b.start();
    for (let n = 0; n < N; n++) {
      const r = await reader.read();
      if (r.done) throw new Error("the subscription ended");
    }
    b.end();
    await finish();
  },
});
