/**
 * Python's `json.dumps` (default settings) and `json.loads`, byte for byte:
 * `", "` and `": "` separators, `ensure_ascii` escapes with lowercase hex,
 * Python float repr, bare `NaN`/`Infinity`, big integers, insertion-ordered
 * keys, and PostTroll's greedy datetime decoding. Pure: no I/O.
 *
 * @module
 */

import { parseIsoformat, PyDateTime } from "./datetime.ts";

/**
 * A Python `float` whose value is integral (`1.0`, `1e+16`, `-0.0`): a JS
 * number would write it as an int. The decoder gives these back as
 * `PyFloat` so a message re-encodes to the same bytes; other floats are
 * plain numbers. Arithmetic works through `valueOf()`.
 *
 * @example
 * ```ts
 * import { pyDumps, PyFloat } from "@x/pubsub/posttroll/wire";
 *
 * console.log(pyDumps({ a: new PyFloat(1), b: 1 })); // {"a": 1.0, "b": 1}
 * console.log(new PyFloat(2).valueOf() * 3); // 6
 * ```
 */
export class PyFloat {
  /** The value. */
  readonly value: number;

  /**
   * Wraps a number to be written as a Python float.
   *
   * @param value Any number.
   * @throws {TypeError} When it is not a number.
   */
  constructor(value: number) {
    if (typeof value !== "number") throw new TypeError(`Creating a PyFloat failed: ${String(value)} is not a number`);
    this.value = value;
  }

  /**
   * The number, for arithmetic.
   *
   * @returns The value.
   */
  valueOf(): number {
    return this.value;
  }

  /**
   * The Python repr.
   *
   * @returns The float as Python writes it.
   */
  toString(): string {
    return floatRepr(this.value);
  }

  /**
   * The number, for `JSON.stringify`.
   *
   * @returns The value.
   */
  toJSON(): number {
    return this.value;
  }
}

/**
 * A value of Python JSON data as PostTroll decodes it: `null`, booleans,
 * numbers (ints within ±2^53 and non-integral floats), `bigint` (larger
 * ints), {@linkcode PyFloat} (integral floats), strings,
 * {@linkcode PyDateTime} (strings the greedy decoder turned into datetimes),
 * lists and objects (keys in the order received).
 */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyDateTime
  | PyValue[]
  | { [key: string]: PyValue };

const keyOrders = new WeakMap<object, string[]>();

