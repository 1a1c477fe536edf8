/**
 * httppubsub: notify → receive over loopback against a fake broadcaster,
 * compared in each group with a bare Hono echo of the same bytes (the HTTP
 * transport's ceiling: one request and response carrying the payload).
 * A notify → receive is two HTTP exchanges (client → broadcaster, broadcaster
 * → receiver), so the echo is a lower bound, not a target.
 *
 * Run: deno bench -A bench/httppubsub_bench.ts
 */

import { Hono } from "hono";
import {
  type AuthConfig,
  generateSecret,
  hmacAuth,
  HttpPubSubClient,
  type HttpPubSubMessage,
  type HttpPubSubSubscription,
  WebsocketPubSubClient,
} from "../src/httppubsub/mod.ts";
import { FakeBroadcaster } from "../src/testing/httppubsub/mod.ts";

const echo = new Hono().post("/echo", async (c) => c.body(new Uint8Array(await c.req.arrayBuffer())));
const echoServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, echo.fetch);
const echoUrl = `http://127.0.0.1:${echoServer.addr.port}/echo`;

interface Setup {
  close(): Promise<void>;
  roundTrip(data: Uint8Array): Promise<void>;
}

interface Auth {
  fake: { toBroadcasterAuth?: AuthConfig; toSubscriberAuth?: AuthConfig };
  client: { sendAuth?: AuthConfig; receiveAuth?: AuthConfig };
}

function auth(hmac: boolean): Auth {
  if (!hmac) return { fake: {}, client: {} };
  const tb = generateSecret();
  const ts = generateSecret();
  const make = (s: string) => hmacAuth(s, { replayWindow: 30 });
  return {
    fake: { toBroadcasterAuth: make(tb), toSubscriberAuth: make(ts) },
    client: { sendAuth: make(tb), receiveAuth: make(ts) },
  };
}

function reader(sub: HttpPubSubSubscription): () => Promise<HttpPubSubMessage> {
  const r = sub.getReader();
  return async () => {
    const { done, value } = await r.read();
    if (done) throw new Error("the subscription ended");
    return value;
  };
}

async function httpSetup(hmac: boolean): Promise<Setup> {
  const a = auth(hmac);
  const fake = new FakeBroadcaster({ ...a.fake, maxMessageBytes: 8 * 1024 * 1024 });
  const url = await fake.serve();
  const client = new HttpPubSubClient({
    broadcasters: [url],
    bind: { type: "serve" },
    bufferLimit: 4 * 1024 * 1024,
    ...a.client,
  });
  const sub = client.subscribeExact("bench");
  await sub.ready;
  const next = reader(sub);
  return {
    roundTrip: async (data) => {
      await Promise.all([client.notify({ topic: "bench", data }), next()]);
    },
    close: async () => {
      await client.close();
      await fake.close();
    },
  };
}

async function wsSetup(hmac: boolean): Promise<Setup> {
  const a = auth(hmac);
  const fake = new FakeBroadcaster({ ...a.fake, maxMessageBytes: 8 * 1024 * 1024 });
  const url = await fake.serve();
  // A notifier socket and a subscriber socket, as in a real deployment.
  const options = { broadcasters: [url], timeoutMs: 60_000, ...a.client };
  const notifier = new WebsocketPubSubClient(options);
  const subscriber = new WebsocketPubSubClient(options);
  const sub = subscriber.subscribeExact("bench");
  await sub.ready;
  await notifier.connect();
  const next = reader(sub);
  return {
    roundTrip: async (data) => {
      await Promise.all([notifier.notify({ topic: "bench", data }), next()]);
    },
    close: async () => {
      await notifier.close();
      await subscriber.close();
      await fake.close();
    },
  };
}

const setups = {
  "http none": await httpSetup(false),
  "http hmac": await httpSetup(true),
  "websocket none": await wsSetup(false),
  "websocket hmac": await wsSetup(true),
};

for (const [label, size] of [["1 KiB", 1024], ["1 MiB", 1024 * 1024]] as const) {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(payload.subarray(i, Math.min(size, i + 65536)));
  Deno.bench({
    name: `bare Hono echo ${label}`,
    group: label,
    baseline: true,
    async fn() {
      const res = await fetch(echoUrl, { method: "POST", body: payload });
      await res.arrayBuffer();
    },
  });
  for (const [name, setup] of Object.entries(setups)) {
    // An async function, so that deno bench awaits each round trip.
    Deno.bench({
      name: `${name} notify→receive ${label}`,
      group: label,
      async fn() {
        await setup.roundTrip(payload);
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  void echoServer.shutdown();
  for (const s of Object.values(setups)) void s.close();
});
