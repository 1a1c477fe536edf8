/**
 * RFC 6455 (WebSocket) on the client side, as pure functions: the opening
 * handshake request and the check of its answer, frame encoding with masking,
 * and an incremental decoder that turns the bytes a server sends into whole
 * messages and control frames, validating everything a peer can get wrong
 * (reserved bits, masking, opcodes, fragmentation, control-frame sizes, close
 * codes, UTF-8) and bounding every size. No I/O: {@linkcode NoDelayWebSocket}
 * moves the bytes.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";

/** The frame opcodes of RFC 6455 §5.2. */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** The close codes this client sends or reports (RFC 6455 §7.4.1). */
export const CloseCode = {
  normal: 1000,
  protocolError: 1002,
  noStatus: 1005,
  abnormal: 1006,
  invalidPayload: 1007,
  tooBig: 1009,
} as const;

/** The GUID of RFC 6455 §1.3 that the server appends to the key. */
const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** The largest handshake answer read before giving up. */
export const MAX_HANDSHAKE_BYTES = 16 * 1024;

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Bad bytes from a WebSocket server: a {@linkcode ProtocolError} that also
 * says which close code the client sent for it (1002 protocol error, 1007
 * invalid UTF-8, 1009 too big).
 */
export class WebSocketProtocolError extends ProtocolError {
  /** The error's name, as the class's. */
  override name: string = "WebSocketProtocolError";
  /** The close code sent to the server because of this error. */
  readonly closeCode: number;

  /**
   * Creates the error.
   *
   * @param message What was wrong.
   * @param closeCode The close code it maps to.
   * @param offset Where in the received bytes, where known.
   */
  constructor(message: string, closeCode: number, offset?: number) {
    super(message, offset === undefined ? undefined : { offset });
    this.closeCode = closeCode;
  }
}

/** A decoded message or control frame. */
export type Incoming =
  | { readonly kind: "text"; readonly data: string }
  | { readonly kind: "binary"; readonly data: Uint8Array }
  | { readonly kind: "ping"; readonly data: Uint8Array }
  | { readonly kind: "pong"; readonly data: Uint8Array }
  | { readonly kind: "close"; readonly code: number; readonly reason: string };

/**
 * Whether a close code may appear in a close frame on the wire (RFC 6455
 * §7.4: 1000–1003, 1007–1014 and the 3000–4999 ranges; never 1004, 1005,
 * 1006 or 1015).
 *
 * @param code The code.
 * @returns Whether it is valid on the wire.
 */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

/**
 * Encodes one frame. Client frames are masked with the 4-byte `mask`
 * (RFC 6455 §5.3); without a mask the frame is a server's (for tests).
 *
 * @param opcode The opcode.
 * @param payload The payload (not modified).
 * @param mask 4 random bytes, or `undefined` for an unmasked frame.
 * @param fin Whether this is the final fragment. Default true.
 * @returns The frame's bytes.
 */
export function encodeFrame(opcode: number, payload: Uint8Array, mask: Uint8Array | undefined, fin = true): Uint8Array {
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const header = 2 + lenBytes + (mask === undefined ? 0 : 4);
  const out = new Uint8Array(header + len);
  out[0] = (fin ? 0x80 : 0) | (opcode & 0x0f);
  if (lenBytes === 0) out[1] = len;
  else if (lenBytes === 2) {
    out[1] = 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 127;
    const hi = Math.floor(len / 0x1_0000_0000);
    const lo = len >>> 0;
    out[2] = hi >>> 24;
    out[3] = (hi >>> 16) & 0xff;
    out[4] = (hi >>> 8) & 0xff;
    out[5] = hi & 0xff;
    out[6] = lo >>> 24;
    out[7] = (lo >>> 16) & 0xff;
    out[8] = (lo >>> 8) & 0xff;
    out[9] = lo & 0xff;
  }
  if (mask === undefined) {
    out.set(payload, header);
    return out;
  }
  out[1] = out[1]! | 0x80;
  const m = header - 4;
  out[m] = mask[0]!;
  out[m + 1] = mask[1]!;
  out[m + 2] = mask[2]!;
  out[m + 3] = mask[3]!;
  maskInto(out, header, payload, mask);
  return out;
}

/** Writes `payload` XOR `mask` into `out` at `offset`. */
function maskInto(out: Uint8Array, offset: number, payload: Uint8Array, mask: Uint8Array): void {
  const len = payload.length;
  const m0 = mask[0]!, m1 = mask[1]!, m2 = mask[2]!, m3 = mask[3]!;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    out[offset + i] = payload[i]! ^ m0;
    out[offset + i + 1] = payload[i + 1]! ^ m1;
    out[offset + i + 2] = payload[i + 2]! ^ m2;
    out[offset + i + 3] = payload[i + 3]! ^ m3;
  }
  for (; i < len; i++) out[offset + i] = payload[i]! ^ mask[i & 3]!;
}

