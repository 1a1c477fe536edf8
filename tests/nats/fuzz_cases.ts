/**
 * The NATS fuzzers (run by fuzz_test.ts through tests/_fuzz.ts): ack
 * subjects, random or mutated from valid ones, parse into safe numbers or
 * throw ProtocolError.
 *
 * @module
 */

import { ProtocolError } from "../../src/core/errors.ts";
import { parseAckSubject } from "../../src/nats/codec.ts";
import type { FuzzCase } from "../_fuzz.ts";

const VALID = [
  "$JS.ACK.ORDERS.worker.2.42.7.1700000000123456789.3",
  "$JS.ACK.hub.ACCHASH.S.c.1.5.5.1700000000000000000.0.RANDOM",
];
const ALPHABET = "$JSACK.0123456789_-abc>* \u00e9";

/** The cases. */
export const cases: FuzzCase[] = [{
  name: "parseAckSubject() yields only ProtocolError on random and mutated input",
  seed: 0x5eed,
  inputs: 20_000,
  run: (rand, i) => {
    let input: string;
    if (i % 2 === 0) {
      const len = Math.floor(rand() * 80);
      input = Array.from({ length: len }, () => ALPHABET[Math.floor(rand() * ALPHABET.length)]).join("");
      if (rand() < 0.5) input = "$JS.ACK." + input;
    } else {
      const chars = [...VALID[i % VALID.length]!];
      const edits = Math.floor(rand() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(rand() * chars.length);
        const op = rand();
        const c = ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
        if (op < 0.33) chars.splice(at, 1);
        else if (op < 0.66) chars.splice(at, 0, c);
        else chars[at] = c;
      }
      input = chars.join("");
    }
    try {
      const info = parseAckSubject(input);
      if (!Number.isSafeInteger(info.streamSequence) || info.streamSequence < 0) throw new Error("bad stream sequence");
      if (!Number.isSafeInteger(info.timestampMs) || info.timestampMs < 0) throw new Error("bad timestamp");
      if (!/^\d{1,20}$/.test(info.timestamp)) throw new Error(`bad timestamp text ${info.timestamp}`);
      return "accepted";
    } catch (err) {
      if (err instanceof ProtocolError) return "rejected";
      throw new Error(`${String(err)} for ${JSON.stringify(input)}`);
    }
  },
}];
