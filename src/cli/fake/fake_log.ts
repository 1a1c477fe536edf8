/**
 * The `--log` output of `pubsub fake`: one JSON object per line on stdout,
 * with secrets masked and payloads cut short.
 *
 * @module
 */

import type { Output } from "../context.ts";
import { encodeBase64 } from "../../core/base64.ts";

/** Keys whose values are never printed: passwords, secrets, tokens, JWTs, authorization headers. */
const SECRET_KEY = /secret|passw(or)?d|^pass$|token|jwt|authori[sz]ation|credential|seed/i;

/** Log lines waiting to be written, at most; beyond that they are counted and dropped. */
const MAX_PENDING = 1000;

/** How many bytes of a payload a log line shows. */
export const PREVIEW_BYTES = 256;

const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Replaces the value of every secret-looking key (`clientSecret`, `password`,
 * `jwt`, `token`, `authorization`, ...) with `"***"`, at any depth.
 *
 * @param value A JSON-like value.
 * @returns A copy without secrets.
 */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined ? "***" : redact(v);
  }
  return out;
}

/**
 * Describes a payload for a log line: its size, and its first
 * {@linkcode PREVIEW_BYTES} bytes as text when they are UTF-8, else base64.
 *
 * @param bytes The payload.
 * @returns `{ bytes, text | base64, truncated? }`.
 */
export function preview(bytes: Uint8Array): Record<string, unknown> {
  const head = bytes.subarray(0, PREVIEW_BYTES);
  const out: Record<string, unknown> = { bytes: bytes.length };
  try {
    out.text = strict.decode(head);
  } catch {
    // Cut in the middle of a character, or binary.
    try {
      out.text = strict.decode(bytes.subarray(0, Math.max(0, PREVIEW_BYTES - 3)));
    } catch {
      out.base64 = encodeBase64(head);
    }
  }
  if (bytes.length > PREVIEW_BYTES) out.truncated = true;
  return out;
}

/**
 * Writes log records as JSON lines, each with the time first. Writing never
 * blocks the fake: when the reader of stdout falls behind by more than
 * 1000 lines, further lines are dropped and counted, and a
 * `{"kind":"log-dropped","count":n}` line says so once it catches up.
 */
export class FakeLog {
  readonly #out: Output;
  readonly #enabled: boolean;
  #pending = 0;
  #dropped = 0;
  #last: Promise<unknown> = Promise.resolve();

  /**
   * Creates the log.
   *
   * @param out Where lines go.
   * @param enabled Whether `--log` was given (when not, `line()` does nothing).
   */
  constructor(out: Output, enabled: boolean) {
    this.#out = out;
    this.#enabled = enabled;
  }

  /** Whether lines are written. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * Writes one record (secret-looking keys masked).
   *
   * @param record The fields; `kind` names what happened.
   */
  line(record: Record<string, unknown>): void {
    if (!this.#enabled) return;
    if (this.#pending >= MAX_PENDING) {
      this.#dropped++;
      return;
    }
    if (this.#dropped > 0) {
      this.#write({ time: new Date().toISOString(), kind: "log-dropped", count: this.#dropped });
      this.#dropped = 0;
    }
    this.#write({ time: new Date().toISOString(), ...(redact(record) as Record<string, unknown>) });
  }

  #write(record: Record<string, unknown>): void {
    this.#pending++;
    this.#last = this.#out.write(JSON.stringify(record) + "\n").finally(() => this.#pending--);
  }

  /**
   * Resolves once the lines written so far are out (or dropped).
   *
   * @returns When nothing is pending.
   */
  async flush(): Promise<void> {
    // Lines are written in order, so the last one done means all are.
    await this.#last;
  }
}

/** How many characters of JSON a log line shows whole. */
const MAX_JSON_CHARS = 2048;

/**
 * Describes a JSON value for a log line, secrets masked: the value itself
 * when its JSON is at most 2048 characters, else `{ truncated, chars, head }`.
 *
 * @param value The value.
 * @returns What to log.
 */
export function previewJson(value: unknown): unknown {
  const clean = redact(value);
  const text = typeof clean === "string" ? clean : JSON.stringify(clean);
  if (text === undefined || text.length <= MAX_JSON_CHARS) return clean;
  return { truncated: true, chars: text.length, head: text.slice(0, PREVIEW_BYTES) };
}
