// WebSocket vs TCP on @x/pubsub's own NATS connections, interleaved round by round (steadier than `deno bench` on a
// busy machine): `deno run -A bench/nats/transport_interleaved.ts [rounds]`. Per round and transport: nats.js
// `fetch({ max_messages: 10 })` of 2,000 stored 1 KiB messages, our `consume()` with highWaterMark 10 (ack each),
// and 1,000 sequential request/reply exchanges of 100 bytes. Prints medians and WebSocket/TCP throughput ratios
// (target ≥ 0.9).
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsPubSub as WsNatsPubSub } from "../../src/nats/mod.ts";
import { NatsPubSub as TcpNatsPubSub } from "../../src/nats/tcp.ts";
import { NatsServer } from "../../src/testing/nats/mod.ts";

const rounds = Number(Deno.args[0] ?? 9);
const M = 2_000;
const R = 1_000;
const server = await NatsServer.start({ websocket: true, jetstream: true });
try {
  const admin = await connect({ servers: server.url });
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: "T", subjects: ["t.>"] });
  const payload = new Uint8Array(1024);
  for (let i = 0; i < M; i++) admin.publish("t.x", payload);
  await admin.flush();
  while ((await jsm.streams.info("T")).state.messages < M) await new Promise((r) => setTimeout(r, 50));
  admin.subscribe("rpc", { callback: (_e, m) => void m.respond(m.data) });
  await admin.flush();
  const conns = {
    tcp: await TcpNatsPubSub.connect({ servers: server.url, jetstream: true }),
    ws: await WsNatsPubSub.connect({ servers: server.wsUrl!, jetstream: true }),
  };
  const times: Record<string, number[]> = {};
  const record = (k: string, ms: number) => (times[k] ??= []).push(ms);
  const question = new Uint8Array(100);
  for (let round = 0; round < rounds; round++) {
    for (const [name, ps] of Object.entries(conns)) {
      const info = await jsm.consumers.add("T", {
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
        filter_subject: "t.x",
      });
      const consumer = await jetstream(ps.connection).consumers.get("T", info.name);
      let t = performance.now();
      let n = 0;
      while (n < M) {
        for await (const _ of await consumer.fetch({ max_messages: 10, expires: 5_000 })) n++;
      }
      record(`fetch 10 ${name}`, performance.now() - t);
      await jsm.consumers.delete("T", info.name);

      t = performance.now();
      n = 0;
      for await (const m of ps.consume("t.x", { stream: "T", deliver: "all", highWaterMark: 10 })) {
        void m.ack();
        if (++n === M) break;
      }
      record(`consume 10 ${name}`, performance.now() - t);

      t = performance.now();
      for (let i = 0; i < R; i++) await ps.connection.request("rpc", question, { timeout: 5_000 });
      record(`request/reply ${name}`, performance.now() - t);
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  for (const what of ["fetch 10", "consume 10", "request/reply"]) {
    const tcp = median(times[`${what} tcp`]!);
    const ws = median(times[`${what} ws`]!);
    console.log(
      `${what.padEnd(14)} TCP ${tcp.toFixed(0)} ms, WebSocket ${ws.toFixed(0)} ms: WebSocket/TCP throughput ${
        (tcp / ws).toFixed(2)
      }`,
    );
  }
  await conns.tcp.close();
  await conns.ws.close();
  await admin.close();
} finally {
  await server.stop();
}
