// Interleaved core-subscribe comparison over TCP, steadier than `deno bench` on a busy machine:
// `deno run -A bench/nats/core_interleaved.ts [rounds] [messages]`. Each round publishes N × 1 KiB from a raw
// connection and times, alternately, raw nats.js `subscribe()` (for await) and `@x/pubsub/nats/tcp` core
// `subscribe()` with `highWaterMark` = N (room for the whole burst, as nats.js's own pending limit has: the default
// 1024 drops part of a burst this fast, by design); prints medians and ratios of wall time and of this process's CPU
// time (publisher, client parsing and reader; on a shared machine the CPU ratio is the steadier one).
import { cpuUsage } from "node:process";
import { connect } from "@nats-io/transport-node";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { NatsServer } from "../../src/testing/nats/mod.ts";

const rounds = Number(Deno.args[0] ?? 15);
const N = Number(Deno.args[1] ?? 20_000);
const server = await NatsServer.start({ websocket: false, jetstream: false });
try {
  const pub = await connect({ servers: server.url });
  const rawNc = await connect({ servers: server.url });
  const ps = await NatsPubSub.connect({ servers: server.url });
  const payload = new Uint8Array(1024);
  const publish = async (subject: string) => {
    for (let i = 0; i < N; i++) pub.publish(subject, payload);
    await pub.flush();
  };
  const times: Record<string, number[]> = { raw: [], ours: [] };
  const cpu: Record<string, number[]> = { raw: [], ours: [] };
  for (let round = 0; round < rounds; round++) {
    for (const k of Object.keys(times)) {
      let t: number;
      const c0 = cpuUsage();
      if (k === "raw") {
        const sub = rawNc.subscribe("c.raw");
        await rawNc.flush();
        t = performance.now();
        const sent = publish("c.raw");
        let n = 0;
        for await (const _ of sub) if (++n === N) break;
        await sent;
      } else {
        const sub = ps.subscribe(`c.${k}`, { highWaterMark: N, overflow: "error" });
        await sub.ready;
        t = performance.now();
        const sent = publish(`c.${k}`);
        let n = 0;
        for await (const _ of sub) if (++n === N) break;
        await sent;
      }
      times[k]!.push(performance.now() - t);
      const c = cpuUsage(c0);
      cpu[k]!.push((c.user + c.system) / 1000);
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const raw = median(times.raw!);
  const rawCpu = median(cpu.raw!);
  for (const [k, v] of Object.entries(times)) {
    const m = median(v);
    const c = median(cpu[k]!);
    console.log(
      `${k.padEnd(9)} wall ${m.toFixed(1)} ms (${Math.round(N / (m / 1000))} msg/s, ${(raw / m).toFixed(2)}× raw); ` +
        `process CPU ${c.toFixed(1)} ms (${(rawCpu / c).toFixed(2)}× raw)`,
    );
  }
  await ps.close();
  await rawNc.close();
  await pub.close();
} finally {
  await server.stop();
}
