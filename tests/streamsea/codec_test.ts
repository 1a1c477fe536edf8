import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeAuthenticate,
  encodeSubscribe,
  groupIdFromName,
} from "../../src/streamsea/wire.ts";
import { isUuid } from "../../src/streamsea/codec.ts";

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
