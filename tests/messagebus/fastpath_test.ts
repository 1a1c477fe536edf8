// The client's fast paths: data messages encoded without a writer (checked against the writer and the spec's
// vectors), small messages packed next to each other and written as one view, and the read buffer reused for small
// reads (messages already delivered keep their bytes).
import assert from "node:assert/strict";
import {
  type BusMessage,
  type DataPacket,
  encodeByWriter,
  encodeData,
  encodeMessage,
  encodePacked,
  type ImageField,
} from "../../src/messagebus/codec.ts";
import { MessageBusClient } from "../../src/messagebus/mod.ts";
import { rng } from "../_seeded.ts";

type DataMessage = Extract<BusMessage, { type: 1 | 2 | 8 | 9 }>;

const hex = (s: string) => new Uint8Array(s.replace(/[^0-9a-f]/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const utf8 = (s: string) => new TextEncoder().encode(s);

function randomMessage(random: () => number, field: ImageField): DataMessage {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const text = () => pick(["", "A", "BENCH", "feed/é", "x".repeat(300), "ü€𝄞"]);
  const packets: DataPacket[] | null = random() < 0.2 ? null : Array.from({ length: Math.floor(random() * 4) }, () => ({
    entitlements: random() < 0.4
      ? null
      : new Set(Array.from({ length: Math.floor(random() * 4) }, () => pick([0, 1, -1, 0x7fffffff, -0x80000000, 42]))),
    data: random() < 0.2 ? null : new Uint8Array(Math.floor(random() * 40)).map(() => Math.floor(random() * 256)),
  }));
  const image = field === "bool"
    ? { isImage: random() < 0.5, contentType: null }
    : { isImage: null, contentType: pick([null, "", "image/png"]) };
  const clientId = "00112233-4455-6677-8899-aabbccddeeff";
  const type = pick([1, 2, 8, 9] as const);
  const base = { feed: text(), topic: text(), ...image, packets };
  if (type === 1) return { type, ...base };
  if (type === 2) return { type, clientId, ...base };
  if (type === 8) return { type, user: text(), host: text(), ...base };
  return { type, user: text(), host: text(), clientId, ...base };
}

Deno.test("encodeData() writes what the writer writes for every data message shape (seed 7)", () => {
  const random = rng(7);
  for (let i = 0; i < 3000; i++) {
    const field: ImageField = random() < 0.5 ? "bool" : "contentType";
    const m = randomMessage(random, field);
    const expected = encodeByWriter(m, field);
    const direct = encodeData(m, field, false);
    assert.ok(direct !== undefined, `the fast path declined ${JSON.stringify(m.type)}`);
    assert.deepEqual(direct, expected);
    assert.deepEqual(encodeMessage(m, { imageField: field }), expected);
    assert.deepEqual(encodePacked(m, { imageField: field }), expected);
  }
});

Deno.test("encodeMessage() data messages match the spec's vectors (13.3)", () => {
  const test = "00000004 54455354";
  const foo = "00000003 464f4f";
  assert.deepEqual(
    encodeMessage({
      type: 1,
      feed: "TEST",
      topic: "FOO",
      isImage: true,
      contentType: null,
      packets: [{ entitlements: new Set([7]), data: utf8("xy") }, { entitlements: null, data: null }],
    }),
    hex(`01 ${test} ${foo} 01 00000002 00000001 00000007 00000002 7879 00000000 00000000`),
  );
  assert.deepEqual(
    encodeMessage({
      type: 2,
      clientId: "00112233-4455-6677-8899-aabbccddeeff",
      feed: "TEST",
      topic: "FOO",
      isImage: false,
      contentType: null,
      packets: null,
    }),
    hex(`02 33221100 5544 7766 8899aabbccddeeff ${test} ${foo} 00 00000000`),
  );
});

Deno.test("encodeMessage() still throws what the writer throws for malformed fields", () => {
  const base = { type: 1 as const, feed: "F", topic: "T", isImage: false, contentType: null };
  const cases: [unknown, RegExp | (new (...a: never[]) => Error)][] = [
    [
      { ...base, packets: [{ entitlements: new Set([2 ** 31]), data: null }] },
      /signed 32-bit integer failed: 2147483648/,
    ],
    [{ ...base, packets: [{ entitlements: new Set([1.5]), data: null }] }, RangeError],
    [{ ...base, packets: [{ entitlements: 5, data: null }] }, TypeError],
    [{ ...base, packets: [null] }, TypeError],
    [{ ...base, type: 2, clientId: "nope", packets: null }, /is not a UUID/],
    [{ ...base, type: 12, packets: null }, /type 12 is not 1 to 9/],
    [{ ...base, type: 300, packets: null }, RangeError],
  ];
  for (const [m, error] of cases) {
    let expected: unknown;
    try {
      encodeByWriter(m as BusMessage, "bool");
    } catch (err) {
      expected = err;
    }
    assert.ok(
      expected instanceof Error,
      `the writer accepted ${JSON.stringify(m, (_, v) => v instanceof Set ? [...v] : v)}`,
    );
    assert.throws(() => encodeMessage(m as BusMessage), error);
    assert.throws(() => encodeMessage(m as BusMessage), { name: expected.name, message: expected.message });
  }
  // Not a Uint8Array: the writer's path takes it (arrays of numbers are copied as bytes), the same bytes as before.
  const loose = { ...base, packets: [{ entitlements: null, data: [1, 2, 3] as unknown as Uint8Array }] };
  assert.equal(encodeData(loose, "bool", false), undefined);
  assert.deepEqual(encodeMessage(loose), encodeByWriter(loose, "bool"));
});

Deno.test("encodePacked() puts consecutive small messages next to each other, and never reuses their bytes", () => {
  const m = (i: number): BusMessage => ({
    type: 1,
    feed: "F",
    topic: "T",
    isImage: false,
    contentType: null,
    packets: [{ entitlements: null, data: new Uint8Array(100).fill(i) }],
  });
  const all = Array.from({ length: 2000 }, (_, i) => encodePacked(m(i & 0xff)));
  let adjacent = 0;
  for (let i = 1; i < all.length; i++) {
    const a = all[i - 1]!;
    const b = all[i]!;
    if (b.buffer === a.buffer && b.byteOffset === a.byteOffset + a.length) adjacent++;
  }
  assert.ok(adjacent > 1900, `only ${adjacent} of 1999 were adjacent`);
  // Every earlier message still holds its own bytes.
  for (let i = 0; i < all.length; i++) assert.deepEqual(all[i], encodeMessage(m(i & 0xff)));
  // A large one gets its own array.
  const big = encodePacked({ ...m(1), packets: [{ entitlements: null, data: new Uint8Array(20_000) }] } as BusMessage);
  assert.equal(big.byteOffset, 0);
  assert.equal(big.buffer.byteLength, big.length);
});

/** A raw peer: every connection's bytes collected; `send` writes to the latest one. */
function rawPeer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: Uint8Array[] = [];
  let conn: Deno.Conn | undefined;
  let total = 0;
  let wake = () => {};
  const accepting = (async () => {
    for await (const c of listener) {
      conn = c;
      void (async () => {
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await c.read(buf).catch(() => null);
          if (n === null) return;
          received.push(buf.slice(0, n));
          total += n;
          wake();
        }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async until(bytes: number) {
      while (total < bytes) await new Promise<void>((r) => wake = r);
      const out = new Uint8Array(total);
      let at = 0;
      for (const r of received) {
        out.set(r, at);
        at += r.length;
      }
      return out;
    },
    async send(bytes: Uint8Array) {
      let at = 0;
      while (at < bytes.length) at += await conn!.write(bytes.subarray(at));
    },
    async close() {
      conn?.close();
      listener.close();
      await accepting.catch(() => {});
    },
  };
}

Deno.test("MessageBusClient writes a burst of publishes, batched, byte for byte in order", async () => {
  const peer = rawPeer();
  const client = await MessageBusClient.create("127.0.0.1", peer.port);
  await client.start();
  const expected: Uint8Array[] = [];
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 5000; i++) {
    // Sizes vary, and one in a hundred is large enough to get its own array (not adjacent to the others).
    const data = new Uint8Array(i % 100 === 0 ? 9000 : (i * 7) % 300).fill(i & 0xff);
    const packets = [{ entitlements: null, data }];
    expected.push(
      encodeMessage({ type: 1, feed: "F", topic: `T${i % 3}`, isImage: false, contentType: null, packets }),
    );
    writes.push(client.publish("F", `T${i % 3}`, false, packets));
  }
  await Promise.all(writes);
  const total = expected.reduce((n, b) => n + b.length, 0);
  const got = await peer.until(total);
  assert.equal(got.length, total);
  let at = 0;
  for (const e of expected) {
    assert.deepEqual(got.subarray(at, at + e.length), e);
    at += e.length;
  }
  await client.stop();
  await peer.close();
});

Deno.test("MessageBusClient keeps the bytes of delivered messages while reading more, small reads and large", async () => {
  const peer = rawPeer();
  const client = await MessageBusClient.create("127.0.0.1", peer.port);
  await client.start();
  const sub = client.subscribe("F", "T", { highWaterMark: 1000 });
  await sub.ready;
  await peer.until(1); // the subscription request arrived, so the connection is the client's
  const frame = (i: number, size: number) =>
    encodeMessage({
      type: 8,
      user: "u",
      host: "h",
      feed: "F",
      topic: "T",
      isImage: false,
      contentType: null,
      packets: [{ entitlements: null, data: new Uint8Array(size).fill(i) }],
    });
  const reader = sub.getReader();
  const got: Uint8Array[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < 60; i++) {
    // Small messages one per write (each its own read, copied out of the reused buffer), then some large ones.
    const size = i < 50 ? 10 + i : 20_000 + i;
    sizes.push(size);
    await peer.send(frame(i, size));
    const r = await reader.read();
    assert.ok(!r.done);
    got.push(r.value.data);
  }
  for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], new Uint8Array(sizes[i]!).fill(i), `message ${i}`);
  reader.releaseLock();
  await client.stop();
  await peer.close();
});
