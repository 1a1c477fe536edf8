/**
 * Helpers of the NATS adapter, shared with `./mdb`: the one mapping of
 * nats.js errors to typed errors, the one conversion of NATS headers to web
 * `Headers`, small checks and timers. No connection state.
 *
 * @module
 */

import { headers as natsHeaders, type Msg, type MsgHdrs } from "@nats-io/nats-core";
import { AuthError, ClosedError, ConnectionError, PubSubError, TimeoutError } from "../core/errors.ts";

/** The names and messages of an error and its causes (nats.js wraps a permission error in a RequestError). */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (!(e instanceof Error)) {
      parts.push(String(e));
      break;
    }
    parts.push(`${e.name} ${e.message}`);
    e = e.cause;
  }
  return parts.join(" | ");
}

/**
 * Turns a nats.js error into one of this library's: refused credentials →
 * `AuthError`, permissions → `AuthError`, closed or draining → `ClosedError`,
 * timeouts → `TimeoutError`, everything else about the link →
 * `ConnectionError`; the original is kept as `cause`. The error's causes are
 * read too (a request refused for permissions is a `RequestError` whose cause
 * is the `PermissionViolationError`). Errors of this library, `TypeError` and
 * `RangeError` are returned as they are.
 *
 * @example
 * ```ts
 * import { mapNatsError } from "@x/pubsub/nats";
 *
 * const err = mapNatsError(new Error("'Authorization Violation'"), "Connecting to ws://127.0.0.1:8080");
 * console.log(err.name); // AuthError
 * ```
 *
 * @param err What nats.js threw.
 * @param action The action, for the message.
 * @param url The server, where known.
 * @returns The typed error.
 */
export function mapNatsError(err: unknown, action: string, url?: string): Error {
  if (err instanceof PubSubError || err instanceof TypeError || err instanceof RangeError) return err;
  const text = errorText(err);
  const message = err instanceof Error ? err.message : String(err);
  const opts = url === undefined ? { cause: err } : { cause: err, url };
  if (/AuthorizationError|Authorization Violation|UserAuthenticationExpired|Authentication Expired/i.test(text)) {
    return new AuthError(`${action} failed: the server refused the credentials (${message})`, opts);
  }
  if (/PermissionViolation|Permissions Violation/i.test(text)) {
    return new AuthError(`${action} failed: permission denied (${message})`, opts);
  }
  if (/ClosedConnectionError|DrainingConnectionError|connection closed|connection draining/i.test(text)) {
    return new ClosedError(`${action} failed: the connection is closed`, { cause: err });
  }
  if (/TimeoutError|timeout/i.test(text)) {
    return new TimeoutError(`${action} failed: timed out (${message})`, { cause: err });
  }
  if (/NoRespondersError|no responders|503/i.test(text)) {
    return new PubSubError(`${action} failed: nothing answered (no JetStream stream takes this subject?)`, {
      cause: err,
    });
  }
  if (/JetStreamApiError|JetStreamError/.test(text)) {
    return new PubSubError(`${action} failed: ${message}`, { cause: err });
  }
  return new ConnectionError(`${action} failed: ${message}`, opts);
}

export function toNatsHeaders(init: HeadersInit | undefined): MsgHdrs | undefined {
  if (init === undefined) return undefined;
  const h = init instanceof Headers ? init : new Headers(init);
  let out: MsgHdrs | undefined;
  h.forEach((value, key) => {
    out ??= natsHeaders();
    out.append(key, value);
  });
  return out;
}

/**
 * Converts the headers of a received NATS message into the pairs a web
 * `Headers` accepts, leaving out what it cannot carry: a name that is not an
 * HTTP token, a value with CR, LF or NUL, or with a character above U+00FF
 * (`Headers` holds byte strings). A peer's odd header never makes reading
 * `msg.headers` throw.
 *
 * @param h The message's headers.
 * @returns The pairs, in order, or `undefined` when there were none.
 */
export function fromNatsHeaders(h: MsgHdrs | undefined): [string, string][] | undefined {
  if (h === undefined) return undefined;
  const out: [string, string][] = [];
  for (const [k, values] of h) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k)) continue;
    for (const v of values) {
      if (/[\r\n\0\u0100-\uffff]/.test(v)) continue;
      out.push([k, v]);
    }
  }
  return out;
}

export function isStatus(m: Msg): boolean {
  return !m.reply && m.headers !== undefined && m.headers.code > 0;
}

export function nanos(ms: number): number {
  return Math.round(ms * 1_000_000);
}

export function checkPositive(value: number | undefined, what: string, action: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${action} failed: ${what} ${String(value)} is not a positive number`);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; the timer is always cleared. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
