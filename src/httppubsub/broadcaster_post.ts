/**
 * `postWithRetries`: one request of the HTTP client to its broadcasters,
 * tried in priority order for a number of rounds with backoff between them,
 * each attempt under a time limit.
 *
 * @module
 */

import { delay, withDeadline } from "../core/async.ts";
import { AuthError, ClosedError, ConnectionError, ProtocolError } from "../core/errors.ts";
import { cancelQuietly, readCapped } from "./body.ts";
import { type Broadcaster, byPriority } from "./broadcasters.ts";
import { MAX_U16_FIELD } from "./codec.ts";
import { AmbiguousError, RefusedError, RetriesExhaustedError } from "./errors.ts";
import type { AuthConfig } from "./auth.ts";
import type { AuthDocument } from "./auth_document.ts";
import type { GenericResponse } from "./broadcaster_responses.ts";

/** How a client posts: its broadcasters and its retry settings. */
export interface PostPolicy {
  readonly broadcasters: readonly Broadcaster[];
  /** Rounds over all broadcasters. */
  readonly retries: number;
  /** Whether network errors and timeouts move on to the next broadcaster. */
  readonly retryAmbiguous: boolean;
  /** Time limit of each attempt, in ms. */
  readonly timeoutMs: number;
  /** Backoff base between rounds, in ms. */
  readonly backoffMs: number;
  readonly fetch: typeof fetch;
  /** Aborted when the client closes: the post then fails with `ClosedError`. */
  readonly closing: AbortSignal;
}

/**
 * Posts to the broadcasters with retries: 502/503/504 and (with
 * `retryAmbiguous`) network errors move on to the next; 409 counts as
 * success where `conflict` is given; other statuses are final.
 *
 * @param policy The broadcasters and retry settings.
 * @param action The error message prefix, e.g. `Notifying orders`.
 * @param path The path, e.g. `/v1/notify`.
 * @param build Makes the body and authorization of one attempt (signed afresh each time).
 * @param handle Decodes and checks a 200 answer.
 * @param conflict The result of a 409, where it is one.
 * @param signal Stops retrying when aborted.
 * @returns What `handle` returns.
 * @throws {RefusedError} On a final status.
 * @throws {AuthError} On 401/403.
 * @throws {AmbiguousError} On a network error with `retryAmbiguous: false`.
 * @throws {RetriesExhaustedError} When every attempt failed.
 * @throws {ClosedError} When the client closed meanwhile.
 */
export async function postWithRetries<T>(
  policy: PostPolicy,
  action: string,
  path: string,
  build: () => Promise<{ body: BodyInit; authorization: string | undefined }>,
  handle: (body: Uint8Array, url: string) => Promise<T>,
  conflict: (() => T) | undefined,
  signal: AbortSignal | undefined,
): Promise<T> {
  const outer = signal === undefined ? policy.closing : AbortSignal.any([policy.closing, signal]);
  let last: unknown;
  for (let round = 0; round < policy.retries; round++) {
    if (round > 0) {
      await delay(policy.backoffMs * 2 ** (round - 1) + Math.random() * policy.backoffMs, outer);
      outer.throwIfAborted();
    }
    for (const b of byPriority(policy.broadcasters)) {
      outer.throwIfAborted();
      const url = `${b.host}${path}`;
      const { body, authorization } = await build();
      const headers: Record<string, string> = { "content-type": "application/octet-stream" };
      if (authorization !== undefined) headers.authorization = authorization;
      let status: number;
      let bytes: Uint8Array | undefined;
      try {
        [status, bytes] = await withDeadline(policy.timeoutMs, async (sig) => {
          const init: RequestInit & { duplex?: string } = { method: "POST", body, headers, signal: sig };
          if (body instanceof ReadableStream) init.duplex = "half";
          const res = await policy.fetch(url, init);
          if (res.status !== 200) {
            await cancelQuietly(res.body);
            return [res.status, undefined] as const;
          }
          const got = await readCapped(res, 4 * MAX_U16_FIELD + 1024);
          return [res.status, got] as const;
        }, { signal: outer, error: deadlineError });
      } catch (err) {
        if (policy.closing.aborted) {
          throw new ClosedError(`${action} failed: the client was closed`, { cause: err });
        }
        signal?.throwIfAborted();
        if (err instanceof TypeError && /retry|one-shot/.test(err.message)) throw err;
        last = new AmbiguousError(`${action} failed: ${url} did not answer: ${(err as Error).message}`, {
          cause: err,
          url,
        });
        if (!policy.retryAmbiguous) throw last;
        continue;
      }
      if (status === 200) {
        if (bytes === undefined) throw new ProtocolError(`${action} failed: the answer of ${url} is too long`);
        return await handle(bytes, url);
      }
      if (status === 409 && conflict !== undefined) return conflict();
      if (status === 502 || status === 503 || status === 504) {
        last = new ConnectionError(`${action} failed: ${url} answered ${status}`, { url });
        continue;
      }
      if (status === 401 || status === 403) {
        throw new AuthError(`${action} failed: ${url} answered ${status}`, { url, status });
      }
      throw new RefusedError(`${action} failed: ${url} answered ${status}`, { url, status });
    }
  }
  throw new RetriesExhaustedError(
    `${action} failed after ${policy.retries} rounds over ${policy.broadcasters.length} broadcasters`,
    { cause: last },
  );
}

/** What a request past its time limit fails with (the text lands in `AmbiguousError`'s message). */
function deadlineError(ms: number): DOMException {
  return new DOMException(`timed out after ${ms} ms`, "TimeoutError");
}

/**
 * Verifies the signature of a broadcaster's answer.
 *
 * @param receiveAuth The "to-subscriber" auth.
 * @param action The error message prefix.
 * @param url Who answered.
 * @param res The decoded answer.
 * @param doc The document its authorization signs.
 * @throws {AuthError} When the authorization does not verify.
 */
export async function verifyAnswer(
  receiveAuth: AuthConfig,
  action: string,
  url: string,
  res: GenericResponse,
  doc: AuthDocument,
): Promise<void> {
  const r = await receiveAuth.verify(doc, res.authorization, res.tracing);
  if (r !== "ok") {
    throw new AuthError(`${action} failed: the answer of ${url} has a ${r} authorization`, { url });
  }
}
