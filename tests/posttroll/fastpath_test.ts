import { rng } from "../_seeded.ts";
/**
 * Differential tests: every fast path of the codec against the general code
 * it short-cuts, on many seeded random inputs. Where the fast path answers,
 * it must give exactly what the general code gives; where it declines, the
 * public function must still give exactly that (including errors).
 */

import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import { decodeFrame, encodeFrame, frameText, pySplit, quickSplit, renderVersion } from "../../src/posttroll/codec.ts";
import { parseIsoformat, parseIsoformatSlow, PyDateTime } from "../../src/posttroll/datetime.ts";
import {
  floatRepr,
  pyDumps,
  pyDumpsFast,
  pyDumpsSlow,
  pyEntries,
  PyFloat,
  pyLoads,
  pyLoadsDeferred,
  pyLoadsFast,
  pyLoadsSlow,
  type PyValue,
} from "../../src/posttroll/json.ts";
import { encodeMessage, PosttrollMessage } from "../../src/posttroll/message.ts";

type Rand = () => number;
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;

/** A canonical, type-tagged rendering: tells PyFloat from number, -0 from 0, bigint, datetimes, key order. */
function canon(v: unknown): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "number":
      return `N${Object.is(v, -0) ? "-0" : String(v)}`;
    case "bigint":
      return `B${v}`;
    case "string":
      return `S${JSON.stringify(v)}`;
    case "boolean":
      return String(v);
  }
  if (v instanceof PyFloat) return `F${Object.is(v.value, -0) ? "-0" : String(v.value)}`;
  if (v instanceof PyDateTime) return `D${v.isoformat()}|${v.utcOffset}`;
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  const obj = v as Record<string, PyValue>;
  return `{${pyEntries(obj).map(([k, x]) => `${JSON.stringify(k)}:${canon(x)}`).join(",")}}`;
}

function outcome<T>(f: () => T, show: (v: T) => string): string {
  try {
    return `ok ${show(f())}`;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

const STRINGS = [
  "",
  "a",
  "file:///data/x.nc",
  "NOAA-20",
  'q"uote',
  "back\\slash",
  "tab\tnl\ncr\r",
  "\x00\x01\x1f\x7f",
  "é",
  "😀",
  "\ud800",
  "\udc00x",
  "\u2028\u2029",
  "2024-05-06T07:08:09",
  "2024-05-06T07:08:09.123456",
  "2024-05-06T07:08:09+02:00",
  "2024-05-06T07:08:09.000001Z",
  "2024-05-06 07:08:09",
  "2024-13-06T07:08:09",
  "2024-W01-1",
  "20240506T070809",
  "1234567",
  "__proto__",
  "0",
  "12",
  "x1",
];

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  42,
  12345,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  2 ** 53,
  2 ** 53 + 2,
  1e15,
  1e16,
  1e17,
  1e21,
  1e22,
  0.5,
  -2.5,
  0.1,
  1 / 3,
  1e-4,
  9.999999999999999e-5,
  1.0000000000000001e-4,
  1e-5,
  1e-7,
  123456789.123,
  9007199254740.5,
  999999999999999.9,
  4503599627370495.5,
  5e-324,
  1.7976931348623157e308,
  NaN,
  Infinity,
  -Infinity,
];

function randomNumber(r: Rand): number {
  switch (Math.floor(r() * 5)) {
    case 0:
      return pick(r, NUMBERS);
    case 1:
      return Math.floor((r() - 0.5) * 10 ** Math.floor(r() * 18));
    case 2:
      return (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
    case 3:
      return Number((r() * 100).toFixed(Math.floor(r() * 4)));
    default:
      return new Float64Array(new Uint32Array([Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32)]).buffer)[0]!;
  }
}

function randomString(r: Rand): string {
  if (r() < 0.5) return pick(r, STRINGS);
  let s = "";
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    const k = r();
    s += k < 0.7
      ? String.fromCharCode(0x20 + Math.floor(r() * 0x5f))
      : k < 0.8
      ? String.fromCharCode(Math.floor(r() * 0x20))
      : k < 0.9
      ? String.fromCharCode(0x7f + Math.floor(r() * 0x100))
      : String.fromCharCode(Math.floor(r() * 0x10000));
  }
  return s;
}

