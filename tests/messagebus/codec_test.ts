import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import {
  type BusMessage,
  bytesToUuid,
  connectionString,
  decodeMessage,
  encodeCredentials,
  encodeMessage,
  MessageDecoder,
  parseConnectionString,
  uuidToBytes,
} from "../../src/messagebus/wire.ts";
import { hex, toHex, utf8 } from "./_helpers.ts";

const UUID = "00112233-4455-6677-8899-aabbccddeeff";
const U = "33221100 5544 7766 8899aabbccddeeff";
const TEST = "00000004 54455354";
const FOO = "00000003 464f4f";
const BAR = "00000003 424152";

// Every vector of spec §13.3, with the message it encodes.
const clientToServer: [string, BusMessage, string][] = [
  ["SubscriptionRequest(TEST, FOO, add)", { type: 5, feed: "TEST", topic: "FOO", isAdd: true }, `05 ${TEST} ${FOO} 01`],
  ["NotificationRequest(TEST, add)", { type: 4, feed: "TEST", isAdd: true }, `04 ${TEST} 01`],
  [
    "MulticastData(TEST, FOO, image, [({7}, xy), (null, null)])",
    {
      type: 1,
      feed: "TEST",
      topic: "FOO",
      isImage: true,
      contentType: null,
      packets: [{ entitlements: new Set([7]), data: utf8("xy") }, { entitlements: null, data: null }],
    },
    `01 ${TEST} ${FOO} 01 00000002 00000001 00000007 00000002 7879 00000000 00000000`,
  ],
  [
    "UnicastData(uuid, TEST, FOO, delta, null)",
    { type: 2, clientId: UUID, feed: "TEST", topic: "FOO", isImage: false, contentType: null, packets: null },
    `02 ${U} ${TEST} ${FOO} 00 00000000`,
  ],
  [
    "AuthorizationResponse(uuid, TEST, FOO, true, {1, 2})",
    {
      type: 7,
      clientId: UUID,
      feed: "TEST",
      topic: "FOO",
      isAuthorizationRequired: true,
      entitlements: new Set([1, 2]),
    },
    `07 ${U} ${TEST} ${FOO} 01 00000002 00000001 00000002`,
  ],
];

const serverToClient: [string, BusMessage, string][] = [
  [
    "ForwardedSubscriptionRequest(bob, hostb, uuid, TEST, FOO, add)",
    { type: 3, user: "bob", host: "hostb", clientId: UUID, feed: "TEST", topic: "FOO", isAdd: true },
    `03 00000003 626f62 00000005 686f737462 ${U} ${TEST} ${FOO} 01`,
  ],
  [
    "AuthorizationRequest(uuid, host=hostb, user=bob, TEST, FOO)",
    { type: 6, clientId: UUID, host: "hostb", user: "bob", feed: "TEST", topic: "FOO" },
    `06 ${U} 00000005 686f737462 00000003 626f62 ${TEST} ${FOO}`,
  ],
  [
    "ForwardedMulticastData(alice, hosta, TEST, FOO, image, [({1, 2}, hello), (null, null)])",
    {
      type: 8,
      user: "alice",
      host: "hosta",
      feed: "TEST",
      topic: "FOO",
      isImage: true,
      contentType: null,
      packets: [{ entitlements: new Set([1, 2]), data: utf8("hello") }, { entitlements: null, data: null }],
    },
    `08 00000005 616c696365 00000005 686f737461 ${TEST} ${FOO} 01 00000002 00000002 00000001 00000002 ` +
    `00000005 68656c6c6f 00000000 00000000`,
  ],
  [
    "ForwardedUnicastData(alice, hosta, uuid, TEST, BAR, delta, null)",
    {
      type: 9,
      user: "alice",
      host: "hosta",
      clientId: UUID,
      feed: "TEST",
      topic: "BAR",
      isImage: false,
      contentType: null,
      packets: null,
    },
    `09 00000005 616c696365 00000005 686f737461 ${U} ${TEST} ${BAR} 00 00000000`,
  ],
];

