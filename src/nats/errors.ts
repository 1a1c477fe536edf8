/**
 * The one mapping of nats.js errors to this library's typed errors, used by
 * every NATS path of `./nats`, `./nats/tcp` and `./mdb`.
 *
 * @module
 */

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
 * import { mapNatsError } from "./errors.ts";
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
