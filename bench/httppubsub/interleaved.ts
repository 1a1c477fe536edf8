// httppubsub HTTP notify → receive against a bare Hono echo, interleaved, steadier than `deno bench` on a busy
// machine: `deno run -A bench/httppubsub/interleaved.ts [rounds] [scale]`.
//
// Each round runs, one after the other and one message at a time (the next notify starts when the last was
// received and confirmed):
//   echo       a bare Hono echo of the payload over loopback (one request and response carrying the bytes);
//   none       HttpPubSubClient.notify() → FakeBroadcaster → the same client's receiver → the subscription's
//              reader, no auth;
//   hmac       the same with HMAC both ways (five documents signed and verified per message);
// at 1 KiB and at 1 MiB. A notify → receive is two HTTP exchanges nested (notifier → broadcaster, broadcaster →
// receiver) with three SHA-512s of the body (notifier, broadcaster, receiver), so twice the echo is the floor.
// Prints each way's median time per message and the median over rounds of its time / the echo's in that round.
// Target (issue #12): 1 KiB none at most 3× the echo.
import { Hono } from "hono";
import {
  type AuthConfig,
  generateSecret,
  hmacAuth,
  HttpPubSubClient,
  type HttpPubSubMessage,
} from "../../src/httppubsub/mod.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";

const rounds = Number(Deno.args[0] ?? 9);
const scale = Number(Deno.args[1] ?? 1);

const echo = new Hono().post("/echo", async (c) => c.body(new Uint8Array(await c.req.arrayBuffer())));
const echoServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, echo.fetch);
const echoUrl = `http://127.0.0.1:${echoServer.addr.port}/echo`;

interface Pair {
  roundTrip(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

async function pair(hmac: boolean): Promise<Pair> {
  let fakeAuth: { toBroadcasterAuth?: AuthConfig; toSubscriberAuth?: AuthConfig } = {};
  let clientAuth: { sendAuth?: AuthConfig; receiveAuth?: AuthConfig } = {};
  if (hmac) {
    const tb = generateSecret();
    const ts = generateSecret();
    const make = (s: string) => hmacAuth(s, { replayWindow: 30 });
    fakeAuth = { toBroadcasterAuth: make(tb), toSubscriberAuth: make(ts) };
    clientAuth = { sendAuth: make(tb), receiveAuth: make(ts) };
  }
  const fake = new FakeBroadcaster({ ...fakeAuth, maxMessageBytes: 8 * 1024 * 1024 });
  const url = await fake.serve();
  const client = new HttpPubSubClient({
    broadcasters: [url],
    bind: { type: "serve" },
    bufferLimit: 4 * 1024 * 1024,
    ...clientAuth,
  });
  const sub = client.subscribeExact("bench");
  await sub.ready;
  const reader = sub.getReader();
  const next = async (): Promise<HttpPubSubMessage> => {
    const { done, value } = await reader.read();
    if (done) throw new Error("the subscription ended");
    return value;
  };
  return {
    async roundTrip(data) {
      const [result, message] = await Promise.all([client.notify({ topic: "bench", data }), next()]);
      if (result.notified !== 1 || message.data.length !== data.length) throw new Error("the message went astray");
    },
    async close() {
      reader.releaseLock();
      await client.close();
      await fake.close();
    },
  };
}

const none = await pair(false);
const hmac = await pair(true);
const sizes = [
  { label: "1 KiB", size: 1024, n: Math.max(1, Math.round(1000 * scale)) },
  { label: "1 MiB", size: 1024 * 1024, n: Math.max(1, Math.round(40 * scale)) },
];
const ways: Record<string, (data: Uint8Array) => Promise<void>> = {
  echo: async (data) => {
    const res = await fetch(echoUrl, { method: "POST", body: data as Uint8Array<ArrayBuffer> });
    if ((await res.arrayBuffer()).byteLength !== data.length) throw new Error("the echo went astray");
  },
  none: (data) => none.roundTrip(data),
  hmac: (data) => hmac.roundTrip(data),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const summary: string[] = [];
for (const { label, size, n } of sizes) {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536)));
  for (const run of Object.values(ways)) for (let i = 0; i < Math.ceil(n / 4); i++) await run(data); // warm-up
  const times: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(ways)) {
      const t = performance.now();
      for (let i = 0; i < n; i++) await run(data);
      (times[name] ??= []).push((performance.now() - t) * 1000 / n);
    }
  }
  console.log(`${label}: ${rounds} rounds of ${n} round trips; medians:`);
  for (const [name, xs] of Object.entries(times)) {
    const ratio = median(xs.map((x, i) => x / times.echo![i]!));
    console.log(
      `  ${name.padEnd(5)} ${median(xs).toFixed(0).padStart(6)} µs/msg ${
        Math.round(1e6 / median(xs)).toString().padStart(6)
      } msg/s` +
        `  ${ratio.toFixed(2).padStart(5)}× the echo`,
    );
    if (size === 1024 && name !== "echo") {
      summary.push(
        `1 KiB ${name}: ${ratio.toFixed(2)}× the echo (target: at most 3×) ${ratio <= 3 ? "met" : "missed"}`,
      );
    }
  }
}
console.log(summary.join("\n"));
await none.close();
await hmac.close();
await echoServer.shutdown();
