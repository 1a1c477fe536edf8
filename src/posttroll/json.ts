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
 * import { pyDumps, PyFloat } from "@x/pubsub/posttroll";
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
 * import { floatRepr } from "@x/pubsub/posttroll";
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
 * import { pyQuote } from "@x/pubsub/posttroll";
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
 * import { pyEntries, pyLoads } from "@x/pubsub/posttroll";
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
 * import { pyDumps } from "@x/pubsub/posttroll";
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
 * import { containsDatetime } from "@x/pubsub/posttroll";
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
 * Parses like Python's `json.loads`: bare `NaN`, `Infinity` and `-Infinity`,
 * integers of any size (beyond ±2^53 as `bigint`), integral floats as
 * {@linkcode PyFloat}, duplicate keys (the last value, at the first key's
 * place), no control characters inside strings, at most 4300 digits in an
 * integer. Objects remember their key order for {@linkcode pyDumps}, even
 * where JS would put integer-like keys first.
 *
 * @example
 * ```ts
 * import { pyDumps, pyLoads } from "@x/pubsub/posttroll";
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
  return new Parser(text, options).parse();
}
