import assert from "node:assert/strict";
import { ProtocolError } from "../../mod.ts";
import {
  ACK,
  checkName,
  checkSubject,
  classifyStatus,
  isWildcardSubject,
  nakPayload,
  parseAckSubject,
  parseApiReply,
  pullRequest,
  streamNamesOf,
  termPayload,
} from "../../src/nats/codec.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("parseAckSubject() reads the 9-token form", () => {
  const info = parseAckSubject("$JS.ACK.ORDERS.worker.2.42.7.1700000000123456789.3");
  assert.deepEqual(info, {
    domain: undefined,
    accountHash: undefined,
    stream: "ORDERS",
    consumer: "worker",
    deliveryCount: 2,
    streamSequence: 42,
    consumerSequence: 7,
    timestamp: "1700000000123456789",
    timestampMs: 1700000000123,
    pending: 3,
  });
});

Deno.test("parseAckSubject() reads the 12-token form with and without a domain", () => {
  const a = parseAckSubject("$JS.ACK.hub.ACCHASH.S.c.1.5.5.1700000000000000000.0.RANDOM");
  assert.equal(a.domain, "hub");
  assert.equal(a.accountHash, "ACCHASH");
  assert.equal(a.stream, "S");
  assert.equal(a.streamSequence, 5);
  const b = parseAckSubject("$JS.ACK._.ACCHASH.S.c.1.5.5.1700000000000000000.0.RANDOM");
  assert.equal(b.domain, undefined);
});

Deno.test("parseAckSubject() throws ProtocolError on malformed subjects", () => {
  for (
    const bad of [
      "",
      "foo.bar",
      "$JS.ACK",
      "$JS.ACK.S.c.1.2.3.4",
      "$JS.ACK.S.c.x.2.3.4.5",
      "$JS.ACK.S.c.1.-2.3.4.5",
      "$JS.ACK.S.c.1.2.3.ts.5",
      "$JS.ACK..c.1.2.3.4.5",
      "$JS.ACK.S.c.1.99999999999999999.3.4.5",
      "$JS.NAK.S.c.1.2.3.4.5",
      "$JS.ACK.S.c.1.2.3.4.5" + ".x".repeat(3000),
    ]
  ) {
    assert.throws(() => parseAckSubject(bad), ProtocolError, bad.slice(0, 40));
  }
});

Deno.test("pullRequest() encodes durations in nanoseconds", () => {
  assert.equal(text(pullRequest({ batch: 10, noWait: true })), '{"batch":10,"no_wait":true}');
  assert.equal(text(pullRequest({ batch: 1, expiresMs: 5000 })), '{"batch":1,"expires":5000000000}');
  assert.equal(
    text(pullRequest({ batch: 2, expiresMs: 9999.9, idleHeartbeatMs: 1000 })),
    '{"batch":2,"expires":9999900000,"idle_heartbeat":1000000000}',
  );
  assert.throws(() => pullRequest({ batch: 0 }), RangeError);
  assert.throws(() => pullRequest({ batch: 1.5 }), RangeError);
  assert.throws(() => pullRequest({ batch: 1, expiresMs: -1 }), /Requesting messages failed/);
});

Deno.test("classifyStatus() ends a subscription only on a deleted consumer or a refused kind of request", () => {
  assert.equal(classifyStatus(100, "Idle Heartbeat"), "heartbeat");
  assert.equal(classifyStatus(404, "No Messages"), "no-messages");
  assert.equal(classifyStatus(408, "Request Timeout"), "timeout");
  // Terminal: no retry can succeed.
  assert.equal(classifyStatus(409, "Consumer Deleted"), "deleted");
  assert.equal(classifyStatus(409, "Consumer is Deleted"), "deleted");
  assert.equal(classifyStatus(409, "Stream Deleted"), "deleted");
  assert.equal(classifyStatus(409, "Consumer is push based"), "refused");
  assert.equal(classifyStatus(400, "Bad Request"), "refused");
  // Everything else ends the request only (nats-server's descriptions).
  for (
    const description of [
      "Server Shutdown",
      "Leadership Change",
      "Exceeded MaxWaiting",
      "Exceeded MaxRequestBatch of 10",
      "Exceeded MaxRequestExpires of 1s",
      "Exceeded MaxRequestMaxBytes of 100",
      "Message Size Exceeds MaxBytes",
    ]
  ) {
    assert.equal(classifyStatus(409, description), "interrupted", description);
  }
  assert.equal(classifyStatus(503, "No Responders"), "interrupted");
  assert.equal(classifyStatus(423, "Nats-Pin-Id mismatch"), "interrupted");
});

