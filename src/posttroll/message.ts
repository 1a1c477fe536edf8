/**
 * `PosttrollMessage`: a PostTroll message as a core `Message`, with its
 * native fields.
 *
 * @module
 */

import { BasicMessage } from "../core/message.ts";
import { formatIso, PyDateTime } from "./datetime.ts";
import {
  checkField,
  checkVersion,
  CURRENT_MESSAGE_VERSION,
  type DecodedFrame,
  decodeFrameDeferred,
  type DeferredFrame,
  encodeData,
  encodeFrame,
  frameText,
  isTruthy,
  MAGIC,
  type PosttrollMime,
  renderVersion,
} from "./codec.ts";
import { containsDatetime, pyDumpsFast, type PyValue } from "./json.ts";
import { defaultSender } from "./default_sender.ts";

const encoder = new TextEncoder();
/** The decoded frame `decodeText` is handing to the constructor, with its text (set only during that call). */
let handing: { frame: DeferredFrame; text: string; bytes: Uint8Array | undefined } | undefined;

/** What {@linkcode PosttrollMessage} takes to make a message to send. */
export interface PosttrollMessageInit {
  /** The subject, e.g. `/counter` (sent as `pytroll://counter`). No whitespace. */
  subject: string;
  /** The type, e.g. `info`, `file`, `dataset`. No whitespace. Default `info`. */
  type?: string | undefined;
  /**
   * The data: a string (`text/ascii`, or `binary/octet-stream` with
   * `binary`), a `Uint8Array` (`binary/octet-stream`, one character per
   * byte), or JSON data (`application/json`, see `pyDumps`). Falsy data
   * (`""`, `0`, `{}`, `[]`, `null`) sends a header-only message.
   */
  data?: unknown;
  /** Send a string as `binary/octet-stream`. Default false. */
  binary?: boolean | undefined;
  /** `user@host`; default the login name and host name of this process. */
  sender?: string | undefined;
  /** The header time; default now (aware UTC, microseconds where the clock has them). */
  time?: PyDateTime | Date | undefined;
  /**
   * The version; default `messageVersion`, else automatic: `v1.2` when the
   * data holds a datetime, else `v1.01`.
   */
  version?: string | undefined;
  /** The configured `message_version` (POSTTROLL_MESSAGE_VERSION), used when `version` is not set. */
  messageVersion?: string | undefined;
}

/** Up to this length, a loop into a shared block turns text into bytes faster than `TextEncoder`. */
const SHORT_TEXT = 1024;
/** The size of the blocks short data parts are cut from (as Node's pool for small Buffers). */
const SLAB_SIZE = 8192;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

/**
 * Bytes for a short data part, cut from a shared block: in V8 (Deno and
 * Node alike) a typed array above 64 bytes gets a buffer of its own outside
 * the heap, 0.6 to 1.6 µs here against tens of ns for a view. A message keeps
 * at most its 8 KiB block alive.
 */
function shortBytes(n: number): Uint8Array {
  if (slabUsed + n > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7;
  return out;
}

/**
 * The bytes of the data part: UTF-8, or for binary data one byte per
 * character when every character is below U+0100.
 */
function dataBytes(rawData: string, binary: boolean): Uint8Array {
  const n = rawData.length;
  if (n <= SHORT_TEXT) {
    const out = shortBytes(n);
    if (!binary) {
      // ASCII text (JSON always is) fills exactly one byte per character.
      const r = encoder.encodeInto(rawData, out);
      if (r.read === n && r.written === n) return out;
    } else if (latin1Into(rawData, out)) return out;
  } else if (binary) {
    const out = new Uint8Array(n);
    if (latin1Into(rawData, out)) return out;
  }
  return encoder.encode(rawData);
}

/** Writes one byte per character; false when a character is above U+00FF. */
function latin1Into(text: string, out: Uint8Array): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return false;
    out[i] = c;
  }
  return true;
}

/** A message as built for sending: the header fields of a decoded frame, the data, its text and the whole frame. */
interface Built extends Pick<DecodedFrame, "subject" | "type" | "sender" | "time" | "version" | "mime" | "binary"> {
  /** The data part's text. */
  text: string;
  /** The data as given. */
  data: unknown;
  /** The frame's text. */
  frame: string;
}

/** Subjects, types and senders that passed `checkField` (a pure check): most messages repeat them. */
const goodFields = new Set<string>();

function checkFieldOnce(value: unknown, field: string, action: string): asserts value is string {
  if (typeof value === "string" && goodFields.has(value)) return;
  checkField(value, field, action);
  if (goodFields.size >= 1024) goodFields.clear();
  goodFields.add(value);
}

