/**
 * Differential tests: every fast path of the codec against the general code
 * it short-cuts, on many seeded random inputs. Where the fast path answers,
 * it must give exactly what the general code gives; where it declines, the
 * public function must still give exactly that (including errors).
 * This file: frames, datetimes and the message encoder.
 */

import assert from "node:assert/strict";
import { rng } from "../_seeded.ts";
import { ProtocolError } from "../../src/core/errors.ts";
import { encodeFrame, frameText, pySplit, quickSplit, renderVersion } from "../../src/posttroll/codec.ts";
import { parseIsoformat, parseIsoformatSlow, PyDateTime } from "../../src/posttroll/datetime.ts";
import { encodeMessage, PosttrollMessage } from "../../src/posttroll/message.ts";
import { outcome, pick, randomValue } from "./_fastpath_values.ts";

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
