import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeAuthenticate,
  encodeSubscribe,
  groupIdFromName,
  isUuid,
} from "../../src/streamsea/mod.ts";
import { rng as prng } from "../_seeded.ts";

// Golden frames of spec §7.2–§7.3, exactly as written there.
const AUTH_BASIC =
  '{"id":1,"action":"authenticate","payload":{"type":"basic","clientId":"abc","clientSecret":"def123"}}';
const AUTH_JWT = '{"id":1,"action":"authenticate","payload":{"type":"jwt","clientId":"abc","jwt":"<compact JWS>"}}';
const AUTH_OK = '{"id":1,"action":"authenticate","success":true,"payload":{"jailId":"some_jail"}}';
const AUTH_FAIL = '{"id":1,"action":"authenticate","success":false,"error":{"message":"Invalid credentials"}}';
const SUB_ACK = '{"id":2,"action":"subscription","success":true,"streamName":"boiler_data","payload":2}';
const DELIVERY = '{"id":2,"action":"subscription","streamName":"boiler_data","payload":{"temperature":80}}';

Deno.test("encodeAuthenticate() writes the spec's basic and jwt frames", () => {
  assert.equal(encodeAuthenticate(1, { type: "basic", clientId: "abc", clientSecret: "def123" }), AUTH_BASIC);
  assert.equal(encodeAuthenticate(1, { type: "jwt", clientId: "abc", jwt: "<compact JWS>" }), AUTH_JWT);
});

Deno.test("encodeSubscribe() writes the spec's frame, with groupId only when given", () => {
  assert.equal(encodeSubscribe(2, "boiler_data"), '{"id":2,"action":"subscribe","payload":"boiler_data"}');
  const g = "0f8fad5b-d9cb-469f-a165-70867728950e";
  assert.equal(
    encodeSubscribe(2, "boiler_data", g),
    `{"id":2,"action":"subscribe","payload":"boiler_data","groupId":"${g}"}`,
  );
});

Deno.test("decodeServerFrame() reads the spec's replies and deliveries", () => {
  assert.deepEqual(decodeServerFrame(AUTH_OK), {
    id: 1,
    action: "authenticate",
    success: true,
    hasPayload: true,
    payload: { jailId: "some_jail" },
    streamName: undefined,
    error: undefined,
  });
  const fail = decodeServerFrame(AUTH_FAIL);
  assert.equal(fail.success, false);
  assert.equal(fail.error, "Invalid credentials");
  const ack = decodeServerFrame(SUB_ACK);
  assert.deepEqual([ack.id, ack.action, ack.success, ack.streamName, ack.payload], [
    2,
    "subscription",
    true,
    "boiler_data",
    2,
  ]);
  const d = decodeServerFrame(DELIVERY);
  assert.equal(d.success, undefined);
  assert.deepEqual(d.payload, { temperature: 80 });
  assert.equal(decodeServerFrame('{"id":2,"action":"subscribe","success":false,"error":"nope"}').error, "nope");
});

Deno.test("decodeServerFrame() throws ProtocolError on malformed frames", () => {
  const bad: (string | Uint8Array)[] = [
    "",
    "{",
    "null",
    "[1]",
    '"text"',
    '{"action":"subscription"}',
    '{"id":0,"action":"subscription"}',
    '{"id":-1,"action":"x"}',
    '{"id":1.5,"action":"x"}',
    '{"id":"1","action":"x"}',
    '{"id":1}',
    '{"id":1,"action":3}',
    '{"id":1,"action":"a","success":"yes"}',
    '{"id":1,"action":"a","streamName":5}',
    '{"id":1,"action":"a","error":5}',
    '{"id":1,"action":"a","error":{"message":5}}',
    new Uint8Array([123, 125]),
  ];
  for (const frame of bad) assert.throws(() => decodeServerFrame(frame), ProtocolError, String(frame));
  assert.throws(() => decodeServerFrame(DELIVERY, 10), ProtocolError);
});

