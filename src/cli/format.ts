/**
 * Output formatting for the `pubsub` program: pure functions, no I/O.
 *
 * @module
 */

import { encodeBase64 } from "../core/base64.ts";
import type { Message } from "../core/message.ts";

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** A message as `pubsub sub --json` prints it (one object per line). */
export interface MessageRecord {
  /** Where it was published. */
  topic: string;
  /** The system's identifier, where it has one. */
  id?: string;
  /** When it was published (ISO 8601), where the system says. */
  time?: string;
  /** The headers, where there are any. */
  headers?: Record<string, string>;
  /** The payload as text, when it is valid UTF-8. */
  text?: string;
  /** The payload in base64, when it is not valid UTF-8. */
  base64?: string;
}

/**
 * Describes a message as a JSON-ready record: text when the payload is UTF-8,
 * else base64.
 *
 * @param msg The message.
 * @returns The record.
 */
export function messageRecord(msg: Message): MessageRecord {
  const rec: MessageRecord = { topic: msg.topic };
  if (msg.id !== undefined) rec.id = msg.id;
  if (msg.time !== undefined && !Number.isNaN(msg.time.getTime())) rec.time = msg.time.toISOString();
  const headers: Record<string, string> = {};
  let any = false;
  msg.headers.forEach((v, k) => {
    headers[k] = v;
    any = true;
  });
  if (any) rec.headers = headers;
  try {
    rec.text = strictDecoder.decode(msg.data);
  } catch {
    rec.base64 = encodeBase64(msg.data);
  }
  return rec;
}

/**
 * The value at a percentile of sorted samples (nearest rank).
 *
 * @param sorted Samples in ascending order.
 * @param p The percentile, 0 to 100.
 * @returns The sample, or `NaN` when there are none.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/**
 * Removes the password (and any `token`, `password`, `secret` or `key` query
 * parameters) from a URL before it is printed.
 *
 * @param url The URL as given.
 * @returns The URL safe to print.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "<invalid URL>";
  }
  if (u.password !== "") u.password = "***";
  else if (u.username !== "") u.username = "***";
  for (const k of [...u.searchParams.keys()]) {
    if (/token|pass|secret|key|cred|jwt|seed/i.test(k)) u.searchParams.set(k, "***");
  }
  return u.href;
}

/**
 * Formats a duration in milliseconds for humans: µs below 1 ms.
 *
 * @param ms The duration.
 * @returns The text.
 */
export function formatMs(ms: number): string {
  if (Number.isNaN(ms)) return "-";
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(0)} ms`;
}
