/**
 * The httppubsub (lonelypsp) websocket frames: `u16 flags | u16 type |
 * headers | payload`, with minimal headers (one `lp16` value per header in a
 * fixed order per type) or expanded headers (a count, then name/value
 * pairs), plus the connection nonce and the per-connection HMAC "urls".
 * Pure functions, no I/O. Compression is not negotiated (zstd off), so the
 * compression messages are refused.
 *
 * @module
 */

import { ByteReader } from "../core/byte_reader.ts";
import { ByteWriter } from "../core/byte_writer.ts";
import { ProtocolError } from "../core/errors.ts";
import { encodeBase64 } from "../core/base64.ts";
import { SHA512_LENGTH } from "./codec.ts";

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Flag bit 0: headers are minimal. */
export const MINIMAL_HEADERS = 1;

/** Subscriber → broadcaster frame types. */
export const S2BType = {
  CONFIGURE: 1,
  SUBSCRIBE_EXACT: 2,
  SUBSCRIBE_GLOB: 3,
  UNSUBSCRIBE_EXACT: 4,
  UNSUBSCRIBE_GLOB: 5,
  NOTIFY: 6,
  NOTIFY_STREAM: 7,
  CONTINUE_RECEIVE: 8,
  CONFIRM_RECEIVE: 9,
} as const;

/** Broadcaster → subscriber frame types. */
export const B2SType = {
  CONFIRM_CONFIGURE: 1,
  CONFIRM_SUBSCRIBE_EXACT: 2,
  CONFIRM_SUBSCRIBE_GLOB: 3,
  CONFIRM_UNSUBSCRIBE_EXACT: 4,
  CONFIRM_UNSUBSCRIBE_GLOB: 5,
  CONFIRM_NOTIFY: 6,
  CONTINUE_NOTIFY: 7,
  RECEIVE_STREAM: 8,
  ENABLE_ZSTD_PRESET: 9,
  ENABLE_ZSTD_CUSTOM: 10,
  DISABLE_ZSTD_CUSTOM: 11,
  MISSED: 12,
} as const;

const STREAM_BASE = ["authorization", "x-tracing", "x-identifier", "x-part-id"] as const;
const STREAM_START = [
  "x-topic",
  "x-compressor",
  "x-compressed-length",
  "x-decompressed-length",
  "x-compressed-sha512",
] as const;

const S2B_HEADERS: Record<number, readonly string[]> = {
  1: ["x-subscriber-nonce", "x-enable-zstd", "x-enable-training", "x-initial-dict", "authorization", "x-tracing"],
  2: ["authorization", "x-tracing", "x-topic"],
  3: ["authorization", "x-tracing", "x-glob"],
  4: ["authorization", "x-tracing", "x-topic"],
  5: ["authorization", "x-tracing", "x-glob"],
  6: ["authorization", "x-tracing", "x-identifier", ...STREAM_START],
  8: ["x-identifier", "x-part-id", "authorization", "x-tracing"],
  9: ["x-identifier", "authorization", "x-tracing", "x-num-subscribers"],
};

const B2S_HEADERS: Record<number, readonly string[]> = {
  1: ["x-broadcaster-nonce", "authorization", "x-tracing"],
  2: ["x-topic", "authorization", "x-tracing"],
  3: ["x-glob", "authorization", "x-tracing"],
  4: ["x-topic", "authorization", "x-tracing"],
  5: ["x-glob", "authorization", "x-tracing"],
  6: ["x-identifier", "x-subscribers", "authorization", "x-tracing"],
  7: ["x-identifier", "x-part-id", "authorization", "x-tracing"],
  12: ["authorization", "x-tracing", "x-topic"],
};

/** The fields of part 0 of a NOTIFY_STREAM or RECEIVE_STREAM. */
export interface StreamStart {
  /** The topic. */
  topic: Uint8Array;
  /** The body length (compression is off: compressed = decompressed). */
  length: number;
  /** SHA-512 of the whole body. */
  sha512: Uint8Array;
}

