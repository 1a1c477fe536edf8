/**
 * Base64 (RFC 4648 §4) and base64url (§5) by table: several times faster
 * than `btoa(String.fromCharCode(...))` for the short codes and digests
 * sent with every message, with no limit on the input's size, and a strict
 * decoder that answers `undefined` instead of throwing.
 *
 * @module
 */

const STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Two characters for each 12-bit value, one table per alphabet. */
function pairs(alphabet: string): string[] {
  return Array.from({ length: 4096 }, (_, v) => alphabet[v >> 6]! + alphabet[v & 63]!);
}
const STANDARD_PAIRS = pairs(STANDARD);
const URL_PAIRS = pairs(URL_SAFE);

/** The 6-bit value of each character code below 128 in the alphabets given, -1 for any other. */
function values(...alphabets: string[]): Int8Array {
  const out = new Int8Array(128).fill(-1);
  for (const a of alphabets) for (let v = 0; v < 64; v++) out[a.charCodeAt(v)] = v;
  return out;
}
const DECODE_TABLES = {
  standard: values(STANDARD),
  url: values(URL_SAFE),
  either: values(STANDARD, URL_SAFE),
} as const;

/** Options of {@linkcode encodeBase64}. */
export interface EncodeBase64Options {
  /** Use the URL-safe alphabet (`-` and `_` for `+` and `/`). Default `false`. */
  url?: boolean | undefined;
  /** End with `=` padding to a multiple of 4 characters. Default `true`. */
  pad?: boolean | undefined;
}

/**
 * Encodes bytes as base64.
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "./base64.ts";
 *
 * const bytes = new Uint8Array([251, 255, 254]);
 * console.log(encodeBase64(bytes)); // "+//+"
 * console.log(encodeBase64(bytes.subarray(0, 2), { url: true, pad: false })); // "-_8"
 * ```
 *
 * @param bytes The bytes.
 * @param options The alphabet and padding.
 * @returns The text.
 */
export function encodeBase64(bytes: Uint8Array, options: EncodeBase64Options = {}): string {
  const url = options.url === true;
  const table = url ? URL_PAIRS : STANDARD_PAIRS;
  const alphabet = url ? URL_SAFE : STANDARD;
  const pad = options.pad !== false;
  const n = bytes.length;
  let s = "";
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += table[v >> 12]! + table[v & 0xfff]!;
  }
  if (i + 1 === n) {
    s += table[bytes[i]! << 4]!;
    if (pad) s += "==";
  } else if (i + 2 === n) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    s += table[v >> 12]! + alphabet[(v >> 6) & 63]!;
    if (pad) s += "=";
  }
  return s;
}

/** The alphabets {@linkcode decodeBase64} accepts. */
export type Base64Alphabet = "standard" | "url" | "either";

/** Options of {@linkcode decodeBase64}. */
export interface DecodeBase64Options {
  /**
   * The characters accepted: `"standard"` (`+` `/`), `"url"` (`-` `_`), or
   * `"either"` (both, even mixed). Default `"standard"`.
   */
  alphabet?: Base64Alphabet | undefined;
}

/**
 * Decodes base64, strictly: any character outside the alphabet (whitespace
 * included), `=` anywhere but at the end, more than two `=`, padding that
 * does not end the text on a multiple of 4 characters, or a length that
 * leaves one character over refuses the text. Padding may be left out. Bits
 * left over after the last whole byte are ignored, as `atob` does.
 *
 * @example
 * ```ts
 * import { decodeBase64 } from "./base64.ts";
 *
 * console.log(decodeBase64("+//+")); // Uint8Array(3) [ 251, 255, 254 ]
 * console.log(decodeBase64("-_8", { alphabet: "url" })); // Uint8Array(2) [ 251, 255 ]
 * console.log(decodeBase64("-_8")); // undefined (not the standard alphabet)
 * console.log(decodeBase64("+/8==")); // undefined (padding past a multiple of 4)
 * ```
 *
 * @param text The text.
 * @param options The alphabet.
 * @returns The bytes, or `undefined` when the text is not base64 of that alphabet.
 */
export function decodeBase64(text: string, options: DecodeBase64Options = {}): Uint8Array<ArrayBuffer> | undefined {
  const table = DECODE_TABLES[options.alphabet ?? "standard"];
  if (table === undefined) return undefined;
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 61) {
    end--;
    if (end > 0 && text.charCodeAt(end - 1) === 61) end--;
    if (text.length % 4 !== 0) return undefined;
  }
  if (end % 4 === 1) return undefined;
  const out = new Uint8Array((end * 3) >> 2);
  let at = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? table[c]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