/**
 * Python float repr: the shortest digits that round-trip, fixed notation
 * for decimal exponents from -4 to 15 (with `.0` where integral), else
 * `d.ddde+XX`.
 *
 * @example
 * ```ts
 * import { floatRepr } from "./json.ts";
 *
 * console.log(floatRepr(1), floatRepr(1e16), floatRepr(0.00001), floatRepr(NaN)); // 1.0 1e+16 1e-05 NaN
 * ```
 *
 * @param x The number.
 * @returns Its Python repr (`NaN`, `Infinity`, `-Infinity` as JSON writes them).
 */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const [mant, exp] = Math.abs(x).toExponential().split("e") as [string, string];
  const ds = mant.replace(".", "");
  const decpt = Number(exp) + 1;
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${ds}`;
    if (decpt >= ds.length) return `${sign}${ds}${"0".repeat(decpt - ds.length)}.0`;
    return `${sign}${ds.slice(0, decpt)}.${ds.slice(decpt)}`;
  }
  const e = decpt - 1;
  const m = ds.length > 1 ? `${ds[0]}.${ds.slice(1)}` : ds;
  return `${sign}${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE_G = /["\\\u0000-\u001f\u007f-\uffff]/g;

/**
 * A string as Python's `json.dumps` writes it with `ensure_ascii=True`.
 *
 * @example
 * ```ts
 * import { pyQuote } from "./json.ts";
 *
 * console.log(pyQuote("é/😀\n")); // "\u00e9/\ud83d\ude00\n"
 * ```
 *
 * @param s The string (lone surrogates are escaped as they are).
 * @returns The quoted, escaped ASCII string.
 */
export function pyQuote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return `"${s.replace(NEEDS_ESCAPE_G, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/** Options of {@linkcode pyDumps}. */
export interface PyDumpsOptions {
  /**
   * The message version the datetimes are written for: up to `v1.01` (string
   * comparison, as Python) the offset is dropped, else kept. Default `v1.2`.
   */
  version?: string | undefined;
}

function keysOf(obj: object): string[] {
  const own = Object.keys(obj);
  const order = keyOrders.get(obj);
  if (order === undefined) return own;
  const present = new Set(own);
  const out = order.filter((k) => present.has(k));
  const listed = new Set(out);
  for (const k of own) if (!listed.has(k)) out.push(k);
  return out;
}

/**
 * The entries of an object in the order {@linkcode pyDumps} writes them:
 * the order received for objects from {@linkcode pyLoads}, else JS order.
 *
 * @example
 * ```ts
 * import { pyEntries, pyLoads } from "@x/pubsub/posttroll/wire";
 *
 * console.log(pyEntries(pyLoads('{"b": 1, "2": 2}') as Record<string, number>)); // [ [ "b", 1 ], [ "2", 2 ] ]
 * ```
 *
 * @param obj The object.
 * @returns Its `[key, value]` pairs.
 */
export function pyEntries<T>(obj: { readonly [key: string]: T }): [string, T][] {
  return keysOf(obj).map((k) => [k, obj[k]!]);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

/** Nesting beyond which the fast paths leave a value to the general code (which finds cycles and limits). */
const FAST_DEPTH = 64;

/** Whether a string is written by `json.dumps` as it is, between quotes (printable ASCII, no `"` or `\\`). */
function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** Keys as written, with their `": "`: keys repeat from message to message. */
const quotedKeys = new Map<string, string>();

function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = (isPlainAscii(k) ? '"' + k + '"' : pyQuote(k)) + ": ";
    if (quotedKeys.size >= 4096) quotedKeys.clear();
    quotedKeys.set(k, q);
  }
  return q;
}

function dumpFast(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case "string":
      // A regex scans long strings faster than a loop; short ones are not worth its call.
      return (v.length > 32 ? !NEEDS_ESCAPE.test(v) : isPlainAscii(v)) ? '"' + v + '"' : pyQuote(v);
    case "number": {
      if (Number.isSafeInteger(v)) return v === 0 ? "0" : String(v);
      // Between 1e-4 and 1e16 JS and Python both write the shortest digits in fixed notation.
      const a = Math.abs(v);
      return a >= 1e-4 && a < 1e16 && !Number.isInteger(v) ? String(v) : floatRepr(v);
    }
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "object":
      break;
    default:
      return undefined;
  }
  if (v === null) return "null";
  if (depth >= FAST_DEPTH) return undefined;
  if (Array.isArray(v)) {
    const n = v.length;
    let out = "[";
    for (let i = 0; i < n; i++) {
      const item = dumpFast(v[i], depth + 1);
      if (item === undefined) return undefined;
      out += i === 0 ? item : ", " + item;
    }
    return out + "]";
  }
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const rec = v as Record<string, unknown>;
    const keys = keysOf(v);
    let out = "{";
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const item = dumpFast(rec[k], depth + 1);
      if (item === undefined) return undefined;
      out += i === 0 ? quoteKey(k) + item : ", " + quoteKey(k) + item;
    }
    return out + "}";
  }
  if (v instanceof PyFloat) return floatRepr(v.value);
  return undefined;
}

/**
 * The fast path of {@linkcode pyDumps}: the same text for data without
 * datetimes, `Map`s or class instances (other than {@linkcode PyFloat}),
 * nested less than 64 deep; `undefined` for anything else, which
 * {@linkcode pyDumpsSlow} writes (or refuses). A result also tells that the
 * data holds no datetime.
 *
 * @param value The data.
 * @returns The JSON text, or `undefined`.
 */
