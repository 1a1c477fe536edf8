/**
 * The options of {@linkcode MessageBusClient} and its streams, the handler
 * types, and the argument checks every client call shares.
 *
 * @module
 */

import type { ResolvedReconnectOptions } from "../core/backoff.ts";
import type { StreamOptions } from "../core/source.ts";
import type { Authenticator } from "./authenticator.ts";
import type { AuthDialect, DataPacket, ImageField } from "./codec.ts";

/** TLS settings: `true` for the system's trust store, or the CA certificates to trust. */
export interface MessageBusTlsOptions {
  /** PEM CA certificates to trust instead of the system's store. */
  caCerts?: string[] | undefined;
}

/** Reconnection settings. */
export interface ReconnectOptions {
  /** Attempts before giving up (then the client closes with a {@linkcode ConnectionError}). Default unlimited. */
  maxAttempts?: number | undefined;
  /** The first delay, in ms; it doubles on each attempt (never beyond `maxDelayMs`). Default 100. */
  initialDelayMs?: number | undefined;
  /** The longest delay, in ms. Default 5000. */
  maxDelayMs?: number | undefined;
}

/** Options of {@linkcode MessageBusClient.create}. */
export interface MessageBusClientOptions {
  /** A {@linkcode BasicAuthenticator} or {@linkcode TokenAuthenticator}; none writes nothing. */
  authenticator?: Authenticator | undefined;
  /** Use TLS: `true`, or the CA certificates to trust. Default plain TCP. */
  tls?: boolean | MessageBusTlsOptions | undefined;
  /** `"v3"` (separate strings, server 3.x, the default) or `"v4"` (a connection string, server 4.x and later). */
  auth?: AuthDialect | undefined;
  /** `"bool"` (isImage, the default) or `"contentType"` (server 6.x). */
  imageField?: ImageField | undefined;
  /** Subscribe to `__admin__/heartbeat` on `start()` (heartbeats then reach the data handlers). Default false. */
  monitorHeartbeat?: boolean | undefined;
  /**
   * With `monitorHeartbeat`: when nothing arrives for this long (ms), the
   * connection is taken for dead and re-established. 0 (the default) only
   * subscribes.
   */
  heartbeatTimeoutMs?: number | undefined;
  /**
   * Opt-in login probe: how long `start()` waits (ms) for a round trip
   * through the server on `probeFeed` (see `ping()`), since the server never
   * answers credentials. No echo in time: `start()` rejects with
   * {@linkcode AuthError}. Only for users that hold the Subscribe role on
   * `probeFeed`: no request the server echoes is free of role checks, so a
   * user without it looks exactly like a refused one. 0 (the default) skips
   * the probe: `start()` resolves once the credentials are written, and a
   * refused login shows as silence.
   */
  loginTimeoutMs?: number | undefined;
  /** The feed used by `ping()` and the login probe. Default `"__probe__"`. */
  probeFeed?: string | undefined;
  /** Connect timeout, ms. Default 10000. */
  connectTimeoutMs?: number | undefined;
  /** Re-establish the connection when it is lost (resubscribing everything). Default true. */
  reconnect?: boolean | ReconnectOptions | undefined;
  /** The largest string or payload accepted from the server, in bytes. Default 16 MiB. */
  maxMessageSize?: number | undefined;
  /** The most bytes queued for writing while disconnected or not started. Default 16 MiB. */
  maxQueuedBytes?: number | undefined;
}

/** Called for data (types 8 and 9): `(user, host, feed, topic, packets, isImage)`. */
export type DataHandler = (
  user: string,
  host: string,
  feed: string,
  topic: string,
  packets: readonly DataPacket[] | null,
  isImage: boolean | string,
) => void | Promise<void>;

/** Called for notifications (type 3): `(clientId, user, host, feed, topic, isAdd)`. */
export type NotificationHandler = (
  clientId: string,
  user: string,
  host: string,
  feed: string,
  topic: string,
  isAdd: boolean,
) => void | Promise<void>;

/** Called for authorization requests (type 6): `(clientId, host, user, feed, topic)`, host first as on the wire. */
export type AuthorizationHandler = (
  clientId: string,
  host: string,
  user: string,
  feed: string,
  topic: string,
) => void | Promise<void>;

/** Options of the client's streams. */
export interface MessageBusStreamOptions extends StreamOptions {
  /**
   * Resolve `ready` only after a round trip through the server (see
   * {@linkcode MessageBusClient.ping}) proves the request was processed,
   * rather than once it is written. Only for streams opened after
   * `start()`. Default false.
   */
  sync?: boolean | undefined;
}

