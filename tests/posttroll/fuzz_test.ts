import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import { PyDateTime } from "../../src/posttroll/datetime.ts";
import { pyLoads } from "../../src/posttroll/json.ts";
import { PosttrollMessage } from "../../src/posttroll/message.ts";
import { rng } from "../_seeded.ts";

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

function decodeOnlyProtocolError(frame: Uint8Array): void {
  let msg: PosttrollMessage;
  try {
    msg = PosttrollMessage.decode(frame);
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      throw new Error(`decode threw ${String(err)} for ${JSON.stringify(new TextDecoder().decode(frame))}`);
    }
    return;
  }
  // What decodes can be sent on again, as Python could.
  const again = PosttrollMessage.decode(msg.encode());
  assert.equal(again.subject, msg.subject);
}

Deno.test("PosttrollMessage.decode() fuzzed with mutated frames throws only ProtocolError", () => {
  const r = rng(0x5eed);
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    const frame = mutate(SEEDS[i % SEEDS.length]!, r);
    decodeOnlyProtocolError(frame);
    try {
      PosttrollMessage.decode(frame);
      decoded++;
    } catch { /* counted above */ }
  }
  // The mutations must exercise both outcomes.
  assert.ok(decoded > 1000, `only ${decoded} mutated frames decoded`);
});

Deno.test("PosttrollMessage.decode() fuzzed with random bytes throws only ProtocolError", () => {
  const r = rng(42);
  const magic = enc.encode("pytroll:/");
  for (let i = 0; i < 10_000; i++) {
    const len = Math.floor(r() * 200);
    const body = new Uint8Array(len).map(() => r() < 0.7 ? ALPHABET[Math.floor(r() * ALPHABET.length)]! : r() * 256);
    const frame = i % 2 === 0 ? new Uint8Array([...magic, ...body]) : body;
    decodeOnlyProtocolError(frame);
  }
});

Deno.test("pyLoads() and PyDateTime.fromisoformat() fuzzed throw only SyntaxError", () => {
  const r = rng(7);
  const chars = '{}[]":,.-+0123456789eETZW \\u00NaInfitynul';
  for (let i = 0; i < 20_000; i++) {
    const len = Math.floor(r() * 40);
    let s = "";
    for (let k = 0; k < len; k++) s += chars[Math.floor(r() * chars.length)];
    for (const f of [() => pyLoads(s, { datetimes: true }), () => PyDateTime.fromisoformat(s)]) {
      try {
        f();
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw new Error(`${String(err)} for ${JSON.stringify(s)}`);
      }
    }
  }
});
