/**
 * RFC 6455 (WebSocket) opening handshake on the client side, as pure
 * functions: the URL and subprotocol checks the WHATWG constructor makes,
 * the key, the request, and the check of the server's answer. No I/O:
 * {@linkcode NoDelayWebSocket} moves the bytes.
 *
 * @module
 */

import { encodeBase64 } from "./base64.ts";
import { ProtocolError } from "./errors.ts";

/** The GUID of RFC 6455 §1.3 that the server appends to the key. */
const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** The largest handshake answer read before giving up. */
export const MAX_HANDSHAKE_BYTES = 16 * 1024;

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Checks a WebSocket URL as the WHATWG `WebSocket` constructor does: `http:`
 * becomes `ws:` and `https:` `wss:`; other schemes and fragments are refused.
 *
 * @param url The URL.
 * @returns The parsed URL, with a `ws:` or `wss:` scheme.
 * @throws {DOMException} `SyntaxError` on an invalid URL, scheme or a fragment.
 */
export function parseWebSocketUrl(url: string | URL): URL {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new DOMException(`Opening a WebSocket failed: ${String(url)} is not a URL`, "SyntaxError");
  }
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new DOMException(`Opening a WebSocket failed: the scheme of ${u.href} is not ws: or wss:`, "SyntaxError");
  }
  if (u.hash !== "" || String(url).includes("#")) {
    throw new DOMException(`Opening a WebSocket failed: ${u.href} has a fragment`, "SyntaxError");
  }
  return u;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Checks the subprotocols as the WHATWG `WebSocket` constructor does: each a
 * token, no duplicates (compared case-insensitively).
 *
 * @param protocols One name or a list.
 * @returns The list.
 * @throws {DOMException} `SyntaxError` on an invalid or repeated name.
 */
export function checkProtocols(protocols: string | readonly string[] | undefined): string[] {
  const list = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : [...protocols];
  const seen = new Set<string>();
  for (const p of list) {
    if (typeof p !== "string" || !TOKEN.test(p)) {
      throw new DOMException(
        `Opening a WebSocket failed: ${JSON.stringify(p)} is not a subprotocol name`,
        "SyntaxError",
      );
    }
    const k = p.toLowerCase();
    if (seen.has(k)) throw new DOMException(`Opening a WebSocket failed: subprotocol ${p} is repeated`, "SyntaxError");
    seen.add(k);
  }
  return list;
}

/**
 * A fresh `Sec-WebSocket-Key`: 16 random bytes in base64.
 *
 * @returns The key.
 */
export function newHandshakeKey(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * The `Sec-WebSocket-Accept` a server must answer to `key` (RFC 6455 §4.2.2).
 *
 * @param key The key sent.
 * @returns base64(SHA-1(key + GUID)).
 */
export async function acceptFor(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", encoder.encode(key + ACCEPT_GUID)));
  return encodeBase64(digest);
}

/**
 * The opening handshake request (RFC 6455 §4.1).
 *
 * @param url The `ws:`/`wss:` URL.
 * @param key The `Sec-WebSocket-Key`.
 * @param protocols The subprotocols offered.
 * @param headers Extra request headers.
 * @returns The request's bytes.
 */
export function handshakeRequest(
  url: URL,
  key: string,
  protocols: readonly string[],
  headers?: Iterable<[string, string]>,
): Uint8Array {
  const lines = [
    `GET ${url.pathname || "/"}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ];
  if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(", ")}`);
  for (const [k, v] of headers ?? []) {
    if (/[\r\n:]/.test(k) || /[\r\n]/.test(v)) {
      throw new TypeError(`Opening a WebSocket failed: header ${JSON.stringify(k)} is not a valid header`);
    }
    lines.push(`${k}: ${v}`);
  }
  return encoder.encode(lines.join("\r\n") + "\r\n\r\n");
}

/** A server's answer to the opening handshake. */
export interface HandshakeResponse {
  /** The status code. */
  readonly status: number;
  /** The headers, lower-cased names, repeated ones joined with `, `. */
  readonly headers: ReadonlyMap<string, string>;
  /** How many bytes the answer took (frames may follow). */
  readonly length: number;
}

/**
 * Reads the answer to the opening handshake from the bytes received so far.
 *
 * @param bytes The bytes received.
 * @returns The answer, or `undefined` when its end has not arrived yet.
 * @throws {ProtocolError} When the answer is not HTTP/1.1 or longer than 16 KiB.
 */
export function parseHandshakeResponse(bytes: Uint8Array): HandshakeResponse | undefined {
  let end = -1;
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) {
    if (bytes.length > MAX_HANDSHAKE_BYTES) {
      throw new ProtocolError(`Opening a WebSocket failed: the server's answer is over ${MAX_HANDSHAKE_BYTES} bytes`);
    }
    return undefined;
  }
  if (end > MAX_HANDSHAKE_BYTES) {
    throw new ProtocolError(`Opening a WebSocket failed: the server's answer is over ${MAX_HANDSHAKE_BYTES} bytes`);
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes.subarray(0, end - 4));
  } catch {
    throw new ProtocolError("Opening a WebSocket failed: the server's answer is not text");
  }
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
  if (m === null) {
    throw new ProtocolError(
      `Opening a WebSocket failed: ${JSON.stringify(lines[0]!.slice(0, 80))} is not an HTTP status line`,
    );
  }
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0 || /^\s/.test(line)) {
      throw new ProtocolError(`Opening a WebSocket failed: ${JSON.stringify(line.slice(0, 80))} is not a header`);
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { status: Number(m[1]), headers, length: end };
}

/**
 * Checks the server's answer (RFC 6455 §4.1, client requirements 1–6).
 *
 * @param res The answer.
 * @param accept The expected `Sec-WebSocket-Accept` ({@linkcode acceptFor}).
 * @param protocols The subprotocols offered.
 * @param url The URL, for messages.
 * @returns The subprotocol the server chose, or `""`.
 * @throws {ProtocolError} When the server did not switch protocols properly.
 */
export function checkHandshake(
  res: HandshakeResponse,
  accept: string,
  protocols: readonly string[],
  url: string,
): string {
  const fail = (why: string): never => {
    throw new ProtocolError(`Opening a WebSocket to ${url} failed: ${why}`);
  };
  if (res.status !== 101) fail(`the server answered status ${res.status}, not 101`);
  const h = res.headers;
  if ((h.get("upgrade") ?? "").toLowerCase() !== "websocket") fail("the answer has no Upgrade: websocket");
  const connection = (h.get("connection") ?? "").toLowerCase().split(",").map((s) => s.trim());
  if (!connection.includes("upgrade")) fail("the answer has no Connection: Upgrade");
  if (h.get("sec-websocket-accept") !== accept) fail("Sec-WebSocket-Accept does not match the key");
  const ext = h.get("sec-websocket-extensions");
  if (ext !== undefined && ext !== "") fail(`the server chose extension ${ext}, which was not offered`);
  const chosen = h.get("sec-websocket-protocol") ?? "";
  if (chosen !== "" && !protocols.includes(chosen)) {
    fail(`the server chose subprotocol ${chosen}, which was not offered`);
  }
  return chosen;
}
