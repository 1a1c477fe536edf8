import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import { decodeFrame, encodeFrame } from "../../src/posttroll/codec.ts";
import { PyDateTime } from "../../src/posttroll/datetime.ts";
import { floatRepr, pyDumps, PyFloat, pyLoads } from "../../src/posttroll/json.ts";
import { PosttrollMessage } from "../../src/posttroll/message.ts";

// Frames captured from Python posttroll 1.16 (spec §3.4, §4.2, §4.3, §5.2, §7, §10).
const VECTORS = [
  "pytroll://counter info root@vm 2026-11-22T01:23:44.734871 v1.01 text/ascii 8",
  'pytroll://counter/json file root@vm 2026-11-22T01:23:44.735050+00:00 v1.2 application/json {"uri": "file:///data/x.nc", "uid": "x.nc", "start_time": "2024-05-06T07:08:09+00:00", "n": 8}',
  'pytroll://x/y info root@vm 2026-11-22T01:24:09.397098 v1.01 application/json {"k": [1, 2.5, null, true, "\\u00e9"], "empty": {}}',
  "pytroll://bin info root@vm 2026-11-22T01:24:09.397250 v1.01 binary/octet-stream abc\x01def",
  "pytroll://oper/ns info root@vm 2026-11-22T01:23:44.526818 v1.01",
  'pytroll://oper/ns request root@vm 2024-01-01T00:00:00.000001 v1.01 application/json {"service": "a_service"}',
  'pytroll://oper/ns info root@vm 2026-11-22T01:23:44.525824 v1.01 application/json [{"URI": "tcp://127.0.0.1:39897", "service": ["a_service", "alias1"], "supported_message_version": "v1.2", "backend": "unsecure_zmq", "status": true, "name": "address", "receive_time": "2026-11-22T01:23:42.829230+00:00"}]',
  'pytroll://address/address info root@vm 2026-11-22T01:24:17.406941 v1.01 application/json {"status": false, "URI": "tcp://127.0.0.1:40000", "service": ["svc2", "aliasB"]}',
  'pytroll://address/a_service info root@vm 2026-11-22T01:23:40.717716 v1.01 application/json {"URI": "tcp://127.0.0.1:39897", "service": ["a_service", "alias1"], "supported_message_version": "v1.2", "backend": "unsecure_zmq"}',
  'pytroll://heartbeat/svc2 beat root@vm 2026-11-22T01:24:09.396896 v1.01 application/json {"min_interval": 0}',
];

Deno.test("PosttrollMessage.decode() then encode() reproduces every Python frame byte for byte", () => {
  for (const [i, frame] of VECTORS.entries()) {
    const msg = PosttrollMessage.decode(new TextEncoder().encode(frame));
    assert.equal(msg.raw(), frame);
    // The nameserver writes receive_time as a string with +00:00; decoding makes it an aware
    // datetime, which a v1.01 re-encode writes without the offset, as Python does.
    if (i === 6) assert.equal(msg.encode(), frame.replace("829230+00:00", "829230"));
    else assert.equal(msg.encode(), frame);
  }
});

Deno.test("PosttrollMessage encodes text, JSON, binary and empty data as Python does", () => {
  const sender = "root@vm";
  const t = PyDateTime.fromisoformat("2026-11-22T01:23:44.734871+00:00");
  const enc = (init: Partial<ConstructorParameters<typeof PosttrollMessage>[0]> & { subject: string }) =>
    new PosttrollMessage({ sender, time: t, ...init }).encode();
  assert.equal(enc({ subject: "/counter", data: "8" }), VECTORS[0]);
  assert.equal(
    enc({
      subject: "/counter/json",
      type: "file",
      data: {
        uri: "file:///data/x.nc",
        uid: "x.nc",
        start_time: PyDateTime.fromisoformat("2024-05-06T07:08:09+00:00"),
        n: 8,
      },
      time: PyDateTime.fromisoformat("2026-11-22T01:23:44.735050+00:00"),
    }),
    VECTORS[1],
  );
  assert.equal(
    enc({
      subject: "/x/y",
      data: { k: [1, 2.5, null, true, "é"], empty: {} },
      time: PyDateTime.fromisoformat("2026-11-22T01:24:09.397098+00:00"),
    }),
    VECTORS[2],
  );
  assert.equal(
    enc({
      subject: "/bin",
      data: "abc\x01def",
      binary: true,
      time: PyDateTime.fromisoformat("2026-11-22T01:24:09.397250"),
    }),
    VECTORS[3],
  );
  for (const empty of ["", {}, [], 0, null, false, new PyFloat(0), new Map()]) {
    assert.equal(
      enc({ subject: "/oper/ns", data: empty, time: PyDateTime.fromisoformat("2026-11-22T01:23:44.526818+00:00") }),
      VECTORS[4],
    );
  }
  assert.equal(
    enc({
      subject: "/heartbeat/svc2",
      type: "beat",
      data: { min_interval: 0 },
      time: PyDateTime.fromisoformat("2026-11-22T01:24:09.396896"),
    }),
    VECTORS[9],
  );
});