/** Random data of the kinds messages carry, with the rarer kinds the fast paths must leave alone. */
function randomValue(r: Rand, depth: number): unknown {
  const k = r();
  if (depth > 4 || k < 0.35) {
    const s = r();
    if (s < 0.4) return randomString(r);
    if (s < 0.75) return randomNumber(r);
    if (s < 0.8) return pick(r, [null, true, false]);
    if (s < 0.85) return new PyFloat(pick(r, [0, -0, 1, 2.5, 1e16, -3, NaN]));
    if (s < 0.88) return BigInt(pick(r, ["9007199254740993", "-123456789012345678901234567890", "0"]));
    if (s < 0.91) return PyDateTime.fromisoformat(pick(r, ["2024-05-06T07:08:09", "2024-05-06T07:08:09.5+02:00"]));
    if (s < 0.93) return new Date(Math.floor(r() * 2e12));
    return randomString(r);
  }
  if (k < 0.6) return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
  if (k < 0.63) return new Map([[randomString(r), randomValue(r, depth + 1)]]);
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const key = r() < 0.8 ? pick(r, ["uri", "uid", "n", "start_time", "sensor", "a b", "é"]) : randomString(r);
    if (key === "__proto__") continue;
    o[key] = randomValue(r, depth + 1);
  }
  return o;
}

Deno.test("pyDumps() fast path writes exactly what the general serialiser writes", () => {
  const r = rng(0xd0d0);
  let fast = 0;
  for (let i = 0; i < 20_000; i++) {
    const v = randomValue(r, 0);
    const slow = outcome(() => pyDumpsSlow(v), String);
    const quick = pyDumpsFast(v);
    if (quick !== undefined) {
      fast++;
      assert.equal(`ok ${quick}`, slow, `value #${i}`);
    }
    assert.equal(outcome(() => pyDumps(v), String), slow, `value #${i}`);
    assert.equal(
      outcome(() => pyDumps(v, { version: "v1.01" }), String),
      outcome(
        () => pyDumpsSlow(v, { version: "v1.01" }),
        String,
      ),
    );
  }
  // The fast path must answer for most ordinary data, or it is not one.
  assert.ok(fast > 8_000, `fast path taken ${fast} times`);
  for (const x of NUMBERS) assert.equal(pyDumpsFast(x) ?? floatRepr(x), pyDumpsSlow(x), String(x));
});

Deno.test("pyDumps() fast path declines cycles, deep nesting and datetimes; the general path decides", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(pyDumpsFast(cyclic), undefined);
  assert.throws(() => pyDumps(cyclic), TypeError);
  let deep: unknown = 1;
  for (let i = 0; i < 200; i++) deep = [deep];
  assert.equal(pyDumpsFast(deep), undefined);
  assert.equal(pyDumps(deep), pyDumpsSlow(deep));
  assert.equal(pyDumpsFast({ t: new Date(0) }), undefined);
  assert.equal(pyDumps({ t: new Date(0) }, { version: "v1.01" }), '{"t": "1970-01-01T00:00:00"}');
  assert.equal(pyDumpsFast([undefined]), undefined);
  assert.throws(() => pyDumps([undefined]), TypeError);
  // Objects decoded with integer-like keys keep the order received on both paths.
  const decoded = pyLoads('{"b": 1, "2": 2, "a": [1.5]}');
  assert.equal(pyDumpsFast(decoded), '{"b": 1, "2": 2, "a": [1.5]}');
});