export function pyDumpsFast(value: unknown): string | undefined {
  return dumpFast(value, 0);
}

/**
 * Serialises like Python's `json.dumps(value, default=<posttroll datetime
 * encoder>)`. Accepts what Python JSON data can be: `null`, booleans,
 * numbers (integers within ±2^53 are written as ints, other numbers as
 * Python floats), `bigint`, {@linkcode PyFloat}, strings, arrays, plain
 * objects and `Map`s with string keys (in insertion order; objects decoded
 * by {@linkcode pyLoads} keep the order they were received in), and
 * datetimes ({@linkcode PyDateTime}, or `Date` as an aware UTC value).
 *
 * @example
 * ```ts
 * import { pyDumps } from "@x/pubsub/posttroll/wire";
 *
 * console.log(pyDumps({ k: [1, 2.5, null, true, "é"], empty: {} })); // {"k": [1, 2.5, null, true, "\u00e9"], "empty": {}}
 * ```
 *
 * @param value The data.
 * @param options The version datetimes are written for.
 * @returns The JSON text (ASCII only).
 * @throws {TypeError} On a value Python could not serialise (`undefined`, a
 *   function, a symbol, a non-string `Map` key, a class instance) or a cycle.
 */
export function pyDumps(value: unknown, options: PyDumpsOptions = {}): string {
  return dumpFast(value, 0) ?? pyDumpsSlow(value, options);
}

/**
 * {@linkcode pyDumps} without its fast path: the general serialiser, kept
 * to check the fast path against.
 *
 * @param value The data.
 * @param options The version datetimes are written for.
 * @returns The JSON text (ASCII only).
 * @throws {TypeError} As {@linkcode pyDumps}.
 */
export function pyDumpsSlow(value: unknown, options: PyDumpsOptions = {}): string {
  const version = options.version ?? "v1.2";
  const dropTz = version <= "v1.01";
  const stack = new Set<object>();
  let out = "";
  const write = (v: unknown): void => {
    switch (typeof v) {
      case "string":
        out += pyQuote(v);
        return;
      case "number":
        out += Number.isSafeInteger(v) ? String(v === 0 ? 0 : v) : floatRepr(v);
        return;
      case "bigint":
        out += v.toString();
        return;
      case "boolean":
        out += v ? "true" : "false";
        return;
      case "object":
        break;
      default:
        throw new TypeError(`Encoding JSON failed: a ${typeof v} is not JSON serializable`);
    }
    if (v === null) {
      out += "null";
      return;
    }
    if (v instanceof PyFloat) {
      out += floatRepr(v.value);
      return;
    }
    if (v instanceof PyDateTime || v instanceof Date) {
      const t = v instanceof Date ? PyDateTime.fromDate(v) : v;
      out += pyQuote((dropTz ? t.naive() : t).isoformat());
      return;
    }
    if (stack.has(v)) throw new TypeError("Encoding JSON failed: circular reference detected");
    stack.add(v);
    if (Array.isArray(v)) {
      out += "[";
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ", ";
        write(v[i]);
      }
      out += "]";
    } else if (v instanceof Map) {
      out += "{";
      let first = true;
      for (const [k, item] of v) {
        if (typeof k !== "string") {
          throw new TypeError(`Encoding JSON failed: a Map key of type ${typeof k} is not a string`);
        }
        if (!first) out += ", ";
        first = false;
        out += pyQuote(k) + ": ";
        write(item);
      }
      out += "}";
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`Encoding JSON failed: a ${typeName(v)} is not JSON serializable`);
      }
      out += "{";
      let first = true;
      const rec = v as Record<string, unknown>;
      for (const k of keysOf(v)) {
        if (!first) out += ", ";
        first = false;
        out += pyQuote(k) + ": ";
        write(rec[k]);
      }
      out += "}";
    }
    stack.delete(v);
  };
  write(value);
  return out;
}

