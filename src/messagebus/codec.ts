/**
 * The jetblack-messagebus wire format: the nine message types, the credential
 * strings of each authentication dialect, and an incremental decoder. Pure
 * functions, no I/O.
 *
 * There is no framing on the wire: a message is a type byte followed by its
 * fields, and only parsing field by field tells where it ends. Integers are
 * signed 32-bit big-endian; strings are an int32 UTF-8 byte length then the
 * bytes (length 0 is null or empty); UUIDs use .NET `Guid.ToByteArray()`
 * order; an empty entitlement set, byte array or packet list is written as
 * count 0 and decodes as `null`.
 *
 * @module
 */

import { ByteReader } from "../core/byte_reader.ts";
import { ByteWriter } from "../core/byte_writer.ts";
import { ChunkedReader, NEED_MORE } from "../core/chunked_reader.ts";
import { ProtocolError } from "../core/errors.ts";

/** The message type codes. */
export const MessageType = {
  /** Client → server: publish to every subscriber of a feed and topic. */
  MulticastData: 1,
  /** Client → server: send to one subscriber, by client id. */
  UnicastData: 2,
  /** Server → client: a subscription was added or removed (to notifiers). */
  ForwardedSubscriptionRequest: 3,
  /** Client → server: register or unregister for subscription notifications on a feed. */
  NotificationRequest: 4,
  /** Client → server: subscribe or unsubscribe. */
  SubscriptionRequest: 5,
  /** Server → client: an authorizer is asked to authorize a subscriber. */
  AuthorizationRequest: 6,
  /** Client → server: an authorizer's answer. */
  AuthorizationResponse: 7,
  /** Server → client: data published by multicast. */
  ForwardedMulticastData: 8,
  /** Server → client: data sent to this client by unicast. */
  ForwardedUnicastData: 9,
} as const;

/** How data messages carry their image flag: a bool (servers up to 5.x) or a content type string (6.x). */
export type ImageField = "bool" | "contentType";

/** How the client writes its credentials: separate strings (server 3.x) or one connection string (4.x and later). */
export type AuthDialect = "v3" | "v4";

/** The wire dialect: the credential layout and the image field. */
export interface Dialect {
  /** The image field of types 1, 2, 8 and 9. Default `"bool"`. */
  imageField?: ImageField | undefined;
}

/**
 * One packet of a data message: a payload and the entitlements needed to
 * see it. `null` stands for "none" in both (an empty set or array is written
 * as null, and decodes as null).
 */
export interface DataPacket {
  /** The entitlement ids a recipient needs (all of them), or `null`. */
  readonly entitlements: ReadonlySet<number> | null;
  /** The payload, or `null`. */
  readonly data: Uint8Array | null;
}

/** The image flag of a data message: `isImage` in the bool dialect, `contentType` in the 6.x dialect. */
export interface ImageFields {
  /** Whether this is a full image (true) or a delta (false); `null` in the contentType dialect. */
  readonly isImage: boolean | null;
  /** The content type; `null` in the bool dialect. */
  readonly contentType: string | null;
}

/** Type 1: publish to every subscriber of (feed, topic). */
export interface MulticastData extends ImageFields {
  /** The type code. */
  readonly type: 1;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
  /** The packets, or `null`. */
  readonly packets: readonly DataPacket[] | null;
}

/** Type 2: send to one subscriber of (feed, topic). */
export interface UnicastData extends ImageFields {
  /** The type code. */
  readonly type: 2;
  /** The recipient's client id. */
  readonly clientId: string;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
  /** The packets, or `null`. */
  readonly packets: readonly DataPacket[] | null;
}

/** Type 3: a subscription was added or removed. */
export interface ForwardedSubscriptionRequest {
  /** The type code. */
  readonly type: 3;
  /** The subscriber's user. */
  readonly user: string;
  /** The subscriber's host. */
  readonly host: string;
  /** The subscriber's client id. */
  readonly clientId: string;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
  /** Added (true) or removed (false). */
  readonly isAdd: boolean;
}

/** Type 4: register (or unregister) for notifications on a feed. */
export interface NotificationRequest {
  /** The type code. */
  readonly type: 4;
  /** The feed. */
  readonly feed: string;
  /** Register (true) or unregister (false). */
  readonly isAdd: boolean;
}

/** Type 5: subscribe (or unsubscribe). */
export interface SubscriptionRequest {
  /** The type code. */
  readonly type: 5;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
  /** Subscribe (true) or unsubscribe (false). */
  readonly isAdd: boolean;
}

