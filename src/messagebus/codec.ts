/**
 * The jetblack-messagebus wire format: the nine message types and their
 * encoders. Decoding is in `message_decoder.ts`, the login in
 * `credentials.ts`, client ids in `uuid.ts`. Pure functions, no I/O.
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

import { ByteWriter } from "../core/byte_writer.ts";
import { uuidToBytes } from "./uuid.ts";

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

export function writeString(w: ByteWriter, value: string | null | undefined): void {
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
