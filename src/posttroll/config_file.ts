/**
 * Reading PostTroll config files: JSON, and the part of YAML that settings
 * files use (a mapping of names to scalars and lists), with scalars resolved
 * as PyYAML's `safe_load` (YAML 1.1) resolves them. Anything beyond that
 * subset is refused with a message, never read wrongly. Pure: no I/O.
 *
 * @module
 */

/** A value of a config file. */
export type ConfigValue = string | number | boolean | null | ConfigValue[] | { [key: string]: ConfigValue };

const NULL = /^(?:~|null|Null|NULL|)$/;
const BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const INT_DEC = /^[-+]?(?:0|[1-9][0-9_]*)$/;
const INT_OCT = /^[-+]?0[0-7_]+$/;
const INT_HEX = /^[-+]?0x[0-9a-fA-F_]+$/;
const INT_BIN = /^[-+]?0b[01_]+$/;
const FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?)$/;
const FLOAT_SEXAGESIMAL = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/;
const INT_SEXAGESIMAL = /^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$/;
const INF = /^[-+]?\.(?:inf|Inf|INF)$/;
const NAN = /^\.(?:nan|NaN|NAN)$/;

/**
 * A plain (unquoted) scalar as PyYAML's resolver reads it: null, booleans
 * (`yes`/`no`/`on`/`off` too), integers (octal with a leading 0, hex, binary,
 * base 60 as `1:20`, `_` separators), floats, else the string.
 *
 * @param text The scalar, trimmed.
 * @returns The value.
 */
export function resolveScalar(text: string): ConfigValue {
  if (NULL.test(text)) return null;
  if (BOOL_TRUE.test(text)) return true;
  if (BOOL_FALSE.test(text)) return false;
  const sign = text.startsWith("-") ? -1 : 1;
  const digits = text.replace(/^[-+]/, "").replaceAll("_", "");
  if (INT_DEC.test(text)) return sign * Number(digits);
  if (INT_HEX.test(text)) return sign * parseInt(digits.slice(2), 16);
  if (INT_BIN.test(text)) return sign * parseInt(digits.slice(2), 2);
  if (INT_OCT.test(text)) return sign * parseInt(digits, 8);
  if (INT_SEXAGESIMAL.test(text)) return sign * digits.split(":").reduce((acc, d) => acc * 60 + Number(d), 0);
  if (INF.test(text)) return sign * Infinity;
  if (NAN.test(text)) return NaN;
  if (FLOAT.test(text)) return Number(text.replaceAll("_", ""));
  if (FLOAT_SEXAGESIMAL.test(text)) {
    const [whole, fraction] = digits.split(".") as [string, string];
    return sign * (whole.split(":").reduce((acc, d) => acc * 60 + Number(d), 0) + Number(`0.${fraction || "0"}`));
  }
  return text;
}

class Unsupported extends Error {}

function quoted(text: string, at: number): [string, number] {
  const q = text[at]!;
  let out = "";
  let i = at + 1;
  for (;;) {
    if (i >= text.length) throw new Unsupported("an unterminated quoted string");
    const c = text[i]!;
    if (c === q) {
      if (q === "'" && text[i + 1] === "'") {
        out += "'";
        i += 2;
        continue;
      }
      return [out, i + 1];
    }
    if (q === '"' && c === "\\") {
      const e = text[i + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", n: "\n", t: "\t", r: "\r", "0": "\0" };
      if (e !== undefined && e in simple) {
        out += simple[e];
        i += 2;
        continue;
      }
      if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      throw new Unsupported(`the escape \\${e ?? ""}`);
    }
    out += c;
    i++;
  }
}

/** Removes a ` #` comment outside quotes. */
function stripComment(line: string): string {
  let q: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q !== undefined) {
      if (c === q) q = undefined;
    } else if (c === "'" || c === '"') q = c;
    else if (c === "#" && (i === 0 || line[i - 1] === " " || line[i - 1] === "\t")) return line.slice(0, i);
  }
  return line;
}

