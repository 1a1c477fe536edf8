/**
 * Decoding jetblack-messagebus messages: {@linkcode decodeMessage} for one
 * whole message, {@linkcode MessageDecoder} for a byte stream (there is no
 * framing: only parsing field by field tells where a message ends).
 *
 * @module
 */

import { ByteReader } from "../core/byte_reader.ts";
import { ChunkedReader, NEED_MORE } from "../core/chunked_reader.ts";
import { ProtocolError } from "../core/errors.ts";
import {
  type BusMessage,
  type DataPacket,
  type Dialect,
  type ImageField,
  type ImageFields,
  MAX_COUNT,
} from "./codec.ts";
import { bytesToUuid } from "./uuid.ts";

/** Limits the decoder enforces. */
export interface DecodeOptions extends Dialect {
  /** The largest string or byte array accepted, in bytes. Default 16 MiB. */
  maxLength?: number | undefined;
  /** The largest entitlement-set or packet-list count accepted. Default {@linkcode MAX_COUNT}. */
  maxCount?: number | undefined;
}

interface Limits {
  field: ImageField;
  maxLength: number;
  maxCount: number;
}

/** Reads an int32 length, checked against 0 and `max`. */
export function readLength(r: ByteReader, what: string, max: number): number {
  const at = r.offset;
  const n = r.i32();
  if (n < 0) {
    throw new ProtocolError(`Decoding ${what} at offset ${at} failed: its length ${n} is negative`, { offset: at });
  }
  if (n > max) {
    throw new ProtocolError(`Decoding ${what} at offset ${at} failed: its length ${n} is over ${max}`, { offset: at });
  }
  return n;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function readString(r: ByteReader, lim: Limits): string {
  const n = readLength(r, "a string", lim.maxLength);
  if (n === 0) return "";
  const at = r.offset;
  const b = r.bytes(n);
  // Short ASCII strings (feeds, topics, users, hosts) skip TextDecoder, which is slow for tiny inputs.
  if (n <= 64) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (b[i]! > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, b as unknown as number[]);
  }
  try {
    return utf8.decode(b);
  } catch (cause) {
    throw new ProtocolError(`Decoding a string at offset ${at} failed: it is not valid UTF-8`, { offset: at, cause });
  }
}

function readBool(r: ByteReader): boolean {
  return r.u8() !== 0;
}

function readUuid(r: ByteReader): string {
  return bytesToUuid(r.bytes(16));
}

function readIntSet(r: ByteReader, lim: Limits): Set<number> | null {
  const n = readLength(r, "an entitlement set", lim.maxCount);
  if (n === 0) return null;
  const set = new Set<number>();
  for (let i = 0; i < n; i++) set.add(r.i32());
  return set;
}

function readBytes(r: ByteReader, lim: Limits): Uint8Array | null {
  const n = readLength(r, "a byte array", lim.maxLength);
  return n === 0 ? null : r.bytes(n);
}

function readPackets(r: ByteReader, lim: Limits): DataPacket[] | null {
  const n = readLength(r, "a packet list", lim.maxCount);
  if (n === 0) return null;
  const out: DataPacket[] = [];
  for (let i = 0; i < n; i++) {
    const entitlements = readIntSet(r, lim);
    const data = readBytes(r, lim);
    out.push({ entitlements, data });
  }
  return out;
}

function readImage(r: ByteReader, lim: Limits): ImageFields {
  if (lim.field === "bool") return { isImage: readBool(r), contentType: null };
  return { isImage: null, contentType: readString(r, lim) };
}

function limits(options: DecodeOptions): Limits {
  return {
    field: options.imageField ?? "bool",
    maxLength: options.maxLength ?? 16 * 1024 * 1024,
    maxCount: options.maxCount ?? MAX_COUNT,
  };
}

function readMessage(r: ByteReader, lim: Limits): BusMessage {
  const at = r.offset;
  const type = r.u8();
  switch (type) {
    case 1: {
      const feed = readString(r, lim);
      const topic = readString(r, lim);
      const img = readImage(r, lim);
      return { type, feed, topic, ...img, packets: readPackets(r, lim) };
    }
    case 2: {
      const clientId = readUuid(r);
      const feed = readString(r, lim);
      const topic = readString(r, lim);
      const img = readImage(r, lim);
      return { type, clientId, feed, topic, ...img, packets: readPackets(r, lim) };
    }
    case 3: {
      const user = readString(r, lim);
      const host = readString(r, lim);
      const clientId = readUuid(r);
      const feed = readString(r, lim);
      const topic = readString(r, lim);
      return { type, user, host, clientId, feed, topic, isAdd: readBool(r) };
    }
    case 4: {
      const feed = readString(r, lim);
      return { type, feed, isAdd: readBool(r) };
    }
    case 5: {
      const feed = readString(r, lim);
      const topic = readString(r, lim);
      return { type, feed, topic, isAdd: readBool(r) };
    }
    case 6: {
      const clientId = readUuid(r);
      const host = readString(r, lim);
      const user = readString(r, lim);
      const feed = readString(r, lim);
      const topic = readString(r, lim);
      return { type, clientId, host, user, feed, topic };
    }
    case 7: {
      const clientId = readUuid(r);
      const feed = readString(r, lim);
      const topic = readString(r, lim);
      const isAuthorizationRequired = readBool(r);
      return { type, clientId, feed, topic, isAuthorizationRequired, entitlements: readIntSet(r, lim) };
    }
    case 8: {
      const user = readString(r, lim);
      const host = readString(r, lim);
      const feed = readString(r, lim);
      const topic = readString(r, lim);
      const img = readImage(r, lim);
      return { type, user, host, feed, topic, ...img, packets: readPackets(r, lim) };
    }
    case 9: {
      const user = readString(r, lim);
      const host = readString(r, lim);
      const clientId = readUuid(r);
      const feed = readString(r, lim);
      const topic = readString(r, lim);
      const img = readImage(r, lim);
      return { type, user, host, clientId, feed, topic, ...img, packets: readPackets(r, lim) };
    }
    default:
      throw new ProtocolError(`Decoding a message at offset ${at} failed: unknown message type ${type}`, {
        offset: at,
      });
  }
}

