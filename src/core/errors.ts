/**
 * Typed errors shared by every system of `@x/pubsub`.
 *
 * Argument mistakes throw the built-in `TypeError` or `RangeError`; everything
 * that goes wrong with a peer or a connection is one of the classes below,
 * with `name` set and the underlying error kept as `cause`.
 *
 * @module
 */

/** Options common to every error of this library. */
export interface PubSubErrorOptions {
  /** The error that caused this one, kept for diagnosis. */
  cause?: unknown;
}

/**
 * Base class of every error this library raises about a peer or a connection.
 *
 * @example Telling our errors from others
 * ```ts
 * import { PubSubError, TimeoutError } from "@x/pubsub";
 *
 * const err: unknown = new TimeoutError("Receiving a reply timed out after 5000 ms", { timeoutMs: 5000 });
 * if (err instanceof PubSubError) console.log(err.name); // "TimeoutError"
 * ```
 */
export class PubSubError extends Error {
  /** The error's name, as the class's. */
  override name: string = "PubSubError";
  /**
   * Creates the error.
   *
   * @param message What went wrong, in sentence case, naming the action and the offending value.
   * @param options The `cause`.
   */
  constructor(message: string, options?: PubSubErrorOptions) {
    super(message, options);
  }
}

/**
 * A connection could not be made, or was lost: refused, reset, TLS handshake
 * failure, DNS failure, server gone.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@x/pubsub";
 *
 * const err = new ConnectionError("Connecting to 127.0.0.1:9 failed: connection refused", {
 *   url: "tcp://127.0.0.1:9",
 * });
 * console.log(err.url); // "tcp://127.0.0.1:9"
 * ```
 */
export class ConnectionError extends PubSubError {
  /** The error's name, as the class's. */
  override name: string = "ConnectionError";
  /** The address that could not be reached, where known. */
  readonly url: string | undefined;

  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options The `cause` and the `url` involved.
   */
  constructor(message: string, options?: PubSubErrorOptions & { url?: string }) {
    super(message, options);
    this.url = options?.url;
  }
}

/**
 * The peer refused our credentials, or a credential could not be produced or
 * verified.
 *
 * @example
 * ```ts
 * import { AuthError } from "@x/pubsub";
 *
 * const err = new AuthError("Fetching https://mas.test/api/v1/user failed with status 401", {
 *   url: "https://mas.test/api/v1/user",
 *   status: 401,
 * });
 * console.log(err.status); // 401
 * ```
 */
export class AuthError extends PubSubError {
  /** The error's name, as the class's. */
  override name: string = "AuthError";
  /** The URL that refused, where known. */
  readonly url: string | undefined;
  /** The HTTP (or protocol) status the peer answered, where there is one. */
  readonly status: number | undefined;

  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options The `cause`, the `url` and the `status`.
   */
  constructor(
    message: string,
    options?: PubSubErrorOptions & { url?: string; status?: number },
  ) {
    super(message, options);
    this.url = options?.url;
    this.status = options?.status;
  }
}

/**
 * A peer sent bytes or documents that break the protocol. The connection that
 * carried them is closed; the process goes on.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@x/pubsub";
 *
 * const err = new ProtocolError("Decoding a frame failed: unknown message type 42", { offset: 0 });
 * console.log(err.offset); // 0
 * ```
 */
export class ProtocolError extends PubSubError {
  /** The error's name, as the class's. */
  override name: string = "ProtocolError";
  /** Where in the input the problem was found, in bytes, where known. */
  readonly offset: number | undefined;

  /**
   * Creates the error.
   *
   * @param message What was wrong with the input.
   * @param options The `cause` and the byte `offset`.
   */
  constructor(message: string, options?: PubSubErrorOptions & { offset?: number }) {
    super(message, options);
    this.offset = options?.offset;
  }
}

/**
 * An operation did not complete in the time it was given.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@x/pubsub";
 *
 * const err = new TimeoutError("Waiting for a publish confirmation timed out after 2000 ms", {
 *   timeoutMs: 2000,
 * });
 * console.log(err.timeoutMs); // 2000
 * ```
 */
export class TimeoutError extends PubSubError {
  /** The error's name, as the class's. */
  override name: string = "TimeoutError";
  /** The time allowed, in milliseconds, where known. */
  readonly timeoutMs: number | undefined;

  /**
   * Creates the error.
   *
   * @param message What timed out.
   * @param options The `cause` and `timeoutMs`.
   */
  constructor(message: string, options?: PubSubErrorOptions & { timeoutMs?: number }) {
    super(message, options);
    this.timeoutMs = options?.timeoutMs;
  }
}

/**
 * The client, connection or stream was already closed when it was used, or
 * was closed while an operation waited.
 *
 * @example
 * ```ts
 * import { ClosedError } from "@x/pubsub";
 *
 * const err = new ClosedError("Publishing to orders failed: the client is closed");
 * console.log(err.name); // "ClosedError"
 * ```
 */
export class ClosedError extends PubSubError {
  /** The error's name, as the class's. */
  override name: string = "ClosedError";
}

/**
 * A subscription's buffer was full while its overflow policy was `"error"`:
 * the reader did not keep up.
 *
 * @example
 * ```ts
 * import { OverflowError } from "@x/pubsub";
 *
 * const err = new OverflowError("The buffer of subscription orders overflowed at 16 messages", {
 *   highWaterMark: 16,
 * });
 * console.log(err.highWaterMark); // 16
 * ```
 */
export class OverflowError extends PubSubError {
  /** The error's name, as the class's. */
  override name: string = "OverflowError";
  /** The capacity that was exceeded. */
  readonly highWaterMark: number | undefined;

  /**
   * Creates the error.
   *
   * @param message Which buffer overflowed.
   * @param options The `cause` and the `highWaterMark`.
   */
  constructor(
    message: string,
    options?: PubSubErrorOptions & { highWaterMark?: number },
  ) {
    super(message, options);
    this.highWaterMark = options?.highWaterMark;
  }
}
