/**
 * The options of the NATS adapter.
 *
 * @module
 */

import type { WebSocketConstructor } from "../core/open_web_socket.ts";
import type { PublishOptions, SubscribeOptions } from "../core/pubsub.ts";

/** Options of JetStream mode. */
export interface JetStreamModeOptions {
  /** The JetStream domain, where the server has one. */
  domain?: string | undefined;
  /** The JetStream API prefix (default `$JS.API`). */
  apiPrefix?: string | undefined;
  /** How long to wait for JetStream API answers and PubAcks, in milliseconds. Default 5000. */
  timeoutMs?: number | undefined;
}

/** What a {@linkcode NatsAuthenticator} returns: the credentials fields of the NATS CONNECT. */
export interface NatsCredentials {
  /** A user name. */
  user?: string;
  /** A password. */
  pass?: string;
  /** A token. */
  auth_token?: string;
  /** A user JWT. */
  jwt?: string;
  /** The public nkey. */
  nkey?: string;
  /** The nonce signature (base64url), or empty for bearer JWTs. */
  sig?: string;
}

/**
 * Produces credentials for each (re)connect, given the server's nonce. It is
 * synchronous, as nats.js requires: fetch tokens ahead of time. nats.js's
 * `jwtAuthenticator`, `nkeyAuthenticator`, `credsAuthenticator` fit.
 */
export type NatsAuthenticator = (nonce?: string) => NatsCredentials | undefined | void;

/** Options of `NatsPubSub.connect()`. */
export interface NatsPubSubOptions {
  /** One server URL or several. */
  servers: string | string[];
  /**
   * JetStream mode: `subscribe()` reads through pull consumers (messages
   * have `ack/nak/term`), `publish()` resolves on the stream's PubAck.
   * Default false (core NATS).
   */
  jetstream?: boolean | JetStreamModeOptions | undefined;
  /** The connection's name, shown by the server. */
  name?: string | undefined;
  /** A token. */
  token?: string | undefined;
  /** A user name. */
  user?: string | undefined;
  /** A password. */
  pass?: string | undefined;
  /** A nats.js authenticator (`jwtAuthenticator`, `nkeyAuthenticator`, ...); synchronous. */
  authenticator?: NatsAuthenticator | NatsAuthenticator[] | undefined;
  /** How long the first connection may take, in milliseconds. Default 5000. */
  timeoutMs?: number | undefined;
  /** Reconnect after a lost connection. Default true. */
  reconnect?: boolean | undefined;
  /** How many reconnect attempts (-1 = forever). Default 10. */
  maxReconnectAttempts?: number | undefined;
  /** The wait between reconnect attempts, in milliseconds. Default 2000. */
  reconnectTimeWaitMs?: number | undefined;
  /**
   * `ws://`/`wss://` URLs only: the WebSocket constructor (any WHATWG-compatible one).
   * Default: `NoDelayWebSocket` under Deno (Nagle off), the platform
   * `WebSocket` elsewhere. Deno's own `WebSocket` leaves Nagle's algorithm
   * on: passing it here costs ≈ 43 ms per request/reply, JetStream pull or
   * acked publish.
   */
  webSocket?: WebSocketConstructor | undefined;
  /**
   * PEM CA certificates trusted besides the system roots: for `wss:`, and
   * for TLS over TCP (`nats://`/`tls://`, where giving them also requires
   * TLS, as a `tls://` URL does). A server whose certificate none of
   * them (nor the system roots) signed is refused with `ConnectionError`.
   */
  caCerts?: string[] | undefined;
  /** Any other nats.js connection option (these win over the ones above). */
  nats?: Readonly<Record<string, unknown>> | undefined;
}

/** Options of `subscribe()`. */
export interface NatsSubscribeOptions extends SubscribeOptions {
  /**
   * Core NATS: the queue group. JetStream: the name of a durable consumer
   * shared by every subscriber that gives it (each message goes to one of
   * them); same as `durable`.
   */
  group?: string | undefined;
  /** JetStream: read through this durable consumer, created if missing (resumes where it left off). */
  durable?: string | undefined;
  /** JetStream: the stream; default, the stream whose subjects take the topic. */
  stream?: string | undefined;
  /** JetStream: use the existing consumer `durable` as it is (no create, no filter). */
  bind?: boolean | undefined;
  /**
   * JetStream: where a new consumer starts. Default `"new"`: only messages
   * stored after the subscription started.
   */
  deliver?: "all" | "new" | "last" | "last-per-subject" | { sequence: number } | { time: Date } | undefined;
  /** JetStream: how long the server waits for an ack before redelivering, in milliseconds. Default 30000. */
  ackWaitMs?: number | undefined;
  /** JetStream: how many times a message is delivered at most (-1 = no limit). */
  maxDeliver?: number | undefined;
  /** JetStream: how long a pull waits for a message when none is available, in milliseconds. Default 5000. */
  expiresMs?: number | undefined;
  /**
   * JetStream: `ack()`, `nak()` and `term()` resolve only once the server
   * confirmed the settlement (a request and its reply, nats.js's `ackAck()`),
   * and reject with `TimeoutError` when no confirmation comes within the
   * JetStream `timeoutMs` (the server stopped, the consumer has no leader); a
   * rejected settlement leaves the message unsettled, to be tried again.
   * Default false: a settlement resolves once handed to the connection.
   */
  confirmAcks?: boolean | undefined;
}

/** Options of `publish()`. */
export interface NatsPublishOptions extends PublishOptions {
  /** JetStream: a message id for the stream's de-duplication window. */
  msgId?: string | undefined;
}

/**
 * Checks an optional positive number option.
 *
 * @param value The option's value.
 * @param what Its name, for the message.
 * @param action The action, for the message.
 * @throws {RangeError} When it is given and not a finite number above 0.
 */
export function checkPositive(value: number | undefined, what: string, action: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${action} failed: ${what} ${String(value)} is not a positive number`);
  }
}
