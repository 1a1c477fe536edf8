/**
 * Differential tests: every fast path of the codec against the general code
 * it short-cuts, on many seeded random inputs. Where the fast path answers,
 * it must give exactly what the general code gives; where it declines, the
 * public function must still give exactly that (including errors).
 * This file: Python's `json` (pyDumps, pyLoads, deferred payloads).
 */

import assert from "node:assert/strict";
import { rng } from "../_seeded.ts";
import { ProtocolError } from "../../src/core/errors.ts";
import { decodeFrame } from "../../src/posttroll/codec.ts";
import {
  floatRepr,
  pyDumps,
  pyDumpsFast,
  pyDumpsSlow,
  PyFloat,
  pyLoads,
  pyLoadsDeferred,
  pyLoadsFast,
  pyLoadsSlow,
  type PyValue,
} from "../../src/posttroll/json.ts";
import { PosttrollMessage } from "../../src/posttroll/message.ts";
import { canon, NUMBERS, outcome, pick, type Rand, randomValue } from "./_fastpath_values.ts";

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