/** The fields common to every part of a NOTIFY_STREAM or RECEIVE_STREAM. */
export interface StreamPart {
  /** The authorization, `undefined` for none. */
  authorization: string | undefined;
  /** The tracing blob. */
  tracing: Uint8Array;
  /** The identifier of the message, at most 64 bytes. */
  identifier: Uint8Array;
  /** The part number, from 0. */
  partId: number;
  /** Present on part 0 only. */
  start: StreamStart | undefined;
  /** This part's bytes. */
  payload: Uint8Array;
}

/** A frame the subscriber sends. */
export type S2BMessage =
  | {
    type: "configure";
    subscriberNonce: Uint8Array;
    enableZstd: boolean;
    enableTraining: boolean;
    initialDict: number;
    authorization: string | undefined;
    tracing: Uint8Array;
  }
  | {
    type: "subscribe-exact" | "unsubscribe-exact";
    authorization: string | undefined;
    tracing: Uint8Array;
    topic: Uint8Array;
  }
  | {
    type: "subscribe-glob" | "unsubscribe-glob";
    authorization: string | undefined;
    tracing: Uint8Array;
    glob: string;
  }
  | {
    type: "notify";
    authorization: string | undefined;
    tracing: Uint8Array;
    identifier: Uint8Array;
    topic: Uint8Array;
    sha512: Uint8Array;
    payload: Uint8Array;
  }
  | ({ type: "notify-stream" } & StreamPart)
  | {
    type: "continue-receive";
    identifier: Uint8Array;
    partId: number;
    authorization: string | undefined;
    tracing: Uint8Array;
  }
  | {
    type: "confirm-receive";
    identifier: Uint8Array;
    authorization: string | undefined;
    tracing: Uint8Array;
    numSubscribers: number;
  };

/** A frame the broadcaster sends. */
export type B2SMessage =
  | { type: "confirm-configure"; broadcasterNonce: Uint8Array; authorization: string | undefined; tracing: Uint8Array }
  | {
    type: "confirm-subscribe-exact" | "confirm-unsubscribe-exact";
    topic: Uint8Array;
    authorization: string | undefined;
    tracing: Uint8Array;
  }
  | {
    type: "confirm-subscribe-glob" | "confirm-unsubscribe-glob";
    glob: string;
    authorization: string | undefined;
    tracing: Uint8Array;
  }
  | {
    type: "confirm-notify";
    identifier: Uint8Array;
    subscribers: number;
    authorization: string | undefined;
    tracing: Uint8Array;
  }
  | {
    type: "continue-notify";
    identifier: Uint8Array;
    partId: number;
    authorization: string | undefined;
    tracing: Uint8Array;
  }
  | ({ type: "receive-stream" } & StreamPart)
  | { type: "missed"; authorization: string | undefined; tracing: Uint8Array; topic: Uint8Array };

/**
 * Encodes an unsigned integer in the fewest big-endian bytes (0 is empty).
 *
 * @example
 * ```ts
 * import { encodeMinimalUint } from "./websocket_codec.ts";
 *
 * console.log(encodeMinimalUint(0), encodeMinimalUint(256)); // Uint8Array(0) [] Uint8Array(2) [ 1, 0 ]
 * ```
 *
 * @param n A safe integer of 0 or more.
 * @returns The bytes.
 * @throws {RangeError} When `n` is negative or not a safe integer.
 */
export function encodeMinimalUint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`Encoding an integer failed: ${n} is out of range`);
  const out: number[] = [];
  let v = BigInt(n);
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return new Uint8Array(out);
}

/**
 * Decodes a big-endian unsigned integer header of any length up to `max` bytes.
 *
 * @example
 * ```ts
 * import { decodeUintHeader } from "./websocket_codec.ts";
 *
 * console.log(decodeUintHeader(new Uint8Array([1, 0]), 8, "x-part-id")); // 256
 * ```
 *
 * @param bytes The header value.
 * @param max The most bytes allowed.
 * @param name The header, for the error.
 * @returns The value.
 * @throws {ProtocolError} When it is too long or over 2^53.
 */