Deno.test("PosttrollMessage writes v1.01 and v1.2 times, with and without microseconds", () => {
  const zero = PyDateTime.fromisoformat("2020-01-02T03:04:05+00:00");
  const m1 = new PosttrollMessage({ subject: "/a", sender: "u@h", time: zero, data: "x" });
  assert.equal(m1.encode(), "pytroll://a info u@h 2020-01-02T03:04:05 v1.01 text/ascii x");
  const m2 = new PosttrollMessage({ subject: "/a", sender: "u@h", time: zero, data: { t: zero } });
  assert.equal(
    m2.encode(),
    'pytroll://a info u@h 2020-01-02T03:04:05+00:00 v1.2 application/json {"t": "2020-01-02T03:04:05+00:00"}',
  );
  const m3 = new PosttrollMessage({ subject: "/a", sender: "u@h", time: zero, data: { t: zero }, version: "v1.01" });
  assert.equal(
    m3.encode(),
    'pytroll://a info u@h 2020-01-02T03:04:05 v1.01 application/json {"t": "2020-01-02T03:04:05"}',
  );
  // v1.01 drops the offset without converting; v1.2 keeps it; a naive value gets no suffix.
  const plus2 = PyDateTime.fromisoformat("2020-01-02T12:00:00+02:00");
  const naive = PyDateTime.fromisoformat("2020-01-02T12:00:00.5");
  assert.equal(pyDumps([plus2, naive], { version: "v1.01" }), '["2020-01-02T12:00:00", "2020-01-02T12:00:00.500000"]');
  assert.equal(
    pyDumps([plus2, naive], { version: "v1.2" }),
    '["2020-01-02T12:00:00+02:00", "2020-01-02T12:00:00.500000"]',
  );
  // A JS Date is an aware UTC value with milliseconds written as .mmm000.
  const d = new Date("2024-01-02T03:04:05.600Z");
  const m4 = new PosttrollMessage({ subject: "/a", sender: "u@h", time: d, data: { n: 4, "é": "ö", t: d } });
  assert.equal(
    m4.encode(),
    'pytroll://a info u@h 2024-01-02T03:04:05.600000+00:00 v1.2 application/json {"n": 4, "\\u00e9": "\\u00f6", "t": "2024-01-02T03:04:05.600000+00:00"}',
  );
  assert.equal(new PosttrollMessage({ subject: "/a", data: "x", messageVersion: "v1.2" }).version, "v1.2");
  assert.equal(new PosttrollMessage({ subject: "/a", data: "x", binary: true }).version, "v1.01");
});

Deno.test("pyDumps() matches json.dumps for floats, escapes, big ints and key order", () => {
  assert.equal(floatRepr(1), "1.0");
  assert.equal(floatRepr(1e16), "1e+16");
  assert.equal(floatRepr(1e15), "1000000000000000.0");
  assert.equal(floatRepr(1e-5), "1e-05");
  assert.equal(floatRepr(0.0001), "0.0001");
  assert.equal(floatRepr(-0), "-0.0");
  assert.equal(floatRepr(1.5e300), "1.5e+300");
  assert.equal(floatRepr(123456789.125), "123456789.125");
  assert.equal(floatRepr(0.1 + 0.2), "0.30000000000000004");
  assert.equal(floatRepr(2.5e-7), "2.5e-07");
  assert.equal(pyDumps([NaN, Infinity, -Infinity, 1e300]), "[NaN, Infinity, -Infinity, 1e+300]");
  assert.equal(pyDumps(12345678901234567890n), "12345678901234567890");
  assert.equal(
    pyDumps('\x7f\u00e9\ud83d\ude00\n\r\t\b\f\x01/"\\'),
    '"\\u007f\\u00e9\\ud83d\\ude00\\n\\r\\t\\b\\f\\u0001/\\"\\\\"',
  );
  assert.equal(pyDumps(new Map([["b", 1], ["1", 2]])), '{"b": 1, "1": 2}');
  assert.equal(pyDumps({ a: { b: [] }, c: true }), '{"a": {"b": []}, "c": true}');
  assert.throws(() => pyDumps({ a: undefined }), TypeError);
  assert.throws(() => pyDumps(new Set()), TypeError);
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.throws(() => pyDumps(cyc), TypeError);
});