function buildMessage(i: PosttrollMessageInit, configuredVersion?: string): Built {
  const action = "Creating a message";
  if (typeof i !== "object" || i === null) throw new TypeError(`${action} failed: the init is not an object`);
  const type = i.type ?? "info";
  const sender = i.sender ?? defaultSender();
  checkFieldOnce(i.subject, "subject", action);
  checkFieldOnce(type, "type", action);
  checkFieldOnce(sender, "sender", action);
  const time = i.time === undefined ? PyDateTime.now() : i.time instanceof Date ? PyDateTime.fromDate(i.time) : i.time;
  if (!(time instanceof PyDateTime)) throw new TypeError(`${action} failed: time is not a PyDateTime or Date`);
  const data = i.data ?? "";
  const binary = i.binary ?? false;
  const isBinary = binary || data instanceof Uint8Array;
  // JSON data written by the fast path holds no datetime: that settles the version too.
  const json = !binary && typeof data === "object" && data !== null && !(data instanceof Uint8Array)
    ? pyDumpsFast(data)
    : undefined;
  const version = i.version || i.messageVersion || configuredVersion ||
    (isBinary || json !== undefined || !containsDatetime(data) ? "v1.01" : CURRENT_MESSAGE_VERSION);
  checkVersion(version, action);
  let mime: PosttrollMime | null = null;
  let text = "";
  if (isTruthy(data)) {
    if (json !== undefined) {
      mime = "application/json";
      text = json;
    } else [mime, text] = encodeData(data, binary, version);
  }
  let frame = MAGIC + i.subject + " " + type + " " + sender + " " + formatIso(time, !(version <= "v1.01")) + " " +
    version;
  if (mime !== null) frame += " " + mime + " " + text;
  return { subject: i.subject, type, sender, time, version, mime, text, data, binary: isBinary, frame };
}

/**
 * Encodes a message from its fields without making a {@linkcode PosttrollMessage}
 * (what publishers send).
 *
 * @example
 * ```ts
 * import { encodeMessage } from "@x/pubsub/posttroll/wire";
 *
 * const frame = encodeMessage({ subject: "/a", data: "x", sender: "u@h", time: new Date(0) });
 * console.log(frame); // pytroll://a info u@h 1970-01-01T00:00:00 v1.01 text/ascii x
 * ```
 *
 * @param init The fields.
 * @returns The frame's text.
 * @throws {TypeError} When a field or the data is invalid.
 * @throws {RangeError} When the version is above `v1.2`.
 */
export function encodeMessage(init: PosttrollMessageInit): string {
  return buildMessage(init).frame;
}

/**
 * {@linkcode encodeMessage} with the configured `message_version` used when
 * the init sets no version (what a publisher sends).
 *
 * @param init The fields.
 * @param configuredVersion The configured version, if any.
 * @returns The frame's text.
 * @throws {TypeError} When a field or the data is invalid.
 * @throws {RangeError} When the version is above `v1.2`.
 */
export function encodeConfigured(init: PosttrollMessageInit, configuredVersion: string | undefined): string {
  return buildMessage(init, configuredVersion).frame;
}

function topicOf(subject: string): string {
  return subject.startsWith("/") ? subject.slice(1) : subject;
}

/**
 * A PostTroll message. As a core `Message`: `topic` is the subject without
 * its leading `/`, `data` the bytes of the data part (UTF-8; for
 * `binary/octet-stream`, one byte per character when every character is
 * below U+0100), `time` the header time (naive times read as UTC), and
 * `headers` carry `content-type` (the mime type) and `x-posttroll-type`,
 * `x-posttroll-sender`, `x-posttroll-version`. Natively: `subject`, `type`,
 * `sender`, `user`, `host`, `pyTime`, `version`, `mime`, `binary` and
 * `payload`, the data as Python sees it (a string, or decoded JSON with
 * greedy datetimes).
 *
 * @example Make, encode, decode
 * ```ts
 * import { PosttrollMessage } from "@x/pubsub/posttroll";
 *
 * const msg = new PosttrollMessage({ subject: "/counter/json", type: "file", data: { uri: "file:///x.nc", n: 8 } });
 * const back = PosttrollMessage.decode(msg.encode());
 * console.log(back.topic, back.type, back.version, back.payload); // counter/json file v1.01 { uri: "file:///x.nc", n: 8 }
 * ```
 */
export class PosttrollMessage extends BasicMessage {
  /** The subject, as written after `pytroll:/` (usually starting with `/`). */
  readonly subject: string;
  /** The message type. */
  readonly type: string;
  /** `user@host`. */
  readonly sender: string;
  /** The header time with its microseconds and (for `v1.2`) its offset. */
  readonly pyTime: PyDateTime;
  /** The version the message has (or will be sent with). */
  readonly version: string;
  /** The mime type; `null` for a header-only message. */
  readonly mime: PosttrollMime | null;
  /** Whether the data is binary (`binary/octet-stream`). */
  readonly binary: boolean;
  readonly #frame: string;
  /** The payload, once made. */
  #payload: PyValue | undefined;
  /** How to make a received JSON payload, until it is made. */
  #load: (() => PyValue) | undefined;
  readonly #decoded: boolean;