/** Type 6: an authorizer is asked about a subscriber. Host comes before user on the wire. */
export interface AuthorizationRequest {
  /** The type code. */
  readonly type: 6;
  /** The subscriber's client id. */
  readonly clientId: string;
  /** The subscriber's host. */
  readonly host: string;
  /** The subscriber's user. */
  readonly user: string;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
}

/** Type 7: an authorizer's answer. */
export interface AuthorizationResponse {
  /** The type code. */
  readonly type: 7;
  /** The subscriber's client id. */
  readonly clientId: string;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
  /** Whether packets are filtered by the entitlements. */
  readonly isAuthorizationRequired: boolean;
  /** The entitlements granted, or `null`. */
  readonly entitlements: ReadonlySet<number> | null;
}

/** Type 8: multicast data, as a subscriber receives it. */
export interface ForwardedMulticastData extends ImageFields {
  /** The type code. */
  readonly type: 8;
  /** The publisher's user ("" on the server's own messages). */
  readonly user: string;
  /** The publisher's host ("" on the server's own messages). */
  readonly host: string;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
  /** The packets this recipient may see, or `null`. */
  readonly packets: readonly DataPacket[] | null;
}

/** Type 9: unicast data, as its recipient receives it. */
export interface ForwardedUnicastData extends ImageFields {
  /** The type code. */
  readonly type: 9;
  /** The publisher's user. */
  readonly user: string;
  /** The publisher's host. */
  readonly host: string;
  /** The recipient's own client id. */
  readonly clientId: string;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
  /** The packets this recipient may see, or `null`. */
  readonly packets: readonly DataPacket[] | null;
}

/** Any of the nine messages. */
export type BusMessage =
  | MulticastData
  | UnicastData
  | ForwardedSubscriptionRequest
  | NotificationRequest
  | SubscriptionRequest
  | AuthorizationRequest
  | AuthorizationResponse
  | ForwardedMulticastData
  | ForwardedUnicastData;

/** The largest entitlement-set or packet-list count the decoder accepts. */
export const MAX_COUNT = 1 << 20;

const HEX = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Encodes a UUID string in .NET `Guid.ToByteArray()` order: the first three
 * groups little-endian, the last eight bytes as written.
 *
 * @example
 * ```ts
 * import { uuidToBytes } from "@x/pubsub/messagebus/wire";
 *
 * console.log(uuidToBytes("00112233-4455-6677-8899-aabbccddeeff")[0]); // 51 (0x33)
 * ```
 *
 * @param uuid A UUID such as `00112233-4455-6677-8899-aabbccddeeff` (any case).
 * @returns The 16 bytes.
 * @throws {TypeError} When the string is not a UUID.
 */
export function uuidToBytes(uuid: string): Uint8Array {
  const s = typeof uuid === "string" ? uuid.toLowerCase() : "";
  if (!HEX.test(s)) throw new TypeError(`Encoding a client id failed: ${JSON.stringify(uuid)} is not a UUID`);
  const hex = s.replaceAll("-", "");
  const rfc = new Uint8Array(16);
  for (let i = 0; i < 16; i++) rfc[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const out = rfc.slice();
  out[0] = rfc[3]!;
  out[1] = rfc[2]!;
  out[2] = rfc[1]!;
  out[3] = rfc[0]!;
  out[4] = rfc[5]!;
  out[5] = rfc[4]!;
  out[6] = rfc[7]!;
  out[7] = rfc[6]!;
  return out;
}

/**
 * Decodes 16 bytes in .NET `Guid.ToByteArray()` order into a lower-case UUID string.
 *
 * @example
 * ```ts
 * import { bytesToUuid, uuidToBytes } from "@x/pubsub/messagebus/wire";
 *
 * const id = "00112233-4455-6677-8899-aabbccddeeff";
 * console.log(bytesToUuid(uuidToBytes(id)) === id); // true
 * ```
 *
 * @param bytes 16 bytes.
 * @returns The UUID string.
 * @throws {RangeError} When there are not exactly 16 bytes.
 */
export function bytesToUuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`Decoding a client id failed: ${bytes.length} bytes is not 16`);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  let hex = "";
  for (let i = 0; i < 16; i++) {
    hex += bytes[order[i]!]!.toString(16).padStart(2, "0");
    if (i === 3 || i === 5 || i === 7 || i === 9) hex += "-";
  }
  return hex;
}

// ---------------------------------------------------------------- writing

