/**
 * A JSON-with-comments reader that keeps where every value starts, so a
 * configuration's mistakes can be reported with their line and column.
 *
 * @module
 */

/** A parsed value and where it starts (1-based line and column). */
export type JsoncNode =
  | JsoncScalar
  | JsoncObject
  | JsoncArray;

interface At {
  /** The line (from 1). */
  readonly line: number;
  /** The column (from 1, in UTF-16 code units). */
  readonly column: number;
}

/** A string, number, boolean or null. */
export interface JsoncScalar extends At {
  /** The kind. */
  readonly type: "string" | "number" | "boolean" | "null";
  /** The value. */
  readonly value: string | number | boolean | null;
}

/** One member of an object. */
export interface JsoncEntry {
  /** The key. */
  readonly key: string;
  /** Where the key starts. */
  readonly at: At;
  /** The value. */
  readonly node: JsoncNode;
}

/** An object, its members in the order written. */
export interface JsoncObject extends At {
  /** The kind. */
  readonly type: "object";
  /** The members. */
  readonly entries: readonly JsoncEntry[];
}

/** An array. */
export interface JsoncArray extends At {
  /** The kind. */
  readonly type: "array";
  /** The items. */
  readonly items: readonly JsoncNode[];
}

/** A syntax error, with where it was found. */
export class JsoncSyntaxError extends SyntaxError {
  /** The error's name. */
  override name: string = "JsoncSyntaxError";
  /** The line (from 1). */
  readonly line: number;
  /** The column (from 1). */
  readonly column: number;
  /** The reason, without the position. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param reason What is wrong.
   * @param line The line.
   * @param column The column.
   */
  constructor(reason: string, line: number, column: number) {
    super(`${reason} at line ${line}, column ${column}`);
    this.reason = reason;
    this.line = line;
    this.column = column;
  }
}

