// jetblack-messagebus throughput: client → FakeMessageBus → client, against a raw TCP relay of the same encoded
// bytes in the same run (the ceiling), and the decoder alone.
//
//   deno bench -A bench/messagebus_bench.ts

import { MessageBusClient } from "../src/messagebus/mod.ts";
import { encodeMessage, MessageDecoder } from "../src/messagebus/wire.ts";
import { FakeMessageBus } from "../src/testing/messagebus/mod.ts";

const BATCH = 1000;

const server = await FakeMessageBus.start();
const publisher = await MessageBusClient.create("127.0.0.1", server.port);
const subscriber = await MessageBusClient.create("127.0.0.1", server.port);
await publisher.start();
await subscriber.start();

/** A raw relay: everything read from one connection is written to the other. */
const relay = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const relayPort = (relay.addr as Deno.NetAddr).port;
const connectIn = Deno.connect({ hostname: "127.0.0.1", port: relayPort });
const sideA = await relay.accept();
const rawIn = await connectIn;
const connectOut = Deno.connect({ hostname: "127.0.0.1", port: relayPort });
const sideB = await relay.accept();
const rawOut = await connectOut;
void (async () => {
  const buf = new Uint8Array(256 * 1024);
  for (;;) {
    const n = await sideA.read(buf).catch(() => null);
    if (n === null) return;
    let at = 0;
    while (at < n) at += await sideB.write(buf.subarray(at, n));
  }
})();
// The relay's two ends: whatever reaches `sideA` from `rawIn` comes out of `rawOut`.
void sideB;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

async function readBytes(conn: Deno.Conn, total: number, buf: Uint8Array): Promise<void> {
  let got = 0;
  while (got < total) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("relay closed");
    got += n;
  }
}

for (const size of [100, 10 * 1024]) {
  const payload = new Uint8Array(size).fill(7);
  const packets = [{ entitlements: null, data: payload }];
  const topic = `T${size}`;
  const stream = subscriber.subscribe("BENCH", topic, { sync: true, highWaterMark: 256 });
  await stream.ready;
  const reader = stream.getReader();
  // The same bytes the client writes (type 1) and reads (type 8) for one message.
  const outBytes = encodeMessage({ type: 1, feed: "BENCH", topic, isImage: false, contentType: null, packets });
  const batch = new Uint8Array(outBytes.length * BATCH);
  for (let i = 0; i < BATCH; i++) batch.set(outBytes, i * outBytes.length);
  const readBuf = new Uint8Array(256 * 1024);
  const group = `${size} B x ${BATCH}`;

  Deno.bench({
    name: `raw TCP relay of the encoded bytes (${size} B)`,
    group,
    baseline: true,
    async fn() {
      const reading = readBytes(rawOut, batch.length, readBuf);
      await writeAll(rawIn, batch);
      await reading;
    },
  });

  Deno.bench({
    name: `raw TCP relay, one write per message (${size} B)`,
    group,
    async fn() {
      const reading = readBytes(rawOut, batch.length, readBuf);
      for (let i = 0; i < BATCH; i++) await writeAll(rawIn, outBytes);
      await reading;
    },
  });

  Deno.bench({
    name: `MessageBusClient publish → FakeMessageBus → subscribe (${size} B)`,
    group,
    async fn() {
      const reading = (async () => {
        for (let i = 0; i < BATCH; i++) {
          const r = await reader.read();
          if (r.done) throw new Error("stream ended");
        }
      })();
      const writes: Promise<void>[] = [];
      for (let i = 0; i < BATCH; i++) writes.push(publisher.publish("BENCH", topic, false, packets));
      await Promise.all(writes);
      await reading;
    },
  });
}

for (const size of [100, 10 * 1024]) {
  const one = encodeMessage({
    type: 8,
    user: "alice",
    host: "hosta",
    feed: "BENCH",
    topic: "T",
    isImage: false,
    contentType: null,
    packets: [{ entitlements: new Set([1, 2]), data: new Uint8Array(size) }],
  });
  const count = Math.ceil((4 * 1024 * 1024) / one.length);
  const stream = new Uint8Array(one.length * count);
  for (let i = 0; i < count; i++) stream.set(one, i * one.length);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += 64 * 1024) chunks.push(stream.subarray(i, i + 64 * 1024));
  Deno.bench({
    name: `MessageDecoder, ${(stream.length / 1024 / 1024).toFixed(1)} MiB of ${size} B messages in 64 KiB chunks`,
    group: "decoder",
    fn() {
      const d = new MessageDecoder();
      let n = 0;
      for (const c of chunks) n += d.push(c).length;
      if (n !== count) throw new Error(`decoded ${n} of ${count}`);
    },
  });
}

globalThis.addEventListener("unload", () => {
  void publisher.stop();
  void subscriber.stop();
  void server.close();
  for (const c of [rawIn, rawOut, sideA, sideB]) c.close();
  relay.close();
});
