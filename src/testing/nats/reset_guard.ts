/**
 * A test guard for a known issue of NATS over TCP under Deno.
 *
 * @module
 */

import { delay } from "../../core/async.ts";

/** What {@linkcode ignoreLateSocketResets} returns. */
export interface LateResetGuard {
  /** How many late resets were swallowed so far. */
  readonly resets: number;
  /** Waits `graceMs` for late resets, then removes the guard. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Swallows the uncaught `read ECONNRESET` errors that Deno's `node:net`
 * compatibility sometimes raises on a TCP socket that nats.js
 * (`@nats-io/transport-node` 3.4) has already released, when nats-server
 * resets the connection right after refusing its credentials. Every other
 * uncaught error still fails the test. Use it around tests that expect a
 * TCP connection to be refused (Deno 2.9.6; an upstream issue).
 *
 * @example
 * ```ts ignore
 * import { ignoreLateSocketResets } from "@x/pubsub/testing/nats";
 *
 * Deno.test("a refused TCP connection is an AuthError", async () => {
 *   await using _guard = ignoreLateSocketResets();
 *   // ... connect over TCP with wrong credentials and assert the error
 * });
 * ```
 *
 * @param graceMs How long disposal waits for late resets. Default 300.
 * @returns The guard; dispose of it (`await using`) to remove it.
 */
export function ignoreLateSocketResets(graceMs = 300): LateResetGuard {
  let resets = 0;
  const onError = (ev: ErrorEvent) => {
    const error: unknown = ev.error;
    const text = error instanceof Error ? `${error.message} ${error.stack ?? ""}` : String(ev.message);
    if (/ECONNRESET/.test(text)) {
      ev.preventDefault();
      resets++;
    }
  };
  globalThis.addEventListener("error", onError);
  return {
    get resets() {
      return resets;
    },
    async [Symbol.asyncDispose]() {
      await delay(graceMs);
      globalThis.removeEventListener("error", onError);
    },
  };
}
