/**
 * The PostTroll fuzzers (run by fuzz_test.ts through tests/_fuzz.ts): frames
 * decode or throw ProtocolError; the JSON and datetime readers parse or throw
 * SyntaxError.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import { PyDateTime } from "../../src/posttroll/datetime.ts";
import { pyLoads } from "../../src/posttroll/json.ts";
import { PosttrollMessage } from "../../src/posttroll/message.ts";
import { parseConfigText } from "../../src/posttroll/config_file.ts";
import type { FuzzCase, FuzzOutcome } from "../_fuzz.ts";

const enc = new TextEncoder();
const SEEDS = [
  'pytroll://counter/json file root@vm 2026-11-22T01:23:44.735050+00:00 v1.2 application/json {"uri": "file:///data/x.nc", "uid": "x.nc", "start_time": "2024-05-06T07:08:09+00:00", "n": [8, 1.5, NaN, -Infinity, 1e+300, null, true, {"d": "2024-W01-1"}]}',
  "pytroll://counter info root@vm 2026-11-22T01:23:44.734871 v1.01 text/ascii 8",
  "pytroll://bin info root@vm 2026-11-22T01:24:09.397250 v1.01 binary/octet-stream abc\x01def",
  "pytroll://oper/ns info root@vm 2026-11-22T01:23:44.526818 v1.01",
].map((s) => enc.encode(s));
const ALPHABET = enc.encode(' \t\n{}[]":,.-+0123456789eEZTW/\\u00NaInfity pytroll:/v1.2application/json\x85\xff');

function mutate(input: Uint8Array, r: () => number): Uint8Array {
  const out = Array.from(input);
  const edits = 1 + Math.floor(r() * 6);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (out.length + 1));
    const op = Math.floor(r() * 5);
    const byte = r() < 0.5 ? ALPHABET[Math.floor(r() * ALPHABET.length)]! : Math.floor(r() * 256);
    if (op === 0) out.splice(at, 1);
    else if (op === 1) out.splice(at, 0, byte);
    else if (op === 2) out[at] = byte;
    else if (op === 3) out.splice(at, Math.floor(r() * 20));
    else out.splice(at, 0, ...out.slice(Math.floor(r() * out.length), Math.floor(r() * out.length)));
  }
  return new Uint8Array(out);
}

/** Decodes a frame: "accepted" (and it can be sent on again, as Python could) or "rejected" with ProtocolError. */
function decodeOutcome(frame: Uint8Array): FuzzOutcome {
  let msg: PosttrollMessage;
  try {
    msg = PosttrollMessage.decode(frame);
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      throw new Error(`decode threw ${String(err)} for ${JSON.stringify(new TextDecoder().decode(frame))}`);
    }
    return "rejected";
  }
  const again = PosttrollMessage.decode(msg.encode());
  assert.equal(again.subject, msg.subject);
  return "accepted";
}

const magic = enc.encode("pytroll:/");
const CHARS = '{}[]":,.-+0123456789eETZW \\u00NaInfitynul';

const CONFIG_ALPHABET = [
  "a",
  "b",
  ":",
  " ",
  "  ",
  "\n",
  "-",
  "#",
  "'",
  '"',
  "[",
  "]",
  ",",
  "{",
  "}",
  "\t",
  "0x",
  "1",
  "~",
  "&",
  "!",
  "|",
  "\\",
  "é",
];

/** The cases. */
export const cases: FuzzCase[] = [
  {
    name: "PosttrollMessage.decode() fuzzed with mutated frames throws only ProtocolError",
    seed: 0x5eed,
    inputs: 20_000,
    minAccepted: 1000,
    run: (r, i) => decodeOutcome(mutate(SEEDS[i % SEEDS.length]!, r)),
  },
  {
    name: "PosttrollMessage.decode() fuzzed with random bytes throws only ProtocolError",
    seed: 42,
    inputs: 10_000,
    run: (r, i) => {
      // One in ten: a frame that starts as a valid one, then random bytes in its data part.
      if (i % 10 === 0) {
        const base = SEEDS[1]!;
        const tail = Uint8Array.from(
          { length: Math.floor(r() * 20) },
          () => ALPHABET[Math.floor(r() * ALPHABET.length)]!,
        );
        return decodeOutcome(new Uint8Array([...base, ...tail]));
      }
      const len = Math.floor(r() * 200);
      const body = new Uint8Array(len).map(() => r() < 0.7 ? ALPHABET[Math.floor(r() * ALPHABET.length)]! : r() * 256);
      return decodeOutcome(i % 2 === 0 ? new Uint8Array([...magic, ...body]) : body);
    },
  },
  {
    name: "pyLoads() and PyDateTime.fromisoformat() fuzzed throw only SyntaxError",
    seed: 7,
    inputs: 20_000,
    run: (r) => {
      const len = Math.floor(r() * 40);
      let s = "";
      for (let k = 0; k < len; k++) s += CHARS[Math.floor(r() * CHARS.length)];
      let accepted = false;
      for (const f of [() => pyLoads(s, { datetimes: true }), () => PyDateTime.fromisoformat(s)]) {
        try {
          f();
          accepted = true;
        } catch (err) {
          if (!(err instanceof SyntaxError)) throw new Error(`${String(err)} for ${JSON.stringify(s)}`);
        }
      }
      return accepted ? "accepted" : "rejected";
    },
  },
  {
    name: "parseConfigText() fuzzed throws only SyntaxError and always ends",
    seed: 0xc0f1,
    inputs: 20_000,
    minAccepted: 500,
    run: (r) => {
      let text = "";
      const len = Math.floor(r() * 40);
      for (let j = 0; j < len; j++) text += CONFIG_ALPHABET[Math.floor(r() * CONFIG_ALPHABET.length)];
      try {
        parseConfigText(text);
        return "accepted";
      } catch (err) {
        if (err instanceof SyntaxError) return "rejected";
        throw new Error(`${String(err)} for ${JSON.stringify(text)}`);
      }
    },
  },
];
