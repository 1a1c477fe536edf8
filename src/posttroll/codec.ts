/**
 * The `pytroll:/` message format of Python posttroll 1.16, byte for byte:
 * one UTF-8 frame `pytroll:/<subject> <type> <sender> <time> <version>[
 * <mime> <data>]`. Pure: no I/O.
 *
 * @module
 */

import { ProtocolError } from "../core/errors.ts";
import { parseIsoformat, type PyDateTime } from "./datetime.ts";
import { containsDatetime, pyDumps, PyFloat, pyLoadsDeferred, type PyValue } from "./json.ts";

/**
 * The magic prefix: `pytroll:/`, one slash; the subject follows directly.
 *
 * @example
 * ```ts
 * import { MAGIC } from "@x/pubsub/posttroll/wire";
 *
 * console.log(MAGIC + "/counter"); // pytroll://counter
 * ```
 */
export const MAGIC = "pytroll:/";

/**
 * The newest message version (Python's `CURRENT_MESSAGE_VERSION`); nothing
 * above it is sent or accepted.
 *
 * @example
 * ```ts
 * import { CURRENT_MESSAGE_VERSION } from "@x/pubsub/posttroll/wire";
 *
 * console.log(CURRENT_MESSAGE_VERSION); // v1.2
 * ```
 */
export const CURRENT_MESSAGE_VERSION = "v1.2";

/** The three mime types PostTroll knows. */
export type PosttrollMime = "text/ascii" | "application/json" | "binary/octet-stream";

/** The fields of a decoded frame. */
export interface DecodedFrame {
  /** The subject, as written after the magic (usually starting with `/`). */
  subject: string;
  /** The message type (`info`, `file`, `beat`, ...). */
  type: string;
  /** `user@host`. */
  sender: string;
  /** The header time: aware for `v1.2`, naive (UTC by convention) for `v1.01`. */
  time: PyDateTime;
  /** The version field, as sent. */
  version: string;
  /** The mime type, lowercased; `null` for a header-only message. */
  mime: PosttrollMime | null;
  /** The data as Python sees it: a string, or decoded JSON; `""` for a header-only message. */
  payload: PyValue;
  /** Whether the mime type was `binary/octet-stream`. */
  binary: boolean;
  /** The data part exactly as received (`""` for a header-only message). */
  rawData: string;
}

/** Python's `\s` (str.isspace) as a character class. */
const PY_WS_CLASS = "[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PY_WS_ANY = new RegExp(PY_WS_CLASS);

/** Matches one character Python's `str.isspace()` accepts (what splits message fields). */
export const PY_WS: RegExp = PY_WS_ANY;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Much faster than the fatal decoder under Deno; a U+FFFD in its output sends the frame to the fatal one. */
const utf8Replacing = new TextDecoder("utf-8", { ignoreBOM: true });

function preview(s: string): string {
  return JSON.stringify(s.length > 36 ? `${s.slice(0, 36)}...` : s);
}

/**
 * A frame's bytes as text: strict UTF-8, as Python's `recv_string`.
 *
 * @example
 * ```ts
 * import { frameText } from "./codec.ts";
 *
 * console.log(frameText(new TextEncoder().encode("pytroll://a"))); // pytroll://a
 * ```
 *
 * @param bytes The frame.
 * @returns The text.
 * @throws {ProtocolError} When the bytes are not valid UTF-8.
 */
export function frameText(bytes: Uint8Array): string {
  const text = utf8Replacing.decode(bytes);
  if (!text.includes("\ufffd")) return text;
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw new ProtocolError("Decoding a message failed: the frame is not valid UTF-8", { cause: err });
  }
}

