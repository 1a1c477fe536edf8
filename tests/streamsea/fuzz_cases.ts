/**
 * The stream-sea frame fuzzers (run by fuzz_test.ts through tests/_fuzz.ts):
 * both frame decoders, on random bytes and mutated golden frames, decode or
 * throw ProtocolError.
 *
 * @module
 */

import { ProtocolError } from "../../src/core/errors.ts";
import { decodeClientFrame, decodeServerFrame } from "../../src/streamsea/wire.ts";
import type { FuzzCase, FuzzOutcome } from "../_fuzz.ts";

// Golden frames of spec §7.2–§7.3, as codec_test.ts checks them.
const AUTH_BASIC =
  '{"id":1,"action":"authenticate","payload":{"type":"basic","clientId":"abc","clientSecret":"def123"}}';
const AUTH_JWT = '{"id":1,"action":"authenticate","payload":{"type":"jwt","clientId":"abc","jwt":"<compact JWS>"}}';
const AUTH_OK = '{"id":1,"action":"authenticate","success":true,"payload":{"jailId":"some_jail"}}';
const AUTH_FAIL = '{"id":1,"action":"authenticate","success":false,"error":{"message":"Invalid credentials"}}';
const SUB_ACK = '{"id":2,"action":"subscription","success":true,"streamName":"boiler_data","payload":2}';
const DELIVERY = '{"id":2,"action":"subscription","streamName":"boiler_data","payload":{"temperature":80}}';

const decoder = new TextDecoder();
const VALID_SERVER = [
  AUTH_OK,
  AUTH_FAIL,
  SUB_ACK,
  DELIVERY,
  '{"id":2,"action":"subscription","payload":[{"a":1},{"b":[2]}]}',
];
const VALID_CLIENT = [
  AUTH_BASIC,
  AUTH_JWT,
  '{"id":2,"action":"subscribe","payload":"s","groupId":"0f8fad5b-d9cb-469f-a165-70867728950e"}',
];
const ALPHABET = '{}[]":,0123456789-.truefalsnidactopyloadsucesrmgN\\ \u00e9\u{1F600}';

function mutate(text: string, rnd: () => number): string {
  const chars = [...text];
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * (chars.length + 1));
    const c = ALPHABET[Math.floor(rnd() * ALPHABET.length)]!;
    switch (Math.floor(rnd() * 4)) {
      case 0:
        chars.splice(at, 1);
        break;
      case 1:
        chars.splice(at, 0, c);
        break;
      case 2:
        chars[at] = c;
        break;
      default:
        chars.splice(at, Math.floor(rnd() * 8));
    }
  }
  return chars.join("");
}

function outcome(decode: (s: string) => unknown, input: string): FuzzOutcome {
  try {
    decode(input);
    return "accepted";
  } catch (err) {
    if (err instanceof ProtocolError) return "rejected";
    throw new Error(`${JSON.stringify(input)} threw ${String(err)}`);
  }
}

function randomText(rnd: () => number): string {
  const bytes = new Uint8Array(Math.floor(rnd() * 64));
  for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rnd() * 256);
  return decoder.decode(bytes);
}

/** The cases: one in eight inputs random bytes, the rest mutated golden frames. */
export const cases: FuzzCase[] = [
  {
    name: "decodeServerFrame() fuzzed with random bytes and mutated frames throws only ProtocolError",
    seed: 0x5eed,
    inputs: 23_000,
    minAccepted: 100,
    minRejected: 1000,
    run: (rnd, i) =>
      outcome(decodeServerFrame, i % 8 === 0 ? randomText(rnd) : mutate(VALID_SERVER[i % VALID_SERVER.length]!, rnd)),
  },
  {
    name: "decodeClientFrame() fuzzed with random bytes and mutated frames throws only ProtocolError",
    seed: 0xc11e,
    inputs: 17_000,
    minAccepted: 50,
    run: (rnd, i) =>
      outcome(decodeClientFrame, i % 8 === 0 ? randomText(rnd) : mutate(VALID_CLIENT[i % VALID_CLIENT.length]!, rnd)),
  },
];