Deno.test("pyLoads() reads NaN, Infinity, big ints and keeps key order and integral floats", () => {
  const text = '{"b": 1.0, "1": NaN, "a": [Infinity, -Infinity, 123456789012345678901234567890, -0.0, 1e400]}';
  const v = pyLoads(text) as Record<string, unknown>;
  assert.ok(v.b instanceof PyFloat);
  assert.ok(Number.isNaN(v["1"]));
  const a = v.a as unknown[];
  assert.equal(a[2], 123456789012345678901234567890n);
  assert.equal(
    pyDumps(v),
    '{"b": 1.0, "1": NaN, "a": [Infinity, -Infinity, 123456789012345678901234567890, -0.0, Infinity]}',
  );
  // Duplicate keys: the last value at the first key's place.
  assert.equal(pyDumps(pyLoads('{"x": 1, "y": 2, "x": 3}')), '{"x": 3, "y": 2}');
  const proto = pyLoads('{"__proto__": 1}') as Record<string, unknown>;
  assert.equal(Object.keys(proto).length, 1);
  assert.equal(pyDumps(proto), '{"__proto__": 1}');
  for (
    const bad of [
      "",
      "01",
      "1.",
      "[1,]",
      '{"a" 1}',
      '"\x01"',
      '"\\x"',
      "nan",
      "[1] x",
      "-",
      '"\\u12"',
      "1".repeat(4301),
    ]
  ) {
    assert.throws(() => pyLoads(bad), SyntaxError, bad);
  }
  assert.throws(() => pyLoads("[".repeat(1001) + "]".repeat(1001)), SyntaxError);
  assert.deepEqual(pyLoads(" \t[1]\n\r"), [1]);
});

Deno.test("decodeFrame() turns datetime strings under objects into PyDateTime, as Python's greedy decoder", () => {
  const f = decodeFrame(
    'pytroll://a info u@h 2024-01-01T00:00:00 v1.2 application/json {"t": "2024-01-01", "w": "2024-W01", "z": "2024-01-02T03:04:05Z", "l": ["20240101", "x"], "n": {"d": "2024-01-01T00:00:00+02:00"}, "s": "hello"}',
  );
  const p = f.payload as Record<string, unknown>;
  assert.ok(p.t instanceof PyDateTime && !p.t.aware && p.t.isoformat() === "2024-01-01T00:00:00");
  assert.ok(p.w instanceof PyDateTime && p.w.isoformat() === "2024-01-01T00:00:00");
  assert.ok(p.z instanceof PyDateTime && p.z.isoformat() === "2024-01-02T03:04:05+00:00");
  const l = p.l as unknown[];
  assert.ok(l[0] instanceof PyDateTime);
  assert.equal(l[1], "x");
  assert.ok((p.n as Record<string, unknown>).d instanceof PyDateTime);
  assert.equal(p.s, "hello");
  // Strings that are items of a top-level list stay strings.
  const top = decodeFrame(
    'pytroll://a info u@h 2024-01-01T00:00:00 v1.01 application/json ["2024-01-01", {"d": "2024-01-01"}]',
  );
  const items = top.payload as unknown[];
  assert.equal(items[0], "2024-01-01");
  assert.ok((items[1] as Record<string, unknown>).d instanceof PyDateTime);
});