/**
 * Tells whether data holds a datetime anywhere (object values, `Map` values
 * and array items, recursively), as PostTroll checks to choose `v1.2`.
 *
 * @example
 * ```ts
 * import { containsDatetime } from "./json.ts";
 *
 * console.log(containsDatetime({ a: [new Date()] }), containsDatetime({ a: "2024-01-01" })); // true false
 * ```
 *
 * @param value The data.
 * @returns Whether a {@linkcode PyDateTime} or `Date` is in it.
 */
export function containsDatetime(value: unknown): boolean {
  // A depth limit instead of a visited set: cycles are refused by pyDumps anyway.
  const walk = (v: unknown, depth: number): boolean => {
    if (typeof v !== "object" || v === null || depth > 1000) return false;
    if (v instanceof PyDateTime || v instanceof Date) return true;
    if (v instanceof PyFloat || v instanceof Uint8Array) return false;
    if (Array.isArray(v)) {
      for (const item of v) if (walk(item, depth + 1)) return true;
      return false;
    }
    if (v instanceof Map) {
      for (const item of v.values()) if (walk(item, depth + 1)) return true;
      return false;
    }
    for (const k in v) {
      if (Object.hasOwn(v, k) && walk((v as Record<string, unknown>)[k], depth + 1)) return true;
    }
    return false;
  };
  return walk(value, 0);
}

/** Options of {@linkcode pyLoads}. */
export interface PyLoadsOptions {
  /**
   * Turn every string that has an object above it (object values, and items
   * of lists inside objects) into a {@linkcode PyDateTime} when
   * `fromisoformat` accepts it, as PostTroll's decoder does. Default false.
   */
  datetimes?: boolean | undefined;
  /** The deepest nesting accepted (Python stops near 1000). Default 1000. */
  maxDepth?: number | undefined;
}

const MAX_INT_DIGITS = 4300;
// deno-lint-ignore no-control-regex
const PLAIN_BREAK = /[\\\u0000-\u001f]/;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

class Parser {
  readonly #s: string;
  #i = 0;
  readonly #datetimes: boolean;
  readonly #maxDepth: number;

  constructor(s: string, options: PyLoadsOptions) {
    this.#s = s;
    this.#datetimes = options.datetimes ?? false;
    this.#maxDepth = options.maxDepth ?? 1000;
  }

  fail(what: string): never {
    throw new SyntaxError(`Parsing JSON failed: ${what} at character ${this.#i}`);
  }

