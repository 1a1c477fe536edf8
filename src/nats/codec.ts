/**
 * The NATS and JetStream wire as pure functions: subject and name checks,
 * ack-subject parsing, pull-request bodies, pull-status classification, ack
 * payloads and JetStream API replies. No I/O. Both `./nats` and `./mdb` use it.
 *
 * @module
 */

import type { Msg } from "@nats-io/nats-core";
import { ProtocolError } from "../core/errors.ts";

const encoder = new TextEncoder();

/** The longest subject accepted, in UTF-16 code units (nats-server's own cap is larger; this keeps input bounded). */
export const MAX_SUBJECT_LENGTH = 4096;

/**
 * Checks a NATS subject: non-empty, no whitespace, no empty tokens, and
 * wildcards only where allowed (`*` a whole token, `>` the whole last token).
 *
 * @example
 * ```ts
 * import { checkSubject } from "./codec.ts";
 *
 * checkSubject("orders.*.created", "Subscribing", true); // fine
 * try {
 *   checkSubject("orders.>", "Publishing");
 * } catch (err) {
 *   console.log((err as TypeError).message);
 * }
 * ```
 *
 * @param subject The value given.
 * @param action The action, for the message ("Publishing to", "Subscribing").
 * @param allowWildcards Whether `*` and `>` tokens are allowed.
 * @throws {TypeError} When it is not a valid subject.
 */
export function checkSubject(subject: unknown, action: string, allowWildcards = false): asserts subject is string {
  if (typeof subject !== "string") {
    throw new TypeError(`${action} failed: the subject ${String(subject)} is not a string`);
  }
  if (subject.length === 0) throw new TypeError(`${action} failed: the subject is empty`);
  if (subject.length > MAX_SUBJECT_LENGTH) {
    throw new TypeError(`${action} failed: the subject is ${subject.length} characters, over ${MAX_SUBJECT_LENGTH}`);
  }
  if (/\s/.test(subject)) {
    throw new TypeError(`${action} failed: the subject ${JSON.stringify(subject)} contains whitespace`);
  }
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "") throw new TypeError(`${action} failed: the subject ${JSON.stringify(subject)} has an empty token`);
    const wild = t === "*" || t === ">";
    if (wild && !allowWildcards) {
      throw new TypeError(`${action} failed: the subject ${JSON.stringify(subject)} contains a wildcard`);
    }
    if (t === ">" && i !== tokens.length - 1) {
      throw new TypeError(`${action} failed: in ${JSON.stringify(subject)} ">" is not the last token`);
    }
  }
}

/**
 * Tells whether a subject has a `*` or `>` token.
 *
 * @example
 * ```ts
 * import { isWildcardSubject } from "./codec.ts";
 *
 * console.log(isWildcardSubject("a.*"), isWildcardSubject("a.b*")); // true false
 * ```
 *
 * @param subject A valid subject.
 * @returns Whether it is a pattern.
 */
export function isWildcardSubject(subject: string): boolean {
  return subject.split(".").some((t) => t === "*" || t === ">");
}

/**
 * Checks a JetStream stream, consumer or durable name: non-empty, at most 255
 * characters, none of `.`, `*`, `>`, whitespace, `/` or `\`.
 *
 * @example
 * ```ts
 * import { checkName } from "./codec.ts";
 *
 * checkName("billing", "durable", "Subscribing"); // fine
 * ```
 *
 * @param name The value given.
 * @param what Which name ("durable", "stream").
 * @param action The action, for the message.
 * @throws {TypeError} When it is not a valid name.
 */
export function checkName(name: unknown, what: string, action: string): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > 255 || /[.*>\s/\\]/.test(name)) {
    throw new TypeError(`${action} failed: the ${what} name ${JSON.stringify(name)} is not a valid JetStream name`);
  }
}

/** What a JetStream message's ack (reply) subject says about it. */
export interface AckInfo {
  /** The JetStream domain, when the server gave one. */
  readonly domain: string | undefined;
  /** The account hash (new-style subjects only). */
  readonly accountHash: string | undefined;
  /** The stream. */
  readonly stream: string;
  /** The consumer. */
  readonly consumer: string;
  /** How many times it was delivered, this delivery included (1 on the first). */
  readonly deliveryCount: number;
  /** Its sequence in the stream. */
  readonly streamSequence: number;
  /** Its sequence in the consumer. */
  readonly consumerSequence: number;
  /** When it was stored, in nanoseconds since the epoch, as the decimal digits the server sent (exact). */
  readonly timestamp: string;
  /** When it was stored, in milliseconds since the epoch. */
  readonly timestampMs: number;
  /** How many messages were still pending for the consumer after it. */
  readonly pending: number;
}

function malformed(subject: string, why: string): ProtocolError {
  return new ProtocolError(`Parsing the ack subject ${JSON.stringify(subject.slice(0, 200))} failed: ${why}`);
}

