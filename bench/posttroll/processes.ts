// PostTroll throughput with the publisher in another process, as deployments run it:
// `deno run -A bench/posttroll/processes.ts [rounds] [messages]`. Three publisher/subscriber pairs,
// three times each: raw zeromq sockets with a pre-encoded frame; raw sockets with JSON.stringify /
// JSON.parse ("native", the floor for any JSON codec); ours (Publisher.send(fields) → subscribe(),
// payload read). The subscriber's rate is timed from its first to its last message of a burst the
// child sends as fast as it can (queues longer than the burst, so nothing is dropped);
// medians, with the subscriber process's CPU time per message (all its threads).
import * as zmq from "zeromq";
import process from "node:process";
import { subscribe } from "../../src/posttroll/subscriber.ts";
import { parseNative, rawReceive } from "./shared.ts";
import { delay } from "../../src/core/async.ts";
const CHILD = new URL("./processes_child.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
// Our publisher and subscriber queue 10 000 frames each: a burst of 10 000 is never dropped.
const N = Number(Deno.args[1] ?? 10_000);
const rounds = Number(Deno.args[0] ?? 5);
const enc = new TextEncoder();
async function run(mode: string): Promise<number[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, CHILD, mode],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const out = child.stdout.getReader();
  const url = new TextDecoder().decode((await out.read()).value!).trim();
  const w = child.stdin.getWriter();
  const ask = (n: number) => w.write(enc.encode(`${n}\n`));
  let next: () => Promise<unknown>;
  let cleanup: () => Promise<void>;
  const td = new TextDecoder();
  if (mode === "ours") {
    const sub = subscribe({ addresses: [url], nameserver: false, topics: "/bench", highWaterMark: 256 });
    await sub.ready;
    const reader = sub.getReader();
    next = async () => (await reader.read()).value!.payload;
    cleanup = async () => {
      reader.releaseLock();
      await sub.cancel();
    };
    // warm-up
    let got = false;
    const p = reader.read().then(() => got = true);
    while (!got) {
      await ask(1);
      await delay(20);
    }
    await p;
    await delay(100);
    while (sub.buffered > 0) await reader.read();
  } else {
    const s = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 200_000 });
    s.connect(url);
    s.subscribe("pytroll://bench");
    next = mode === "native" ? async () => parseNative(td, (await rawReceive(s))[0]!) : () => rawReceive(s);
    cleanup = () => Promise.resolve(s.close());
    while (!s.readable) {
      await ask(1);
      await delay(20);
    }
    await delay(100);
    while (s.readable) await s.receive();
  }
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await ask(N);
    await next();
    const t = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 1; i < N; i++) await next();
    const c = process.cpuUsage(c0);
    times.push((performance.now() - t) * 1000 / (N - 1));
    cpu[mode] = [...(cpu[mode] ?? []), (c.user + c.system) / (N - 1)];
    await delay(50);
  }
  await ask(0);
  await cleanup();
  await child.status;
  return times;
}
const cpu: Record<string, number[]> = {};
const res: Record<string, number[]> = { raw: [], native: [], ours: [] };
for (let k = 0; k < 3; k++) for (const m of Object.keys(res)) res[m]!.push(...await run(m));
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const base = med(res.raw!);
for (const [m, t] of Object.entries(res)) {
  console.log(
    m.padEnd(8),
    med(t).toFixed(2),
    "us/msg",
    (100 * base / med(t)).toFixed(0) + "%",
    "receiver cpu",
    med(cpu[m]!).toFixed(2),
    "us/msg",
  );
}
