/**
 * The `Authorization` header of HMAC-signed messages (timestamp, nonce,
 * signature) and the `Repr-Digest` header carrying a body's SHA-512.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "../core/base64.ts";
import { SHA512_LENGTH } from "./codec.ts";

/** A parsed `X-HMAC ts:nonce:code` authorization. */
export interface HmacAuthorization {
  /** Unix seconds. */
  timestamp: number;
  /** The nonce. */
  nonce: string;
  /** The 64-byte HMAC-SHA512 code. */
  code: Uint8Array;
}

/**
 * Decodes standard or url-safe base64, with or without padding, and with any
 * number of trailing `=` (as the Python peers' decoding accepts).
 *
 * @example
 * ```ts
 * import { base64Decode } from "./authorization_header.ts";
 *
 * console.log(base64Decode("__4")); // Uint8Array(2) [ 255, 254 ]
 * ```
 *
 * @param text The text.
 * @returns The bytes, or `undefined` when it is not base64.
 */
export function base64Decode(text: string): Uint8Array | undefined {
  // Trailing "=" are dropped, whatever their number (core decodeBase64 allows only padding to a multiple of 4).
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  return decodeBase64(end === text.length ? text : text.slice(0, end), { alphabet: "either" });
}

/**
 * Formats an HMAC authorization header value.
 *
 * @example
 * ```ts
 * import { formatHmacAuthorization } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(formatHmacAuthorization({ timestamp: 1, nonce: "n", code: new Uint8Array(64) }).slice(0, 12)); // "X-HMAC 1:n:A"
 * ```
 *
 * @param auth Timestamp, nonce and code.
 * @returns `X-HMAC <ts>:<nonce>:<base64 code>`.
 * @throws {TypeError} When the nonce contains `:`.
 */
export function formatHmacAuthorization(auth: HmacAuthorization): string {
  if (auth.nonce.includes(":")) {
    throw new TypeError(`Formatting an HMAC authorization failed: nonce ${JSON.stringify(auth.nonce)} contains ":"`);
  }
  return `X-HMAC ${Math.floor(auth.timestamp)}:${auth.nonce}:${encodeBase64(auth.code)}`;
}

/**
 * Parses an `X-HMAC ts:nonce:code` header value.
 *
 * @example
 * ```ts
 * import { parseHmacAuthorization } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(parseHmacAuthorization("Bearer x")); // undefined
 * ```
 *
 * @param value The header value.
 * @returns The parts, or `undefined` when it is not a well-formed HMAC authorization.
 */
export function parseHmacAuthorization(value: string): HmacAuthorization | undefined {
  if (!value.startsWith("X-HMAC ")) return undefined;
  const rest = value.slice(7);
  const a = rest.indexOf(":");
  if (a < 0) return undefined;
  const b = rest.indexOf(":", a + 1);
  if (b < 0) return undefined;
  const tsText = rest.slice(0, a);
  if (!/^-?[0-9]{1,15}$/.test(tsText)) return undefined;
  const code = base64Decode(rest.slice(b + 1));
  if (code === undefined || code.length !== SHA512_LENGTH) return undefined;
  return { timestamp: Number(tsText), nonce: rest.slice(a + 1, b), code };
}

/**
 * Formats a `Repr-Digest` header value for a SHA-512.
 *
 * @example
 * ```ts
 * import { formatReprDigest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(formatReprDigest(new Uint8Array(64)).slice(0, 10)); // "sha-512=AA"
 * ```
 *
 * @param sha512 The 64-byte digest.
 * @returns `sha-512=<standard base64>`.
 * @throws {RangeError} When the digest is not 64 bytes.
 */
export function formatReprDigest(sha512: Uint8Array): string {
  if (sha512.length !== SHA512_LENGTH) {
    throw new RangeError(`Formatting a Repr-Digest failed: the digest has ${sha512.length} bytes, not 64`);
  }
  return `sha-512=${encodeBase64(sha512)}`;
}

/**
 * Finds the `sha-512=` entry of a comma-separated `Repr-Digest` header
 * (`sha-512=<b64>` as lonelypss writes it, or the RFC 9530 `sha-512=:<b64>:`).
 *
 * @example
 * ```ts
 * import { formatReprDigest, parseReprDigest } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(parseReprDigest("md5=x, " + formatReprDigest(new Uint8Array(64)))?.length); // 64
 * ```
 *
 * @param value The header value.
 * @returns The 64-byte digest, or `undefined` when there is none or it is malformed.
 */
export function parseReprDigest(value: string | null | undefined): Uint8Array | undefined {
  if (value === null || value === undefined) return undefined;
  let found: Uint8Array | undefined;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() !== "sha-512") continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith(":") && v.endsWith(":") && v.length >= 2) v = v.slice(1, -1);
    const bytes = base64Decode(v);
    if (bytes === undefined || bytes.length !== SHA512_LENGTH) return undefined;
    found = bytes;
  }
  return found;
}
