/**
 * The errors of httppubsub requests, as lonelypsc names them.
 *
 * @module
 */

import { ConnectionError, PubSubError, type PubSubErrorOptions } from "../core/errors.ts";

/**
 * A broadcaster answered with a status that is not retried (a 4xx other
 * than 401/403, or a 500): the request was refused, not lost.
 *
 * @example
 * ```ts
 * import { RefusedError } from "@x/pubsub/httppubsub";
 *
 * const err = new RefusedError("Notifying a/b failed: http://127.0.0.1:3003 answered 400", { status: 400 });
 * console.log(err.status); // 400
 * ```
 */
export class RefusedError extends PubSubError {
  /** The error class name. */
  override name: string = "RefusedError";
  /** The HTTP status. */
  readonly status: number | undefined;
  /** The broadcaster that refused. */
  readonly url: string | undefined;

  /**
   * Creates the error.
   *
   * @param message What was refused.
   * @param options The cause, status and url.
   */
  constructor(message: string, options?: PubSubErrorOptions & { status?: number; url?: string }) {
    super(message, options);
    this.status = options?.status;
    this.url = options?.url;
  }
}

/**
 * A request failed in a way that leaves it unknown whether the broadcaster
 * acted on it (a network error or a timeout), and ambiguous failures are not
 * retried (`retryAmbiguous: false`).
 *
 * @example
 * ```ts
 * import { AmbiguousError } from "@x/pubsub/httppubsub";
 *
 * const err = new AmbiguousError("Notifying a/b failed: the connection was reset", { url: "http://127.0.0.1:3003" });
 * console.log(err.url); // http://127.0.0.1:3003
 * ```
 */
export class AmbiguousError extends ConnectionError {
  /** The error class name. */
  override name: string = "AmbiguousError";
}

/**
 * Every broadcaster was tried for every round of retries, and each failed
 * with a retryable error (502/503/504, or an ambiguous failure). `cause` is
 * the last failure.
 *
 * @example
 * ```ts
 * import { RetriesExhaustedError } from "@x/pubsub/httppubsub";
 *
 * const err = new RetriesExhaustedError("Notifying a/b failed after 2 rounds over 1 broadcaster");
 * console.log(err.name); // RetriesExhaustedError
 * ```
 */
export class RetriesExhaustedError extends ConnectionError {
  /** The error class name. */
  override name: string = "RetriesExhaustedError";
}