Deno.test("decodeClientFrame() reads the spec's requests and refuses malformed ones", () => {
  assert.deepEqual(decodeClientFrame(AUTH_BASIC), {
    id: 1,
    action: "authenticate",
    credentials: { type: "basic", clientId: "abc", clientSecret: "def123" },
  });
  assert.deepEqual(decodeClientFrame(AUTH_JWT), {
    id: 1,
    action: "authenticate",
    credentials: { type: "jwt", clientId: "abc", jwt: "<compact JWS>" },
  });
  assert.deepEqual(decodeClientFrame('{"id":2,"action":"subscribe","payload":"boiler_data"}'), {
    id: 2,
    action: "subscribe",
    stream: "boiler_data",
    groupId: undefined,
  });
  assert.deepEqual(decodeClientFrame('{"id":3,"action":"unsubscribe"}'), {
    id: 3,
    action: "unsubscribe",
    unknown: true,
  });
  for (
    const bad of [
      '{"id":2,"action":"subscribe","payload":"s","groupId":"workers"}',
      '{"id":2,"action":"subscribe","payload":3}',
      '{"id":1,"action":"authenticate","payload":{"type":"oauth","clientId":"a"}}',
      '{"id":1,"action":"authenticate","payload":{"type":"basic","clientId":"a"}}',
      '{"id":1,"action":"authenticate","payload":"x"}',
      '{"id":0,"action":"subscribe","payload":"s"}',
    ]
  ) assert.throws(() => decodeClientFrame(bad), ProtocolError, bad);
});

Deno.test("isUuid() accepts RFC 4122 UUIDs only", () => {
  assert.ok(isUuid(crypto.randomUUID()));
  assert.ok(isUuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
  for (
    const bad of [
      "workers",
      "0f8fad5b-d9cb-069f-a165-70867728950e", // version 0
      "0f8fad5b-d9cb-469f-c165-70867728950e", // wrong variant
      "0f8fad5bd9cb469fa16570867728950e",
      "0f8fad5b-d9cb-469f-a165-70867728950",
    ]
  ) assert.ok(!isUuid(bad), bad);
});

Deno.test("groupIdFromName() gives a stable version 5 UUID per name", async () => {
  const a = await groupIdFromName("workers");
  assert.equal(a, await groupIdFromName("workers"));
  assert.notEqual(a, await groupIdFromName("workers2"));
  assert.ok(isUuid(a));
  assert.equal(a[14], "5");
});

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

function onlyProtocolErrors(decode: (s: string) => unknown, input: string, seed: number): boolean {
  try {
    decode(input);
    return true;
  } catch (err) {
    if (err instanceof ProtocolError) return false;
    throw new Error(`seed ${seed}: ${JSON.stringify(input)} threw ${String(err)}`);
  }
}

Deno.test("decodeServerFrame() fuzzed with random bytes and mutated frames throws only ProtocolError", () => {
  const seed = 0x5eed;
  const rnd = prng(seed);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = new Uint8Array(Math.floor(rnd() * 64));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rnd() * 256);
    if (onlyProtocolErrors((s) => decodeServerFrame(s), decoder.decode(bytes), seed)) accepted++;
    else refused++;
  }
  for (let i = 0; i < 20000; i++) {
    const base = VALID_SERVER[i % VALID_SERVER.length]!;
    if (onlyProtocolErrors((s) => decodeServerFrame(s), mutate(base, rnd), seed)) accepted++;
    else refused++;
  }
  // Both outcomes occur: the mutations are not all fatal nor all harmless.
  assert.ok(accepted > 100 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
});

Deno.test("decodeClientFrame() fuzzed with random bytes and mutated frames throws only ProtocolError", () => {
  const seed = 0xc11e;
  const rnd = prng(seed);
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = new Uint8Array(Math.floor(rnd() * 64));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rnd() * 256);
    onlyProtocolErrors((s) => decodeClientFrame(s), decoder.decode(bytes), seed);
  }
  for (let i = 0; i < 15000; i++) {
    if (onlyProtocolErrors((s) => decodeClientFrame(s), mutate(VALID_CLIENT[i % VALID_CLIENT.length]!, rnd), seed)) {
      accepted++;
    }
  }
  assert.ok(accepted > 50, `accepted ${accepted}`);
});