  /**
   * Makes a message to send.
   *
   * @param init Subject, type, data and optional sender, time and version.
   * @throws {TypeError} When the subject, type or sender is empty or has
   *   whitespace, or the data cannot be encoded.
   * @throws {RangeError} When the version is above `v1.2`.
   */
  constructor(init: PosttrollMessageInit) {
    const decoded = handing;
    handing = undefined;
    if (decoded !== undefined && decoded.frame === (init as unknown)) {
      const frame = decoded.text;
      const bytes = decoded.bytes;
      const f = init as unknown as DeferredFrame;
      const headers: Record<string, string> = {
        "x-posttroll-type": f.type,
        "x-posttroll-sender": f.sender,
        "x-posttroll-version": f.version,
      };
      if (f.mime !== null) headers["content-type"] = f.mime;
      // An ASCII frame (JSON always is) holds the data part's bytes as its tail: no copy.
      const data = bytes !== undefined && bytes.length === frame.length
        ? new Uint8Array(bytes.buffer, bytes.byteOffset + bytes.length - f.rawData.length, f.rawData.length)
        : dataBytes(f.rawData, f.binary);
      super({ topic: topicOf(f.subject), data, time: f.time.toDate(), headers });
      this.subject = f.subject;
      this.type = f.type;
      this.sender = f.sender;
      this.pyTime = f.time;
      this.version = f.version;
      this.mime = f.mime;
      this.binary = f.binary;
      if (typeof f.payload === "function") this.#load = f.payload;
      else this.#payload = f.payload;
      this.#frame = frame;
      this.#decoded = true;
      return;
    }
    const b = buildMessage(init);
    const headers: Record<string, string> = {
      "x-posttroll-type": b.type,
      "x-posttroll-sender": b.sender,
      "x-posttroll-version": b.version,
    };
    if (b.mime !== null) headers["content-type"] = b.mime;
    const data = b.data;
    super({
      topic: topicOf(b.subject),
      data: data instanceof Uint8Array ? data.slice() : dataBytes(b.text, b.binary),
      time: b.time.toDate(),
      headers,
    });
    this.subject = b.subject;
    this.type = b.type;
    this.sender = b.sender;
    this.pyTime = b.time;
    this.version = b.version;
    this.mime = b.mime;
    this.binary = b.binary && b.mime !== null;
    this.#payload = data instanceof Uint8Array ? b.text : b.mime === "application/json" ? data as PyValue : b.text;
    this.#frame = b.frame;
    this.#decoded = false;
  }

  /**
   * The data as Python sees it: a string, or decoded JSON (with integral
   * floats, big integers and greedy datetimes as Python has them); `""` when
   * there is none. A received message's JSON was checked when it arrived;
   * its values are made on first use.
   */
  get payload(): PyValue {
    const load = this.#load;
    if (load !== undefined) {
      this.#payload = load();
      this.#load = undefined;
    }
    return this.#payload!;
  }

  /** The part of the sender before the first `@` (`""` without one). */
  get user(): string {
    const at = this.sender.indexOf("@");
    return at < 0 ? "" : this.sender.slice(0, at);
  }

  /** The part of the sender after the first `@` (`""` without one). */
  get host(): string {
    const at = this.sender.indexOf("@");
    return at < 0 ? "" : this.sender.slice(at + 1);
  }

  /**
   * The frame's text, byte-identical to what Python posttroll would send for
   * the same message (a decoded message re-encodes as Python re-encodes it).
   *
   * @returns The frame (send it as UTF-8).
   */
  encode(): string {
    if (!this.#decoded) return this.#frame;
    const data = this.payload;
    return encodeFrame({
      subject: this.subject,
      type: this.type,
      sender: this.sender,
      time: this.pyTime,
      // A decoded empty version is rendered again, as Python does.
      version: renderVersion(this.version, undefined, data, this.binary),
      data,
      binary: this.binary,
    });
  }

  /**
   * The frame this message was decoded from, or its encoding.
   *
   * @returns The frame's text.
   */
  raw(): string {
    return this.#frame;
  }

  /**
   * Decodes a frame (see `decodeFrame` for the rules).
   *
   * @example
   * ```ts
   * import { PosttrollMessage } from "@x/pubsub/posttroll";
   *
   * const m = PosttrollMessage.decode("pytroll://bin info root@vm 2026-11-22T01:24:09.397250 v1.01 binary/octet-stream abc");
   * console.log(m.binary, m.data); // true Uint8Array(3) [ 97, 98, 99 ]
   * ```
   *
   * @param frame The frame's bytes (strict UTF-8) or text.
   * @returns The message.
   * @throws {ProtocolError} When the frame is malformed.
   */
  static decode(frame: Uint8Array | string): PosttrollMessage {
    if (typeof frame === "string") return decodeText(frame, undefined);
    return decodeText(frameText(frame), frame);
  }
}

/**
 * Decodes a frame whose text is known (the subscriber has it already).
 *
 * @param text The frame's text.
 * @param bytes The frame's bytes, when it came from the wire.
 * @returns The message.
 * @throws {ProtocolError} When the frame is malformed.
 */
export function decodeText(text: string, bytes: Uint8Array | undefined): PosttrollMessage {
  const frame = decodeFrameDeferred(text);
  handing = { frame, text, bytes };
  return new PosttrollMessage(frame as unknown as PosttrollMessageInit);
}
