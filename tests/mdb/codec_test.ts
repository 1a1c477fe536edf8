import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import { durableName } from "../../src/mdb/durable_name.ts";
import { MdbMessage } from "../../src/mdb/message.ts";
import {
  checkDataset,
  configUrl,
  consumerConfig,
  createConsumerBody,
  datasetSubject,
  decodeJwtClaims,
  formatStartTime,
  isExpiring,
  Offset,
  parseConfig,
  parseRegistryEntry,
  pullBody,
  registryUrl,
  streamNameOf,
  userJwtUrl,
} from "../../src/mdb/codec.ts";

const enc = new TextEncoder();

Deno.test("durableName() is md5(CN) with the last hex digit set to 0", async () => {
  assert.equal(await durableName("alice"), "6384e2b2184bcbf58eccf10ca7a65630");
  // md5("bob") = 9f9d51bc70ef21ca5c14f307980a29d8
  assert.equal(await durableName("bob"), "9f9d51bc70ef21ca5c14f307980a29d0");
  await assert.rejects(() => durableName(""), TypeError);
});

Deno.test("configUrl() replaces the whole path and keeps query and fragment", () => {
  assert.equal(configUrl("https://mdb.test/some/prefix"), "https://mdb.test/api/v1/config");
  assert.equal(configUrl("https://mdb.test:8443/x?a=1#f"), "https://mdb.test:8443/api/v1/config?a=1#f");
  assert.throws(() => configUrl("mdb.test"), TypeError);
  assert.throws(() => configUrl("ftp://mdb.test"), TypeError);
});

Deno.test("parseConfig() reads the four URLs and the optional nats_url", () => {
  const doc = {
    api_gateway_url: "https://gw.test/getjwt",
    registry_url: "https://reg.test",
    mas_url: "https://mas.test/",
    nats_websocket_url: "wss://nats.test/ws",
  };
  assert.deepEqual(parseConfig(JSON.stringify(doc)), doc);
  assert.equal(parseConfig(JSON.stringify({ ...doc, nats_url: "nats://n:4222" })).nats_url, "nats://n:4222");
  for (const bad of ["", "[]", "null", "{", JSON.stringify({ ...doc, mas_url: 3 })]) {
    assert.throws(() => parseConfig(bad), ProtocolError, bad);
  }
  assert.throws(() => parseConfig(JSON.stringify({ ...doc, nats_websocket_url: "https://x" })), /nats_websocket_url/);
  const { registry_url: _, ...missing } = doc;
  assert.throws(() => parseConfig(JSON.stringify(missing)), /registry_url is undefined/);
});

Deno.test("registryUrl() and userJwtUrl() append the paths as speedracer does", () => {
  assert.equal(registryUrl("https://reg.test", "ds-1"), "https://reg.test/api/v1/datasets?slug=eq.ds-1");
  assert.equal(registryUrl("https://reg.test/", "ds"), "https://reg.test//api/v1/datasets?slug=eq.ds");
  assert.equal(userJwtUrl("https://mas.test", "ds"), "https://mas.test/api/v1/user/jwt/ds");
});

Deno.test("datasetSubject() picks OBJECTS for the MDB backend or mdb_object_publish", () => {
  assert.equal(datasetSubject("d", {}), "EVENTS.d");
  assert.equal(datasetSubject("d", { data_object_backend: "MDB" }), "OBJECTS.d");
  assert.equal(datasetSubject("d", { data_object_backend: "S3", mdb_object_publish: true }), "EVENTS.d");
  assert.equal(datasetSubject("d", { data_object_backend: null, mdb_object_publish: true }), "OBJECTS.d");
  assert.equal(datasetSubject("d", { data_object_backend: null, mdb_object_publish: false }), "EVENTS.d");
  assert.equal(streamNameOf("EVENTS.d"), "EVENTS_d");
});

Deno.test("parseRegistryEntry() rejects non-objects and wrong field types", () => {
  assert.deepEqual(parseRegistryEntry('{"slug":"d","data_object_backend":"MDB","mdb_object_publish":false}'), {
    slug: "d",
    data_object_backend: "MDB",
    mdb_object_publish: false,
  });
  assert.throws(() => parseRegistryEntry('{"mdb_object_publish":"yes"}'), ProtocolError);
  assert.throws(() => parseRegistryEntry('{"data_object_backend":1}'), ProtocolError);
  assert.throws(() => parseRegistryEntry("[1]"), ProtocolError);
});

Deno.test("checkDataset() accepts slugs and rejects subject and URL syntax", () => {
  assert.equal(checkDataset("my-data_set1", "Subscribing"), "my-data_set1");
  for (const bad of ["", "a.b", "a b", "a*", "a>", "a/b", "a?b", "a&b", "a#b", "a%20"]) {
    assert.throws(() => checkDataset(bad, "Subscribing"), TypeError, bad);
  }
  assert.throws(() => checkDataset(3, "Subscribing"), /must be a non-empty string, got number/);
});

Deno.test("consumerConfig() is speedracer's exact config for each start", () => {
  const durable = "6384e2b2184bcbf58eccf10ca7a65630";
  assert.equal(
    createConsumerBody("EVENTS_d", consumerConfig(durable, "EVENTS.d", Offset.BEGIN)),
    '{"stream_name":"EVENTS_d","config":{"durable_name":"6384e2b2184bcbf58eccf10ca7a65630","deliver_policy":"all",' +
      '"ack_policy":"explicit","replay_policy":"instant","filter_subject":"EVENTS.d","ack_wait":0,"idle_heartbeat":0,' +
      '"inactive_threshold":604800000000000}}',
  );
  assert.equal(consumerConfig(durable, "EVENTS.d", Offset.NOW).deliver_policy, "new");
  assert.deepEqual(
    [consumerConfig(durable, "EVENTS.d", 7).deliver_policy, consumerConfig(durable, "EVENTS.d", 7).opt_start_seq],
    ["by_start_sequence", 7],
  );
  const t = consumerConfig(durable, "EVENTS.d", new Date("2023-06-23T12:00:00.123Z"));
  assert.equal(t.deliver_policy, "by_start_time");
  assert.equal(t.opt_start_time, "2023-06-23T12:00:00.123000+00:00");
  assert.throws(() => consumerConfig(durable, "EVENTS.d", 0), RangeError);
  assert.throws(() => consumerConfig(durable, "EVENTS.d", "later" as Offset), TypeError);
});