const JSON_TOKENS = [
  "0",
  "-0",
  "-0.0",
  "1.0",
  "1.5",
  "1e5",
  "1E+2",
  "2.5e-3",
  "1e400",
  "-1e-400",
  "12345",
  "123456789012345",
  "1234567890123456",
  "9007199254740993",
  "-99999999999999999999",
  "NaN",
  "Infinity",
  "-Infinity",
  "true",
  "false",
  "null",
  '"x"',
  '"2024-05-06T07:08:09"',
  '"2024-05-06T07:08:09.123456+00:00"',
  '"a\\"b"',
  '"\\\\"',
  '"\\\\\\""',
  '"\\u00e9\\ud83d\\ude00"',
  '"\\ud800"',
  '"1.0"',
  "01",
  "1.",
  ".5",
  "--1",
  "1e",
  '"unterminated',
  '"tab\there"',
];
const KEYS = ['"a"', '"uri"', '"start_time"', '"1"', '"0x"', '"__proto__"', '"a\\"k"', '""', '"é"', "a"];

function randomJson(r: Rand, depth: number): string {
  const k = r();
  if (depth > 5 || k < 0.4) return pick(r, JSON_TOKENS);
  const ws = () => pick(r, ["", "", " ", "\n", "\t ", "\u00a0"]);
  if (k < 0.65) {
    const n = Math.floor(r() * 4);
    return `[${ws()}${Array.from({ length: n }, () => randomJson(r, depth + 1)).join(`,${ws()}`)}]`;
  }
  const n = Math.floor(r() * 4);
  const items = Array.from({ length: n }, () => `${pick(r, KEYS)}${ws()}:${ws()}${randomJson(r, depth + 1)}`);
  return `{${items.join(pick(r, [", ", ",", " , ", ",,"]))}${r() < 0.03 ? "," : ""}}`;
}

Deno.test("pyLoads() fast path reads exactly what the general parser reads", () => {
  const r = rng(0x10ad);
  let fast = 0;
  for (let i = 0; i < 30_000; i++) {
    let text = randomJson(r, 0);
    if (r() < 0.05) text = ` ${text} `;
    if (r() < 0.02) text = text.slice(0, Math.floor(r() * text.length));
    for (const datetimes of [false, true]) {
      const slow = outcome(() => pyLoadsSlow(text, { datetimes }), canon);
      const quick = pyLoadsFast(text, { datetimes });
      if (quick !== undefined) {
        fast++;
        assert.equal(`ok ${canon(quick)}`, slow, `${JSON.stringify(text)} datetimes=${datetimes}`);
      }
      assert.equal(outcome(() => pyLoads(text, { datetimes }), canon), slow, JSON.stringify(text));
    }
  }
  assert.ok(fast > 5_000, `fast path taken ${fast} times`);
  // Data written by pyDumps reads back the same on both paths.
  const r2 = rng(0x2222);
  for (let i = 0; i < 5_000; i++) {
    const v = randomValue(r2, 0);
    let text: string;
    try {
      text = pyDumpsSlow(v);
    } catch {
      continue;
    }
    assert.equal(
      outcome(() => pyLoads(text, { datetimes: true }), canon),
      outcome(
        () => pyLoadsSlow(text, { datetimes: true }),
        canon,
      ),
    );
  }
});

Deno.test("pyLoads() fast path leaves nesting limits, digit keys and special numbers to the general parser", () => {
  const deep = "[".repeat(70) + "]".repeat(70);
  assert.equal(pyLoadsFast(deep), undefined);
  assert.equal(canon(pyLoads(deep)), canon(pyLoadsSlow(deep)));
  assert.throws(() => pyLoads("[[[1]]]", { maxDepth: 2 }), SyntaxError);
  assert.deepEqual(pyLoads("[[1]]", { maxDepth: 2 }), [[1]]);
  assert.equal(pyLoadsFast('{"b": 1, "2": 2}'), undefined);
  assert.deepEqual(Object.keys(pyLoads('{"b": 1, "2": 2}') as object), ["2", "b"]);
  assert.ok(pyLoads("[1.0]") instanceof Array && (pyLoads("[1.0]") as PyValue[])[0] instanceof PyFloat);
  assert.equal(
    typeof pyLoads("[12345678901234567890]") === "object" && (pyLoads("[12345678901234567890]") as [bigint])[0],
    12345678901234567890n,
  );
  assert.ok(Object.is(pyLoads("-0"), 0));
  assert.equal(pyLoadsFast("[NaN]"), undefined);
  assert.ok(Number.isNaN((pyLoads("[NaN]") as number[])[0]));
  assert.throws(() => pyLoads("1" + "0".repeat(5000)), SyntaxError);
});

