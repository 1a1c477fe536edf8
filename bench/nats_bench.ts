// JetStream throughput through `@x/pubsub/nats` vs raw `@nats-io/jetstream` on the same
// nats-server in the same run: `deno bench -A bench/nats_bench.ts`.
// Each iteration moves N messages of 1 KiB; compare the "x slower/faster" lines per group.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { wsconnect } from "@nats-io/nats-core";
import { NatsPubSub as TcpNatsPubSub } from "../src/nats/tcp.ts";
import { NatsPubSub as WsNatsPubSub } from "../src/nats/mod.ts";
import { natsServerPath } from "../src/testing/nats/mod.ts";

const N = 10_000;
const WINDOW = 64;
const payload = new Uint8Array(1024).map((_, i) => i & 0xff);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const exe = natsServerPath();
if (exe === undefined) throw new Error("nats-server is needed for this benchmark");
const dir = Deno.makeTempDirSync({ prefix: "x-pubsub-nats-bench-" });
const port = freePort();
const wsPort = freePort();
Deno.writeTextFileSync(
  `${dir}/server.conf`,
  `listen: "127.0.0.1:${port}"\njetstream: { store_dir: "${dir}/js" }\n` +
    `websocket: { listen: "127.0.0.1:${wsPort}", no_tls: true }\nlog_file: "${dir}/log"\n`,
);
const child = new Deno.Command(exe, { args: ["-c", `${dir}/server.conf`], stdout: "null", stderr: "null" }).spawn();
globalThis.addEventListener("unload", () => {
  try {
    child.kill("SIGKILL");
  } catch { /* gone */ }
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* gone */ }
});
for (let i = 0;; i++) {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    (await Deno.connect({ hostname: "127.0.0.1", port: wsPort })).close();
    break;
  } catch {
    if (i > 400) throw new Error("nats-server did not start");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
await jsm.streams.add({ name: "BENCH", subjects: ["bench.>"], max_msgs_per_subject: N });
// The consume benchmarks read the same N stored messages each time.
for (let i = 0; i < N; i += WINDOW) {
  await Promise.all(Array.from({ length: Math.min(WINDOW, N - i) }, () => js.publish("bench.read", payload)));
}
const tcp = await TcpNatsPubSub.connect({ servers: `nats://127.0.0.1:${port}`, jetstream: true });
const ws = await WsNatsPubSub.connect({ servers: `ws://127.0.0.1:${wsPort}`, jetstream: true });

Deno.bench({
  name: "raw @nats-io/jetstream consume(), ack each",
  group: "consume",
  baseline: true,
  async fn() {
    const info = await jsm.consumers.add("BENCH", {
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: "bench.read",
    });
    const consumer = await js.consumers.get("BENCH", info.name);
    const messages = await consumer.consume();
    let n = 0;
    for await (const m of messages) {
      m.ack();
      if (++n === N) break;
    }
    await messages.close();
    await jsm.consumers.delete("BENCH", info.name);
  },
});

const wsRaw = await wsconnect({ servers: `ws://127.0.0.1:${wsPort}` });
const wsJsm = await jetstreamManager(wsRaw);
const wsJs = jetstream(wsRaw);

Deno.bench({
  name: "raw @nats-io/jetstream consume() over WebSocket, ack each",
  group: "consume-ws",
  baseline: true,
  async fn() {
    const info = await wsJsm.consumers.add("BENCH", {
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: "bench.read",
    });
    const consumer = await wsJs.consumers.get("BENCH", info.name);
    const messages = await consumer.consume();
    let n = 0;
    for await (const m of messages) {
      m.ack();
      if (++n === N) break;
    }
    await messages.close();
    await wsJsm.consumers.delete("BENCH", info.name);
  },
});

for (const [name, ps] of [["tcp", tcp], ["ws", ws]] as const) {
  Deno.bench({
    name: `@x/pubsub/nats${name === "tcp" ? "/tcp" : ""} consume(), highWaterMark 100, ack each`,
    group: name === "tcp" ? "consume" : "consume-ws",
    async fn() {
      const sub = ps.consume("bench.read", { stream: "BENCH", deliver: "all", highWaterMark: 100 });
      let n = 0;
      for await (const m of sub) {
        void m.ack();
        if (++n === N) break;
      }
    },
  });
}

Deno.bench({
  name: "raw @nats-io/jetstream publish(), 64 in flight",
  group: "publish",
  baseline: true,
  async fn() {
    const window: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      window.push(js.publish("bench.write", payload));
      if (window.length >= WINDOW) await window.shift();
    }
    await Promise.all(window);
  },
});

Deno.bench({
  name: "raw @nats-io/jetstream publish() over WebSocket, 64 in flight",
  group: "publish-ws",
  baseline: true,
  async fn() {
    const window: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      window.push(wsJs.publish("bench.write", payload));
      if (window.length >= WINDOW) await window.shift();
    }
    await Promise.all(window);
  },
});

for (const [name, ps] of [["tcp", tcp], ["ws", ws]] as const) {
  const group = name === "tcp" ? "publish" : "publish-ws";
  Deno.bench({
    name: `@x/pubsub/nats${name === "tcp" ? "/tcp" : ""} publish(), 64 in flight`,
    group,
    async fn() {
      const window: Promise<unknown>[] = [];
      for (let i = 0; i < N; i++) {
        window.push(ps.publish("bench.write", payload));
        if (window.length >= WINDOW) await window.shift();
      }
      await Promise.all(window);
    },
  });
  Deno.bench({
    name: `@x/pubsub/nats${name === "tcp" ? "/tcp" : ""} writable({ maxInFlight: 64 })`,
    group,
    async fn() {
      const writer = ps.writable("bench.write", { maxInFlight: WINDOW }).getWriter();
      for (let i = 0; i < N; i++) await writer.write(payload);
      await writer.close();
    },
  });
}