Deno.test("PyDateTime.fromisoformat() accepts what Python 3.12 accepts and refuses the rest", () => {
  const ok: [string, string][] = [
    ["2024-01-02T03:04:05.123456", "2024-01-02T03:04:05.123456"],
    ["2024-01-02 03:04:05", "2024-01-02T03:04:05"],
    ["2024-01-02T03:04:05.1", "2024-01-02T03:04:05.100000"],
    ["2024-01-02T03:04:05.1234567", "2024-01-02T03:04:05.123456"],
    ["2024-01-02T03:04:05,5", "2024-01-02T03:04:05.500000"],
    ["2024-01-02T03", "2024-01-02T03:00:00"],
    ["2024-01-02T0304", "2024-01-02T03:04:00"],
    ["20240102T030405", "2024-01-02T03:04:05"],
    ["2024-01-02T03:04:05-05:30", "2024-01-02T03:04:05-05:30"],
    ["2024-01-02T03:04:05+0530", "2024-01-02T03:04:05+05:30"],
    ["2024-01-02T03:04:05+05", "2024-01-02T03:04:05+05:00"],
    ["2024-01-02T03:04:05-00:00", "2024-01-02T03:04:05+00:00"],
    ["2024-01-02T03:04:05+01:02:03", "2024-01-02T03:04:05+01:02:03"],
    ["2024W011", "2024-01-01T00:00:00"],
    ["2020-W53-7", "2021-01-03T00:00:00"],
    ["2024-02-29", "2024-02-29T00:00:00"],
    // Oddities of CPython's C parser, checked against Python.
    ["2024-01-02T030405123", "2024-01-02T03:04:05.123000"],
    ["2024-01-02T03:04:05-00:00.5", "2024-01-02T03:04:05+00:00"],
    ["2024-01-02T03:04:05+01:00:00.5", "2024-01-02T03:04:05+01:00:00.500000"],
    ["2024-01-02 12:34,5", "2024-01-02T12:34:00.500000"],
    ["2024-01-02T12:+01:00", "2024-01-02T12:00:00+01:00"],
  ];
  for (const [text, iso] of ok) assert.equal(PyDateTime.fromisoformat(text).isoformat(), iso, text);
  const bad = [
    "2024-1-02",
    "2024-01",
    "2023-02-29",
    "2024-13-01",
    "2024-01-02T25:00",
    "2024-01-02T03:60",
    "2024-01-02T03:04:60",
    "2024-01-02T",
    "2024-01-02T12:",
    "2024-01-02T03:04:05Z+",
    "2024-01-02T03:04:05+24:00",
    "2021-W53",
    "0000-01-01",
    "2024-01-02T03:04:05.",
    "2024-01-02T03:04:05.12x",
    "hello world",
    "2024-01-0２",
  ];
  for (const text of bad) assert.throws(() => PyDateTime.fromisoformat(text), SyntaxError, text);
  const t = PyDateTime.fromisoformat("2024-01-02T03:04:05.123456-01:00");
  assert.equal(t.toDate().toISOString(), "2024-01-02T04:04:05.123Z");
  assert.equal(PyDateTime.fromEpochMicroseconds(t.epochMicroseconds()).isoformat(), "2024-01-02T04:04:05.123456+00:00");
});

Deno.test("decodeFrame() splits fields as Python does and keeps trailing whitespace in the data", () => {
  const f = decodeFrame("pytroll://a\tinfo\n u@h   2024-01-01T00:00:00 v1.01 TEXT/ASCII   hello world  ");
  assert.equal(f.subject, "/a");
  assert.equal(f.type, "info");
  assert.equal(f.mime, "text/ascii");
  assert.equal(f.payload, "hello world  ");
  assert.equal(decodeFrame("pytroll:/foo info u@h 2024-01-01T00:00:00 v1.01").subject, "foo");
  // Unicode whitespace separates fields too (U+3000, U+0085).
  assert.equal(decodeFrame("pytroll://a\u3000info\x85u@h 2024-01-01T00:00:00 v1").version, "v1");
  const m = PosttrollMessage.decode("pytroll://a info bob@host.example 2024-01-01T00:00:00 v1.01");
  assert.equal(m.user, "bob");
  assert.equal(m.host, "host.example");
  assert.equal(m.topic, "a");
  assert.equal(m.payload, "");
  assert.equal(m.time?.toISOString(), "2024-01-01T00:00:00.000Z");
});

Deno.test("decodeFrame() rejects what Python rejects with ProtocolError", () => {
  const bad: (string | Uint8Array)[] = [
    "pytroll//a info u@h 2024-01-01T00:00:00 v1.01",
    "pytroll://a info u@h 2024-01-01T00:00:00",
    "pytroll://a info u@h 2024-01-01T00:00:00 v1.3",
    "pytroll://a info u@h 2024-01-01T00:00:00 v2",
    "pytroll://a info u@h not-a-time v1.01",
    "pytroll://a info u@h 2024-01-01T00:00:00 v1.01 text/ascii",
    "pytroll://a info u@h 2024-01-01T00:00:00 v1.01 ",
    "pytroll://a info u@h 2024-01-01T00:00:00 v1.01 image/png xx",
    "pytroll://a info u@h 2024-01-01T00:00:00 v1.01 application/json {bad",
    "pytroll:/ a info u@h 2024-01-01T00:00:00 v1.01",
    new Uint8Array([...new TextEncoder().encode("pytroll://a info u@h 2024-01-01T00:00:00 v1.01 text/ascii "), 0xff]),
    "\ufeffpytroll://a info u@h 2024-01-01T00:00:00 v1.01",
  ];
  for (const frame of bad) assert.throws(() => decodeFrame(frame), ProtocolError, String(frame));
});