/**
 * Decodes exactly one message from a byte array.
 *
 * @example The SubscriptionRequest vector of the spec
 * ```ts
 * import { decodeMessage, encodeMessage } from "@x/pubsub/messagebus/wire";
 *
 * const m = decodeMessage(encodeMessage({ type: 5, feed: "TEST", topic: "FOO", isAdd: true }));
 * console.log(m.type, m.type === 5 && m.topic); // 5 FOO
 * ```
 *
 * @param bytes One whole message, nothing after it.
 * @param options The dialect and limits.
 * @returns The message. Byte fields are views into `bytes`.
 * @throws {ProtocolError} On an unknown type, a negative or too large length, invalid UTF-8, trailing
 *   bytes, or input that ends inside the message (a {@linkcode TruncatedInputError}).
 */
export function decodeMessage(bytes: Uint8Array, options: DecodeOptions = {}): BusMessage {
  const r = new ByteReader(bytes);
  const m = readMessage(r, limits(options));
  if (r.remaining !== 0) {
    throw new ProtocolError(`Decoding a message failed: ${r.remaining} bytes follow its end`, { offset: r.offset });
  }
  return m;
}

/**
 * Splits a byte stream that arrives in chunks of any size into messages.
 *
 * @example Feeding a message one byte at a time
 * ```ts
 * import { encodeMessage, MessageDecoder } from "@x/pubsub/messagebus/wire";
 *
 * const bytes = encodeMessage({ type: 4, feed: "TEST", isAdd: true });
 * const decoder = new MessageDecoder();
 * const seen = [];
 * for (const b of bytes) seen.push(...decoder.push(new Uint8Array([b])));
 * console.log(seen.length, seen[0]?.type); // 1 4
 * ```
 */
export class MessageDecoder {
  readonly #input: ChunkedReader;
  readonly #limits: Limits;
  readonly #decode: (r: ByteReader) => BusMessage;

  /**
   * Creates a decoder.
   *
   * @param options The dialect and limits; `maxLength` also bounds the bytes held for one message (plus 1 MiB).
   * @throws {RangeError} When a limit is not a positive number.
   */
  constructor(options: DecodeOptions = {}) {
    const lim = limits(options);
    if (!(lim.maxLength > 0) || !(lim.maxCount > 0)) {
      throw new RangeError(
        `Creating a message decoder failed: maxLength ${lim.maxLength} or maxCount ${lim.maxCount} is not positive`,
      );
    }
    this.#limits = lim;
    this.#input = new ChunkedReader({ maxBuffered: lim.maxLength + 1024 * 1024 });
    this.#decode = (r) => readMessage(r, this.#limits);
  }

  /** Bytes received and not yet decoded (the start of an incomplete message). */
  get buffered(): number {
    return this.#input.buffered;
  }

  /**
   * Adds a chunk and returns every message it completes.
   *
   * @param chunk The bytes that arrived; do not change them afterwards.
   * @returns The messages, possibly none.
   * @throws {ProtocolError} On malformed input; the decoder is then out of step and must be discarded.
   */
  push(chunk: Uint8Array): BusMessage[] {
    this.#input.push(chunk);
    const out: BusMessage[] = [];
    for (;;) {
      const m = this.#input.read(this.#decode);
      if (m === NEED_MORE) return out;
      out.push(m);
    }
  }

  /**
   * Adds a chunk without decoding; call {@linkcode MessageDecoder.next} to take messages one by one.
   *
   * @param chunk The bytes that arrived.
   * @throws {ProtocolError} When too many bytes would be held for one message.
   */
  feed(chunk: Uint8Array): void {
    this.#input.push(chunk);
  }

  /**
   * Decodes the next whole message, if the bytes so far hold one.
   *
   * @returns The message, or `null` when more bytes are needed.
   * @throws {ProtocolError} On malformed input.
   */
  next(): BusMessage | null {
    const m = this.#input.read(this.#decode);
    return m === NEED_MORE ? null : m;
  }
}