const ISO_TEMPLATES = [
  "2024-05-06T07:08:09",
  "2024-05-06T07:08:09Z",
  "2024-05-06T07:08:09+02:00",
  "2024-05-06T07:08:09-00:00",
  "2024-05-06T07:08:09.123456",
  "2024-05-06T07:08:09.123456Z",
  "2024-05-06T07:08:09.000001+05:30",
  "2024-02-29T23:59:59.999999-23:59",
  "0001-01-01T00:00:00",
  "9999-12-31T23:59:59.999999+00:00",
  "2024-05-06 07:08:09",
  "20240506T070809",
  "2024-05-06T07:08:09.1234",
];
const ISO_CHARS = "0123456789-:T.+Z 9W,";

Deno.test("parseIsoformat() fast path agrees with the general parser", () => {
  const r = rng(0x150);
  const show = (t: PyDateTime | null) => t === null ? "null" : `${t.isoformat()}|${t.utcOffset}`;
  for (let i = 0; i < 100_000; i++) {
    const chars = [...pick(r, ISO_TEMPLATES)];
    const edits = Math.floor(r() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(r() * chars.length);
      const c = r() < 0.6 ? String(Math.floor(r() * 10)) : ISO_CHARS[Math.floor(r() * ISO_CHARS.length)]!;
      const op = r();
      if (op < 0.7) chars[at] = c;
      else if (op < 0.85) chars.splice(at, 1);
      else chars.splice(at, 0, c);
    }
    const s = chars.join("");
    assert.equal(show(parseIsoformat(s)), show(parseIsoformatSlow(s)), JSON.stringify(s));
  }
});

/** The calendar fields of an instant, the plain way (a new Date each time). */
function fieldsOf(us: number, aware: boolean): string {
  us = Math.floor(us);
  const micro = ((us % 1000) + 1000) % 1000;
  const d = new Date((us - micro) / 1000);
  return new PyDateTime({
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    microsecond: d.getUTCMilliseconds() * 1000 + micro,
    utcOffset: aware ? 0 : null,
  }).isoformat();
}

Deno.test("PyDateTime.fromEpochMicroseconds() gives the same fields however instants are ordered", () => {
  const r = rng(0xe90c);
  for (let i = 0; i < 20_000; i++) {
    // Runs of instants within a second, and jumps, forwards and backwards, before 1970 and up to year 9999.
    const us = r() < 0.5 ? 1_700_000_000_000_000 + r() * 3_000_000 : (r() - 0.3) * 3.5e17;
    const aware = r() < 0.5;
    let expected: string;
    try {
      expected = fieldsOf(us, aware);
    } catch (err) {
      expected = (err as Error).name;
    }
    let got: string;
    try {
      const t = PyDateTime.fromEpochMicroseconds(us, aware);
      got = t.isoformat();
      if (Math.abs(us) < 2 ** 52) {
        assert.equal(t.epochMicroseconds(), Math.floor(us));
        assert.equal(t.toDate().getTime(), Math.floor(Math.floor(us) / 1000));
      }
    } catch (err) {
      got = (err as Error).name;
    }
    assert.equal(got, expected, String(us));
  }
  const old = new PyDateTime({ year: 50, month: 3, day: 1, hour: 1, microsecond: 7, utcOffset: 3_600_000_000 });
  assert.equal(old.toDate().toISOString(), "0050-03-01T00:00:00.000Z");
  assert.throws(() => PyDateTime.fromEpochMicroseconds(-1e20), RangeError);
});

