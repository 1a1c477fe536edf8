/**
 * PostTroll throughput, latency and codec rates: our Publisher → subscribe()
 * stream (encoding and decoding included) against raw zeromq PUB/SUB sockets
 * sending the same 200-byte JSON frames, in the same run. A second raw row
 * adds the cheapest JSON codec there is (`JSON.stringify` / `JSON.parse`,
 * not Python's format): the floor for any codec on this transport.
 *
 * Run: deno bench -A bench/posttroll_bench.ts
 */

import * as zmq from "zeromq";
import { encodeMessage, PosttrollMessage } from "../src/posttroll/message.ts";
import { Publisher } from "../src/posttroll/publisher.ts";
import { subscribe } from "../src/posttroll/subscriber.ts";
import { DATA, FIELDS, nativeFrame, parseNative, rawReceive } from "./posttroll/shared.ts";
import { delay } from "../src/core/async.ts";

const BATCH = 2000;
const SAMPLE = new PosttrollMessage(FIELDS);
const FRAME = SAMPLE.encode();
const DATA_BYTES = new TextEncoder().encode(FRAME.slice(FRAME.indexOf("application/json ") + 17)).length;
console.log(`frame ${new TextEncoder().encode(FRAME).length} bytes, JSON data ${DATA_BYTES} bytes`);

// Raw sockets.
const rawPub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 100_000 });
await rawPub.bind("tcp://127.0.0.1:*");
const rawSub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 100_000 });
rawSub.connect(rawPub.lastEndpoint!);
rawSub.subscribe("pytroll://bench");
await delay(200);

// Ours.
const pub = await new Publisher({ host: "127.0.0.1", name: "bench", config: {} }).start();
const sub = subscribe({ addresses: [pub.url], nameserver: false, topics: "/bench", highWaterMark: 256 });
await sub.ready;
const reader = sub.getReader();
// Warm up until connected.
{
  // One read waits while we send until the subscriber is connected (PUB drops what comes before).
  let connected = false;
  const first = reader.read().then(() => void (connected = true));
  while (!connected) {
    await pub.send(SAMPLE);
    await delay(20);
  }
  await first;
}
// Drain stragglers of the warm-up.
await delay(100);
while (sub.buffered > 0) await reader.read();

Deno.bench({
  name: `raw zeromq PUB→SUB, ${BATCH} frames of 200-byte JSON`,
  group: "throughput",
  baseline: true,
  async fn() {
    const receiving = (async () => {
      for (let i = 0; i < BATCH; i++) await rawReceive(rawSub);
    })();
    for (let i = 0; i < BATCH; i++) await rawPub.send(FRAME);
    await receiving;
  },
});

const textDecoder = new TextDecoder();
Deno.bench({
  name: `raw zeromq PUB→SUB + JSON.stringify/JSON.parse (not Python's format), ${BATCH} messages`,
  group: "throughput",
  async fn() {
    const receiving = (async () => {
      for (let i = 0; i < BATCH; i++) {
        parseNative(textDecoder, (await rawReceive(rawSub))[0]!);
      }
    })();
    for (let i = 0; i < BATCH; i++) {
      await rawPub.send(nativeFrame());
    }
    await receiving;
  },
});

Deno.bench({
  name: `posttroll Publisher→subscribe() stream, ${BATCH} messages (encode + decode, payload read)`,
  group: "throughput",
  async fn() {
    const receiving = (async () => {
      for (let i = 0; i < BATCH; i++) (await reader.read()).value!.payload;
    })();
    for (let i = 0; i < BATCH; i++) {
      await pub.send(FIELDS);
    }
    await receiving;
  },
});

Deno.bench({
  name: `posttroll Publisher→subscribe() stream, ${BATCH} messages (encode + decode, payload not read)`,
  group: "throughput",
  async fn() {
    const receiving = (async () => {
      for (let i = 0; i < BATCH; i++) await reader.read();
    })();
    for (let i = 0; i < BATCH; i++) {
      await pub.send(FIELDS);
    }
    await receiving;
  },
});

Deno.bench({
  name: `posttroll Publisher→subscribe() stream, ${BATCH} pre-encoded frames (decode only)`,
  group: "throughput",
  async fn() {
    const receiving = (async () => {
      for (let i = 0; i < BATCH; i++) await reader.read();
    })();
    for (let i = 0; i < BATCH; i++) await pub.send(FRAME);
    await receiving;
  },
});

Deno.bench({
  name: "raw zeromq one frame there",
  group: "latency",
  baseline: true,
  async fn() {
    await rawPub.send(FRAME);
    await rawReceive(rawSub);
  },
});

Deno.bench({
  name: "posttroll one message there (encode + decode, payload read)",
  group: "latency",
  async fn() {
    await pub.send(FIELDS);
    (await reader.read()).value!.payload;
  },
});

Deno.bench({
  name: "encodeMessage (200-byte JSON, what Publisher.send() does with fields)",
  group: "codec",
  fn() {
    encodeMessage(FIELDS);
  },
});

Deno.bench({
  name: "new PosttrollMessage(...).encode() (200-byte JSON, what the adapter's publish() does)",
  group: "codec",
  fn() {
    new PosttrollMessage(FIELDS).encode();
  },
});

const BYTES = new TextEncoder().encode(FRAME);
Deno.bench({
  name: "PosttrollMessage decode (200-byte JSON), payload read",
  group: "codec",
  fn() {
    PosttrollMessage.decode(BYTES).payload;
  },
});

Deno.bench({
  name: "PosttrollMessage decode (200-byte JSON), payload not read (JSON checked)",
  group: "codec",
  fn() {
    PosttrollMessage.decode(BYTES);
  },
});

Deno.bench({
  name: "JSON.stringify + JSON.parse of the same data (reference)",
  group: "codec",
  baseline: true,
  fn() {
    JSON.parse(JSON.stringify(DATA));
  },
});

globalThis.addEventListener("unload", () => {
  rawPub.close();
  rawSub.close();
});
