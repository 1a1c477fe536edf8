// jetblack-messagebus: the client's own cost, each direction against the raw socket in the same run, interleaved:
// `deno run -A bench/messagebus/isolated.ts [rounds] [messages] [payload bytes]`.
//
// The peer runs in a worker thread (bench/messagebus/peer.ts), so the main thread does only the side measured:
//   publish   raw: one awaited write per message of a pre-encoded MulticastData (type 1) frame → a sink that only
//             reads; ours: `await client.publish()` per message into the same sink; ours-pipelined: every
//             `publish()` issued at once, then awaited (the client coalesces them into large writes).
//   receive   the worker writes a ForwardedMulticastData (type 8) frame, built by hand below from the spec
//             (shared/specs/messagebus.md §5, §7.1), one write per message; raw: the main thread reads the bytes
//             (nothing decoded); ours: a `subscribe()` stream's reader takes each message (decoded, DataMessage).
// Each way's time runs until the last byte (sink side) or message (main side) arrived. Prints medians and, per
// direction, the median over rounds of raw time / our time. Target (issue #12): at least 0.8 in each direction.
import { MessageBusClient } from "../../src/messagebus/mod.ts";

const rounds = Number(Deno.args[0] ?? 9);
const N = Number(Deno.args[1] ?? 20_000);
const SIZE = Number(Deno.args[2] ?? 100);

// ---- frames by hand: int32 big-endian lengths, UTF-8 strings, bool as one byte (spec §5, §7.1)
function frame(parts: (number[] | Uint8Array)[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const i32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const str = (s: string) => {
  const b = new TextEncoder().encode(s);
  return frame([i32(b.length), b]);
};
const payload = new Uint8Array(SIZE).map((_, i) => i & 0xff);
// one packet: entitlements null (count 0), data
const packets = frame([i32(1), i32(0), i32(SIZE), payload]);
const PUBLISH = frame([[1], str("BENCH"), str("T"), [0], packets]);
const FORWARDED = frame([[8], str("alice"), str("hosta"), str("BENCH"), str("T"), [0], packets]);

// ---- the peer
const worker = new Worker(new URL("./peer.ts", import.meta.url).href, { type: "module" });
const waiters: ((m: { type: string; [k: string]: number | string }) => void)[] = [];
worker.onmessage = (e) => waiters.shift()?.(e.data);
const next = () => new Promise<{ type: string; [k: string]: number | string }>((r) => waiters.push(r));
const ports = await next();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}
async function connect(port: number): Promise<Deno.TcpConn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  c.setNoDelay(true);
  return c;
}

const rawPub = await connect(ports.sink as number);
const publisher = await MessageBusClient.create("127.0.0.1", ports.sink as number);
await publisher.start();
const rawSub = await connect(ports.raw as number);
const subscriber = await MessageBusClient.create("127.0.0.1", ports.client as number);
await subscriber.start();
const stream = subscriber.subscribe("BENCH", "T", { highWaterMark: 1024 });
await stream.ready;
const reader = stream.getReader();
const one = [{ entitlements: null, data: payload }];

/** Runs `send` and resolves when the sink has read `bytes`. */
async function intoSink(bytes: number, send: () => Promise<unknown>): Promise<void> {
  worker.postMessage({ type: "expect", bytes });
  await next(); // expecting
  const received = next();
  await send();
  await received;
}

const readBuf = new Uint8Array(256 * 1024);
const ways: Record<string, () => Promise<void>> = {
  "publish raw": () =>
    intoSink(N * PUBLISH.length, async () => {
      for (let i = 0; i < N; i++) await writeAll(rawPub, PUBLISH);
    }),
  "publish ours": () =>
    intoSink(N * PUBLISH.length, async () => {
      for (let i = 0; i < N; i++) await publisher.publish("BENCH", "T", false, one);
    }),
  "publish ours-pipelined": () =>
    intoSink(N * PUBLISH.length, async () => {
      const all: Promise<void>[] = [];
      for (let i = 0; i < N; i++) all.push(publisher.publish("BENCH", "T", false, one));
      await Promise.all(all);
    }),
  "receive raw": async () => {
    worker.postMessage({ type: "send", to: "raw", count: N, frame: FORWARDED });
    let got = 0;
    while (got < N * FORWARDED.length) {
      const n = await rawSub.read(readBuf);
      if (n === null) throw new Error("the raw source closed");
      got += n;
    }
  },
  "receive ours": async () => {
    worker.postMessage({ type: "send", to: "client", count: N, frame: FORWARDED });
    for (let i = 0; i < N; i++) {
      const r = await reader.read();
      if (r.done || r.value.data.length !== SIZE) throw new Error("the subscription went astray");
    }
  },
};

for (const run of Object.values(ways)) await run(); // warm-up
const times: Record<string, number[]> = {};
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(ways)) {
    const t = performance.now();
    await run();
    (times[name] ??= []).push((performance.now() - t) * 1000 / N);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(
  `${rounds} rounds of ${N} messages, ${SIZE} B payload (frames: publish ${PUBLISH.length} B, ` +
    `forwarded ${FORWARDED.length} B); medians:`,
);
const summary: string[] = [];
for (const [name, xs] of Object.entries(times)) {
  const raw = times[name.startsWith("publish") ? "publish raw" : "receive raw"]!;
  const ratio = median(xs.map((x, i) => raw[i]! / x));
  if (!name.endsWith("raw")) {
    summary.push(
      `${name}: ${ratio.toFixed(2)}× the raw socket (target: at least 0.8×) ${ratio >= 0.8 ? "met" : "missed"}`,
    );
  }
  console.log(
    `  ${name.padEnd(23)} ${median(xs).toFixed(2).padStart(6)} µs/msg ${
      Math.round(1e6 / median(xs)).toString().padStart(7)
    } msg/s  ${ratio.toFixed(2)}× raw's rate`,
  );
}
console.log(summary.join("\n"));
reader.releaseLock();
await publisher.stop();
await subscriber.stop();
rawPub.close();
rawSub.close();
worker.postMessage({ type: "close" });