for (const [name, message, bytes] of [...clientToServer, ...serverToClient]) {
  Deno.test(`encodeMessage() writes the spec vector of ${name}`, () => {
    assert.equal(toHex(encodeMessage(message)), toHex(hex(bytes)));
  });
  Deno.test(`decodeMessage() reads the spec vector of ${name}`, () => {
    assert.deepEqual(decodeMessage(hex(bytes)), message);
  });
}

// The v6 layout (spec §7.2): types 1, 2, 8 and 9 carry `string contentType` where v3 has `bool isImage`.
const TEXT_PLAIN = "0000000a 746578742f706c61696e"; // "text/plain"
const contentTypeDialect: [string, BusMessage, string][] = [
  [
    "MulticastData(TEST, FOO, text/plain, [(null, xy)])",
    {
      type: 1,
      feed: "TEST",
      topic: "FOO",
      isImage: null,
      contentType: "text/plain",
      packets: [{ entitlements: null, data: utf8("xy") }],
    },
    `01 ${TEST} ${FOO} ${TEXT_PLAIN} 00000001 00000000 00000002 7879`,
  ],
  [
    "UnicastData(uuid, TEST, FOO, empty content type, null)",
    { type: 2, clientId: UUID, feed: "TEST", topic: "FOO", isImage: null, contentType: "", packets: null },
    `02 ${U} ${TEST} ${FOO} 00000000 00000000`,
  ],
  [
    "ForwardedMulticastData(alice, hosta, TEST, FOO, text/plain, [({3}, hello)])",
    {
      type: 8,
      user: "alice",
      host: "hosta",
      feed: "TEST",
      topic: "FOO",
      isImage: null,
      contentType: "text/plain",
      packets: [{ entitlements: new Set([3]), data: utf8("hello") }],
    },
    `08 00000005 616c696365 00000005 686f737461 ${TEST} ${FOO} ${TEXT_PLAIN} 00000001 00000001 00000003 ` +
    `00000005 68656c6c6f`,
  ],
  [
    "ForwardedUnicastData(alice, hosta, uuid, TEST, BAR, text/plain, null)",
    {
      type: 9,
      user: "alice",
      host: "hosta",
      clientId: UUID,
      feed: "TEST",
      topic: "BAR",
      isImage: null,
      contentType: "text/plain",
      packets: null,
    },
    `09 00000005 616c696365 00000005 686f737461 ${U} ${TEST} ${BAR} ${TEXT_PLAIN} 00000000`,
  ],
];

for (const [name, message, bytes] of contentTypeDialect) {
  Deno.test(`encodeMessage() writes the contentType-dialect vector of ${name}`, () => {
    assert.equal(toHex(encodeMessage(message, { imageField: "contentType" })), toHex(hex(bytes)));
  });
  Deno.test(`decodeMessage() reads the contentType-dialect vector of ${name}`, () => {
    assert.deepEqual(decodeMessage(hex(bytes), { imageField: "contentType" }), message);
  });
}

Deno.test("uuidToBytes() uses .NET Guid byte order and bytesToUuid() reverses it", () => {
  assert.equal(toHex(uuidToBytes(UUID)), toHex(hex(U)));
  assert.equal(bytesToUuid(hex(U)), UUID);
  assert.equal(bytesToUuid(uuidToBytes(UUID.toUpperCase())), UUID);
  assert.throws(() => uuidToBytes("not-a-uuid"), TypeError);
  assert.throws(() => bytesToUuid(new Uint8Array(15)), RangeError);
});