/** Dot positions of the subject being parsed (scratch space; parsing is synchronous). */
const dots = new Int32Array(12);

/** Parses the digits of `subject[start, end)`: 1 to 16 of them, a safe integer. */
function digits(subject: string, start: number, end: number, field: string): number {
  const n = end - start;
  if (n < 1 || n > 16) throw malformed(subject, `${field} is not a number of 1 to 16 digits`);
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = subject.charCodeAt(i) - 48;
    if (d < 0 || d > 9) {
      throw malformed(subject, `${field} ${JSON.stringify(subject.slice(start, end))} is not a number`);
    }
    v = v * 10 + d;
  }
  if (!Number.isSafeInteger(v)) throw malformed(subject, `${field} ${subject.slice(start, end)} is too large`);
  return v;
}

/**
 * Parses a JetStream ack subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`
 * (9 tokens) or
 * `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>.<random>`
 * (12 tokens, domain `_` meaning none).
 *
 * @example
 * ```ts
 * import { parseAckSubject } from "./codec.ts";
 *
 * const info = parseAckSubject("$JS.ACK.ORDERS.worker.1.42.7.1700000000000000000.3");
 * console.log(info.stream, info.streamSequence, info.pending, info.timestampMs); // ORDERS 42 3 1700000000000
 * ```
 *
 * @param subject The reply subject of a message delivered by a consumer.
 * @returns Its fields.
 * @throws {ProtocolError} When it is not an ack subject.
 */
export function parseAckSubject(subject: string): AckInfo {
  if (typeof subject !== "string" || subject.length > MAX_SUBJECT_LENGTH) {
    throw new ProtocolError("Parsing an ack subject failed: it is missing or too long");
  }
  if (!subject.startsWith("$JS.ACK.")) throw malformed(subject, "it does not start with $JS.ACK");
  // Where the dots are (the first 12 are enough), and how many there are.
  const len = subject.length;
  let count = 0;
  for (let i = subject.indexOf("."); i >= 0; i = subject.indexOf(".", i + 1)) {
    if (count < 12) dots[count] = i;
    count++;
  }
  const tokens = count + 1;
  let at: number;
  if (tokens === 9) at = 2;
  else if (tokens >= 11) at = 4;
  else throw malformed(subject, `${tokens} tokens, not 9 or 11+`);
  const start = (k: number) => dots[k - 1]! + 1;
  const end = (k: number) => (k < count ? dots[k]! : len);
  const domain = at === 4 ? subject.slice(start(2), end(2)) : undefined;
  const stream = subject.slice(start(at), end(at));
  const consumer = subject.slice(start(at + 1), end(at + 1));
  if (stream === "" || consumer === "") throw malformed(subject, "an empty name");
  const tsStart = start(at + 5);
  const tsEnd = end(at + 5);
  const tsLen = tsEnd - tsStart;
  if (tsLen < 1 || tsLen > 20) throw malformed(subject, "the timestamp is not a number of 1 to 20 digits");
  let ms = 0;
  for (let i = tsStart; i < tsEnd; i++) {
    const d = subject.charCodeAt(i) - 48;
    if (d < 0 || d > 9) {
      throw malformed(subject, `timestamp ${JSON.stringify(subject.slice(tsStart, tsEnd))} is invalid`);
    }
    if (i < tsEnd - 6) ms = ms * 10 + d;
  }
  return {
    domain: domain === "_" ? undefined : domain,
    accountHash: at === 4 ? subject.slice(start(3), end(3)) : undefined,
    stream,
    consumer,
    deliveryCount: digits(subject, start(at + 2), end(at + 2), "delivery count"),
    streamSequence: digits(subject, start(at + 3), end(at + 3), "stream sequence"),
    consumerSequence: digits(subject, start(at + 4), end(at + 4), "consumer sequence"),
    timestamp: subject.slice(tsStart, tsEnd),
    timestampMs: ms,
    pending: digits(subject, start(at + 6), end(at + 6), "pending count"),
  };
}

/** What {@linkcode pullRequest} takes. */
export interface PullRequestInit {
  /** The most messages to deliver, at least 1. */
  batch: number;
  /** How long the server holds the request, in milliseconds (0 = no expiry). */
  expiresMs?: number | undefined;
  /** Answer at once with what is available, then end the request. */
  noWait?: boolean | undefined;
  /** Ask for idle heartbeats at this interval, in milliseconds. */
  idleHeartbeatMs?: number | undefined;
}

/**
 * Encodes the body of a `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`
 * request (durations in nanoseconds, as the server expects).
 *
 * @example
 * ```ts
 * import { pullRequest } from "./codec.ts";
 *
 * console.log(new TextDecoder().decode(pullRequest({ batch: 10, expiresMs: 5000, noWait: true })));
 * // {"batch":10,"expires":5000000000,"no_wait":true}
 * ```
 *
 * @param init Batch, expiry, no-wait, heartbeat.
 * @returns The JSON body as bytes.
 * @throws {RangeError} When `batch` is not a positive integer or a duration is negative.
 */