/** Nesting deeper than this is refused (a configuration never needs it; it bounds the recursion). */
const MAX_DEPTH = 64;

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Reader {
  readonly #text: string;
  #i = 0;
  #line = 1;
  #lineStart = 0;

  constructor(text: string) {
    this.#text = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  #at(): At {
    return { line: this.#line, column: this.#i - this.#lineStart + 1 };
  }

  #fail(reason: string, at: At = this.#at()): never {
    throw new JsoncSyntaxError(reason, at.line, at.column);
  }

  #advance(): void {
    if (this.#text.charCodeAt(this.#i) === 0x0a) {
      this.#line++;
      this.#lineStart = this.#i + 1;
    }
    this.#i++;
  }

  /** Skips whitespace and comments. */
  #skip(): void {
    const t = this.#text;
    while (this.#i < t.length) {
      const c = t[this.#i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") {
        this.#advance();
      } else if (c === "/" && t[this.#i + 1] === "/") {
        while (this.#i < t.length && t[this.#i] !== "\n") this.#i++;
      } else if (c === "/" && t[this.#i + 1] === "*") {
        const start = this.#at();
        this.#i += 2;
        while (this.#i < t.length && !(t[this.#i] === "*" && t[this.#i + 1] === "/")) this.#advance();
        if (this.#i >= t.length) this.#fail("The comment is not closed (*/ is missing)", start);
        this.#i += 2;
      } else {
        return;
      }
    }
  }

  #describe(): string {
    const c = this.#text[this.#i];
    return c === undefined ? "the end of the file" : JSON.stringify(c);
  }

  document(): JsoncNode {
    this.#skip();
    if (this.#i >= this.#text.length) this.#fail("The file is empty: a JSON value is expected");
    const node = this.#value(0);
    this.#skip();
    if (this.#i < this.#text.length) this.#fail(`Unexpected ${this.#describe()} after the value`);
    return node;
  }

  #value(depth: number): JsoncNode {
    if (depth > MAX_DEPTH) this.#fail(`Nesting deeper than ${MAX_DEPTH} levels`);
    const at = this.#at();
    const c = this.#text[this.#i];
    if (c === "{") return this.#object(at, depth);
    if (c === "[") return this.#array(at, depth);
    if (c === '"') return { type: "string", value: this.#string(), ...at };
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return { type: "number", value: this.#number(), ...at };
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.#text.startsWith(word, this.#i)) {
        this.#i += word.length;
        return { type: value === null ? "null" : "boolean", value, ...at };
      }
    }
    if (c === "'") this.#fail("Strings take double quotes, not single quotes");
    return this.#fail(`Unexpected ${this.#describe()}: a value is expected`);
  }

  #object(at: At, depth: number): JsoncObject {
    this.#i++;
    const entries: JsoncEntry[] = [];
    const seen = new Set<string>();
    while (true) {
      this.#skip();
      if (this.#text[this.#i] === "}") {
        this.#i++;
        return { type: "object", entries, ...at };
      }
      const keyAt = this.#at();
      if (this.#text[this.#i] !== '"') {
        this.#fail(`Unexpected ${this.#describe()}: a key in double quotes or } is expected`);
      }
      const key = this.#string();
      if (seen.has(key)) this.#fail(`The key ${JSON.stringify(key)} is given twice`, keyAt);
      seen.add(key);
      this.#skip();
      if (this.#text[this.#i] !== ":") this.#fail(`Unexpected ${this.#describe()}: ":" is expected after the key`);
      this.#i++;
      this.#skip();
      entries.push({ key, at: keyAt, node: this.#value(depth + 1) });
      this.#skip();
      const c = this.#text[this.#i];
      if (c === ",") this.#i++;
      else if (c !== "}") this.#fail(`Unexpected ${this.#describe()}: "," or "}" is expected`);
    }
  }

  #array(at: At, depth: number): JsoncArray {
    this.#i++;
    const items: JsoncNode[] = [];
    while (true) {
      this.#skip();
      if (this.#text[this.#i] === "]") {
        this.#i++;
        return { type: "array", items, ...at };
      }
      items.push(this.#value(depth + 1));
      this.#skip();
      const c = this.#text[this.#i];
      if (c === ",") this.#i++;
      else if (c !== "]") this.#fail(`Unexpected ${this.#describe()}: "," or "]" is expected`);
    }
  }

  #string(): string {
    const t = this.#text;
    const start = this.#at();
    this.#i++;
    let out = "";
    let from = this.#i;
    while (true) {
      if (this.#i >= t.length) this.#fail("The string is not closed", start);
      const code = t.charCodeAt(this.#i);
      if (code === 0x22) {
        out += t.slice(from, this.#i);
        this.#i++;
        return out;
      }
      if (code < 0x20) this.#fail("A control character (a line break?) inside a string: escape it");
      if (code === 0x5c) {
        out += t.slice(from, this.#i);
        const e = t[this.#i + 1];
        if (e === "u") {
          const hex = t.slice(this.#i + 2, this.#i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.#fail("\\u must be followed by 4 hex digits");
          out += String.fromCharCode(parseInt(hex, 16));
          this.#i += 6;
        } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          out += ESCAPES[e];
          this.#i += 2;
        } else {
          this.#fail(`Unknown escape \\${e ?? ""}`);
        }
        from = this.#i;
        continue;
      }
      this.#i++;
    }
  }

  #number(): number {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.#text.slice(this.#i, this.#i + 400));
    if (m === null) this.#fail("Invalid number");
    const next = this.#text[this.#i + m[0].length];
    if (next !== undefined && /[0-9A-Za-z_.]/.test(next)) this.#fail("Invalid number");
    this.#i += m[0].length;
    return Number(m[0]);
  }
}

/**
 * Parses JSON with comments (`//` and `/* *\/`) and trailing commas, keeping
 * where each value and key starts. Duplicate keys are refused.
 *
 * @param text The document.
 * @returns Its root node.
 * @throws {JsoncSyntaxError} With the line and column of the first mistake.
 */
export function parseJsonc(text: string): JsoncNode {
  return new Reader(text).document();
}

/**
 * The plain value of a node.
 *
 * @param node A parsed node.
 * @returns The value, as `JSON.parse` would give it.
 */
export function plainValue(node: JsoncNode): unknown {
  switch (node.type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) {
        Object.defineProperty(out, e.key, { value: plainValue(e.node), enumerable: true, writable: true });
      }
      return out;
    }
    case "array":
      return node.items.map(plainValue);
    default:
      return node.value;
  }
}