/** Whether a UTF-16 code unit is whitespace for Python's `str.isspace()`. */
function isPyWs(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 ||
    c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/**
 * Python's `re.split(r"\s+", s[from:], maxsplit=6)`: the fields of a frame
 * after its magic.
 *
 * @param s The frame's text.
 * @param from Where the fields start.
 * @returns Up to seven parts (the last is the rest, data included).
 */
export function pySplit(s: string, from: number): string[] {
  const parts: string[] = [];
  const n = s.length;
  let i = from;
  let start = from;
  while (parts.length < 6) {
    while (i < n && !isPyWs(s.charCodeAt(i))) i++;
    if (i >= n) break;
    parts.push(s.slice(start, i));
    while (i < n && isPyWs(s.charCodeAt(i))) i++;
    start = i;
  }
  parts.push(s.slice(start));
  return parts;
}

/** A character outside printable ASCII and the space. */
const NOT_PRINTABLE = /[^\x20-\x7e]/;

/**
 * The fast path of {@linkcode pySplit} for the frames every publisher
 * writes: six single spaces between printable ASCII fields, data not
 * starting with whitespace. Finds the spaces with `indexOf`; `undefined` for
 * any other frame, which `pySplit` splits.
 *
 * @param s The frame's text.
 * @param from Where the fields start.
 * @returns The seven parts, or `undefined`.
 */
export function quickSplit(s: string, from: number): string[] | undefined {
  const p1 = s.indexOf(" ", from);
  if (p1 <= from) return undefined;
  const p2 = s.indexOf(" ", p1 + 1);
  if (p2 <= p1 + 1) return undefined;
  const p3 = s.indexOf(" ", p2 + 1);
  if (p3 <= p2 + 1) return undefined;
  const p4 = s.indexOf(" ", p3 + 1);
  if (p4 <= p3 + 1) return undefined;
  const p5 = s.indexOf(" ", p4 + 1);
  if (p5 <= p4 + 1) return undefined;
  const p6 = s.indexOf(" ", p5 + 1);
  if (p6 <= p5 + 1 || p6 + 1 >= s.length || isPyWs(s.charCodeAt(p6 + 1))) return undefined;
  // Single spaces were found; any other whitespace would be outside printable ASCII.
  if (NOT_PRINTABLE.test(s.slice(from, p6))) return undefined;
  return [
    s.slice(from, p1),
    s.slice(p1 + 1, p2),
    s.slice(p2 + 1, p3),
    s.slice(p3 + 1, p4),
    s.slice(p4 + 1, p5),
    s.slice(p5 + 1, p6),
    s.slice(p6 + 1),
  ];
}

/**
 * Decodes one frame as Python posttroll does, as tolerant and as strict:
 * fields split on runs of any Unicode whitespace (so the data keeps its
 * trailing whitespace), versions compared as strings against `v1.2`, times
 * parsed with `fromisoformat`, JSON parsed with bare `NaN`/`Infinity`, big
 * integers and greedy datetimes.
 *
 * @example
 * ```ts
 * import { decodeFrame } from "@x/pubsub/posttroll/wire";
 *
 * const f = decodeFrame("pytroll://counter info root@vm 2026-11-22T01:23:44.734871 v1.01 text/ascii 8");
 * console.log(f.subject, f.type, f.mime, f.payload); // /counter info text/ascii 8
 * ```
 *
 * @param frame The frame's bytes (strict UTF-8) or its text.
 * @returns The fields.
 * @throws {ProtocolError} On anything Python rejects or crashes on: invalid
 *   UTF-8, no magic, fewer than 5 fields, a version above `v1.2`, a time
 *   `fromisoformat` refuses, a mime type without data, an unknown mime type,
 *   JSON that does not parse, an empty subject.
 */
export function decodeFrame(frame: Uint8Array | string): DecodedFrame {
  const f = decodeFrameDeferred(typeof frame === "string" ? frame : frameText(frame));
  return { ...f, payload: typeof f.payload === "function" ? f.payload() : f.payload };
}

/**
 * A decoded frame whose JSON data Python accepts, with the values made
 * only when `payload()` is called (see {@linkcode decodeFrameDeferred}).
 */
export interface DeferredFrame extends Omit<DecodedFrame, "payload"> {
  /** The data as a string, or for JSON a function that makes the values (it does not throw). */
  payload: string | (() => PyValue);
}

/**
 * {@linkcode decodeFrame} with the same checks, all made now (a frame
 * Python rejects throws here, with the same error), but JSON data turned
 * into Python's values (integral floats, big integers, greedy datetimes,
 * key order) only when asked: what checking the JSON needs is done now,
 * what only reading it needs is left for later.
 *
 * @param text The frame's text.
 * @returns The fields, with the JSON payload deferred.
 * @throws {ProtocolError} As {@linkcode decodeFrame}.
 */
export function decodeFrameDeferred(text: string): DeferredFrame {
  if (!text.startsWith(MAGIC)) {
    throw new ProtocolError(`Decoding a message failed: ${preview(text)} does not start with ${MAGIC}`, { offset: 0 });
  }
  const raw = quickSplit(text, MAGIC.length) ?? pySplit(text, MAGIC.length);
  if (raw.length < 5) {
    throw new ProtocolError(`Decoding a message failed: ${preview(text)} has ${raw.length} of at least 5 fields`);
  }
  const [subject, type, sender, timeText, version] = raw as [string, string, string, string, string];
  if (!(version <= CURRENT_MESSAGE_VERSION)) {
    throw new ProtocolError(
      `Decoding a message failed: version ${preview(version)} is above ${CURRENT_MESSAGE_VERSION}`,
    );
  }
  if (subject === "") throw new ProtocolError(`Decoding a message failed: ${preview(text)} has an empty subject`);
  const time = parseIsoformat(timeText);
  if (time === null) {
    throw new ProtocolError(`Decoding a message failed: time ${preview(timeText)} is not ISO format`, {
      cause: new SyntaxError(`Parsing a datetime failed: ${JSON.stringify(timeText)} is not ISO format`),
    });
  }
  if (raw.length === 5) {
    return { subject, type, sender, time, version, mime: null, payload: "", binary: false, rawData: "" };
  }
  if (raw.length === 6) {
    throw new ProtocolError(`Decoding a message failed: mime type ${preview(raw[5]!)} has no data`);
  }
  const mime = raw[5]!.toLowerCase();
  const rawData = raw[6]!;
  switch (mime) {
    case "application/json": {
      let payload: () => PyValue;
      try {
        payload = pyLoadsDeferred(rawData, JSON_OPTIONS);
      } catch (err) {
        throw new ProtocolError(`Decoding a message failed: JSON decode failed on ${preview(rawData)}`, {
          cause: err,
        });
      }
      return { subject, type, sender, time, version, mime, payload, binary: false, rawData };
    }
    case "text/ascii":
      return { subject, type, sender, time, version, mime, payload: rawData, binary: false, rawData };
    case "binary/octet-stream":
      return { subject, type, sender, time, version, mime, payload: rawData, binary: true, rawData };
    default:
      throw new ProtocolError(`Decoding a message failed: unknown mime type ${preview(mime)}`);
  }
}

/** PostTroll reads JSON with its greedy datetime decoder. */
const JSON_OPTIONS = { datetimes: true } as const;

/**
 * Python truthiness of message data: `""`, `0`, `false`, `null`, empty
 * lists, objects and maps are false, and such a message is sent header-only.
 *
 * @example
 * ```ts
 * import { isTruthy } from "./codec.ts";
 *
 * console.log(isTruthy({}), isTruthy([0]), isTruthy(NaN)); // false true true
 * ```
 *
 * @param data The data.
 * @returns Whether Python would find it true.
 */
export function isTruthy(data: unknown): boolean {
  if (data === null || data === undefined || data === false || data === "") return false;
  if (typeof data === "number") return data !== 0;
  if (typeof data === "bigint") return data !== 0n;
  if (data instanceof PyFloat) return data.value !== 0;
  if (Array.isArray(data)) return data.length > 0;
  if (data instanceof Map) return data.size > 0;
  if (data instanceof Uint8Array) return data.length > 0;
  if (typeof data === "object" && Object.getPrototypeOf(data) === Object.prototype) {
    return Object.keys(data).length > 0;
  }
  return true;
}

/**
 * Python's version choice: the version given, else the configured one, else
 * `v1.01` for binary data, `v1.2` when the data holds a datetime, `v1.01`
 * otherwise.
 *
 * @example
 * ```ts
 * import { renderVersion } from "./codec.ts";
 *
 * console.log(renderVersion(undefined, undefined, { t: new Date() }, false)); // v1.2
 * console.log(renderVersion(undefined, "v1.01", { t: new Date() }, false)); // v1.01
 * ```
 *
 * @param version The message's own version.
 * @param configured The `message_version` setting.
 * @param data The data.
 * @param binary Whether the data is binary.
 * @returns The version to send.
 */
export function renderVersion(
  version: string | undefined,
  configured: string | undefined,
  data: unknown,
  binary: boolean,
): string {
  if (version) return version;
  if (configured) return configured;
  if (binary) return "v1.01";
  return containsDatetime(data) ? CURRENT_MESSAGE_VERSION : "v1.01";
}

/**
 * Checks a version before sending.
 *
 * @example
 * ```ts
 * import { checkVersion } from "./codec.ts";
 *
 * checkVersion("v1.01", "Sending"); // fine
 * try {
 *   checkVersion("v1.3", "Sending");
 * } catch (err) {
 *   console.log((err as Error).name); // RangeError
 * }
 * ```
 *
 * @param version The version.
 * @param action The action, for the message.
 * @throws {TypeError} When it is empty or contains whitespace.
 * @throws {RangeError} When it compares above `v1.2` (Python peers drop such messages).
 */
export function checkVersion(version: string, action: string): void {
  if (typeof version !== "string" || version === "" || PY_WS_ANY.test(version)) {
    throw new TypeError(`${action} failed: version ${JSON.stringify(version)} is empty or contains whitespace`);
  }
  if (!(version <= CURRENT_MESSAGE_VERSION)) {
    throw new RangeError(`${action} failed: version ${JSON.stringify(version)} is above ${CURRENT_MESSAGE_VERSION}`);
  }
}

/**
 * Checks a subject, type or sender before sending: a non-empty string
 * without whitespace (which would corrupt the field split).
 *
 * @example
 * ```ts
 * import { checkField } from "./codec.ts";
 *
 * checkField("/counter", "subject", "Sending"); // fine
 * try {
 *   checkField("/a b", "subject", "Sending");
 * } catch (err) {
 *   console.log((err as Error).message); // Sending failed: the subject "/a b" contains whitespace
 * }
 * ```
 *
 * @param value The value.
 * @param field Its name, for the message.
 * @param action The action, for the message.
 * @throws {TypeError} When it is not a non-empty string without whitespace.
 */
export function checkField(value: unknown, field: string, action: string): asserts value is string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${action} failed: the ${field} ${JSON.stringify(value)} is not a non-empty string`);
  }
  if (PY_WS_ANY.test(value)) {
    throw new TypeError(`${action} failed: the ${field} ${JSON.stringify(value)} contains whitespace`);
  }
  if (!value.isWellFormed()) {
    throw new TypeError(`${action} failed: the ${field} ${JSON.stringify(value)} has a lone surrogate`);
  }
}

/** Bytes as a string of the characters U+0000 to U+00FF (latin-1). */
export function bytesToLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/** What {@linkcode encodeFrame} takes. */
export interface FrameInit {
  /** The subject; written right after `pytroll:/`. */
  subject: string;
  /** The type. */
  type: string;
  /** `user@host`. */
  sender: string;
  /** The header time. */
  time: PyDateTime;
  /**
   * The resolved version, written as given (Python's choice when none is set: `v1.01` for binary data, `v1.2` when
   * the data holds a datetime, `v1.01` otherwise).
   */
  version: string;
  /** The data (see {@linkcode encodeData}). */
  data: unknown;
  /** Whether to send the data as `binary/octet-stream`. */
  binary: boolean;
}

/**
 * Encodes the data part: a string as `text/ascii` (or `binary/octet-stream`
 * when `binary`), a `Uint8Array` as `binary/octet-stream` with one character
 * per byte (latin-1), anything else as `application/json` with Python's
 * `json.dumps`.
 *
 * @example
 * ```ts
 * import { encodeData } from "@x/pubsub/posttroll/wire";
 *
 * console.log(encodeData({ n: 1.5 }, false, "v1.01")); // [ "application/json", '{"n": 1.5}' ]
 * ```
 *
 * @param data The data (truthy).
 * @param binary Whether it is binary.
 * @param version The message version, for datetimes.
 * @returns The mime type and the text.
 * @throws {TypeError} When the data cannot be serialised, binary data is not a
 *   string or bytes, or text has a lone surrogate (not valid UTF-8).
 */
export function encodeData(data: unknown, binary: boolean, version: string): [PosttrollMime, string] {
  if (data instanceof Uint8Array) return ["binary/octet-stream", bytesToLatin1(data)];
  if (typeof data === "string") {
    if (!data.isWellFormed()) throw new TypeError("Encoding a message failed: the data has a lone surrogate");
    return [binary ? "binary/octet-stream" : "text/ascii", data];
  }
  if (binary) throw new TypeError(`Encoding a message failed: binary data is a ${typeof data}, not a string or bytes`);
  return ["application/json", pyDumps(data, { version })];
}

/**
 * Encodes a message as Python posttroll does: the header time in
 * `isoformat()` (naive for versions up to `v1.01`), and the data part only
 * when the data is truthy.
 *
 * @example
 * ```ts
 * import { encodeFrame, PyDateTime } from "@x/pubsub/posttroll/wire";
 *
 * const time = PyDateTime.fromisoformat("2026-11-22T01:23:44.734871+00:00");
 * console.log(encodeFrame({ subject: "/counter", type: "info", sender: "root@vm", time, version: "v1.01", data: "8", binary: false }));
 * // pytroll://counter info root@vm 2026-11-22T01:23:44.734871 v1.01 text/ascii 8
 * ```
 *
 * @param init The fields, with the version resolved.
 * @returns The frame's text (send it as UTF-8).
 * @throws {TypeError} On an invalid field or data.
 * @throws {RangeError} On a version above `v1.2`.
 */
export function encodeFrame(init: FrameInit): string {
  const action = "Encoding a message";
  checkField(init.subject, "subject", action);
  checkField(init.type, "type", action);
  checkField(init.sender, "sender", action);
  checkVersion(init.version, action);
  const time = init.version <= "v1.01" ? init.time.naive() : init.time;
  const head = `${MAGIC}${init.subject} ${init.type} ${init.sender} ${time.isoformat()} ${init.version}`;
  if (!isTruthy(init.data)) return head;
  const [mime, text] = encodeData(init.data, init.binary, init.version);
  return `${head} ${mime} ${text}`;
}
