/**
 * The errors particular to stream-sea.
 *
 * @module
 */

import { PubSubError, type PubSubErrorOptions } from "../core/errors.ts";
import { formatViolations, type SchemaViolation } from "./schema.ts";

/**
 * The server refused a request: an HTTP call answered with a non-2xx status
 * (other than 401/403, which are {@linkcode AuthError}s), or a WebSocket
 * subscribe was answered with `success: false`.
 *
 * @example
 * ```ts
 * import { StreamSeaError } from "@x/pubsub/streamsea";
 *
 * const err = new StreamSeaError("Invalid payload", { status: 400, errors: ["temperature is missing"] });
 * console.log(err.status, err.errors); // 400 [ "temperature is missing" ]
 * ```
 */
export class StreamSeaError extends PubSubError {
  /** The error's name. */
  override name: string = "StreamSeaError";
  /** The HTTP status; `undefined` for a refusal over the WebSocket. */
  readonly status: number | undefined;
  /** The `errors` strings of the reply body (validation failures), else empty. */
  readonly errors: readonly string[];
  /** The URL of the request, where there was one. */
  readonly url: string | undefined;

  /**
   * Creates the error.
   *
   * @param message The server's `message`, or a description of the failure.
   * @param options The `status`, the `errors` list, the `url` and the `cause`.
   */
  constructor(
    message: string,
    options: PubSubErrorOptions & { status?: number; errors?: readonly string[]; url?: string } = {},
  ) {
    super(message, options);
    this.status = options.status;
    this.errors = options.errors ?? [];
    this.url = options.url;
  }
}

/**
 * A payload did not match its stream's schema, found before sending
 * (`publish(..., { validate })`). It is an argument mistake, hence a
 * `TypeError`.
 *
 * @example
 * ```ts
 * import { SchemaValidationError } from "@x/pubsub/streamsea";
 *
 * const err = new SchemaValidationError("boiler_data", [{ path: "temperature", message: "is missing" }]);
 * console.log(err instanceof TypeError, err.violations.length); // true 1
 * ```
 */
export class SchemaValidationError extends TypeError {
  /** The error's name. */
  override name: string = "SchemaValidationError";
  /** Every violation, with its path. */
  readonly violations: readonly SchemaViolation[];

  /**
   * Creates the error.
   *
   * @param stream The stream published to.
   * @param violations What {@linkcode validate} found.
   */
  constructor(stream: string, violations: readonly SchemaViolation[]) {
    super(`Publishing to ${stream} failed: the payload breaks the schema: ${formatViolations(violations).join("; ")}`);
    this.violations = violations;
  }
}
