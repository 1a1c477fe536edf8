/**
 * The MDB fuzzers (run by fuzz_test.ts through tests/_fuzz.ts): each parser,
 * on random bytes and mutations of valid inputs, returns or throws
 * ProtocolError, nothing else.
 *
 * @module
 */

import { ProtocolError } from "../../src/core/errors.ts";
import { decodeJwtClaims, parseConfig, parseRegistryEntry } from "../../src/mdb/protocol.ts";
import { parseApiReply, streamNamesOf } from "../../src/nats/codec.ts";
import type { FuzzCase } from "../_fuzz.ts";

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

/** Each parser fuzzed, with valid inputs of it. */
export const parsers: { name: string; valid: string[]; decode: (bytes: Uint8Array) => unknown; seed: number }[] = [];

function fuzz(name: string, valid: string[], decode: (bytes: Uint8Array) => unknown, seed: number): void {
  parsers.push({ name, valid, decode, seed });
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
// The ack subjects MDB receives are parsed by ./nats' parseAckSubject, fuzzed in tests/nats/fuzz_cases.ts.
fuzz(
  "decodeJwtClaims()",
  [
    "eyJhbGciOiJIUzI1NiJ9.eyJDTiI6ImFsaWNlIiwiZXhwIjoxNzAwMDAwMDAwfQ.c2ln",
  ],
  (b) => decodeJwtClaims(dec.decode(b), "fuzz"),
  5,
);

/** The cases: random bytes for every third input, else a mutation of a valid one. */
export const cases: FuzzCase[] = parsers.map(({ name, valid, decode, seed }) => ({
  name: `${name} throws only ProtocolError on random and mutated input`,
  seed,
  inputs: 3000,
  run: (next, i) => {
    const input = i % 3 === 0 ? random(next) : mutate(enc.encode(valid[i % valid.length]!), next);
    try {
      decode(input);
      return "accepted";
    } catch (err) {
      if (err instanceof ProtocolError) return "rejected";
      throw new Error(`${name} threw ${String(err)} for ${JSON.stringify(dec.decode(input))}`);
    }
  },
}));