Deno.test("frameText() with its quick decoder accepts and refuses exactly what strict UTF-8 does", () => {
  const r = rng(0x7e7);
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const samples = [
    new Uint8Array([0xef, 0xbb, 0xbf, 0x61]),
    new TextEncoder().encode("\ufffd ok"),
    new Uint8Array([0xff]),
  ];
  for (let i = 0; i < 20_000; i++) {
    const n = Math.floor(r() * 12);
    const bytes = new Uint8Array(n);
    for (let j = 0; j < n; j++) bytes[j] = r() < 0.6 ? 0x20 + Math.floor(r() * 0x5f) : Math.floor(r() * 256);
    samples.push(bytes);
  }
  for (const bytes of samples) {
    let expected: string;
    try {
      expected = `ok ${strict.decode(bytes)}`;
    } catch {
      expected = "ProtocolError";
    }
    let got: string;
    try {
      got = `ok ${frameText(bytes)}`;
    } catch (err) {
      assert.ok(err instanceof ProtocolError);
      got = "ProtocolError";
    }
    assert.equal(got, expected, String(bytes));
  }
});

Deno.test("encodeMessage() writes what encodeFrame() writes for the same fields", () => {
  const r = rng(0xf4a3e);
  for (let i = 0; i < 5_000; i++) {
    const data = randomValue(r, 1);
    const time = PyDateTime.fromEpochMicroseconds(Math.floor(r() * 2e15), r() < 0.5);
    const version = pick(r, [undefined, undefined, "v1.01", "v1.2", "v1.1"]);
    const init = { subject: pick(r, ["/a", "/counter/json"]), type: "info", sender: "u@h", time, version, data };
    const expected = outcome(
      () =>
        encodeFrame({
          subject: init.subject,
          type: init.type,
          sender: init.sender,
          time,
          version: renderVersion(version, undefined, data, data instanceof Uint8Array),
          data,
          binary: false,
        }),
      String,
    );
    const got = outcome(() => encodeMessage(init), String);
    // Errors may name the action differently ("Creating" vs "Encoding"); their kind must match.
    if (expected.startsWith("ok") || got.startsWith("ok")) assert.equal(got, expected, `message #${i}`);
    else assert.equal(got.split(":")[0], expected.split(":")[0], `message #${i}`);
    if (got.startsWith("ok")) {
      const msg = PosttrollMessage.decode(got.slice(3));
      assert.equal(msg.encode(), PosttrollMessage.decode(msg.encode()).encode());
    }
  }
});

const WS_CHARS = [
  " ",
  " ",
  " ",
  "  ",
  "\t",
  "\n",
  "\v",
  "\f",
  "\r",
  "\x1c",
  "\x1f",
  "\x85",
  "\xa0",
  "\u2003",
  "\u3000",
];
const FIELD_CHARS = ["a", "/", "@", ".", "é", "\x7f", "\x00", "\u2028"];

Deno.test("decodeFrame()'s quick field split agrees with Python's split wherever it answers", () => {
  const r = rng(0x5b17);
  let quick = 0;
  for (let i = 0; i < 30_000; i++) {
    const n = 4 + Math.floor(r() * 5);
    let s = "pytroll:/" + (r() < 0.1 ? pick(r, WS_CHARS) : "");
    for (let f = 0; f < n; f++) {
      const len = r() < 0.97 ? 1 + Math.floor(r() * 4) : 0;
      for (let c = 0; c < len; c++) s += r() < 0.97 ? "x" : pick(r, FIELD_CHARS);
      if (f < n - 1) s += r() < 0.97 ? " " : pick(r, WS_CHARS);
    }
    if (r() < 0.2) s += pick(r, WS_CHARS);
    const fast = quickSplit(s, 9);
    if (fast === undefined) continue;
    quick++;
    assert.deepEqual(fast, pySplit(s, 9), JSON.stringify(s));
  }
  assert.ok(quick > 3_000, `quick split taken ${quick} times`);
});