export function pullRequest(init: PullRequestInit): Uint8Array {
  if (!Number.isInteger(init.batch) || init.batch < 1) {
    throw new RangeError(`Requesting messages failed: batch ${String(init.batch)} is not a positive integer`);
  }
  const body: Record<string, unknown> = { batch: init.batch };
  const ns = (ms: number, what: string) => {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`Requesting messages failed: ${what} ${ms} is not a non-negative number`);
    }
    return Math.round(ms * 1_000_000);
  };
  if (init.expiresMs !== undefined && ns(init.expiresMs, "expires") > 0) body.expires = ns(init.expiresMs, "expires");
  if (init.noWait === true) body.no_wait = true;
  if (init.idleHeartbeatMs !== undefined && ns(init.idleHeartbeatMs, "idleHeartbeat") > 0) {
    body.idle_heartbeat = ns(init.idleHeartbeatMs, "idleHeartbeat");
  }
  return encoder.encode(JSON.stringify(body));
}

/**
 * What a status message on a pull inbox means. Only `"deleted"` and
 * `"refused"` end a subscription; an `"interrupted"` request is retried.
 */
export type PullStatus =
  | "heartbeat" // 100: idle heartbeat or flow control; the request goes on
  | "no-messages" // 404: nothing available for a no-wait request; the request ended
  | "timeout" // 408: the request expired (possibly after some messages); the request ended
  | "deleted" // 409 Consumer Deleted (or Stream Deleted): the consumer is gone; the subscription cannot go on
  | "refused" // 400 Bad Request, 409 Consumer is push based: no request of this kind can ever be served
  | "interrupted"; // anything else (409 Server Shutdown, Leadership Change, Exceeded ..., 503): ended; retry later

/**
 * Classifies the status a server sends to a pull inbox (a message with no
 * payload and a `NATS/1.0 <code> <description>` header line).
 *
 * As nats.js `consume()`, a status ends the subscription only when no retry
 * can succeed: the consumer was deleted, or the server refuses this kind of
 * request altogether. Everything else (a graceful shutdown's
 * `409 Server Shutdown`, a leadership change, an exceeded limit, no JetStream
 * responder yet) ends only the request.
 *
 * @example
 * ```ts
 * import { classifyStatus } from "./codec.ts";
 *
 * console.log(classifyStatus(409, "Consumer Deleted"), classifyStatus(409, "Server Shutdown")); // deleted interrupted
 * ```
 *
 * @param code The status code.
 * @param description The description after it.
 * @returns The kind.
 */
export function classifyStatus(code: number, description: string): PullStatus {
  switch (code) {
    case 100:
      return "heartbeat";
    case 404:
      return "no-messages";
    case 408:
      return "timeout";
    case 400:
      return "refused";
    case 409:
      if (/(consumer|stream) (is )?deleted/i.test(description)) return "deleted";
      if (/push based/i.test(description)) return "refused";
      return "interrupted";
    default:
      return "interrupted";
  }
}

/** The payload of a positive ack. */
export const ACK: Uint8Array = encoder.encode("+ACK");

/** The ack payloads a connection sends. */
export interface AckCodec {
  /** The payload of a positive ack. */
  readonly ack: Uint8Array;
  /** The payload of a negative ack, asking for redelivery after `delayMs`. */
  nak(delayMs?: number): Uint8Array;
  /** The payload of a terminate ack. */
  term(reason?: string): Uint8Array;
}

/**
 * Encodes a negative ack, asking for redelivery (after `delayMs`, if given).
 *
 * @example
 * ```ts
 * import { nakPayload } from "./codec.ts";
 *
 * console.log(new TextDecoder().decode(nakPayload(1500))); // -NAK {"delay":1500000000}
 * ```
 *
 * @param delayMs How long the server waits before redelivering, in milliseconds.
 * @returns The payload.
 * @throws {RangeError} When the delay is negative or not finite.
 */
export function nakPayload(delayMs?: number): Uint8Array {
  if (delayMs === undefined || delayMs === 0) return encoder.encode("-NAK");
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new RangeError(`Nak-ing a message failed: delay ${delayMs} is not a non-negative number`);
  }
  return encoder.encode(`-NAK ${JSON.stringify({ delay: Math.round(delayMs * 1_000_000) })}`);
}

/**
 * Encodes a terminate ack: the message is never delivered again.
 *
 * @example
 * ```ts
 * import { termPayload } from "./codec.ts";
 *
 * console.log(new TextDecoder().decode(termPayload("bad input"))); // +TERM bad input
 * ```
 *
 * @param reason Why, kept by the server in its advisory.
 * @returns The payload.
 */