const encoder = new TextEncoder();
// Feeds, topics, users and hosts repeat on every message: keep their UTF-8 bytes.
const encoded = new Map<string, Uint8Array>();

function utf8Of(value: string): Uint8Array {
  let bytes = encoded.get(value);
  if (bytes === undefined) {
    bytes = encoder.encode(value);
    if (value.length <= 256) {
      if (encoded.size >= 4096) encoded.clear();
      encoded.set(value, bytes);
    }
  }
  return bytes;
}

function writeString(w: ByteWriter, value: string | null | undefined): void {
  if (value === null || value === undefined || value === "") w.i32(0);
  else {
    const bytes = utf8Of(value);
    w.i32(bytes.length);
    w.bytes(bytes);
  }
}

function writeIntSet(w: ByteWriter, value: ReadonlySet<number> | Iterable<number> | null | undefined): void {
  const items = value === null || value === undefined ? [] : [...value];
  w.i32(items.length);
  for (const n of items) w.i32(n);
}

function writeBytes(w: ByteWriter, value: Uint8Array | null | undefined): void {
  if (value === null || value === undefined || value.length === 0) w.i32(0);
  else {
    w.i32(value.length);
    w.bytes(value);
  }
}

function writePackets(w: ByteWriter, packets: readonly DataPacket[] | null | undefined): void {
  if (packets === null || packets === undefined) {
    w.i32(0);
    return;
  }
  w.i32(packets.length);
  for (const p of packets) {
    writeIntSet(w, p.entitlements);
    writeBytes(w, p.data);
  }
}

function writeImage(w: ByteWriter, m: ImageFields, field: ImageField): void {
  if (field === "bool") w.bool(m.isImage === true);
  else writeString(w, m.contentType);
}

function packetsSize(packets: readonly DataPacket[] | null): number {
  let n = 128;
  if (packets !== null) {
    for (const p of packets) n += 8 + (p.data?.length ?? 0) + 4 * (p.entitlements?.size ?? 0);
  }
  return n;
}

/**
 * Encodes one message. Strings are written with their UTF-8 byte length.
 *
 * @example The SubscriptionRequest vector of the spec
 * ```ts
 * import { encodeMessage } from "@x/pubsub/messagebus/wire";
 *
 * const bytes = encodeMessage({ type: 5, feed: "TEST", topic: "FOO", isAdd: true });
 * console.log(bytes.length); // 17
 * ```
 *
 * @param message The message.
 * @param dialect The image field to write (default the bool of servers up to 5.x).
 * @returns The bytes.
 * @throws {TypeError} On an unknown type or a malformed client id.
 * @throws {RangeError} On an entitlement that is not a 32-bit integer.
 */
export function encodeMessage(message: BusMessage, dialect: Dialect = {}): Uint8Array {
  return encode(message, dialect, false);
}

/**
 * Encodes a message as {@linkcode encodeMessage} does, but a small one comes
 * back as a view into a buffer shared with the messages encoded before and
 * after it (never written over). For the client's write queue: a fresh
 * buffer per message costs more than encoding it, and consecutive messages
 * lie next to each other, so a batch of them is written without a copy.
 * Not for bytes kept long: each view keeps its whole 128 KiB buffer alive. Messages of 16 KiB and more get their own array.
 *
 * @param message The message.
 * @param dialect The image field's layout.
 * @returns The bytes.
 * @throws {TypeError} On an unknown type or a malformed client id.
 * @throws {RangeError} On an entitlement that is not a 32-bit integer.
 */
export function encodePacked(message: BusMessage, dialect: Dialect = {}): Uint8Array {
  return encode(message, dialect, true);
}

/** Where {@linkcode encodePacked} puts small messages: never written over, replaced when full. */
let slab = new Uint8Array(0);
let slabAt = 0;
const SLAB_BYTES = 128 * 1024;
const PACK_BELOW = 16 * 1024;

/** `n` bytes to write a message into: a new array, or the next free part of the slab. */
function target(n: number, packed: boolean): Uint8Array {
  if (!packed || n >= PACK_BELOW) return new Uint8Array(n);
  if (slabAt + n > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + n);
  slabAt += n;
  return out;
}

/**
 * The writer {@linkcode encodeByWriter} reuses (a new one costs two buffer
 * allocations on top of its copy); one grown past 64 KiB is let go.
 */
let spareWriter: ByteWriter | undefined;
const KEEP_WRITER_BELOW = 64 * 1024;

