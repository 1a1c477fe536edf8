// Subscribe throughput of stream-sea: our Subscription against a bare
// WebSocket reading the same frames (1 KiB JSON payloads) from the same fake
// in the same run. Run: deno bench -A bench/streamsea_bench.ts
import { StreamSeaClient } from "../src/streamsea/mod.ts";
import { FakeStreamSea } from "../src/testing/streamsea/mod.ts";

const N = 2000;
const fake = await FakeStreamSea.start();
const payload = { id: 0, vessel: "MV Example", side: "port", blob: "x".repeat(960) };
if (JSON.stringify(payload).length < 1000 || JSON.stringify(payload).length > 1100) throw new Error("payload size");

// The bare transport: a WebSocket doing the handshake and JSON.parse per frame.
const raw = new WebSocket(`ws://127.0.0.1:${fake.port}/api/v1/streams`);
let rawCount = 0;
let rawDone: (() => void) | undefined;
await new Promise((resolve) => raw.onopen = resolve);
raw.send(
  JSON.stringify({
    id: 1,
    action: "authenticate",
    payload: { type: "basic", clientId: "abc", clientSecret: "def123" },
  }),
);
await new Promise<void>((resolve) => {
  raw.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.id === 1) {
      raw.send(JSON.stringify({ id: 2, action: "subscribe", payload: "bench_raw", groupId: crypto.randomUUID() }));
    } else if (msg.id === 2 && msg.success === true) resolve();
  };
});
raw.onmessage = (ev) => {
  const msg = JSON.parse(ev.data);
  if (typeof msg.payload.id === "number" && ++rawCount === N) rawDone?.();
};

// For reference: a plain ReadableStream fed by a second bare WebSocket (the
// cost of reading any stream, one promise per message).
const fed = new WebSocket(`ws://127.0.0.1:${fake.port}/api/v1/streams`);
let feed!: ReadableStreamDefaultController<unknown>;
const plain = new ReadableStream({ start: (c) => void (feed = c) }, { highWaterMark: 4096 });
const plainReader = plain.getReader();
await new Promise((resolve) => fed.onopen = resolve);
fed.send(
  JSON.stringify({
    id: 1,
    action: "authenticate",
    payload: { type: "basic", clientId: "abc", clientSecret: "def123" },
  }),
);
await new Promise<void>((resolve) => {
  fed.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.id === 1) {
      fed.send(JSON.stringify({ id: 2, action: "subscribe", payload: "bench_plain", groupId: crypto.randomUUID() }));
    } else if (msg.id === 2 && msg.success === true) resolve();
  };
});
fed.onmessage = (ev) => feed.enqueue(JSON.parse(ev.data).payload);

// Ours: a StreamSeaClient subscription read through its ReadableStream.
const client = new StreamSeaClient({ ...fake.connection, clientId: "abc", clientSecret: "def123" });
const sub = client.subscribe("bench_ours", { fanout: true, highWaterMark: 4096 });
await sub.ready;
const reader = sub.getReader();

async function rawRound(): Promise<void> {
  rawCount = 0;
  const done = new Promise<void>((resolve) => rawDone = resolve);
  for (let i = 0; i < N; i++) fake.publishLocal("bench_raw", payload);
  await done;
}

async function plainRound(): Promise<void> {
  for (let i = 0; i < N; i++) fake.publishLocal("bench_plain", payload);
  for (let got = 0; got < N; got++) {
    const r = await plainReader.read();
    if (r.done || typeof (r.value as { id?: unknown }).id !== "number") throw new Error("bad message");
  }
}

async function oursRound(): Promise<void> {
  for (let i = 0; i < N; i++) fake.publishLocal("bench_ours", payload);
  for (let got = 0; got < N; got++) {
    const r = await reader.read();
    if (r.done || typeof (r.value.payload as { id?: unknown }).id !== "number") throw new Error("bad message");
  }
}

Deno.bench("bare WebSocket, 2000 × 1 KiB JSON", { group: "subscribe", baseline: true }, rawRound);
Deno.bench("StreamSeaClient.subscribe(), 2000 × 1 KiB JSON", { group: "subscribe" }, oursRound);

async function cleanup(): Promise<void> {
  raw.close();
  fed.close();
  await client.close();
  await fake.close();
}

// `deno run -A bench/streamsea_bench.ts --ratio`: the two readers measured in
// alternation (so a busy machine slows both alike), medians and their ratio.
if (Deno.args.includes("--ratio")) {
  const times: { raw: number[]; plain: number[]; ours: number[] } = { raw: [], plain: [], ours: [] };
  for (let round = 0; round < 60; round++) {
    for (const [name, fn] of [["raw", rawRound], ["plain", plainRound], ["ours", oursRound]] as const) {
      const t0 = performance.now();
      await fn();
      if (round >= 10) times[name].push(performance.now() - t0);
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const raw = median(times.raw);
  const ours = median(times.ours);
  const plainMs = median(times.plain);
  console.log(`bare WebSocket: ${raw.toFixed(2)} ms per ${N} (${Math.round(N / raw * 1000)} msg/s)`);
  console.log(
    `bare WebSocket into a plain ReadableStream: ${plainMs.toFixed(2)} ms per ${N} (${
      (raw / plainMs * 100).toFixed(1)
    } %)`,
  );
  console.log(`StreamSeaClient.subscribe(): ${ours.toFixed(2)} ms per ${N} (${Math.round(N / ours * 1000)} msg/s)`);
  console.log(`ours at ${(raw / ours * 100).toFixed(1)} % of the bare WebSocket`);
  await cleanup();
} else {
  globalThis.addEventListener("unload", () => void cleanup());
}
