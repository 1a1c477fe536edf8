import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import { type BusMessage, decodeMessage, encodeMessage, MessageDecoder } from "../../src/messagebus/mod.ts";
import { utf8 } from "./_helpers.ts";
import { rng } from "../_seeded.ts";

const UUID = "00112233-4455-6677-8899-aabbccddeeff";
const samples: BusMessage[] = [
  {
    type: 1,
    feed: "F",
    topic: "T",
    isImage: true,
    contentType: null,
    packets: [{ entitlements: new Set([1, 2]), data: utf8("abc") }],
  },
  { type: 2, clientId: UUID, feed: "F", topic: "T", isImage: false, contentType: null, packets: null },
  { type: 3, user: "u", host: "h", clientId: UUID, feed: "F", topic: "T", isAdd: true },
  { type: 4, feed: "F", isAdd: false },
  { type: 5, feed: "Fé", topic: "T", isAdd: true },
  { type: 6, clientId: UUID, host: "h", user: "u", feed: "F", topic: "T" },
  { type: 7, clientId: UUID, feed: "F", topic: "T", isAuthorizationRequired: true, entitlements: new Set([9]) },
  {
    type: 8,
    user: "u",
    host: "h",
    feed: "F",
    topic: "T",
    isImage: false,
    contentType: null,
    packets: [{ entitlements: null, data: utf8("x") }, { entitlements: new Set([3]), data: null }],
  },
  {
    type: 9,
    user: "u",
    host: "h",
    clientId: UUID,
    feed: "F",
    topic: "T",
    isImage: true,
    contentType: null,
    packets: null,
  },
];
const valid = samples.map((m) => encodeMessage(m));

function onlyProtocolErrors(run: () => void, what: string): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      assert.fail(`${what}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
  }
}

function feedAll(bytes: Uint8Array, random: () => number, options = {}): void {
  const decoder = new MessageDecoder({ maxLength: 4096, maxCount: 1024, ...options });
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + Math.floor(random() * 40);
    decoder.push(bytes.slice(i, i + n));
    i += n;
  }
}

Deno.test("MessageDecoder given seeded random bytes throws nothing but ProtocolError", () => {
  const random = rng(0x5eed);
  for (let round = 0; round < 3000; round++) {
    const bytes = new Uint8Array(1 + Math.floor(random() * 200));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    // Bias the first byte towards valid type codes so decoding gets past the type.
    if (random() < 0.8) bytes[0] = 1 + Math.floor(random() * 9);
    onlyProtocolErrors(() => feedAll(bytes, random), `round ${round}`);
    onlyProtocolErrors(() => decodeMessage(bytes), `decodeMessage round ${round}`);
  }
});

Deno.test("MessageDecoder given mutated valid messages throws nothing but ProtocolError, in either dialect", () => {
  const random = rng(42);
  for (let round = 0; round < 5000; round++) {
    const base = valid[round % valid.length]!;
    const bytes = base.slice();
    const edits = 1 + Math.floor(random() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * bytes.length);
      const kind = random();
      if (kind < 0.5) bytes[at] = Math.floor(random() * 256);
      else if (kind < 0.75) bytes[at] = bytes[at]! ^ (1 << Math.floor(random() * 8));
      else bytes[at] = random() < 0.5 ? 0xff : 0x7f;
    }
    const cut = random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
    const imageField = random() < 0.5 ? "bool" : "contentType";
    onlyProtocolErrors(() => feedAll(cut, random, { imageField }), `round ${round}`);
    onlyProtocolErrors(() => decodeMessage(cut, { imageField }), `decodeMessage round ${round}`);
  }
});

Deno.test("MessageDecoder never holds more than its limit however long a hostile stream runs", () => {
  const random = rng(7);
  // A packet list announcing the maximum count, followed by endless packets.
  const head = encodeMessage({
    type: 8,
    user: "",
    host: "",
    feed: "F",
    topic: "T",
    isImage: true,
    contentType: null,
    packets: null,
  });
  head.set([0, 0, 4, 0], head.length - 4);
  const decoder = new MessageDecoder({ maxLength: 4096, maxCount: 1024 });
  let error: unknown;
  try {
    decoder.push(head);
    for (let i = 0; i < 100_000; i++) {
      const chunk = new Uint8Array(4 + 4 + 4000);
      chunk.set([0, 0, 0, 0, 0, 0, 0x0f, 0xa0]);
      chunk.fill(Math.floor(random() * 256), 8);
      decoder.push(chunk);
      assert.ok(decoder.buffered <= 4096 + 1024 * 1024);
    }
  } catch (err) {
    error = err;
  }
  // 1024 packets of 4008 bytes (4 MiB) outgrow the 1 MiB + 4 KiB buffer first.
  assert.ok(error instanceof ProtocolError, `got ${String(error)}`);
});