/**
 * The payload of a close frame: the code (big-endian) then the UTF-8 reason;
 * empty when there is no code.
 *
 * @param code The close code, or `undefined` for an empty payload.
 * @param reason The reason (at most 123 bytes of UTF-8).
 * @returns The payload.
 * @throws {RangeError} When the code is not valid on the wire or the reason is too long.
 */
export function encodeClosePayload(code?: number, reason = ""): Uint8Array {
  if (code === undefined) {
    if (reason !== "") throw new RangeError("Encoding a close frame failed: a reason needs a code");
    return new Uint8Array(0);
  }
  if (!isValidCloseCode(code)) throw new RangeError(`Encoding a close frame failed: ${code} is not a valid close code`);
  const text = encoder.encode(reason);
  if (text.length > 123) {
    throw new RangeError(`Encoding a close frame failed: the reason is ${text.length} bytes (at most 123)`);
  }
  const out = new Uint8Array(2 + text.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

/**
 * Reads a close frame's payload.
 *
 * @param payload The payload.
 * @returns The code (1005 when absent) and the reason.
 * @throws {WebSocketProtocolError} On a 1-byte payload or an invalid code (1002), or a reason that is not UTF-8 (1007).
 */
export function decodeClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: CloseCode.noStatus, reason: "" };
  if (payload.length === 1) {
    throw new WebSocketProtocolError("Decoding a close frame failed: its payload is 1 byte", CloseCode.protocolError);
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) {
    throw new WebSocketProtocolError(
      `Decoding a close frame failed: ${code} is not a valid close code`,
      CloseCode.protocolError,
    );
  }
  let reason: string;
  try {
    reason = strictUtf8.decode(payload.subarray(2));
  } catch {
    throw new WebSocketProtocolError(
      "Decoding a close frame failed: its reason is not valid UTF-8",
      CloseCode.invalidPayload,
    );
  }
  return { code, reason };
}

/** What {@linkcode FrameDecoder} is told at construction. */
export interface FrameDecoderOptions {
  /** The largest message (the sum of its fragments) accepted, in bytes. */
  maxMessageSize: number;
  /** The initial buffer size. Default 64 KiB. */
  initialBufferSize?: number;
}

/**
 * An incremental decoder of server frames. Read into {@linkcode FrameDecoder.space}
 * and {@linkcode FrameDecoder.commit} the count (or {@linkcode FrameDecoder.push}
 * bytes), then call {@linkcode FrameDecoder.next} until it returns `undefined`.
 * Fragments are joined into one message; control frames may come between
 * them. The buffer never holds more than one frame beyond what was read, and
 * a message above `maxMessageSize` is refused from its header, before its
 * payload arrives.
 */
export class FrameDecoder {
  readonly maxMessageSize: number;
  #buf: Uint8Array;
  #view: DataView;
  #start = 0;
  #end = 0;
  /** The total length of the frame being waited for, once its header is known. */
  #need = 0;
  #fragments: Uint8Array[] = [];
  #fragmentBytes = 0;
  /** The opcode of the fragmented message in progress, or 0. */
  #fragmentOpcode = 0;
  /** Bytes consumed so far, for error offsets. */
  #consumed = 0;
  /** The initial buffer size, returned to once a large frame is through. */
  readonly #initial: number;

