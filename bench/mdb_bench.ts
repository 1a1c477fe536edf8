// MDB consume throughput against what a user would otherwise run: raw nats.js `consume()` over TCP on the same
// operator-mode nats-server, same stream, same batch, 20,000 × 1 KiB, every message acked, in one run.
// Rows per batch size: raw nats.js over TCP (baseline), MDB over WebSocket (the default: NoDelayWebSocket, prefetch 2),
// MDB over TCP (`websocket: false`), and MDB over WebSocket with `prefetch: 0` (speedracer's timing: the next pull only
// once the reader took the batch). Target: MDB over WebSocket ≥ 0.9× the baseline.
// A last group shows Deno's own WebSocket (Nagle on, ≈ 43 ms per pull) on 500 messages, for the docs.
//
// Run: deno bench -A bench/mdb_bench.ts        (on a quiet machine; `deno bench` prints each row's ratio to the baseline)
import { jwtAuthenticator } from "@nats-io/nats-core";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type ConnectOptions, Offset } from "../src/mdb/mod.ts";
import { MdbTestBed } from "../src/testing/mdb/mod.ts";

const N = 20_000;
const N_NATIVE = 500;
const RUNS = 5;
const WARMUP = 1;

const bed = await MdbTestBed.start();
const { jwt, seed } = await bed.nats.adminCredentials();
const raw = await connect({ servers: bed.nats.url, authenticator: jwtAuthenticator(jwt, seed) });
const js = jetstream(raw);
const jsm = await jetstreamManager(raw);
await bed.createDataset("bench");
const payload = new Uint8Array(1024).fill(42);
for (let i = 0; i < N; i++) raw.publish("EVENTS.bench", payload);
await raw.flush();
while ((await jsm.streams.info("EVENTS_bench")).state.messages < N) await new Promise((r) => setTimeout(r, 50));

// `deno bench` calls each fn an unpredictable number of times: tear down when the process ends, synchronously.
globalThis.addEventListener("unload", () => {
  const dir = bed.nats.logFile.replace(/\/[^/]*$/, "");
  try {
    Deno.kill(Number(Deno.readTextFileSync(`${dir}/nats-server.pid`).trim()), "SIGKILL");
  } catch { /* gone */ }
  for (const d of [dir, bed.pki.dir]) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch { /* gone */ }
  }
});

function rawBench(batch: number): void {
  Deno.bench({
    name: `raw nats.js consume() over TCP, batch ${batch}`,
    group: `mdb batch ${batch}`,
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
      const messages = await consumer.consume({ max_messages: batch });
      let n = 0;
      for await (const m of messages) {
        m.ack();
        if (++n === N) break;
      }
      b.end();
      await messages.close();
    },
  });
}

function mdbBench(
  name: string,
  group: string,
  batch: number,
  count: number,
  options: ConnectOptions,
  baseline = false,
  prefetch?: number,
): void {
  Deno.bench({
    name,
    group,
    baseline,
    n: RUNS,
    warmup: WARMUP,
    async fn(b) {
      const conn = await bed.connect(options);
      const sub = await conn.subscribe("bench", { offset: Offset.BEGIN, batch, prefetch });
      await sub.seek(1); // the durable consumer outlives each iteration: start over
      const reader = sub.getReader();
      b.start();
      for (let n = 0; n < count; n++) {
        const r = await reader.read();
        if (r.done) throw new Error("the subscription ended");
      }
      b.end();
      reader.releaseLock();
      await conn.close();
    },
  });
}

for (const batch of [10, 100]) {
  rawBench(batch);
  mdbBench(`MDB over WebSocket (default), batch ${batch}`, `mdb batch ${batch}`, batch, N, {});
  mdbBench(`MDB over TCP (websocket: false), batch ${batch}`, `mdb batch ${batch}`, batch, N, { websocket: false });
  mdbBench(`MDB over WebSocket, prefetch 0, batch ${batch}`, `mdb batch ${batch}`, batch, N, {}, false, 0);
}
mdbBench(
  `MDB over WebSocket, NoDelayWebSocket, batch 10, ${N_NATIVE} messages`,
  "native WebSocket stall",
  10,
  N_NATIVE,
  {},
  true,
);
mdbBench(
  `MDB over Deno's own WebSocket (webSocket: WebSocket), batch 10, ${N_NATIVE} messages`,
  "native WebSocket stall",
  10,
  N_NATIVE,
  { webSocket: WebSocket },
);
