/**
 * How a route tells a failure it may retry from a refusal, and how it prints
 * an error in its status and its dead letters.
 *
 * @module
 */

import { AuthError, ClosedError, ConnectionError, OverflowError, PubSubError, TimeoutError } from "../core/errors.ts";

const TRANSIENT = [ConnectionError, TimeoutError, ClosedError, AuthError, OverflowError];

/**
 * Whether an error says the target could not be reached (try again later) rather than that it refused the
 * message. JetStream's "nothing answered" (a plain `PubSubError`) happens during a leader election, so it is
 * transient too.
 *
 * @param err What a publish threw.
 * @returns Whether it is transient.
 */
export function isTransient(err: unknown): boolean {
  if (TRANSIENT.some((c) => err instanceof c)) return true;
  if (err instanceof PubSubError && Object.getPrototypeOf(err) === PubSubError.prototype) return true;
  if (err instanceof DOMException && (err.name === "AbortError" || err.name === "TimeoutError")) return true;
  return false;
}

/** An error on one line of at most 300 characters (its name and message). */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.replace(/\s+/g, " ").slice(0, 300);
}