function encode(message: BusMessage, dialect: Dialect, packed: boolean): Uint8Array {
  const field = dialect.imageField ?? "bool";
  const t = message.type;
  if (t === 1 || t === 2 || t === 8 || t === 9) {
    const direct = encodeData(message, field, packed);
    if (direct !== undefined) return direct;
  }
  const bytes = encodeByWriter(message, field);
  if (!packed || bytes.length >= PACK_BELOW) return bytes;
  const out = target(bytes.length, true);
  out.set(bytes);
  return out;
}

/**
 * Encodes any message with a {@linkcode ByteWriter}; this is also what
 * decides every error. {@linkcode encodeData} writes the same bytes for the
 * data messages it accepts, faster.
 *
 * @param message The message.
 * @param field The image field's layout.
 * @returns The bytes, in a new array.
 */
export function encodeByWriter(message: BusMessage, field: ImageField): Uint8Array {
  const m = message;
  const need = m.type === 1 || m.type === 2 || m.type === 8 || m.type === 9 ? packetsSize(m.packets) : 64;
  // Taken, not shared: a user's iterable of entitlements could call back in.
  const w = (need < KEEP_WRITER_BELOW ? spareWriter?.reset() : undefined) ?? new ByteWriter(Math.max(need, 1024));
  spareWriter = undefined;
  encodeInto(w, m, field);
  if (w.length < KEEP_WRITER_BELOW) spareWriter = w;
  return w.finish();
}

function putI32(out: Uint8Array, at: number, v: number): number {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
  return at + 4;
}

/** A length-prefixed byte field: length 0 for `null` and empty. */
function putBytes(out: Uint8Array, at: number, b: Uint8Array | null): number {
  if (b === null || b.length === 0) return putI32(out, at, 0);
  at = putI32(out, at, b.length);
  out.set(b, at);
  return at + b.length;
}

/** The UTF-8 of a string field, `null` for what is written as length 0, `undefined` for what is not a string. */
function stringField(value: unknown): Uint8Array | null | undefined {
  if (value === null || value === undefined || value === "") return null;
  return typeof value === "string" ? utf8Of(value) : undefined;
}

/**
 * Encodes a data message (types 1, 2, 8, 9) straight into an array of its
 * exact size, without a writer: the size is worked out first, then the
 * fields are written. Only for well-formed fields (strings, `Uint8Array`
 * data, `Set`s of 32-bit integers, arrays of packets): for anything else it
 * returns `undefined` and {@linkcode encodeByWriter} encodes it, or throws
 * what it always threw.
 *
 * @param m The message.
 * @param field The image field's layout.
 * @param packed Whether small messages go into the shared slab.
 * @returns The bytes, or `undefined`.
 */
export function encodeData(
  m: MulticastData | UnicastData | ForwardedMulticastData | ForwardedUnicastData,
  field: ImageField,
  packed: boolean,
): Uint8Array | undefined {
  const user = m.type === 8 || m.type === 9 ? stringField(m.user) : null;
  const host = m.type === 8 || m.type === 9 ? stringField(m.host) : null;
  const feed = stringField(m.feed);
  const topic = stringField(m.topic);
  const contentType = field === "bool" ? null : stringField(m.contentType);
  if (user === undefined || host === undefined || feed === undefined || topic === undefined) return undefined;
  if (contentType === undefined) return undefined;
  const packets = m.packets;
  if (packets !== null && packets !== undefined && !Array.isArray(packets)) return undefined;
  let n = 1 + 4 + (feed?.length ?? 0) + 4 + (topic?.length ?? 0) +
    (field === "bool" ? 1 : 4 + (contentType?.length ?? 0));
  if (m.type === 8 || m.type === 9) n += 8 + (user?.length ?? 0) + (host?.length ?? 0);
  n += 4;
  if (packets !== null && packets !== undefined) {
    for (const p of packets) {
      if (typeof p !== "object" || p === null) return undefined;
      const entitlements = p.entitlements;
      const data = p.data;
      if (data !== null && data !== undefined && !(data instanceof Uint8Array)) return undefined;
      if (entitlements !== null && entitlements !== undefined) {
        if (!(entitlements instanceof Set)) return undefined;
        for (const e of entitlements) {
          if (!Number.isInteger(e) || e < -0x80000000 || e > 0x7fffffff) return undefined;
        }
        n += 4 * entitlements.size;
      }
      n += 8 + (data?.length ?? 0);
    }
  }
  // Checked after the shapes, as the writer would meet a bad client id only once past them.
  const clientId = m.type === 2 || m.type === 9 ? uuidToBytes(m.clientId) : undefined;
  if (clientId !== undefined) n += 16;
  const out = target(n, packed);
  let at = 0;
  out[at++] = m.type;
  if (m.type === 8 || m.type === 9) {
    at = putBytes(out, at, user);
    at = putBytes(out, at, host);
  }
  if (clientId !== undefined) {
    out.set(clientId, at);
    at += 16;
  }
  at = putBytes(out, at, feed);
  at = putBytes(out, at, topic);
  if (field === "bool") out[at++] = m.isImage === true ? 1 : 0;
  else at = putBytes(out, at, contentType);
  if (packets === null || packets === undefined) at = putI32(out, at, 0);
  else {
    at = putI32(out, at, packets.length);
    for (const p of packets) {
      const e = p.entitlements;
      if (e === null || e === undefined) at = putI32(out, at, 0);
      else {
        at = putI32(out, at, e.size);
        for (const v of e) at = putI32(out, at, v);
      }
      at = putBytes(out, at, p.data ?? null);
    }
  }
  return out;
}