/** The key of a (feed, topic) pair in the client's tables. */
export function subscriptionKey(feed: string, topic: string): string {
  return `${feed}\u0000${topic}`;
}

/** Throws a `TypeError` unless `value` is a non-empty string; returns it. */
export function checkName(value: unknown, what: string, action: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${action} failed: the ${what} ${JSON.stringify(value)} is not a non-empty string`);
  }
  return value;
}

/** Checks an optional number of milliseconds (finite, 0 or more); returns it or `fallback`. */
export function checkMs(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`Creating a MessageBusClient failed: ${what} ${String(value)} is not a number of 0 or more`);
  }
  return value;
}

/** Checks the packets of a publish or send: an array of `{ entitlements, data }`, or null. */
export function checkPackets(packets: unknown, action: string): readonly DataPacket[] | null {
  if (packets === null || packets === undefined) return null;
  if (!Array.isArray(packets)) throw new TypeError(`${action} failed: packets is not an array or null`);
  for (const p of packets as unknown[]) {
    const pk = p as { entitlements?: unknown; data?: unknown } | null;
    if (typeof pk !== "object" || pk === null) throw new TypeError(`${action} failed: a packet is not an object`);
    if (pk.data !== null && pk.data !== undefined && !(pk.data instanceof Uint8Array)) {
      throw new TypeError(`${action} failed: a packet's data is not a Uint8Array or null`);
    }
    checkEntitlements(pk.entitlements, action);
  }
  return packets as DataPacket[];
}

/** Checks a set of 32-bit integer entitlements, or null. */
export function checkEntitlements(value: unknown, action: string): void {
  if (value === null || value === undefined) return;
  if (!(value instanceof Set)) throw new TypeError(`${action} failed: entitlements is not a Set or null`);
  for (const n of value) {
    if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
      throw new RangeError(`${action} failed: entitlement ${String(n)} is not a 32-bit integer`);
    }
  }
}

/** Checks `isImage` against the dialect: a boolean (`"bool"`) or a content type (`"contentType"`). */
export function checkImage(
  imageField: ImageField,
  value: unknown,
  action: string,
): { isImage: boolean | null; contentType: string | null } {
  if (imageField === "bool") {
    if (typeof value !== "boolean") {
      throw new TypeError(`${action} failed: isImage ${JSON.stringify(value)} is not a boolean (bool dialect)`);
    }
    return { isImage: value, contentType: null };
  }
  if (typeof value !== "string") {
    throw new TypeError(
      `${action} failed: the content type ${JSON.stringify(value)} is not a string (contentType dialect)`,
    );
  }
  return { isImage: null, contentType: value };
}

/** Checks the arguments of `MessageBusClient.create()`. */
export function checkClientOptions(host: string, port: number, options: MessageBusClientOptions): void {
  const action = "Creating a MessageBusClient";
  checkName(host, "host", action);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${action} failed: port ${String(port)} is not an integer from 1 to 65535`);
  }
  if (options.auth !== undefined && options.auth !== "v3" && options.auth !== "v4") {
    throw new TypeError(`${action} failed: auth ${JSON.stringify(options.auth)} is not "v3" or "v4"`);
  }
  if (options.imageField !== undefined && options.imageField !== "bool" && options.imageField !== "contentType") {
    throw new TypeError(
      `${action} failed: imageField ${JSON.stringify(options.imageField)} is not "bool" or "contentType"`,
    );
  }
  if (options.authenticator !== undefined && typeof options.authenticator?.credentials !== "function") {
    throw new TypeError(`${action} failed: the authenticator has no credentials() method`);
  }
  checkMs(options.loginTimeoutMs, 0, "loginTimeoutMs");
  checkMs(options.connectTimeoutMs, 0, "connectTimeoutMs");
  checkMs(options.heartbeatTimeoutMs, 0, "heartbeatTimeoutMs");
  if (options.probeFeed !== undefined) checkName(options.probeFeed, "probeFeed", action);
}

/**
 * The reconnection policy of the options (`undefined`: no reconnection): the
 * delay doubles from `initialDelayMs` (100) up to `maxDelayMs` (5000),
 * without jitter.
 */
export function reconnectPolicy(options: MessageBusClientOptions): ResolvedReconnectOptions | undefined {
  const rc = options.reconnect ?? true;
  if (rc === false) return undefined;
  const o = rc === true ? {} : rc;
  return {
    delayMs: o.initialDelayMs ?? 100,
    maxDelayMs: o.maxDelayMs ?? 5000,
    factor: 2,
    jitter: 0,
    maxAttempts: o.maxAttempts ?? Infinity,
  };
}