Deno.test("pyLoadsDeferred() judges every text now as pyLoads() does, and gives the same values later", () => {
  const r = rng(0xdefe);
  let deferred = 0;
  const texts: string[] = [];
  for (let i = 0; i < 30_000; i++) {
    let text = randomJson(r, 0);
    if (r() < 0.05) text = ` ${text} `;
    if (r() < 0.02) text = text.slice(0, Math.floor(r() * text.length));
    texts.push(text);
  }
  // Around the length where deferring stops, and what JSON.parse accepts but Python does not.
  texts.push(
    "[" + "1, ".repeat(332) + "1]",
    "[" + "1, ".repeat(333) + "1]",
    "[".repeat(999) + "]".repeat(999),
    "[".repeat(1001) + "]".repeat(1001),
    "1" + "0".repeat(4400),
    '{"a": NaN}',
    '{"a": -Infinity, "t": "2024-05-06T07:08:09"}',
    '{"b": 1.0, "1": 2, "__proto__": 3}',
    "[12345678901234567890, -0, 1e400]",
  );
  for (const text of texts) {
    for (const datetimes of [false, true]) {
      const expected = outcome(() => pyLoads(text, { datetimes }), canon);
      let load: (() => PyValue) | undefined;
      const judged = outcome(() => (load = pyLoadsDeferred(text, { datetimes })), () => "");
      if (load === undefined) {
        assert.equal(judged, expected, JSON.stringify(text));
        continue;
      }
      deferred++;
      // Accepted now: the values come later, without an error, the same twice.
      const v = load();
      assert.equal(`ok ${canon(v)}`, expected, `${JSON.stringify(text)} datetimes=${datetimes}`);
      assert.equal(load(), v);
    }
  }
  assert.ok(deferred > 10_000, `accepted ${deferred} times`);
});

Deno.test("a received JSON payload is made on first use, equal to decodeFrame()'s, and re-encodes the same", () => {
  const frames = [
    'pytroll://a file u@h 2026-11-22T01:23:44.735050+00:00 v1.2 application/json {"t": "2024-05-06T07:08:09+00:00", "f": 1.0, "big": 12345678901234567890, "2": [NaN]}',
    'pytroll://a file u@h 2026-11-22T01:23:44.735050 v1.01 application/json {"uri": "file:///x.nc", "n": [8, 1.5, null, true]}',
    "pytroll://a file u@h 2026-11-22T01:23:44.735050 v1.01 application/json [1, 2]",
  ];
  for (const f of frames) {
    const msg = PosttrollMessage.decode(new TextEncoder().encode(f));
    assert.equal(canon(msg.payload), canon(decodeFrame(f).payload));
    assert.equal(msg.payload, msg.payload, "the same value on every read");
    assert.equal(msg.encode(), f);
  }
  // A malformed JSON part still fails at decode, not at first use.
  assert.throws(
    () => PosttrollMessage.decode('pytroll://a file u@h 2026-11-22T01:23:44 v1.01 application/json {"a": 1.}'),
    ProtocolError,
  );
});

Deno.test("PyDateTime.epochMicroseconds() agrees with Date's calendar over years 1 to 9999", () => {
  const r = rng(0xca1e);
  const cases: [number, number, number][] = [
    [1, 1, 1],
    [9999, 12, 31],
    [1970, 1, 1],
    [1969, 12, 31],
    [2000, 2, 29],
    [1900, 3, 1],
    [99, 2, 28],
    [100, 3, 1],
  ];
  for (let i = 0; i < 20_000; i++) {
    const year = 1 + Math.floor(r() * 9999);
    const month = 1 + Math.floor(r() * 12);
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
    cases.push([year, month, 1 + Math.floor(r() * days)]);
  }
  for (const [year, month, day] of cases) {
    const hour = Math.floor(r() * 24);
    const minute = Math.floor(r() * 60);
    const second = Math.floor(r() * 60);
    const microsecond = Math.floor(r() * 1_000_000);
    const utcOffset = r() < 0.5 ? null : (Math.floor(r() * 47) - 23) * 3_600_000_000;
    const t = new PyDateTime({ year, month, day, hour, minute, second, microsecond, utcOffset });
    const d = new Date(0);
    d.setUTCFullYear(year, month - 1, day);
    d.setUTCHours(hour, minute, second, 0);
    const expected = d.getTime() * 1000 + microsecond - (utcOffset ?? 0);
    assert.equal(t.epochMicroseconds(), expected, t.isoformat());
    assert.equal(t.toDate().getTime(), Math.floor(expected / 1000));
  }
});