Deno.test("ack payloads follow the JetStream protocol", () => {
  assert.equal(text(ACK), "+ACK");
  assert.equal(text(nakPayload()), "-NAK");
  assert.equal(text(nakPayload(0)), "-NAK");
  assert.equal(text(nakPayload(1500)), '-NAK {"delay":1500000000}');
  assert.throws(() => nakPayload(-1), RangeError);
  assert.throws(() => nakPayload(Infinity), RangeError);
  assert.equal(text(termPayload()), "+TERM");
  assert.equal(text(termPayload("bad\r\ninput")), "+TERM bad  input");
});

Deno.test("checkSubject() accepts NATS subjects and names the problem otherwise", () => {
  checkSubject("a", "Publishing to");
  checkSubject("a.b-c_d.$e", "Publishing to");
  checkSubject("a.*.c", "Subscribing", true);
  checkSubject("a.>", "Subscribing", true);
  checkSubject(">", "Subscribing", true);
  const cases: [unknown, boolean, RegExp][] = [
    ["", true, /the subject is empty/],
    [42, true, /is not a string/],
    ["a..b", true, /empty token/],
    [".a", true, /empty token/],
    ["a.", true, /empty token/],
    ["a b", true, /whitespace/],
    ["a\tb", true, /whitespace/],
    ["a.*", false, /contains a wildcard/],
    ["a.>", false, /contains a wildcard/],
    ["a.>.b", true, /is not the last token/],
    ["x".repeat(5000), true, /over 4096/],
  ];
  for (const [subject, wild, message] of cases) {
    assert.throws(() => checkSubject(subject, "Subscribing", wild), (err: unknown) => {
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /^Subscribing failed: /);
      assert.match(err.message, message);
      return true;
    });
  }
  assert.equal(isWildcardSubject("a.*"), true);
  assert.equal(isWildcardSubject("a.b*"), false);
});

Deno.test("checkName() refuses names JetStream cannot hold", () => {
  checkName("worker-1_A", "durable", "Subscribing");
  for (const bad of ["", "a.b", "a*", "a>", "a b", "a/b", "a\\b", "x".repeat(256), 7]) {
    assert.throws(() => checkName(bad, "durable", "Subscribing"), TypeError);
  }
});

Deno.test("parseApiReply() returns documents and errors; streamNamesOf() reads STREAM.NAMES", () => {
  const enc = new TextEncoder();
  const ok = parseApiReply(enc.encode('{"streams":["EVENTS_d"]}'), "x");
  assert.ok(ok.ok);
  assert.deepEqual(streamNamesOf(ok.doc), ["EVENTS_d"]);
  assert.deepEqual(streamNamesOf({ streams: null }), []);
  assert.throws(() => streamNamesOf({ streams: [1] }), ProtocolError);
  const err = parseApiReply(
    enc.encode('{"error":{"code":404,"err_code":10014,"description":"consumer not found"}}'),
    "x",
  );
  assert.deepEqual(err, { ok: false, error: { code: 404, err_code: 10014, description: "consumer not found" } });
  assert.throws(() => parseApiReply(enc.encode('{"error":"x"}'), "x"), ProtocolError);
  assert.throws(() => parseApiReply(new Uint8Array([0xff]), "x"), ProtocolError);
  assert.throws(() => parseApiReply(enc.encode("[1]"), "x"), ProtocolError);
});