Deno.test("encodeCredentials() writes the v3 basic and token vectors", () => {
  assert.equal(
    toHex(encodeCredentials({ kind: "basic", username: "u", password: "p" }, "v3")),
    toHex(hex("00000001 75 00000001 70 00000000 00000000")),
  );
  assert.equal(
    toHex(encodeCredentials({ kind: "token", token: "tok" }, "v3")),
    toHex(hex("00000003 746f6b 00000000 00000000")),
  );
  assert.equal(encodeCredentials({ kind: "none" }, "v3").length, 0);
  assert.equal(encodeCredentials({ kind: "none" }, "v4").length, 0);
});

Deno.test("encodeCredentials() writes the extra v3 strings in order: impersonating then forwardedFor", () => {
  const bytes = encodeCredentials({ kind: "token", token: "t", impersonating: "i", forwardedFor: "f" }, "v3");
  assert.equal(toHex(bytes), toHex(hex("00000001 74 00000001 69 00000001 66")));
});

Deno.test("encodeCredentials() writes one v4 connection string", () => {
  const s = "Username=u;Password=p;Impersonating=x;Application=app";
  const bytes = encodeCredentials(
    { kind: "basic", username: "u", password: "p", impersonating: "x", application: "app" },
    "v4",
  );
  assert.equal(toHex(bytes), toHex(new Uint8Array([0, 0, 0, s.length, ...utf8(s)])));
  assert.equal(connectionString({ kind: "token", token: "a.b.c", forwardedFor: "h" }), "Token=a.b.c;ForwardedFor=h");
  assert.equal(connectionString({ kind: "none" }), null);
});

Deno.test("encodeCredentials() refuses a v4 value with a semicolon and an unknown dialect", () => {
  assert.throws(
    () => encodeCredentials({ kind: "basic", username: "u", password: "a;b" }, "v4"),
    (e: unknown) => e instanceof TypeError && /Password "a;b"/.test(e.message),
  );
  assert.throws(() => encodeCredentials({ kind: "none" }, "v9" as "v3"), TypeError);
});

Deno.test("parseConnectionString() splits on the first = and refuses bad parts and repeated keys", () => {
  const m = parseConnectionString("Username=u;Password=a=b");
  assert.equal(m.get("Username"), "u");
  assert.equal(m.get("Password"), "a=b");
  assert.throws(() => parseConnectionString("Username=u;oops"), ProtocolError);
  assert.throws(() => parseConnectionString("Username=u;Username=v"), ProtocolError);
});

Deno.test("encodeMessage() writes strings with their UTF-8 byte length, and decodeMessage() reads them back", () => {
  const m: BusMessage = { type: 5, feed: "prix€", topic: "日本/ü", isAdd: false };
  const bytes = encodeMessage(m);
  // "prix€" is 5 characters but 7 bytes.
  assert.equal(toHex(bytes.subarray(1, 5)), "00000007");
  assert.deepEqual(decodeMessage(bytes), m);
});

Deno.test("encodeMessage() writes empty sets, arrays and packet lists as null, and they decode as null", () => {
  const empty: BusMessage = {
    type: 1,
    feed: "F",
    topic: "T",
    isImage: false,
    contentType: null,
    packets: [{ entitlements: new Set(), data: new Uint8Array(0) }],
  };
  const decoded = decodeMessage(encodeMessage(empty));
  assert.deepEqual(decoded, { ...empty, packets: [{ entitlements: null, data: null }] });
  const noPackets = decodeMessage(encodeMessage({ ...empty, packets: [] }));
  assert.equal(noPackets.type === 1 && noPackets.packets, null);
  const auth = decodeMessage(encodeMessage({
    type: 7,
    clientId: UUID,
    feed: "F",
    topic: "T",
    isAuthorizationRequired: false,
    entitlements: new Set(),
  }));
  assert.equal(auth.type === 7 && auth.entitlements, null);
  // An empty string decodes as "" (the server's reading), both ways.
  assert.deepEqual(decodeMessage(encodeMessage({ type: 4, feed: "", isAdd: true })), {
    type: 4,
    feed: "",
    isAdd: true,
  });
});