Deno.test("PosttrollMessage refuses what would break a Python peer", () => {
  assert.throws(() => new PosttrollMessage({ subject: "/a b" }), TypeError);
  assert.throws(() => new PosttrollMessage({ subject: "" }), TypeError);
  assert.throws(() => new PosttrollMessage({ subject: "/a", type: "in fo" }), TypeError);
  assert.throws(() => new PosttrollMessage({ subject: "/a", sender: "u@h\n" }), TypeError);
  assert.throws(() => new PosttrollMessage({ subject: "/a", data: "x\ud800" }), TypeError);
  assert.throws(() => new PosttrollMessage({ subject: "/a", data: "x", version: "v1.3" }), RangeError);
  assert.throws(() => new PosttrollMessage({ subject: "/a", data: { f: () => 1 } }), TypeError);
  assert.throws(() => new PosttrollMessage({ subject: "/a", data: { n: 1 }, binary: true }), TypeError);
  assert.throws(
    () =>
      encodeFrame({
        subject: "/a",
        type: "info",
        sender: "u@h",
        time: PyDateTime.now(),
        version: "v9",
        data: "",
        binary: false,
      }),
    RangeError,
  );
});

Deno.test("PosttrollMessage carries arbitrary bytes as binary/octet-stream, one character per byte", () => {
  const bytes = new Uint8Array(256).map((_, i) => i);
  const msg = new PosttrollMessage({ subject: "/bin", data: bytes, sender: "u@h" });
  const frame = msg.encode();
  assert.ok(frame.includes(" binary/octet-stream "));
  assert.ok(new TextEncoder().encode(frame).length > 0);
  const back = PosttrollMessage.decode(new TextEncoder().encode(frame));
  assert.deepEqual(back.data, bytes);
  assert.equal(back.binary, true);
  // Binary text beyond latin-1 is read as UTF-8.
  const wide = PosttrollMessage.decode("pytroll://b info u@h 2024-01-01T00:00:00 v1.01 binary/octet-stream €");
  assert.deepEqual(wide.data, new TextEncoder().encode("€"));
});

Deno.test("PosttrollMessage.decode() gives the data part's bytes as a plain Uint8Array", () => {
  const frame = new TextEncoder().encode('pytroll://a info u@h 2024-01-01T00:00:00 v1.01 application/json {"n": 1}');
  const m = PosttrollMessage.decode(frame);
  assert.deepEqual(m.data, new TextEncoder().encode('{"n": 1}'));
  assert.equal(m.text(), '{"n": 1}');
  assert.deepEqual(m.json(), { n: 1 });
  const wide = PosttrollMessage.decode(
    new TextEncoder().encode("pytroll://a info u@h 2024-01-01T00:00:00 v1.01 text/ascii é"),
  );
  assert.deepEqual(wide.data, new TextEncoder().encode("é"));
});

Deno.test("a message's data bytes are right for short and long, ASCII and wider, text and binary data", () => {
  const enc = new TextEncoder();
  const texts = ["x", "abc".repeat(100), "é€😀 mixed", "y".repeat(1024), "z".repeat(1025), "ü".repeat(2000)];
  const made: PosttrollMessage[] = [];
  for (const text of texts) {
    const m = new PosttrollMessage({ subject: "/t", data: text, sender: "u@h" });
    made.push(m);
    assert.deepEqual(m.data, enc.encode(text), `text of ${text.length}`);
    const j = new PosttrollMessage({ subject: "/t", data: { text }, sender: "u@h" });
    const frame = j.encode();
    assert.deepEqual(j.data, enc.encode(frame.slice(frame.indexOf("application/json ") + 17)));
    const latin1 = text.split("").every((c) => c.charCodeAt(0) <= 0xff);
    const b = new PosttrollMessage({ subject: "/t", data: text, binary: true, sender: "u@h" });
    assert.deepEqual(
      b.data,
      latin1 ? new Uint8Array([...text].map((c) => c.charCodeAt(0))) : enc.encode(text),
      `binary of ${text.length}`,
    );
  }
  // Messages made one after another keep their own bytes.
  for (let i = 0; i < texts.length; i++) assert.deepEqual(made[i]!.data, enc.encode(texts[i]!));
});
