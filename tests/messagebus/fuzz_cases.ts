/**
 * The messagebus fuzzers (run by fuzz_test.ts through tests/_fuzz.ts): the
 * streaming decoder and `decodeMessage`, on random bytes and mutated valid
 * messages of every type, in either image dialect, return or throw
 * ProtocolError.
 *
 * @module
 */

import { ProtocolError } from "../../src/core/errors.ts";
import { type BusMessage, decodeMessage, encodeMessage, MessageDecoder } from "../../src/messagebus/wire.ts";
import { utf8 } from "./_helpers.ts";
import type { FuzzCase, FuzzOutcome } from "../_fuzz.ts";

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
export const valid = samples.map((m) => encodeMessage(m));

/** Runs one decoding: "accepted" when it returns, "rejected" on ProtocolError; anything else is a finding. */
function outcome(run: () => void, what: string): FuzzOutcome {
  try {
    run();
    return "accepted";
  } catch (err) {
    if (err instanceof ProtocolError) return "rejected";
    throw new Error(`${what}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
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

function randomText(random: () => number): string {
  const alphabet = "abcXYZ/._-é漢";
  return Array.from({ length: 1 + Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)])
    .join("");
}

/** A sample of a random type with its text fields and packet bytes replaced by random ones. */
function randomMessage(random: () => number): BusMessage {
  const m = { ...samples[Math.floor(random() * samples.length)]! } as Record<string, unknown>;
  for (const k of ["feed", "topic", "user", "host"]) if (typeof m[k] === "string") m[k] = randomText(random);
  if (Array.isArray(m.packets)) {
    m.packets = m.packets.map((p: { entitlements: Set<number> | null; data: Uint8Array | null }) => ({
      entitlements: p.entitlements,
      data: p.data === null ? null : Uint8Array.from({ length: Math.floor(random() * 40) }, () => random() * 256),
    }));
  }
  return m as unknown as BusMessage;
}

/** The cases. */
export const cases: FuzzCase[] = [
  {
    name: "MessageDecoder given random bytes throws nothing but ProtocolError",
    seed: 0x5eed,
    inputs: 3000,
    run: (random, i) => {
      // One in four: a message of a random type with random content, which must decode.
      if (i % 4 === 0) {
        const bytes = encodeMessage(randomMessage(random));
        outcome(() => feedAll(bytes, random), `stream #${i}`);
        return outcome(() => decodeMessage(bytes), `decodeMessage of a valid message #${i}`);
      }
      const bytes = new Uint8Array(1 + Math.floor(random() * 200));
      for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(random() * 256);
      // Bias the first byte towards valid type codes so decoding gets past the type.
      if (random() < 0.8) bytes[0] = 1 + Math.floor(random() * 9);
      outcome(() => feedAll(bytes, random), `stream #${i}`);
      return outcome(() => decodeMessage(bytes), `decodeMessage #${i}`);
    },
  },
  {
    name: "MessageDecoder given mutated valid messages throws nothing but ProtocolError, in either dialect",
    seed: 42,
    inputs: 5000,
    run: (random, i) => {
      const base = valid[i % valid.length]!;
      const bytes = base.slice();
      const edits = random() < 0.1 ? 0 : 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * bytes.length);
        const kind = random();
        if (kind < 0.5) bytes[at] = Math.floor(random() * 256);
        else if (kind < 0.75) bytes[at] = bytes[at]! ^ (1 << Math.floor(random() * 8));
        else bytes[at] = random() < 0.5 ? 0xff : 0x7f;
      }
      const cut = random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
      const imageField = random() < 0.5 ? "bool" : "contentType";
      outcome(() => feedAll(cut, random, { imageField }), `stream #${i}`);
      return outcome(() => decodeMessage(cut, { imageField }), `decodeMessage #${i}`);
    },
  },
];