Deno.test("encodeMessage() writes a content type string in the contentType dialect", () => {
  const m: BusMessage = {
    type: 8,
    user: "a",
    host: "h",
    feed: "F",
    topic: "T",
    isImage: null,
    contentType: "text/plain",
    packets: null,
  };
  const bytes = encodeMessage(m, { imageField: "contentType" });
  assert.equal(
    toHex(bytes.subarray(bytes.length - 18, bytes.length - 4)),
    toHex(hex("0000000a" + toHex(utf8("text/plain")))),
  );
  assert.deepEqual(decodeMessage(bytes, { imageField: "contentType" }), m);
  // The bool dialect cannot read it: the stream goes out of step.
  assert.throws(() => decodeMessage(bytes), ProtocolError);
});

Deno.test("decodeMessage() reads any non-zero bool byte as true", () => {
  const m = decodeMessage(hex(`05 ${TEST} ${FOO} 7f`));
  assert.equal(m.type === 5 && m.isAdd, true);
});

Deno.test("decodeMessage() refuses unknown types, negative and huge lengths, bad UTF-8 and trailing bytes", () => {
  const refuse = (bytes: string, pattern: RegExp, options = {}) =>
    assert.throws(
      () => decodeMessage(hex(bytes), options),
      (e: unknown) => e instanceof ProtocolError && pattern.test(e.message),
    );
  refuse("00", /unknown message type 0/);
  refuse("0a", /unknown message type 10/);
  refuse(`05 ffffffff`, /negative/);
  refuse(`05 ${TEST} 7fffffff`, /over/);
  refuse(`01 ${TEST} ${FOO} 00 fffffffe`, /negative/);
  refuse(`01 ${TEST} ${FOO} 00 00000001 ffffffff`, /negative/);
  refuse(`01 ${TEST} ${FOO} 00 00000200`, /over 256/, { maxCount: 256 });
  refuse(`04 00000002 c328 01`, /UTF-8/);
  refuse(`04 ${TEST} 01 00`, /follow/);
  refuse(`05 ${TEST} ${FOO}`, /only 0 are left/);
});

Deno.test("MessageDecoder splits a stream at every chunk boundary, including one byte at a time", () => {
  const all = [...clientToServer, ...serverToClient];
  const stream = new Uint8Array(all.reduce((n, [, , b]) => n + hex(b).length, 0));
  let at = 0;
  for (const [, , b] of all) {
    stream.set(hex(b), at);
    at += hex(b).length;
  }
  const expected = all.map(([, m]) => m);
  for (const size of [1, 2, 3, 5, 7, 16, 64, stream.length]) {
    const decoder = new MessageDecoder();
    const got: BusMessage[] = [];
    for (let i = 0; i < stream.length; i += size) got.push(...decoder.push(stream.slice(i, i + size)));
    assert.deepEqual(got, expected, `chunk size ${size}`);
    assert.equal(decoder.buffered, 0);
  }
});

Deno.test("MessageDecoder refuses to buffer a message larger than its limit", () => {
  const decoder = new MessageDecoder({ maxLength: 16 });
  assert.throws(() => decoder.push(hex(`04 00000011`)), ProtocolError);
  // A message of many packets, each within the limit, whose total outgrows the buffer (maxLength + 1 MiB).
  const small = new MessageDecoder({ maxLength: 1024 });
  assert.deepEqual(small.push(hex(`01 ${TEST} ${FOO} 00 00010000`)), []);
  const packet = new Uint8Array(4 + 4 + 1000);
  packet.set(hex("00000000 000003e8"));
  let pushes = 0;
  assert.throws(() => {
    for (; pushes < 5000; pushes++) assert.deepEqual(small.push(packet.slice()), []);
  }, (e: unknown) => e instanceof ProtocolError && /Buffering input failed/.test(e.message));
  assert.ok(pushes > 1000 && pushes < 1100, `threw after ${pushes} packets`);
});
