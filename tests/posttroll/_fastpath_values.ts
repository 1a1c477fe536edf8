// The random Python values the fast-path tests (fastpath_json_test.ts, fastpath_frame_test.ts) feed the codec, and
// the type-tagged rendering they compare results by.
import { PyDateTime } from "../../src/posttroll/datetime.ts";
import { pyEntries, PyFloat, type PyValue } from "../../src/posttroll/json.ts";

export type Rand = () => number;
export const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;

/** A canonical, type-tagged rendering: tells PyFloat from number, -0 from 0, bigint, datetimes, key order. */
export function canon(v: unknown): string {
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

export function outcome<T>(f: () => T, show: (v: T) => string): string {
  try {
    return `ok ${show(f())}`;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

export const STRINGS = [
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

export const NUMBERS = [
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

export function randomNumber(r: Rand): number {
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

export function randomString(r: Rand): string {
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
export function randomValue(r: Rand, depth: number): unknown {
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