function encodeInto(w: ByteWriter, m: BusMessage, field: ImageField): void {
  const message = m;
  w.u8(m.type);
  switch (m.type) {
    case 1:
      writeString(w, m.feed);
      writeString(w, m.topic);
      writeImage(w, m, field);
      writePackets(w, m.packets);
      break;
    case 2:
      w.bytes(uuidToBytes(m.clientId));
      writeString(w, m.feed);
      writeString(w, m.topic);
      writeImage(w, m, field);
      writePackets(w, m.packets);
      break;
    case 3:
      writeString(w, m.user);
      writeString(w, m.host);
      w.bytes(uuidToBytes(m.clientId));
      writeString(w, m.feed);
      writeString(w, m.topic);
      w.bool(m.isAdd);
      break;
    case 4:
      writeString(w, m.feed);
      w.bool(m.isAdd);
      break;
    case 5:
      writeString(w, m.feed);
      writeString(w, m.topic);
      w.bool(m.isAdd);
      break;
    case 6:
      w.bytes(uuidToBytes(m.clientId));
      writeString(w, m.host);
      writeString(w, m.user);
      writeString(w, m.feed);
      writeString(w, m.topic);
      break;
    case 7:
      w.bytes(uuidToBytes(m.clientId));
      writeString(w, m.feed);
      writeString(w, m.topic);
      w.bool(m.isAuthorizationRequired);
      writeIntSet(w, m.entitlements);
      break;
    case 8:
      writeString(w, m.user);
      writeString(w, m.host);
      writeString(w, m.feed);
      writeString(w, m.topic);
      writeImage(w, m, field);
      writePackets(w, m.packets);
      break;
    case 9:
      writeString(w, m.user);
      writeString(w, m.host);
      w.bytes(uuidToBytes(m.clientId));
      writeString(w, m.feed);
      writeString(w, m.topic);
      writeImage(w, m, field);
      writePackets(w, m.packets);
      break;
    default:
      throw new TypeError(
        `Encoding a message failed: type ${String((message as { type?: unknown }).type)} is not 1 to 9`,
      );
  }
}

// ---------------------------------------------------------------- reading

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

function length(r: ByteReader, what: string, max: number): number {
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
  const n = length(r, "a string", lim.maxLength);
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
  const n = length(r, "an entitlement set", lim.maxCount);
  if (n === 0) return null;
  const set = new Set<number>();
  for (let i = 0; i < n; i++) set.add(r.i32());
  return set;
}

function readBytes(r: ByteReader, lim: Limits): Uint8Array | null {
  const n = length(r, "a byte array", lim.maxLength);
  return n === 0 ? null : r.bytes(n);
}

