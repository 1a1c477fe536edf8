// Interleaved PostTroll throughput comparison, steadier than `deno bench` on a busy machine:
// `deno run -A bench/posttroll/interleaved.ts [rounds] [messages]`. Each round sends the same
// 200-byte JSON messages publisher → subscriber in one process, four ways, one after the other:
//   raw        raw zeromq PUB/SUB sockets sending a pre-encoded frame (the transport alone);
//   native     raw sockets + JSON.stringify / TextDecoder + JSON.parse (the cheapest JSON codec there
//              is, not Python's format: the floor for any codec on this transport);
//   ours       Publisher.send(fields) → subscribe() stream, the payload read (Python's values made);
//   ours-lazy  the same without reading the payload (the JSON is still parsed and checked on arrival).
// Prints the median per-message time of each and its rate relative to raw and to native.
import * as zmq from "zeromq";
import { encodeMessage } from "../../src/posttroll/message.ts";
import { Publisher } from "../../src/posttroll/publisher.ts";
import { subscribe } from "../../src/posttroll/subscriber.ts";
import { FIELDS, nativeFrame, parseNative, rawReceive } from "./shared.ts";
import { delay } from "../../src/core/async.ts";

const rounds = Number(Deno.args[0] ?? 15);
const N = Number(Deno.args[1] ?? 4000);
const FRAME = encodeMessage(FIELDS);

const rawPub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 100_000 });
await rawPub.bind("tcp://127.0.0.1:*");
const rawSub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 100_000 });
rawSub.connect(rawPub.lastEndpoint!);
rawSub.subscribe("pytroll://bench");

const pub = await new Publisher({ host: "127.0.0.1", name: "bench", config: {} }).start();
const sub = subscribe({ addresses: [pub.url], nameserver: false, topics: "/bench", highWaterMark: 256 });
await sub.ready;
const reader = sub.getReader();
{
  // PUB drops what it sends before the SUB is connected: send until one arrives, then drain.
  let connected = false;
  const first = reader.read().then(() => void (connected = true));
  while (!connected) {
    await pub.send(FIELDS);
    await rawPub.send(FRAME);
    await delay(20);
  }
  await first;
  await delay(100);
  while (sub.buffered > 0) await reader.read();
  while (rawSub.readable) await rawSub.receive();
}

const decoder = new TextDecoder();
const ways: Record<string, () => Promise<void>> = {
  async raw() {
    const receiving = (async () => {
      for (let i = 0; i < N; i++) await rawReceive(rawSub);
    })();
    for (let i = 0; i < N; i++) await rawPub.send(FRAME);
    await receiving;
  },
  async native() {
    const receiving = (async () => {
      for (let i = 0; i < N; i++) {
        parseNative(decoder, (await rawReceive(rawSub))[0]!);
      }
    })();
    for (let i = 0; i < N; i++) {
      await rawPub.send(nativeFrame());
    }
    await receiving;
  },
  async ours() {
    const receiving = (async () => {
      for (let i = 0; i < N; i++) (await reader.read()).value!.payload;
    })();
    for (let i = 0; i < N; i++) await pub.send(FIELDS);
    await receiving;
  },
  async "ours-lazy"() {
    const receiving = (async () => {
      for (let i = 0; i < N; i++) await reader.read();
    })();
    for (let i = 0; i < N; i++) await pub.send(FIELDS);
    await receiving;
  },
};

const times: Record<string, number[]> = {};
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(ways)) {
    const t = performance.now();
    await run();
    (times[name] ??= []).push((performance.now() - t) * 1000 / N);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const raw = median(times.raw!);
const native = median(times.native!);
console.log(`${rounds} rounds of ${N} messages, frame ${new TextEncoder().encode(FRAME).length} bytes; medians:`);
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(
    `${name.padEnd(10)} ${m.toFixed(2).padStart(6)} µs/msg ${Math.round(1e6 / m).toString().padStart(7)} msg/s ` +
      `${Math.round(100 * raw / m).toString().padStart(4)} % of raw ${
        Math.round(100 * native / m).toString().padStart(4)
      } % of native`,
  );
}
for (const name of ["ours", "ours-lazy"]) {
  // The median over rounds of native time / ours in the same round.
  const ratio = median(times[name]!.map((x, i) => times.native![i]! / x));
  console.log(
    `${name}: ${ratio.toFixed(2)}× the native-JSON floor (target: at least 0.9×) ${ratio >= 0.9 ? "met" : "missed"}`,
  );
}
reader.releaseLock();
await sub.cancel();
await pub.close();
rawPub.close();
rawSub.close();
