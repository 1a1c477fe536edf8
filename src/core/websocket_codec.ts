/**
 * RFC 6455 (WebSocket) frames on the client side, as pure functions: frame
 * encoding with masking, close payloads, and an incremental decoder that
 * turns the bytes a server sends into whole messages and control frames,
 * validating everything a peer can get wrong (reserved bits, masking,
 * opcodes, fragmentation, control-frame sizes, close codes, UTF-8) and
 * bounding every size. The opening handshake is in `websocket_handshake.ts`.
 * No I/O: {@linkcode NoDelayWebSocket} moves the bytes.
 *
 * @module
 */

import { concatBytes } from "./bytes.ts";
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
      const whole = concatBytes(this.#fragments, this.#fragmentBytes);
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