function readPackets(r: ByteReader, lim: Limits): DataPacket[] | null {
  const n = length(r, "a packet list", lim.maxCount);
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

// ---------------------------------------------------------------- credentials

/** What a client writes to log in, in a dialect-neutral form. */
export type Credentials =
  | { readonly kind: "none" }
  | {
    readonly kind: "basic";
    readonly username: string;
    readonly password: string;
    readonly impersonating?: string | null | undefined;
    readonly forwardedFor?: string | null | undefined;
    readonly application?: string | null | undefined;
  }
  | {
    readonly kind: "token";
    readonly token: string;
    readonly impersonating?: string | null | undefined;
    readonly forwardedFor?: string | null | undefined;
    readonly application?: string | null | undefined;
  };

function connectionPart(key: string, value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  if (value.includes(";")) {
    throw new TypeError(
      `Encoding the connection string failed: ${key} ${JSON.stringify(value)} contains ";", which it cannot escape`,
    );
  }
  return `;${key}=${value}`;
}

/**
 * Builds the v4 connection string (`Username=..;Password=..` or `Token=..`) for credentials.
 *
 * @example
 * ```ts
 * import { connectionString } from "@x/pubsub/messagebus/wire";
 *
 * console.log(connectionString({ kind: "basic", username: "u", password: "p" })); // Username=u;Password=p
 * ```
 *
 * @param credentials Basic or token credentials.
 * @returns The connection string, or `null` for no credentials.
 * @throws {TypeError} When a value contains `;` (the format has no escaping).
 */
export function connectionString(credentials: Credentials): string | null {
  if (credentials.kind === "none") return null;
  const extras = connectionPart("Impersonating", credentials.impersonating) +
    connectionPart("ForwardedFor", credentials.forwardedFor) +
    connectionPart("Application", credentials.application);
  if (credentials.kind === "basic") {
    return connectionPart("Username", credentials.username).slice(1) +
      connectionPart("Password", credentials.password) + extras;
  }
  return connectionPart("Token", credentials.token).slice(1) + extras;
}

/**
 * Encodes what the client writes right after connecting: nothing for no
 * credentials; in the v3 dialect 4 strings for basic (username, password,
 * impersonating, forwardedFor) or 3 for a token (token, impersonating,
 * forwardedFor); in the v4 dialect one connection string.
 *
 * @example The v3 basic vector of the spec
 * ```ts
 * import { encodeCredentials } from "@x/pubsub/messagebus/wire";
 *
 * const bytes = encodeCredentials({ kind: "basic", username: "u", password: "p" }, "v3");
 * console.log(bytes.length); // 18
 * ```
 *
 * @param credentials The credentials.
 * @param dialect `"v3"` (server 3.x, the default) or `"v4"` (server 4.x and later).
 * @returns The bytes.
 * @throws {TypeError} When a v4 value contains `;`, or the dialect is unknown.
 */
export function encodeCredentials(credentials: Credentials, dialect: AuthDialect = "v3"): Uint8Array {
  if (dialect !== "v3" && dialect !== "v4") {
    throw new TypeError(`Encoding credentials failed: dialect ${JSON.stringify(dialect)} is not "v3" or "v4"`);
  }
  const w = new ByteWriter(64);
  if (credentials.kind === "none") return w.finish();
  if (dialect === "v4") {
    writeString(w, connectionString(credentials));
    return w.finish();
  }
  if (credentials.kind === "basic") {
    writeString(w, credentials.username);
    writeString(w, credentials.password);
  } else writeString(w, credentials.token);
  writeString(w, credentials.impersonating);
  writeString(w, credentials.forwardedFor);
  return w.finish();
}

/**
 * Reads one credential string as a server does (length 0 is `null`); for
 * fake servers.
 *
 * @example
 * ```ts ignore
 * // Inside this package (not exported from the entry point):
 * import { ByteReader } from "../core/byte_reader.ts";
 * import { readCredentialString } from "./codec.ts";
 *
 * console.log(readCredentialString(new ByteReader(new Uint8Array([0, 0, 0, 0])))); // null
 * ```
 *
 * @param reader Where to read.
 * @param maxLength The largest length accepted. Default 64 KiB.
 * @returns The string, or `null`.
 * @throws {ProtocolError} On a negative or too large length, or invalid UTF-8.
 */
export function readCredentialString(reader: ByteReader, maxLength = 64 * 1024): string | null {
  const s = reader.utf8(length(reader, "a credential string", maxLength));
  return s === "" ? null : s;
}

/**
 * Parses a v4 connection string as the server does: pairs split on `;`, then
 * on the first `=`; keys are case-sensitive.
 *
 * @example
 * ```ts
 * import { parseConnectionString } from "@x/pubsub/messagebus/wire";
 *
 * console.log(parseConnectionString("Username=u;Password=a=b").get("Password")); // a=b
 * ```
 *
 * @param text The connection string.
 * @returns The key/value pairs.
 * @throws {ProtocolError} On a part without `=` or a duplicated key (authentication fails).
 */
export function parseConnectionString(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) {
      throw new ProtocolError(`Parsing the connection string failed: part ${JSON.stringify(part)} has no "="`);
    }
    const key = part.slice(0, eq);
    if (out.has(key)) throw new ProtocolError(`Parsing the connection string failed: key ${key} is repeated`);
    out.set(key, part.slice(eq + 1));
  }
  return out;
}