Deno.test("formatStartTime() writes +00:00 and drops a zero fraction", () => {
  assert.equal(formatStartTime(new Date("2023-06-23T12:00:00Z")), "2023-06-23T12:00:00+00:00");
  assert.equal(formatStartTime(new Date("2023-06-23T12:00:00.5Z")), "2023-06-23T12:00:00.500000+00:00");
  assert.throws(() => formatStartTime(new Date("nope")), TypeError);
});

Deno.test("pullBody() writes nats-py's MSG.NEXT bodies", () => {
  assert.equal(pullBody(10, true), '{"batch": 10, "expires": 9999900000, "no_wait": true}');
  assert.equal(pullBody(1, false), '{"batch": 1, "expires": 9999900000}');
});

Deno.test("MdbMessage reads v1 and v2 ack subjects: delivery count, sequences, exact timestamp, pending", () => {
  const v1 = MdbMessage.fromDelivery(
    "EVENTS.d",
    enc.encode("x"),
    undefined,
    "$JS.ACK.EVENTS_d.c1.2.17.5.1687521600123456789.3",
  );
  assert.deepEqual(
    [v1.stream, v1.consumer, v1.delivered, v1.sequence, v1.consumerSequence, v1.timestampNs, v1.pending],
    ["EVENTS_d", "c1", 2, 17, 5, 1687521600123456789n, 3],
  );
  assert.equal(v1.timestamp.toISOString(), "2023-06-23T12:00:00.123Z");
  const v2 = MdbMessage.fromDelivery(
    "EVENTS.d",
    enc.encode("x"),
    undefined,
    "$JS.ACK.hub.ACCHASH.EVENTS_d.c1.1.9.9.1687521600000000000.0.rand",
  );
  assert.equal(v2.sequence, 9);
  assert.equal(v2.stream, "EVENTS_d");
  for (
    const bad of ["", "$JS.ACK", "_INBOX.x.y", "$JS.ACK.S.C.x.1.1.1.1", "$JS.ACK.S.C.1.1.1.1", "$JS.ACK..C.1.1.1.1.1"]
  ) {
    assert.throws(() => MdbMessage.fromDelivery("EVENTS.d", enc.encode("x"), undefined, bad), ProtocolError, bad);
  }
});

Deno.test("MdbMessage.fromDelivery() exposes the metadata and the dataset as topic", () => {
  const m = MdbMessage.fromDelivery(
    "EVENTS.d",
    enc.encode("x"),
    { a: "1" },
    "$JS.ACK.EVENTS_d.c.1.4.2.1687521600000000000.6",
  );
  assert.equal(m.topic, "d");
  assert.equal(m.subject, "EVENTS.d");
  assert.equal(m.sequence, 4);
  assert.equal(m.id, "4");
  assert.equal(m.pending, 6);
  assert.equal(m.timestamp.toISOString(), "2023-06-23T12:00:00.000Z");
  assert.equal(m.headers.get("a"), "1");
});

function jwt(claims: unknown): string {
  const b64 = (s: string) => btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return `${b64('{"alg":"none"}')}.${b64(JSON.stringify(claims))}.sig`;
}

Deno.test("decodeJwtClaims() and isExpiring() apply a true 5-minute margin", () => {
  const now = Date.UTC(2024, 0, 1);
  const claims = decodeJwtClaims(jwt({ CN: "alice", exp: now / 1000 + 301 }), "token");
  assert.equal(claims.CN, "alice");
  assert.equal(isExpiring(claims, now, 300_000), false);
  assert.equal(isExpiring(decodeJwtClaims(jwt({ exp: now / 1000 + 299 }), "t"), now, 300_000), true);
  assert.equal(isExpiring(decodeJwtClaims(jwt({ CN: "no exp" }), "t"), now, 300_000), false);
  assert.throws(() => decodeJwtClaims("a.b", "t"), ProtocolError);
  assert.throws(() => decodeJwtClaims(jwt({ exp: "soon" }), "t"), ProtocolError);
  assert.throws(() => decodeJwtClaims(jwt([1]), "t"), ProtocolError);
});

Deno.test("decodeJwtClaims() reads base64url payloads with or without padding, and refuses the standard alphabet", () => {
  // Vectors from Python's base64.urlsafe_b64encode: {"k":"ÿþ?>"} uses both "_" and "-"; {"CN":"a?"} ends in one "=".
  assert.deepEqual(decodeJwtClaims("h.eyJrIjoiw7_Dvj8-In0=.s", "t"), { k: "ÿþ?>" });
  assert.deepEqual(decodeJwtClaims("h.eyJrIjoiw7_Dvj8-In0.s", "t"), { k: "ÿþ?>" });
  assert.deepEqual(decodeJwtClaims("h.eyJDTiI6ImE_In0=.s", "t"), { CN: "a?" });
  assert.throws(() => decodeJwtClaims("h.eyJrIjoiw7/Dvj8+In0.s", "t"), ProtocolError);
  assert.throws(() => decodeJwtClaims("h.eyJDTiI6ImE_In0x.s", "t"), ProtocolError); // 17 characters: one left over
});
