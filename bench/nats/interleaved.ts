// Interleaved JetStream consume comparison, steadier than `deno bench` on a busy machine:
// `deno run -A bench/nats/interleaved.ts [rounds] [messages]`. Each round reads and acks the same
// stored 1 KiB messages through raw `@nats-io/jetstream` consume() and through `@x/pubsub/nats/tcp`
// consume() (highWaterMark 100, like consume()'s default max_messages), alternately; prints medians.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { NatsServer } from "../../src/testing/nats/mod.ts";

const rounds = Number(Deno.args[0] ?? 12);
const N = Number(Deno.args[1] ?? 10_000);
const server = await NatsServer.start({ websocket: false });
try {
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: "S", subjects: ["s.>"] });
  const payload = new Uint8Array(1024);
  for (let i = 0; i < N; i++) nc.publish("s.x", payload);
  await nc.flush();
  while ((await jsm.streams.info("S")).state.messages < N) await new Promise((r) => setTimeout(r, 50));
  const ps = await NatsPubSub.connect({ servers: server.url, jetstream: true });
  const raw: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const info = await jsm.consumers.add("S", {
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: "s.x",
    });
    const consumer = await js.consumers.get("S", info.name);
    let t = performance.now();
    let n = 0;
    const messages = await consumer.consume();
    for await (const m of messages) {
      m.ack();
      if (++n === N) break;
    }
    raw.push(performance.now() - t);
    await messages.close();
    await jsm.consumers.delete("S", info.name);

    t = performance.now();
    n = 0;
    for await (const m of ps.consume("s.x", { stream: "S", deliver: "all", highWaterMark: 100 })) {
      void m.ack();
      if (++n === N) break;
    }
    ours.push(performance.now() - t);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const rate = (ms: number) => Math.round(N / (ms / 1000));
  console.log(`raw consume():        median ${median(raw).toFixed(0)} ms (${rate(median(raw))} msg/s)`);
  console.log(`@x/pubsub consume():  median ${median(ours).toFixed(0)} ms (${rate(median(ours))} msg/s)`);
  console.log(`ours / raw throughput: ${(median(raw) / median(ours) * 100).toFixed(0)} %`);
  await ps.close();
  await nc.close();
} finally {
  await server.stop();
}