  /**
   * Creates a decoder.
   *
   * @param options The size limit and initial buffer size.
   * @throws {RangeError} When `maxMessageSize` is not a positive integer.
   */
  constructor(options: FrameDecoderOptions) {
    const max = options.maxMessageSize;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`Creating a WebSocket decoder failed: maxMessageSize ${max} is not a positive integer`);
    }
    this.maxMessageSize = max;
    this.#initial = options.initialBufferSize ?? 64 * 1024;
    this.#buf = new Uint8Array(this.#initial);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** How many received bytes are not decoded yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Room to read into: at least `min` bytes, more when a frame being waited
   * for needs it. Compacts or grows the buffer; never beyond one frame.
   *
   * @param min The least room wanted. Default 16 KiB.
   * @returns A view to read into; pass the count read to {@linkcode FrameDecoder.commit}.
   */
  space(min = 16 * 1024): Uint8Array {
    const held = this.#end - this.#start;
    const want = Math.max(min, this.#need - held);
    if (this.#buf.length > 4 * this.#initial && held + want <= this.#initial) {
      // A large frame grew the buffer and is through: give the memory back.
      const next = new Uint8Array(this.#initial);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
      this.#start = 0;
      this.#end = held;
    }
    if (this.#buf.length - this.#end >= want) return this.#buf.subarray(this.#end);
    if (this.#start > 0 && this.#buf.length - held >= want) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, held + want));
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#start = 0;
    this.#end = held;
    return this.#buf.subarray(this.#end);
  }

  /**
   * Accounts for `n` bytes read into the last {@linkcode FrameDecoder.space}.
   *
   * @param n The count read.
   */
  commit(n: number): void {
    if (!Number.isInteger(n) || n < 0 || this.#end + n > this.#buf.length) {
      throw new RangeError(`Committing ${n} bytes failed: more than the space handed out`);
    }
    this.#end += n;
  }

  /**
   * Appends bytes (copies them).
   *
   * @param bytes What was received.
   */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.space(bytes.length).set(bytes);
    this.#end += bytes.length;
  }

  #fail(message: string, code: number = CloseCode.protocolError): never {
    throw new WebSocketProtocolError(`Decoding a WebSocket frame failed: ${message}`, code, this.#consumed);
  }

  /**
   * The next whole message or control frame, or `undefined` until more bytes
   * come.
   *
   * @returns What was decoded.
   * @throws {WebSocketProtocolError} On any violation of RFC 6455 by the server, or a message over the limit.
   */
  next(): Incoming | undefined {
    while (true) {
      const avail = this.#end - this.#start;
      if (avail < 2) return undefined;
      const s = this.#start;
      const b0 = this.#buf[s]!;
      const b1 = this.#buf[s + 1]!;
      if ((b0 & 0x70) !== 0) this.#fail(`reserved bits ${(b0 >> 4) & 7} are set without an extension`);
      if ((b1 & 0x80) !== 0) this.#fail("the server masked a frame");
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      let header = 2;
      let len = b1 & 0x7f;
      if (len === 126) {
        if (avail < 4) return undefined;
        header = 4;
        len = this.#view.getUint16(s + 2);
      } else if (len === 127) {
        if (avail < 10) return undefined;
        header = 10;
        const hi = this.#view.getUint32(s + 2);
        if (hi >= 0x8000_0000) this.#fail("the 64-bit length has its top bit set");
        len = hi * 0x1_0000_0000 + this.#view.getUint32(s + 6);
      }
      const control = opcode >= 0x8;
      if (control) {
        if (opcode > Opcode.pong) this.#fail(`opcode ${opcode} is reserved`);
        if (!fin) this.#fail(`a control frame (opcode ${opcode}) is fragmented`);
        if (len > 125) this.#fail(`a control frame (opcode ${opcode}) carries ${len} bytes (at most 125)`);
      } else {
        if (opcode > Opcode.binary) this.#fail(`opcode ${opcode} is reserved`);
        if (opcode === Opcode.continuation && this.#fragmentOpcode === 0) {
          this.#fail("a continuation frame came with no message in progress");
        }
        if (opcode !== Opcode.continuation && this.#fragmentOpcode !== 0) {
          this.#fail("a new message started before the fragmented one ended");
        }
        if (this.#fragmentBytes + len > this.maxMessageSize) {
          this.#fail(
            `a message of at least ${this.#fragmentBytes + len} bytes is over the limit of ${this.maxMessageSize}`,
            CloseCode.tooBig,
          );
        }
      }
      const total = header + len;
      if (avail < total) {
        this.#need = total;
        return undefined;
      }
      this.#need = 0;
      const payload = this.#buf.subarray(s + header, s + total);
      this.#start += total;
      this.#consumed += total;
      if (this.#start === this.#end) this.#start = this.#end = 0;
      switch (opcode) {
        case Opcode.ping:
          return { kind: "ping", data: payload.slice() };
        case Opcode.pong:
          return { kind: "pong", data: payload.slice() };
        case Opcode.close: {
          const { code, reason } = decodeClosePayload(payload);
          return { kind: "close", code, reason };
        }
      }
      if (fin && opcode !== Opcode.continuation) return this.#message(opcode, payload.slice());
      this.#fragments.push(payload.slice());
      this.#fragmentBytes += len;
      if (opcode !== Opcode.continuation) this.#fragmentOpcode = opcode;
      if (!fin) continue;
      const whole = new Uint8Array(this.#fragmentBytes);
      let at = 0;
      for (const f of this.#fragments) {
        whole.set(f, at);
        at += f.length;
      }
      const kind = this.#fragmentOpcode;
      this.#fragments = [];
      this.#fragmentBytes = 0;
      this.#fragmentOpcode = 0;
      return this.#message(kind, whole);
    }
  }

  #message(opcode: number, data: Uint8Array): Incoming {
    if (opcode === Opcode.binary) return { kind: "binary", data };
    try {
      return { kind: "text", data: strictUtf8.decode(data) };
    } catch {
      this.#fail("a text message is not valid UTF-8", CloseCode.invalidPayload);
    }
  }
}

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
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The `Sec-WebSocket-Accept` a server must answer to `key` (RFC 6455 §4.2.2).
 *
 * @param key The key sent.
 * @returns base64(SHA-1(key + GUID)).
 */
export async function acceptFor(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", encoder.encode(key + ACCEPT_GUID)));
  return btoa(String.fromCharCode(...digest));
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