/** A value written on one line: a quoted string, a flow list of scalars, or a plain scalar. */
function inlineValue(text: string): ConfigValue {
  const t = text.trim();
  if (t.startsWith("'") || t.startsWith('"')) {
    const [s, end] = quoted(t, 0);
    if (t.slice(end).trim() !== "") throw new Unsupported(`text after a quoted string: ${t}`);
    return s;
  }
  if (t.startsWith("[")) {
    if (!t.endsWith("]")) throw new Unsupported(`a flow list over several lines: ${t}`);
    const body = t.slice(1, -1).trim();
    if (body === "") return [];
    const items: ConfigValue[] = [];
    let i = 0;
    while (i <= body.length) {
      while (body[i] === " ") i++;
      let item: ConfigValue;
      if (body[i] === "'" || body[i] === '"') {
        const [s, end] = quoted(body, i);
        item = s;
        i = end;
        while (body[i] === " ") i++;
      } else {
        let j = body.indexOf(",", i);
        if (j < 0) j = body.length;
        const raw = body.slice(i, j).trim();
        if (raw === "") {
          // A trailing comma ends the list, as in PyYAML; an empty item between commas is an error there.
          if (j === body.length && items.length > 0) break;
          throw new Unsupported(`an empty item in a flow list: ${t}`);
        }
        if (/[[\]{}]/.test(raw)) throw new Unsupported(`nested collections in a flow list: ${t}`);
        item = resolveScalar(raw);
        i = j;
      }
      items.push(item);
      if (i >= body.length) break;
      if (body[i] !== ",") throw new Unsupported(`a flow list: ${t}`);
      i++;
    }
    return items;
  }
  if (/^[{&*!|>%@`]/.test(t)) throw new Unsupported(`the construct ${JSON.stringify(t.slice(0, 20))}`);
  if (t.includes(": ") || t.endsWith(":")) throw new Unsupported(`a mapping in a value: ${t}`);
  if (/^-(?: |$)/.test(t)) throw new Unsupported(`a list in a value: ${t}`);
  return resolveScalar(t);
}

/**
 * Parses a config file's text: JSON when it is JSON (a JSON file, or YAML
 * written as JSON), else the YAML subset settings files use: comments, a
 * mapping of names to scalars (plain or quoted), flow lists `[a, b]` and
 * block lists (`- item` lines), and nested mappings by indentation. Anchors,
 * tags, block scalars, flow mappings and several documents are refused.
 *
 * @example
 * ```ts
 * import { parseConfigText } from "./config_file.ts";
 *
 * console.log(parseConfigText("backend: secure_zmq  # CURVE\nnameserver_port: 0x3d15\naddrs:\n  - 127.0.0.1\n"));
 * // { backend: "secure_zmq", nameserver_port: 15637, addrs: [ "127.0.0.1" ] }
 * ```
 *
 * @param text The file's text.
 * @returns The document: a mapping, or `null` for an empty file.
 * @throws {SyntaxError} When the text is neither JSON nor YAML of that subset
 *   (the message says what was not understood and on which line).
 */
export function parseConfigText(text: string): ConfigValue {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed) as ConfigValue;
    } catch { /* not JSON: YAML flow style, refused below */ }
  }
  const lines = text.replace(/^\ufeff/, "").split(/\r?\n/);
  let n = 0;
  try {
    const rows: { indent: number; text: string; line: number }[] = [];
    for (const raw of lines) {
      n++;
      if (raw.includes("\t") && /^\s*\t/.test(raw)) throw new Unsupported("a tab in the indentation");
      const body = stripComment(raw).trimEnd();
      if (body.trim() === "") continue;
      if (body === "---" && rows.length === 0) continue;
      if (body === "---" || body === "...") throw new Unsupported("several documents");
      rows.push({ indent: body.length - body.trimStart().length, text: body.trim(), line: n });
    }
    if (rows.length === 0) return null;
    let at = 0;
    const block = (indent: number): ConfigValue => {
      const first = rows[at]!;
      if (first.text.startsWith("- ") || first.text === "-") {
        const list: ConfigValue[] = [];
        while (at < rows.length && rows[at]!.indent === indent && /^-(?: |$)/.test(rows[at]!.text)) {
          n = rows[at]!.line;
          const item = rows[at]!.text.slice(1).trim();
          at++;
          if (item === "") {
            if (at < rows.length && rows[at]!.indent > indent) list.push(block(rows[at]!.indent));
            else list.push(null);
          } else if (/^[^'"[][^:]*:(?: |$)/.test(item)) throw new Unsupported("a mapping inside a list");
          else list.push(inlineValue(item));
        }
        return list;
      }
      const map: { [key: string]: ConfigValue } = {};
      while (at < rows.length && rows[at]!.indent === indent) {
        const row = rows[at]!;
        n = row.line;
        let key: string;
        let rest: string;
        if (row.text.startsWith("'") || row.text.startsWith('"')) {
          const [k, end] = quoted(row.text, 0);
          if (row.text[end] !== ":") throw new Unsupported("a quoted key without a colon");
          key = k;
          rest = row.text.slice(end + 1);
        } else {
          const m = /^([^:#'"]+?)\s*:(?: (.*)|$)/.exec(row.text);
          if (m === null) throw new Unsupported(`a line that is not "name: value": ${row.text}`);
          key = m[1]!;
          rest = m[2] ?? "";
        }
        if (/^[?&*!|>%@`-]/.test(key)) throw new Unsupported(`the key ${JSON.stringify(key)}`);
        at++;
        let value: ConfigValue;
        if (rest.trim() !== "") value = inlineValue(rest);
        else if (at < rows.length && rows[at]!.indent > indent) value = block(rows[at]!.indent);
        else if (at < rows.length && rows[at]!.indent === indent && /^-(?: |$)/.test(rows[at]!.text)) {
          value = block(indent); // A block list may sit at its key's indentation.
        } else value = null;
        map[key] = value;
      }
      return map;
    };
    const doc = block(rows[0]!.indent);
    if (at < rows.length) {
      n = rows[at]!.line;
      throw new Unsupported("indentation that does not match the lines above");
    }
    return doc;
  } catch (err) {
    if (err instanceof Unsupported) {
      throw new SyntaxError(`line ${n}: ${err.message} is not supported in config files (use JSON for more)`);
    }
    throw err;
  }
}