  ws(): void {
    const s = this.#s;
    while (this.#i < s.length && isWs(s.charCodeAt(this.#i))) this.#i++;
  }

  parse(): PyValue {
    this.ws();
    const v = this.value(0, false);
    this.ws();
    if (this.#i !== this.#s.length) this.fail("extra data");
    return v;
  }

  value(depth: number, inDict: boolean): PyValue {
    const s = this.#s;
    const c = s[this.#i];
    switch (c) {
      case "{":
        return this.object(depth + 1);
      case "[":
        return this.array(depth + 1, inDict);
      case '"': {
        const str = this.string();
        if (inDict && this.#datetimes) return parseIsoformat(str) ?? str;
        return str;
      }
      case "n":
        return this.word("null", null);
      case "t":
        return this.word("true", true);
      case "f":
        return this.word("false", false);
      case "N":
        return this.word("NaN", NaN);
      case "I":
        return this.word("Infinity", Infinity);
      case "-":
        if (s.startsWith("-Infinity", this.#i)) return this.word("-Infinity", -Infinity);
        return this.number();
      default:
        if (c !== undefined && c >= "0" && c <= "9") return this.number();
        return this.fail("expecting value");
    }
  }

  word<T extends PyValue>(w: string, v: T): T {
    if (!this.#s.startsWith(w, this.#i)) this.fail("expecting value");
    this.#i += w.length;
    return v;
  }

  number(): PyValue {
    const s = this.#s;
    const start = this.#i;
    let i = start;
    let c = s.charCodeAt(i);
    if (c === 0x2d) c = s.charCodeAt(++i);
    if (c === 0x30) c = s.charCodeAt(++i);
    else if (c >= 0x31 && c <= 0x39) {
      do c = s.charCodeAt(++i); while (c >= 0x30 && c <= 0x39);
    } else {
      this.fail("expecting value");
    }
    const intEnd = i;
    let isFloat = false;
    if (c === 0x2e) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0x30 && d <= 0x39) {
        isFloat = true;
        i += 2;
        c = s.charCodeAt(i);
        while (c >= 0x30 && c <= 0x39) c = s.charCodeAt(++i);
      }
    }
    if (c === 0x65 || c === 0x45) {
      let j = i + 1;
      let d = s.charCodeAt(j);
      if (d === 0x2b || d === 0x2d) d = s.charCodeAt(++j);
      if (d >= 0x30 && d <= 0x39) {
        isFloat = true;
        while (d >= 0x30 && d <= 0x39) d = s.charCodeAt(++j);
        i = j;
      }
    }
    this.#i = i;
    const text = s.slice(start, i);
    if (!isFloat) {
      const n = s.charCodeAt(start) === 0x2d ? intEnd - start - 1 : intEnd - start;
      if (n > MAX_INT_DIGITS) this.fail(`an integer of ${n} digits exceeds the limit of ${MAX_INT_DIGITS}`);
      if (n < 16) {
        const v = +text;
        return v === 0 ? 0 : v;
      }
      const v = Number(text);
      if (Number.isSafeInteger(v)) return v;
      return BigInt(text);
    }
    const f = +text;
    return Number.isInteger(f) ? new PyFloat(f) : f;
  }

  string(): string {
    const s = this.#s;
    // Fast path: no escape and no control character before the closing quote.
    const close = s.indexOf('"', this.#i + 1);
    if (close > 0) {
      const body = s.slice(this.#i + 1, close);
      if (!PLAIN_BREAK.test(body)) {
        this.#i = close + 1;
        return body;
      }
    }
    let i = this.#i + 1;
    let out = "";
    let chunk = i;
    for (;;) {
      if (i >= s.length) {
        this.#i = i;
        this.fail("unterminated string");
      }
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(chunk, i);
        this.#i = i + 1;
        return out;
      }
      if (c < 0x20) {
        this.#i = i;
        this.fail("invalid control character");
      }
      if (c === 0x5c) {
        out += s.slice(chunk, i);
        const e = s[i + 1];
        switch (e) {
          case '"':
          case "\\":
          case "/":
            out += e;
            i += 2;
            break;
          case "b":
            out += "\b";
            i += 2;
            break;
          case "f":
            out += "\f";
            i += 2;
            break;
          case "n":
            out += "\n";
            i += 2;
            break;
          case "r":
            out += "\r";
            i += 2;
            break;
          case "t":
            out += "\t";
            i += 2;
            break;
          case "u": {
            const hex = s.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              this.#i = i;
              this.fail("invalid \\uXXXX escape");
            }
            out += String.fromCharCode(parseInt(hex, 16));
            i += 6;
            break;
          }
          default:
            this.#i = i;
            this.fail("invalid escape");
        }
        chunk = i;
        continue;
      }
      i++;
    }
  }

  array(depth: number, inDict: boolean): PyValue[] {
    if (depth > this.#maxDepth) this.fail("nesting too deep");
    this.#i++;
    const out: PyValue[] = [];
    this.ws();
    if (this.#s[this.#i] === "]") {
      this.#i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth, inDict));
      this.ws();
      const c = this.#s[this.#i];
      if (c === ",") {
        this.#i++;
        continue;
      }
      if (c === "]") {
        this.#i++;
        return out;
      }
      this.fail("expecting ',' delimiter");
    }
  }

  object(depth: number): { [key: string]: PyValue } {
    if (depth > this.#maxDepth) this.fail("nesting too deep");
    this.#i++;
    const out: { [key: string]: PyValue } = {};
    const order: string[] = [];
    let reordered = false;
    this.ws();
    if (this.#s.charCodeAt(this.#i) === 0x7d) {
      this.#i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.#s.charCodeAt(this.#i) !== 0x22) this.fail("expecting property name enclosed in double quotes");
      const key = this.string();
      this.ws();
      if (this.#s.charCodeAt(this.#i) !== 0x3a) this.fail("expecting ':' delimiter");
      this.#i++;
      this.ws();
      const v = this.value(depth, true);
      order.push(key);
      const k0 = key.charCodeAt(0);
      // JS puts integer-like keys first: remember the order received.
      if (k0 >= 0x30 && k0 <= 0x39) reordered = true;
      if (key === "__proto__") {
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      } else out[key] = v;
      this.ws();
      const c = this.#s.charCodeAt(this.#i);
      if (c === 0x2c) {
        this.#i++;
        continue;
      }
      if (c === 0x7d) {
        this.#i++;
        break;
      }
      this.fail("expecting ',' delimiter");
    }
    if (reordered) {
      const first = [...new Set(order)];
      const own = Object.keys(out);
      if (own.some((k, i) => k !== first[i])) keyOrders.set(out, first);
    }
    return out;
  }
}

/**
 * Whether every number in JSON text reads the same with `JSON.parse` as
 * with Python: no integral float (`1.0`, `1e3`, `-0.0`: a `PyFloat` here),
 * no integer of 16 digits or more (maybe a `bigint`). Skips strings; any
 * text is accepted (`JSON.parse` judges it).
 */
function plainNumbers(s: string): boolean {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      for (;;) {
        j = s.indexOf('"', j);
        if (j < 0) return false;
        let k = j - 1;
        while (s.charCodeAt(k) === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j++;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      if (c === 0x2d) i++;
      const first = i;
      let d = s.charCodeAt(i);
      while (d >= 0x30 && d <= 0x39) d = s.charCodeAt(++i);
      if (d === 0x2e || d === 0x65 || d === 0x45) {
        while (
          (d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d
        ) d = s.charCodeAt(++i);
        const f = +s.slice(start, i);
        if (Number.isInteger(f) || f !== f) return false;
      } else if (i - first >= 16) return false;
      continue;
    }
    i++;
  }
  return true;
}

/**
 * Turns what `JSON.parse` made into what the general parser makes, in place:
 * `-0` to `0`, greedy datetimes. `undefined` when it cannot: nesting at the
 * limit, a key starting with a digit (JS reorders integer-like keys), a
 * `__proto__` key.
 */
function reviveFast(v: unknown, depth: number, inDict: boolean, datetimes: boolean, limit: number): unknown {
  if (typeof v === "string") {
    if (inDict && datetimes) return parseIsoformat(v) ?? v;
    return v;
  }
  if (typeof v === "number") return v === 0 ? 0 : v;
  if (typeof v !== "object" || v === null) return v;
  if (depth >= limit) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      const r = reviveFast(item, depth + 1, inDict, datetimes, limit);
      if (r === undefined) return undefined;
      if (r !== item || item === 0) v[i] = r;
    }
    return v;
  }
  const rec = v as Record<string, unknown>;
  const keys = Object.keys(rec);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const c = k.charCodeAt(0);
    if ((c >= 0x30 && c <= 0x39) || k === "__proto__") return undefined;
    const item = rec[k];
    const r = reviveFast(item, depth + 1, true, datetimes, limit);
    if (r === undefined) return undefined;
    if (r !== item || item === 0) rec[k] = r;
  }
  return rec;
}

/**
 * The fast path of {@linkcode pyLoads}: native `JSON.parse` where it gives
 * the same value (no `NaN`/`Infinity`, no integral floats, no integers of
 * 16 digits or more, no keys starting with a digit, nested less than 64
 * deep); `undefined` for anything else, including text that does not
 * parse, which {@linkcode pyLoadsSlow} decides.
 *
 * @param text The JSON text.
 * @param options Greedy datetimes, nesting limit.
 * @returns The value, or `undefined`.
 */
export function pyLoadsFast(text: string, options: PyLoadsOptions = {}): PyValue | undefined {
  if (!plainNumbers(text)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const limit = Math.min(options.maxDepth ?? 1000, FAST_DEPTH);
  return reviveFast(v, 1, false, options.datetimes ?? false, limit) as PyValue | undefined;
}

/**
 * Parses like Python's `json.loads`: bare `NaN`, `Infinity` and `-Infinity`,
 * integers of any size (beyond ±2^53 as `bigint`), integral floats as
 * {@linkcode PyFloat}, duplicate keys (the last value, at the first key's
 * place), no control characters inside strings, at most 4300 digits in an
 * integer. Objects remember their key order for {@linkcode pyDumps}, even
 * where JS would put integer-like keys first.
 *
 * @example
 * ```ts
 * import { pyDumps, pyLoads } from "@x/pubsub/posttroll/wire";
 *
 * const v = pyLoads('{"b": 1.0, "1": NaN, "t": "2024-01-02T03:04:05+00:00"}', { datetimes: true });
 * console.log(pyDumps(v)); // {"b": 1.0, "1": NaN, "t": "2024-01-02T03:04:05+00:00"}
 * ```
 *
 * @param text The JSON text.
 * @param options Greedy datetimes, nesting limit.
 * @returns The value.
 * @throws {SyntaxError} Where Python raises `ValueError` (or `RecursionError`).
 */
export function pyLoads(text: string, options: PyLoadsOptions = {}): PyValue {
  const fast = pyLoadsFast(text, options);
  return fast !== undefined ? fast : pyLoadsSlow(text, options);
}

/**
 * Texts shorter than this cannot hold what `JSON.parse` accepts and Python
 * refuses (an integer of more than 4300 digits, nesting deeper than 1000).
 */
const DEFERRABLE_LENGTH = 1000;

/**
 * {@linkcode pyLoads} in two steps: the text is judged now, exactly as
 * `pyLoads` judges it (a text Python refuses throws here), and the values are
 * made when the returned function is first called. For a text shorter than
 * 1000 characters that `JSON.parse` accepts (for such texts it accepts what
 * Python accepts, except `NaN` and `Infinity`, which the general parser
 * decides now) only that parse runs now; the rest (integral floats, big
 * integers, datetimes, key order) runs on the first call.
 *
 * @param text The JSON text.
 * @param options Greedy datetimes, nesting limit.
 * @returns A function giving the value (the same value on every call); it does not throw.
 * @throws {SyntaxError} Where Python raises `ValueError` (or `RecursionError`).
 */
export function pyLoadsDeferred(text: string, options: PyLoadsOptions = {}): () => PyValue {
  let parsed: unknown;
  if (text.length < DEFERRABLE_LENGTH && (options.maxDepth === undefined || options.maxDepth >= DEFERRABLE_LENGTH)) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (parsed === undefined) {
    const value = pyLoads(text, options);
    return () => value;
  }
  let value: PyValue | undefined;
  return () => {
    if (value !== undefined) return value;
    const fast = plainNumbers(text)
      ? reviveFast(parsed, 1, false, options.datetimes ?? false, FAST_DEPTH) as PyValue | undefined
      : undefined;
    value = fast !== undefined ? fast : pyLoadsSlow(text, options);
    parsed = undefined;
    return value;
  };
}

/**
 * {@linkcode pyLoads} without its fast path: the general parser, kept to
 * check the fast path against.
 *
 * @param text The JSON text.
 * @param options Greedy datetimes, nesting limit.
 * @returns The value.
 * @throws {SyntaxError} As {@linkcode pyLoads}.
 */
export function pyLoadsSlow(text: string, options: PyLoadsOptions = {}): PyValue {
  return new Parser(text, options).parse();
}
