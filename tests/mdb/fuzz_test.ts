import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import { decodeJwtClaims, parseConfig, parseRegistryEntry } from "../../src/mdb/protocol.ts";
import { parseApiReply, streamNamesOf } from "../../src/nats/codec.ts";
import { rng } from "../_seeded.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function mutate(valid: Uint8Array, next: () => number): Uint8Array {
  const out = Uint8Array.from(valid);
  const edits = 1 + Math.floor(next() * 4);
  let bytes = out;
  for (let e = 0; e < edits; e++) {
    const kind = Math.floor(next() * 4);
    const at = Math.floor(next() * Math.max(1, bytes.length));
    if (kind === 0 && bytes.length > 0) bytes[at] = Math.floor(next() * 256);
    else if (kind === 1) bytes = bytes.slice(0, at);
    else if (kind === 2) {
      const ins = Uint8Array.from({ length: 1 + Math.floor(next() * 8) }, () => Math.floor(next() * 256));
      bytes = new Uint8Array([...bytes.slice(0, at), ...ins, ...bytes.slice(at)]);
    } else if (bytes.length > 0) bytes[at] = '.{}[]":,0-9ae'.charCodeAt(Math.floor(next() * 14))!;
  }
  return bytes;
}

function random(next: () => number): Uint8Array {
  return Uint8Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256));
}

/** Runs `decode` on random bytes and mutations of valid inputs: it returns or throws ProtocolError, nothing else. */
function fuzz(name: string, valid: string[], decode: (bytes: Uint8Array) => unknown, seed: number): void {
  Deno.test(`${name} throws only ProtocolError on random and mutated input (seed ${seed})`, () => {
    const next = rng(seed);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const base = valid[i % valid.length]!;
      const input = i % 3 === 0 ? random(next) : mutate(enc.encode(base), next);
      try {
        decode(input);
      } catch (err) {
        if (!(err instanceof ProtocolError)) {
          throw new Error(`${name} threw ${String(err)} for ${JSON.stringify(dec.decode(input))} (iteration ${i})`);
        }
        rejected++;
      }
    }
    assert.ok(rejected > 0, `${name} rejected nothing: the fuzzer is not reaching it`);
    for (const v of valid) decode(enc.encode(v));
  });
}

const config = JSON.stringify({
  api_gateway_url: "https://gw.test/getjwt",
  registry_url: "https://reg.test",
  mas_url: "https://mas.test",
  nats_websocket_url: "ws://127.0.0.1:1",
  nats_url: "nats://127.0.0.1:2",
});
fuzz("parseConfig()", [config], (b) => parseConfig(dec.decode(b)), 1);
fuzz(
  "parseRegistryEntry()",
  ['{"slug":"d","data_object_backend":null,"mdb_object_publish":true}', '{"data_object_backend":"MDB"}'],
  (b) => parseRegistryEntry(dec.decode(b)),
  2,
);
fuzz("parseApiReply()", [
  '{"type":"io.nats.jetstream.api.v1.stream_names_response","total":1,"offset":0,"limit":1024,"streams":["EVENTS_d"]}',
  '{"error":{"code":404,"err_code":10014,"description":"consumer not found"}}',
  '{"streams":null}',
], (b) => {
  const r = parseApiReply(b, "fuzz");
  if (r.ok) streamNamesOf(r.doc);
}, 3);
// The ack subjects MDB receives are parsed by ./nats' parseAckSubject, fuzzed in tests/nats/codec_test.ts.
fuzz(
  "decodeJwtClaims()",
  [
    "eyJhbGciOiJIUzI1NiJ9.eyJDTiI6ImFsaWNlIiwiZXhwIjoxNzAwMDAwMDAwfQ.c2ln",
  ],
  (b) => decodeJwtClaims(dec.decode(b), "fuzz"),
  5,
);