export function decodeUintHeader(bytes: Uint8Array, max: number, name: string): number {
  if (bytes.length > max) throw new ProtocolError(`Decoding ${name} failed: ${bytes.length} bytes is more than ${max}`);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`Decoding ${name} failed: ${v} is too large`);
  return Number(v);
}

function auth(value: string | undefined): Uint8Array {
  return value === undefined ? new Uint8Array(0) : utf8.encode(value);
}

function encodeFrame(
  type: number,
  names: readonly string[],
  values: Uint8Array[],
  payload: Uint8Array,
  minimal: boolean,
) {
  const w = new ByteWriter(64 + payload.length);
  w.u16(minimal ? MINIMAL_HEADERS : 0).u16(type);
  if (!minimal) w.u16(names.length);
  for (let i = 0; i < names.length; i++) {
    const value = values[i]!;
    if (value.length > 0xffff) {
      throw new RangeError(`Encoding a frame failed: header ${names[i]} has ${value.length} bytes, more than 65535`);
    }
    if (!minimal) w.string(names[i]!, 2);
    w.lengthPrefixed(value, 2);
  }
  w.bytes(payload);
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/** A part id as the protocol writes it: minimal big-endian, with part 0 as one zero byte. */
function encodePartId(partId: number): Uint8Array {
  return partId === 0 ? new Uint8Array([0]) : encodeMinimalUint(partId);
}

function streamValues(m: StreamPart): [string[], Uint8Array[]] {
  const names: string[] = [...STREAM_BASE];
  const values = [
    auth(m.authorization),
    m.tracing,
    m.identifier,
    encodePartId(m.partId),
  ];
  if (m.partId === 0) {
    if (m.start === undefined) throw new TypeError("Encoding a stream part failed: part 0 needs its start fields");
    names.push(...STREAM_START);
    const len = encodeMinimalUint(m.start.length);
    values.push(m.start.topic, new Uint8Array([0]), len, len, m.start.sha512);
  }
  return [names, values];
}

/**
 * Encodes a subscriber → broadcaster frame.
 *
 * @example
 * ```ts
 * import { encodeS2B } from "@x/pubsub/httppubsub/wire";
 * import { toHex as hex } from "../core/bytes.ts";
 * import { toBytes } from "./codec.ts";
 *
 * const f = encodeS2B({ type: "subscribe-exact", authorization: undefined, tracing: new Uint8Array(0), topic: toBytes("foo/bar") });
 * console.log(hex(f)); // 00010002000000000007666f6f2f626172
 * ```
 *
 * @param m The message.
 * @param minimal Minimal headers (default) or expanded.
 * @returns The frame.
 * @throws {RangeError} When a header is too long.
 */
export function encodeS2B(m: S2BMessage, minimal = true): Uint8Array<ArrayBuffer> {
  const none = new Uint8Array(0);
  switch (m.type) {
    case "configure":
      return encodeFrame(
        S2BType.CONFIGURE,
        S2B_HEADERS[1]!,
        [
          m.subscriberNonce,
          new Uint8Array([m.enableZstd ? 1 : 0]),
          new Uint8Array([m.enableTraining ? 1 : 0]),
          new Uint8Array([m.initialDict >> 8, m.initialDict & 0xff]),
          auth(m.authorization),
          m.tracing,
        ],
        none,
        minimal,
      );
    case "subscribe-exact":
    case "unsubscribe-exact": {
      const t = m.type === "subscribe-exact" ? S2BType.SUBSCRIBE_EXACT : S2BType.UNSUBSCRIBE_EXACT;
      return encodeFrame(t, S2B_HEADERS[t]!, [auth(m.authorization), m.tracing, m.topic], none, minimal);
    }
    case "subscribe-glob":
    case "unsubscribe-glob": {
      const t = m.type === "subscribe-glob" ? S2BType.SUBSCRIBE_GLOB : S2BType.UNSUBSCRIBE_GLOB;
      return encodeFrame(t, S2B_HEADERS[t]!, [auth(m.authorization), m.tracing, utf8.encode(m.glob)], none, minimal);
    }
    case "notify": {
      const len = encodeMinimalUint(m.payload.length);
      return encodeFrame(
        S2BType.NOTIFY,
        S2B_HEADERS[6]!,
        [
          auth(m.authorization),
          m.tracing,
          m.identifier,
          m.topic,
          new Uint8Array([0]),
          len,
          len,
          m.sha512,
        ],
        m.payload,
        minimal,
      );
    }
    case "notify-stream": {
      const [names, values] = streamValues(m);
      return encodeFrame(S2BType.NOTIFY_STREAM, names, values, m.payload, minimal);
    }
    case "continue-receive":
      return encodeFrame(
        S2BType.CONTINUE_RECEIVE,
        S2B_HEADERS[8]!,
        [
          m.identifier,
          encodePartId(m.partId),
          auth(m.authorization),
          m.tracing,
        ],
        none,
        minimal,
      );
    case "confirm-receive": {
      const n = new Uint8Array(4);
      new DataView(n.buffer).setUint32(0, m.numSubscribers);
      return encodeFrame(
        S2BType.CONFIRM_RECEIVE,
        S2B_HEADERS[9]!,
        [m.identifier, auth(m.authorization), m.tracing, n],
        none,
        minimal,
      );
    }
  }
}

/**
 * Encodes a broadcaster → subscriber frame.
 *
 * @example
 * ```ts
 * import { encodeB2S } from "@x/pubsub/httppubsub/wire";
 *
 * const f = encodeB2S({ type: "confirm-configure", broadcasterNonce: new Uint8Array(32), authorization: undefined, tracing: new Uint8Array(0) });
 * console.log(f.length); // 42
 * ```
 *
 * @param m The message.
 * @param minimal Minimal headers (default) or expanded.
 * @returns The frame.
 * @throws {RangeError} When a header is too long.
 */
export function encodeB2S(m: B2SMessage, minimal = true): Uint8Array<ArrayBuffer> {
  const none = new Uint8Array(0);
  switch (m.type) {
    case "confirm-configure":
      return encodeFrame(
        B2SType.CONFIRM_CONFIGURE,
        B2S_HEADERS[1]!,
        [
          m.broadcasterNonce,
          auth(m.authorization),
          m.tracing,
        ],
        none,
        minimal,
      );
    case "confirm-subscribe-exact":
    case "confirm-unsubscribe-exact": {
      const t = m.type === "confirm-subscribe-exact"
        ? B2SType.CONFIRM_SUBSCRIBE_EXACT
        : B2SType.CONFIRM_UNSUBSCRIBE_EXACT;
      return encodeFrame(t, B2S_HEADERS[t]!, [m.topic, auth(m.authorization), m.tracing], none, minimal);
    }
    case "confirm-subscribe-glob":
    case "confirm-unsubscribe-glob": {
      const t = m.type === "confirm-subscribe-glob" ? B2SType.CONFIRM_SUBSCRIBE_GLOB : B2SType.CONFIRM_UNSUBSCRIBE_GLOB;
      return encodeFrame(t, B2S_HEADERS[t]!, [utf8.encode(m.glob), auth(m.authorization), m.tracing], none, minimal);
    }
    case "confirm-notify":
      return encodeFrame(
        B2SType.CONFIRM_NOTIFY,
        B2S_HEADERS[6]!,
        [
          m.identifier,
          encodeMinimalUint(m.subscribers),
          auth(m.authorization),
          m.tracing,
        ],
        none,
        minimal,
      );
    case "continue-notify":
      return encodeFrame(
        B2SType.CONTINUE_NOTIFY,
        B2S_HEADERS[7]!,
        [
          m.identifier,
          encodePartId(m.partId),
          auth(m.authorization),
          m.tracing,
        ],
        none,
        minimal,
      );
    case "receive-stream": {
      const [names, values] = streamValues(m);
      return encodeFrame(B2SType.RECEIVE_STREAM, names, values, m.payload, minimal);
    }
    case "missed":
      return encodeFrame(B2SType.MISSED, B2S_HEADERS[12]!, [auth(m.authorization), m.tracing, m.topic], none, minimal);
  }
}

interface RawFrame {
  type: number;
  headers: Map<string, Uint8Array>;
  payload: Uint8Array;
}

function readRaw(
  bytes: Uint8Array,
  table: Record<number, readonly string[]>,
  streamType: number,
  what: string,
): RawFrame {
  const r = new ByteReader(bytes);
  try {
    const flags = r.u16();
    const type = r.u16();
    const headers = new Map<string, Uint8Array>();
    if ((flags & MINIMAL_HEADERS) !== 0) {
      if (type === streamType) {
        for (const name of STREAM_BASE) headers.set(name, r.lengthPrefixed(2));
        if (decodeUintHeader(headers.get("x-part-id")!, 8, "x-part-id") === 0) {
          for (const name of STREAM_START) headers.set(name, r.lengthPrefixed(2));
        }
      } else {
        const names = table[type];
        if (names === undefined) throw new ProtocolError(`the frame type ${type} is not known or not supported`);
        for (const name of names) headers.set(name, r.lengthPrefixed(2));
      }
    } else {
      const n = r.u16();
      for (let i = 0; i < n; i++) {
        const name = r.string(2).toLowerCase();
        headers.set(name, r.lengthPrefixed(2));
      }
    }
    return { type, headers, payload: r.bytes(r.remaining) };
  } catch (err) {
    if (err instanceof ProtocolError) {
      const reason = err.name === "TruncatedInputError" ? "the frame is truncated" : err.message;
      throw new ProtocolError(`Decoding ${what} failed: ${reason}`, { cause: err, offset: err.offset ?? 0 });
    }
    throw err;
  }
}

class Fields {
  readonly #h: Map<string, Uint8Array>;
  readonly #what: string;
  constructor(h: Map<string, Uint8Array>, what: string) {
    this.#h = h;
    this.#what = what;
  }
  bytes(name: string, max = 0xffff): Uint8Array {
    const v = this.#h.get(name);
    if (v === undefined) throw new ProtocolError(`Decoding ${this.#what} failed: header ${name} is missing`);
    if (v.length > max) throw new ProtocolError(`Decoding ${this.#what} failed: header ${name} is over ${max} bytes`);
    return v;
  }
  exact(name: string, n: number): Uint8Array {
    const v = this.bytes(name);
    if (v.length !== n) throw new ProtocolError(`Decoding ${this.#what} failed: header ${name} is not ${n} bytes`);
    return v;
  }
  uint(name: string, max: number): number {
    return decodeUintHeader(this.bytes(name), max, `${this.#what} header ${name}`);
  }
  text(name: string): string {
    try {
      return strictUtf8.decode(this.bytes(name));
    } catch (cause) {
      if (cause instanceof ProtocolError) throw cause;
      throw new ProtocolError(`Decoding ${this.#what} failed: header ${name} is not UTF-8`, { cause });
    }
  }
  authorization(): string | undefined {
    const s = this.text("authorization");
    return s === "" ? undefined : s;
  }
  flag(name: string): boolean {
    const v = this.exact(name, 1)[0]!;
    if (v > 1) throw new ProtocolError(`Decoding ${this.#what} failed: header ${name} is ${v}, not 0 or 1`);
    return v === 1;
  }
}

function readStream(f: Fields, payload: Uint8Array, what: string): StreamPart {
  const partId = f.uint("x-part-id", 8);
  let start: StreamStart | undefined;
  if (partId === 0) {
    const compressor = f.uint("x-compressor", 8);
    if (compressor !== 0) {
      throw new ProtocolError(`Decoding ${what} failed: compressor ${compressor} was not negotiated`);
    }
    const length = f.uint("x-compressed-length", 8);
    const decompressed = f.uint("x-decompressed-length", 8);
    if (length !== decompressed) {
      throw new ProtocolError(`Decoding ${what} failed: the lengths differ without compression`);
    }
    start = { topic: f.bytes("x-topic"), length, sha512: f.exact("x-compressed-sha512", SHA512_LENGTH) };
  }
  return {
    authorization: f.authorization(),
    tracing: f.bytes("x-tracing"),
    identifier: f.bytes("x-identifier", 64),
    partId,
    start,
    payload,
  };
}

function noPayload(raw: RawFrame, what: string): void {
  if (raw.payload.length !== 0) throw new ProtocolError(`Decoding ${what} failed: it has an unexpected payload`);
}

/**
 * Decodes a subscriber → broadcaster frame (what the broadcaster reads).
 *
 * @example
 * ```ts
 * import { decodeS2B } from "@x/pubsub/httppubsub/wire";
 *
 * const m = decodeS2B(new Uint8Array([0, 1, 0, 2, 0, 0, 0, 0, 0, 1, 97]));
 * console.log(m.type); // "subscribe-exact"
 * ```
 *
 * @param bytes The frame.
 * @returns The message.
 * @throws {ProtocolError} When it is malformed or of an unknown type.
 */
export function decodeS2B(bytes: Uint8Array): S2BMessage {
  const what = "a subscriber frame";
  const raw = readRaw(bytes, S2B_HEADERS, S2BType.NOTIFY_STREAM, what);
  const f = new Fields(raw.headers, what);
  switch (raw.type) {
    case S2BType.CONFIGURE: {
      noPayload(raw, what);
      // An integer header: minimal length, 0 may be empty (lonelypsp takes 0 to 2 bytes).
      const dict = f.uint("x-initial-dict", 2);
      return {
        type: "configure",
        subscriberNonce: f.exact("x-subscriber-nonce", 32),
        enableZstd: f.flag("x-enable-zstd"),
        enableTraining: f.flag("x-enable-training"),
        initialDict: dict,
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
      };
    }
    case S2BType.SUBSCRIBE_EXACT:
    case S2BType.UNSUBSCRIBE_EXACT:
      noPayload(raw, what);
      return {
        type: raw.type === S2BType.SUBSCRIBE_EXACT ? "subscribe-exact" : "unsubscribe-exact",
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
        topic: f.bytes("x-topic"),
      };
    case S2BType.SUBSCRIBE_GLOB:
    case S2BType.UNSUBSCRIBE_GLOB:
      noPayload(raw, what);
      return {
        type: raw.type === S2BType.SUBSCRIBE_GLOB ? "subscribe-glob" : "unsubscribe-glob",
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
        glob: f.text("x-glob"),
      };
    case S2BType.NOTIFY: {
      const compressor = f.uint("x-compressor", 8);
      if (compressor !== 0) {
        throw new ProtocolError(`Decoding ${what} failed: compressor ${compressor} was not negotiated`);
      }
      const length = f.uint("x-compressed-length", 8);
      if (length !== raw.payload.length || f.uint("x-decompressed-length", 8) !== length) {
        throw new ProtocolError(`Decoding ${what} failed: the lengths do not match the payload`);
      }
      return {
        type: "notify",
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
        identifier: f.bytes("x-identifier", 64),
        topic: f.bytes("x-topic"),
        sha512: f.exact("x-compressed-sha512", SHA512_LENGTH),
        payload: raw.payload,
      };
    }
    case S2BType.NOTIFY_STREAM:
      return { type: "notify-stream", ...readStream(f, raw.payload, what) };
    case S2BType.CONTINUE_RECEIVE:
      noPayload(raw, what);
      return {
        type: "continue-receive",
        identifier: f.bytes("x-identifier", 64),
        partId: f.uint("x-part-id", 8),
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
      };
    case S2BType.CONFIRM_RECEIVE:
      noPayload(raw, what);
      return {
        type: "confirm-receive",
        identifier: f.bytes("x-identifier", 64),
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
        numSubscribers: f.uint("x-num-subscribers", 4),
      };
    default:
      throw new ProtocolError(`Decoding ${what} failed: the frame type ${raw.type} is not known`);
  }
}

/**
 * Decodes a broadcaster → subscriber frame (what the subscriber reads).
 * The compression messages (types 9–11) are refused: zstd is never enabled.
 *
 * @example
 * ```ts
 * import { decodeB2S, encodeB2S } from "@x/pubsub/httppubsub/wire";
 * import { toBytes } from "./codec.ts";
 *
 * const f = encodeB2S({ type: "missed", authorization: undefined, tracing: new Uint8Array(0), topic: toBytes("t") });
 * console.log(decodeB2S(f).type); // "missed"
 * ```
 *
 * @param bytes The frame.
 * @returns The message.
 * @throws {ProtocolError} When it is malformed, of an unknown type, or about compression.
 */
export function decodeB2S(bytes: Uint8Array): B2SMessage {
  const what = "a broadcaster frame";
  const raw = readRaw(bytes, B2S_HEADERS, B2SType.RECEIVE_STREAM, what);
  const f = new Fields(raw.headers, what);
  switch (raw.type) {
    case B2SType.CONFIRM_CONFIGURE:
      noPayload(raw, what);
      return {
        type: "confirm-configure",
        broadcasterNonce: f.exact("x-broadcaster-nonce", 32),
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
      };
    case B2SType.CONFIRM_SUBSCRIBE_EXACT:
    case B2SType.CONFIRM_UNSUBSCRIBE_EXACT:
      noPayload(raw, what);
      return {
        type: raw.type === B2SType.CONFIRM_SUBSCRIBE_EXACT ? "confirm-subscribe-exact" : "confirm-unsubscribe-exact",
        topic: f.bytes("x-topic"),
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
      };
    case B2SType.CONFIRM_SUBSCRIBE_GLOB:
    case B2SType.CONFIRM_UNSUBSCRIBE_GLOB:
      noPayload(raw, what);
      return {
        type: raw.type === B2SType.CONFIRM_SUBSCRIBE_GLOB ? "confirm-subscribe-glob" : "confirm-unsubscribe-glob",
        glob: f.text("x-glob"),
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
      };
    case B2SType.CONFIRM_NOTIFY:
      noPayload(raw, what);
      return {
        type: "confirm-notify",
        identifier: f.bytes("x-identifier", 64),
        subscribers: f.uint("x-subscribers", 8),
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
      };
    case B2SType.CONTINUE_NOTIFY:
      noPayload(raw, what);
      return {
        type: "continue-notify",
        identifier: f.bytes("x-identifier", 64),
        partId: f.uint("x-part-id", 8),
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
      };
    case B2SType.RECEIVE_STREAM:
      return { type: "receive-stream", ...readStream(f, raw.payload, what) };
    case B2SType.MISSED:
      noPayload(raw, what);
      return {
        type: "missed",
        authorization: f.authorization(),
        tracing: f.bytes("x-tracing"),
        topic: f.bytes("x-topic"),
      };
    default:
      throw new ProtocolError(`Decoding ${what} failed: the frame type ${raw.type} is not known or not negotiated`);
  }
}

/**
 * Computes the connection nonce: SHA-256(subscriber nonce ‖ broadcaster
 * nonce) as standard base64 with padding.
 *
 * @example
 * ```ts
 * import { connectionNonce } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(await connectionNonce(new Uint8Array(32), new Uint8Array(32).fill(1))); // XIWVX3CSg+zOK3TxsVUpGIGfOQkRgW57tGaAWjirh/M=
 * ```
 *
 * @param subscriberNonce 32 bytes.
 * @param broadcasterNonce 32 bytes.
 * @returns The nonce text.
 */
export async function connectionNonce(subscriberNonce: Uint8Array, broadcasterNonce: Uint8Array): Promise<string> {
  const both = new Uint8Array(subscriberNonce.length + broadcasterNonce.length);
  both.set(subscriberNonce);
  both.set(broadcasterNonce, subscriberNonce.length);
  return encodeBase64(new Uint8Array(await crypto.subtle.digest("SHA-256", both)));
}

/**
 * The HMAC "url" of a websocket message: `websocket:<nonce>:<counter in hex>`,
 * negatives as `-hex`.
 *
 * @example
 * ```ts
 * import { websocketUrl } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(websocketUrl("n=", -10), websocketUrl("n=", 26)); // websocket:n=:-a websocket:n=:1a
 * ```
 *
 * @param nonce The connection nonce.
 * @param counter The counter value.
 * @returns The url.
 */
export function websocketUrl(nonce: string, counter: number): string {
  return `websocket:${nonce}:${counter.toString(16)}`;
}