export function termPayload(reason?: string): Uint8Array {
  return encoder.encode(reason === undefined || reason === "" ? "+TERM" : `+TERM ${reason.replace(/[\r\n]/g, " ")}`);
}

/**
 * The ack payloads for a server: `+TERM <reason>` only where the server
 * understands it (nats-server 2.11 and later; 2.9 ignores the whole ack when a
 * reason follows, so the reason is left out for it).
 *
 * @example
 * ```ts
 * import { ackCodec } from "./codec.ts";
 *
 * const old = ackCodec(false, new Uint8Array(0)); // nats-py's empty ack, a 2.9 server
 * console.log(old.ack.length, new TextDecoder().decode(old.term("bad"))); // 0 +TERM
 * ```
 *
 * @param termReasons Whether the server understands a reason after `+TERM`.
 * @param ack The positive ack payload: `+ACK` (default) or an empty payload (what nats-py sends; the same to the server).
 * @returns The payloads.
 */
export function ackCodec(termReasons: boolean, ack: Uint8Array = ACK): AckCodec {
  return { ack, nak: nakPayload, term: termReasons ? termPayload : () => termPayload() };
}

/** A JetStream API error, as the server reports it. */
export interface ApiError {
  /** The HTTP-like status (404, 400, 503...). */
  readonly code: number;
  /** JetStream's own error code (10014: consumer not found...), 0 when absent. */
  readonly err_code: number;
  /** The server's description. */
  readonly description: string;
}

/** A JetStream API reply: the document, or its error. */
export type ApiReply = { readonly ok: true; readonly doc: Record<string, unknown> } | {
  readonly ok: false;
  readonly error: ApiError;
};

/** The JetStream error code of "consumer not found". */
export const CONSUMER_NOT_FOUND = 10014;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses the reply to a `$JS.API…` request.
 *
 * @example
 * ```ts
 * import { parseApiReply } from "./codec.ts";
 *
 * const r = parseApiReply(new TextEncoder().encode('{"error":{"code":404,"err_code":10014,"description":"consumer not found"}}'), "the consumer info");
 * console.log(r.ok ? "ok" : r.error.err_code); // 10014
 * ```
 *
 * @param bytes The reply payload.
 * @param what The request, for the message.
 * @returns The document or its error.
 * @throws {ProtocolError} When it is not a JSON object or its error is malformed.
 */
export function parseApiReply(bytes: Uint8Array, what: string): ApiReply {
  let doc: unknown;
  try {
    doc = JSON.parse(strictUtf8.decode(bytes));
  } catch (cause) {
    throw new ProtocolError(`Reading the ${what} reply failed: it is not JSON`, { cause });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ProtocolError(`Reading the ${what} reply failed: it is not a JSON object`);
  }
  const d = doc as Record<string, unknown>;
  if (d.error !== undefined) {
    const e = d.error as Record<string, unknown> | null;
    if (typeof e !== "object" || e === null || typeof e.code !== "number") {
      throw new ProtocolError(`Reading the ${what} reply failed: its error is malformed`);
    }
    return {
      ok: false,
      error: {
        code: e.code,
        err_code: typeof e.err_code === "number" ? e.err_code : 0,
        description: typeof e.description === "string" ? e.description : "",
      },
    };
  }
  return { ok: true, doc: d };
}

/**
 * Reads the stream names of a `$JS.API.STREAM.NAMES` reply.
 *
 * @example
 * ```ts
 * import { streamNamesOf } from "./codec.ts";
 *
 * console.log(streamNamesOf({ streams: ["ORDERS"] }), streamNamesOf({ streams: null })); // [ "ORDERS" ] []
 * ```
 *
 * @param doc The reply document.
 * @returns The names (empty when the server says `null`).
 * @throws {ProtocolError} When `streams` is neither `null` nor an array of strings.
 */
export function streamNamesOf(doc: Record<string, unknown>): string[] {
  const s = doc.streams;
  if (s === null || s === undefined) return [];
  if (!Array.isArray(s) || !s.every((x) => typeof x === "string")) {
    throw new ProtocolError("Reading the stream names reply failed: streams is not a list of names");
  }
  return s as string[];
}

/**
 * Whether a received message is a JetStream status (a header code, no reply
 * subject) rather than a stream message.
 *
 * @param m The message.
 * @returns `true` for a status message.
 */
export function isStatus(m: Msg): boolean {
  return !m.reply && m.headers !== undefined && m.headers.code > 0;
}

/**
 * Milliseconds as the nanoseconds JetStream's API counts in.
 *
 * @param ms Milliseconds.
 * @returns Nanoseconds, rounded.
 */
export function nanos(ms: number): number {
  return Math.round(ms * 1_000_000);
}
