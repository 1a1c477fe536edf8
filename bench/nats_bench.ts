// NATS through `@x/pubsub/nats` vs raw nats.js on the same nats-server in the same run:
// `deno bench -A bench/nats_bench.ts` (on a quiet machine; compare the "x slower/faster" lines per group).
// - core subscribe over TCP: ours vs raw nats.js `subscribe()` (target ≥ 0.9×);
// - JetStream consume and publish, ours vs raw, over TCP and over WebSocket;
// - WebSocket vs TCP under Deno, on our connections (target: WebSocket within 0.9× of TCP): JetStream `fetch()`
//   of 10 at a time and sequential request/reply, the exchanges Nagle's algorithm used to stall.
// Each iteration moves N messages of 1 KiB (request/reply: R sequential requests of 100 bytes).
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
const coreTcp = await TcpNatsPubSub.connect({ servers: `nats://127.0.0.1:${port}` });
const rawSub = await connect({ servers: `nats://127.0.0.1:${port}` });

/** Publishes N core messages on `subject` from the admin connection, while `received` counts them. */
async function coreRound(subject: string, received: () => Promise<void>): Promise<void> {
  const done = received();
  for (let i = 0; i < N; i++) nc.publish(subject, payload);
  await nc.flush();
  await done;
}

Deno.bench({
  name: "raw nats.js subscribe() over TCP, for await",
  group: "core subscribe tcp",
  baseline: true,
  async fn() {
    const sub = rawSub.subscribe("core.raw");
    await rawSub.flush();
    await coreRound("core.raw", async () => {
      let n = 0;
      for await (const _ of sub) if (++n === N) break;
    });
  },
});

Deno.bench({
  name: "@x/pubsub/nats/tcp core subscribe(), for await",
  group: "core subscribe tcp",
  async fn() {
    // Room for the whole burst (the default 1024 drops part of one this fast, by design); a drop fails the run.
    const sub = coreTcp.subscribe("core.ours", { highWaterMark: N, overflow: "error" });
    await sub.ready;
    await coreRound("core.ours", async () => {
      let n = 0;
      for await (const _ of sub) if (++n === N) break;
    });
  },
});

// WebSocket vs TCP on our own connections: what a Nagle stall would show (≈ 43 ms per exchange).
const FETCHED = 2_000;
for (const [name, ps] of [["tcp", tcp], ["ws", ws]] as const) {
  const consumerJs = jetstream(ps.connection);
  Deno.bench({
    name: `nats.js fetch({ max_messages: 10 }) on an @x/pubsub ${name === "tcp" ? "TCP" : "WebSocket"} connection`,
    group: "fetch 10 ws vs tcp",
    baseline: name === "tcp",
    async fn(b) {
      const info = await jsm.consumers.add("BENCH", {
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
        filter_subject: "bench.read",
      });
      const consumer = await consumerJs.consumers.get("BENCH", info.name);
      b.start();
      let n = 0;
      while (n < FETCHED) {
        const batch = await consumer.fetch({ max_messages: 10, expires: 5_000 });
        for await (const _ of batch) n++;
      }
      b.end();
      await jsm.consumers.delete("BENCH", info.name);
    },
  });
  Deno.bench({
    name: `@x/pubsub/nats${name === "tcp" ? "/tcp" : ""} consume(), highWaterMark 10, ack each`,
    group: "consume 10 ws vs tcp",
    baseline: name === "tcp",
    async fn() {
      const sub = ps.consume("bench.read", { stream: "BENCH", deliver: "all", highWaterMark: 10 });
      let n = 0;
      for await (const m of sub) {
        void m.ack();
        if (++n === FETCHED) break;
      }
    },
  });
}

const R = 1_000;
const question = new Uint8Array(100);
const responder = nc.subscribe("rpc", { callback: (_err, m) => void m.respond(m.data) });
await nc.flush();
for (const [name, ps] of [["tcp", tcp], ["ws", ws]] as const) {
  Deno.bench({
    name: `request/reply, ${R} sequential, on an @x/pubsub ${name === "tcp" ? "TCP" : "WebSocket"} connection`,
    group: "request/reply ws vs tcp",
    baseline: name === "tcp",
    async fn() {
      for (let i = 0; i < R; i++) await ps.connection.request("rpc", question, { timeout: 5_000 });
    },
  });
}
void responder;

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
