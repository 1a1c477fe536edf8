/**
 * `MessageBusClient`: a jetblack-messagebus connection over TCP or TLS.
 *
 * @module
 */

import { detachBytes, TruncatedInputError } from "../core/bytes.ts";
import { AuthError, ClosedError, ConnectionError, ProtocolError, TimeoutError } from "../core/errors.ts";
import { StatusChannel } from "../core/status.ts";
import { type PushController, type StreamOptions, Subscription } from "../core/subscription.ts";
import type { Authenticator } from "./authenticator.ts";
import {
  type AuthDialect,
  type BusMessage,
  type DataPacket,
  encodeCredentials,
  encodePacked,
  type ImageField,
  MessageDecoder,
  uuidToBytes,
} from "./codec.ts";
import { type AuthorizationRequestEvent, DataMessage, type Notification } from "./message.ts";

/** TLS settings: `true` for the system's trust store, or the CA certificates to trust. */
export interface MessageBusTlsOptions {
  /** PEM CA certificates to trust instead of the system's store. */
  caCerts?: string[] | undefined;
}

/** Reconnection settings. */
export interface ReconnectOptions {
  /** Attempts before giving up (then the client closes with a {@linkcode ConnectionError}). Default unlimited. */
  maxAttempts?: number | undefined;
  /** The first delay, in ms; it doubles on each attempt. Default 100. */
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

type Kind = "state" | "data" | "ping";

interface Pending {
  bytes: Uint8Array;
  kind: Kind;
  resolve(): void;
  reject(err: unknown): void;
}

interface Sink<M> {
  controller: PushController<M>;
  /** The topic messages carry (adapter streams), else the messagebus topic. */
  label: string | undefined;
}

const HEARTBEAT_FEED = "__admin__";
const HEARTBEAT_TOPIC = "heartbeat";

function noop(): void {}

function key(feed: string, topic: string): string {
  return `${feed}\u0000${topic}`;
}

function checkName(value: unknown, what: string, action: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${action} failed: the ${what} ${JSON.stringify(value)} is not a non-empty string`);
  }
  return value;
}

function checkMs(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`Creating a MessageBusClient failed: ${what} ${String(value)} is not a number of 0 or more`);
  }
  return value;
}

function checkPackets(packets: unknown, action: string): readonly DataPacket[] | null {
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

function checkEntitlements(value: unknown, action: string): void {
  if (value === null || value === undefined) return;
  if (!(value instanceof Set)) throw new TypeError(`${action} failed: entitlements is not a Set or null`);
  for (const n of value) {
    if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
      throw new RangeError(`${action} failed: entitlement ${String(n)} is not a 32-bit integer`);
    }
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Opens a data stream whose messages carry `label` as their `topic` (for the adapter). */
export let subscribeAs: (
  client: MessageBusClient,
  feed: string,
  topic: string,
  label: string,
  options: MessageBusStreamOptions,
) => Subscription<DataMessage>;

/**
 * A jetblack-messagebus client, modelled on the Python client 3.0.1's
 * `CallbackClient`, with Web Streams beside the handler style.
 *
 * Lifecycle: {@linkcode MessageBusClient.create} connects; calls made before
 * {@linkcode MessageBusClient.start} are queued; `start()` writes the
 * credentials and then the queue, in call order (so do not await such a
 * call's promise before calling `start()`: it settles once written). The protocol has no
 * acknowledgements: promises of `publish`, `addSubscription` and the like
 * resolve once the bytes are written to the socket. `stop()` ends the client;
 * {@linkcode MessageBusClient.closed} then resolves.
 *
 * Reading: one loop reads the socket, decodes and dispatches each message,
 * awaiting the handlers one after another in registration order (what a
 * handler throws becomes an `"error"` status event with `detail.handler`;
 * the client goes on), then handing the message to each matching stream. Under the default overflow
 * policy `"block"`, a stream whose buffer is full stops the loop, so the
 * socket is no longer read and TCP holds the server; this pauses **every**
 * stream and handler of the connection. The drop policies keep the others
 * flowing.
 *
 * When the connection is lost, the client reconnects (unless told not to),
 * writes the credentials, every live subscription (as many adds as are
 * live) and every notification registration, then what was queued while
 * disconnected; status events say so.
 *
 * @example
 * ```ts ignore
 * import { MessageBusClient } from "@x/pubsub/messagebus";
 *
 * const client = await MessageBusClient.create("127.0.0.1", 9091);
 * const sub = client.subscribe("TEST", "FOO");
 * await client.start();
 * await client.publish("TEST", "FOO", true, [{ entitlements: null, data: new TextEncoder().encode("hi") }]);
 * for await (const msg of sub) {
 *   console.log(msg.user, msg.text());
 *   break;
 * }
 * await client.stop();
 * ```
 */
export class MessageBusClient {
  /** Handlers of data (types 8 and 9), awaited in order. */
  readonly dataHandlers: DataHandler[] = [];
  /** Handlers of notifications (type 3), awaited in order. */
  readonly notificationHandlers: NotificationHandler[] = [];
  /** Handlers of authorization requests (type 6), awaited in order. */
  readonly authorizationHandlers: AuthorizationHandler[] = [];
  /** Connection events: connected, disconnected, reconnecting, reconnected, error, closed. */
  readonly status: StatusChannel = new StatusChannel();
  /** The host connected to. */
  readonly host: string;
  /** The port connected to. */
  readonly port: number;
  /**
   * Settles when the client has ended and released everything: `undefined`
   * after `stop()`, else the error that ended it. Never rejects.
   */
  readonly closed: Promise<Error | undefined>;

  readonly #options: MessageBusClientOptions;
  readonly #imageField: ImageField;
  readonly #dialect: { imageField: ImageField };
  readonly #auth: AuthDialect;
  readonly #url: string;
  readonly #probeFeed: string;
  readonly #maxQueued: number;
  readonly #heartbeatTimeout: number;
  readonly #reconnect: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number } | undefined;
  #conn: Deno.Conn | undefined;
  #ready = false;
  #reconnecting = false;
  #started = false;
  #stopping = false;
  #ended = false;
  readonly #stopSignal = new AbortController();
  #queue: Pending[] = [];
  #queuedBytes = 0;
  /** The last drain of the queue (settled when none runs). */
  #writing: Promise<void> | undefined;
  #draining = false;
  #loop: Promise<void> | undefined;
  #resolveClosed!: (err: Error | undefined) => void;
  readonly #subscriptions = new Map<string, { feed: string; topic: string; count: number }>();
  readonly #notifyCounts = new Map<string, number>();
  readonly #dataSinks = new Map<string, Set<Sink<DataMessage>>>();
  readonly #notifySinks = new Map<string, Set<Sink<Notification>>>();
  readonly #authSinks = new Set<Sink<AuthorizationRequestEvent>>();
  readonly #streams = new Set<Subscription<unknown>>();
  readonly #pings = new Map<string, () => void>();
  readonly #probeTopic: string = crypto.randomUUID();
  #pingSeq = 0;
  #heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  #dispatching = false;
  /** Why the writer gave up on the current connection, when it found it dead first. */
  #writeFailure: Error | undefined;

  private constructor(host: string, port: number, conn: Deno.Conn, options: MessageBusClientOptions) {
    this.host = host;
    this.port = port;
    this.#conn = conn;
    this.#options = options;
    this.#imageField = options.imageField ?? "bool";
    this.#dialect = { imageField: this.#imageField };
    this.#auth = options.auth ?? "v3";
    this.#url = `${options.tls ? "tls" : "tcp"}://${host}:${port}`;
    this.#probeFeed = options.probeFeed ?? "__probe__";
    this.#maxQueued = options.maxQueuedBytes ?? 16 * 1024 * 1024;
    this.#heartbeatTimeout = checkMs(options.heartbeatTimeoutMs, 0, "heartbeatTimeoutMs");
    const rc = options.reconnect ?? true;
    this.#reconnect = rc === false ? undefined : {
      maxAttempts: (rc === true ? undefined : rc.maxAttempts) ?? Infinity,
      initialDelayMs: (rc === true ? undefined : rc.initialDelayMs) ?? 100,
      maxDelayMs: (rc === true ? undefined : rc.maxDelayMs) ?? 5000,
    };
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /**
   * Opens a TCP or TLS connection. Nothing is written until `start()`.
   *
   * @example
   * ```ts ignore
   * import { BasicAuthenticator, MessageBusClient } from "@x/pubsub/messagebus";
   *
   * const client = await MessageBusClient.create("127.0.0.1", 9091, {
   *   authenticator: new BasicAuthenticator("alice", "secret"),
   *   tls: { caCerts: [await Deno.readTextFile("ca.pem")] },
   * });
   * await client.start();
   * await client.stop();
   * ```
   *
   * @param host The server's host name or address.
   * @param port The server's port.
   * @param options Authentication, TLS, dialect, heartbeat, reconnection.
   * @returns The connected client.
   * @throws {TypeError} On an invalid host, dialect or option.
   * @throws {RangeError} On an invalid port or timeout.
   * @throws {ConnectionError} When the connection (or the TLS handshake) fails or times out.
   */
  static async create(host: string, port: number, options: MessageBusClientOptions = {}): Promise<MessageBusClient> {
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
    const conn = await MessageBusClient.#connect(host, port, options);
    const client = new MessageBusClient(host, port, conn, options);
    client.status.emit("connected", { url: client.#url });
    return client;
  }

  static async #connect(host: string, port: number, options: MessageBusClientOptions): Promise<Deno.Conn> {
    const url = `${options.tls ? "tls" : "tcp"}://${host}:${port}`;
    const timeout = options.connectTimeoutMs ?? 10_000;
    try {
      let connecting: Promise<Deno.Conn>;
      if (options.tls) {
        const init: Deno.ConnectTlsOptions = { hostname: host, port };
        if (options.tls !== true && options.tls.caCerts !== undefined) init.caCerts = options.tls.caCerts;
        connecting = Deno.connectTls(init);
        const conn = await withTimeout(connecting, timeout);
        await withTimeout((conn as Deno.TlsConn).handshake(), timeout).catch((err) => {
          conn.close();
          throw err;
        });
        return conn;
      }
      connecting = Deno.connect({ hostname: host, port, transport: "tcp" });
      const conn = await withTimeout(connecting, timeout);
      (conn as Deno.TcpConn).setNoDelay(true);
      return conn;
    } catch (cause) {
      if (cause instanceof TimeoutError) {
        throw new ConnectionError(`Connecting to ${url} failed: no answer within ${timeout} ms`, { url, cause });
      }
      throw new ConnectionError(`Connecting to ${url} failed: ${(cause as Error)?.message ?? String(cause)}`, {
        url,
        cause,
      });
    }
  }

  /** Whether `start()` has run and the connection is up (not reconnecting, not closed). */
  get isConnected(): boolean {
    return this.#ready && !this.#ended;
  }

  /**
   * Writes the credentials, then everything queued, and starts reading. With
   * the opt-in login probe (see `loginTimeoutMs`), resolves only once the
   * server has echoed it.
   *
   * @returns A promise that resolves when the client is running.
   * @throws {AuthError} With the login probe: when it got no echo in time, or the server closed the connection after
   *   the credentials (the server never answers credentials, so silence is how a refused login shows).
   * @throws {ClosedError} When the client was stopped, or `start()` was already called.
   * @throws {ConnectionError} When the connection was lost while starting.
   */
  async start(): Promise<void> {
    if (this.#ended || this.#stopping) {
      throw new ClosedError(`Starting the client of ${this.#url} failed: it is closed`);
    }
    if (this.#started) throw new ClosedError(`Starting the client of ${this.#url} failed: it was already started`);
    this.#started = true;
    const conn = this.#conn!;
    try {
      await this.#writeCredentials(conn);
    } catch (cause) {
      const err = new ConnectionError(`Writing the credentials to ${this.#url} failed`, { url: this.#url, cause });
      await this.#fail(err);
      throw err;
    }
    if (this.#options.monitorHeartbeat) {
      this.#trackSubscription(HEARTBEAT_FEED, HEARTBEAT_TOPIC, 1);
      this.#enqueue(this.#encode({ type: 5, feed: HEARTBEAT_FEED, topic: HEARTBEAT_TOPIC, isAdd: true }), "state")
        .catch(noop);
    }
    this.#ready = true;
    this.#loop = this.#run(conn);
    this.#kick();
    this.#armHeartbeat();
    const loginTimeout = this.#options.loginTimeoutMs ?? 0;
    if (loginTimeout > 0) {
      try {
        await this.ping(loginTimeout);
      } catch (cause) {
        const user = this.#options.authenticator?.user ?? "nobody";
        const err = cause instanceof TimeoutError
          ? new AuthError(
            `Logging in to ${this.#url} as ${user} got no answer to the login probe on ${this.#probeFeed} within ` +
              `${loginTimeout} ms: the server never acknowledges credentials, so silence means they were refused ` +
              `(or the user may not subscribe to ${this.#probeFeed})`,
            { url: this.#url, cause },
          )
          : new AuthError(
            `Logging in to ${this.#url} as ${user} failed: the connection ended right after the credentials, ` +
              `which usually means they were refused`,
            { url: this.#url, cause },
          );
        await this.#fail(err);
        throw err;
      }
    }
  }

  async #writeCredentials(conn: Deno.Conn): Promise<void> {
    const creds = this.#options.authenticator?.credentials() ?? { kind: "none" as const };
    const bytes = encodeCredentials(creds, this.#auth);
    if (bytes.length > 0) await writeAll(conn, bytes);
  }

  /**
   * Ends the client: flushes what is queued (for up to a second), closes the
   * connection, ends every stream (readers see the end) and the status
   * channel. Idempotent.
   *
   * @returns A promise that settles once everything is released.
   */
  async stop(): Promise<void> {
    if (this.#stopping || this.#ended) {
      await this.closed;
      return;
    }
    this.#stopping = true;
    if (this.#ready && this.#writing !== undefined) {
      await Promise.race([
        this.#writing,
        new Promise<void>((r) => {
          const t = setTimeout(r, 1000);
          this.#writing!.finally(() => clearTimeout(t));
        }),
      ]);
    }
    await this.#shutdown(undefined);
  }

  /** Calls {@linkcode MessageBusClient.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #fail(err: Error): Promise<void> {
    if (this.#ended) return;
    this.#stopping = true;
    this.status.emit("error", { url: this.#url }, err);
    await this.#shutdown(err);
  }

  async #shutdown(err: Error | undefined): Promise<void> {
    if (this.#ended) {
      await this.closed;
      return;
    }
    this.#ended = true;
    this.#ready = false;
    this.#stopSignal.abort();
    this.#clearHeartbeat();
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = undefined;
    const closedErr = err ?? new ClosedError(`Writing to ${this.#url} failed: the client is closed`);
    for (const p of this.#queue.splice(0)) p.reject(closedErr);
    this.#queuedBytes = 0;
    for (const resolve of this.#pings.values()) resolve();
    this.#pings.clear();
    const streams = [...this.#streams];
    for (const s of streams) {
      if (err === undefined) void s.close();
    }
    for (const sinks of [...this.#dataSinks.values(), ...this.#notifySinks.values(), this.#authSinks]) {
      for (const sink of sinks as Set<Sink<unknown>>) {
        if (err !== undefined) sink.controller.error(err);
      }
    }
    await Promise.allSettled([this.#loop, this.#writing, ...streams.map((s) => s.closed)]);
    this.status.close();
    this.#resolveClosed(err);
  }

  // ------------------------------------------------------------ writing

  #encode(message: BusMessage): Uint8Array {
    return encodePacked(message, this.#dialect);
  }

  #enqueue(bytes: Uint8Array, kind: Kind): Promise<void> {
    if (this.#ended || this.#stopping) {
      return Promise.reject(new ClosedError(`Writing to ${this.#url} failed: the client is closed`));
    }
    if (!this.#ready && this.#queuedBytes + bytes.length > this.#maxQueued) {
      return Promise.reject(
        new ConnectionError(
          `Queueing ${bytes.length} bytes for ${this.#url} failed: ${this.#queuedBytes} bytes already wait for the ` +
            `connection (maxQueuedBytes ${this.#maxQueued})`,
          { url: this.#url },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ bytes, kind, resolve, reject });
      this.#queuedBytes += bytes.length;
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#draining || !this.#ready || this.#queue.length === 0) return;
    this.#draining = true;
    this.#writing = this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#ready && this.#queue.length > 0) {
        const conn = this.#conn!;
        const queue = this.#queue;
        let take = 0;
        let size = 0;
        while (take < queue.length && (take === 0 || size + queue[take]!.bytes.length <= 256 * 1024)) {
          size += queue[take]!.bytes.length;
          take++;
        }
        // One splice per batch: shift() per message is linear in the queue, quadratic over a burst of publishes.
        const batch = take === 1 ? [queue.shift()!] : queue.splice(0, take);
        this.#queuedBytes -= size;
        let bytes: Uint8Array = batch[0]!.bytes;
        if (batch.length > 1) {
          // Messages encoded one after the other lie next to each other (encodePacked): one view, no copy.
          let contiguous = true;
          for (let i = 1; i < batch.length && contiguous; i++) {
            const a = batch[i - 1]!.bytes;
            const b = batch[i]!.bytes;
            contiguous = b.buffer === a.buffer && b.byteOffset === a.byteOffset + a.length;
          }
          if (contiguous) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, size);
          else {
            bytes = new Uint8Array(size);
            let at = 0;
            for (const p of batch) {
              bytes.set(p.bytes, at);
              at += p.bytes.length;
            }
          }
        }
        let written = 0;
        try {
          while (written < bytes.length) written += await conn.write(bytes.subarray(written));
        } catch (cause) {
          this.#writeFailed(conn, batch, written, cause);
          return;
        }
        for (const p of batch) p.resolve();
      }
    } finally {
      // Cleared in the same step as the loop ends, so the next enqueue starts a drain itself.
      this.#draining = false;
      this.#kick();
    }
  }

  /**
   * A write to `conn` failed after `written` bytes of the batch. A message the
   * connection took whole may or may not have been read by the server (the
   * protocol has no acknowledgement): its caller gets a ConnectionError, and
   * it is not resent, so it is never delivered twice. A message of which
   * none or only part went out never reached the server whole: data is put
   * back at the head of the queue and written after the reconnection, in
   * order. Subscription requests are restored from the table on
   * reconnection; pings fail.
   */
  #writeFailed(conn: Deno.Conn, batch: Pending[], written: number, cause: unknown): void {
    const why = (cause as Error)?.message ?? String(cause);
    const unknown = new ConnectionError(
      `Writing to ${this.#url} failed: ${why}; the message had been handed to the connection, and whether the ` +
        `server read it cannot be known`,
      { url: this.#url, cause },
    );
    const lost = new ConnectionError(`Writing to ${this.#url} failed: ${why}`, { url: this.#url, cause });
    const keep: Pending[] = [];
    let at = 0;
    for (const p of batch) {
      const whole = at + p.bytes.length <= written;
      at += p.bytes.length;
      if (p.kind === "state") p.resolve();
      else if (p.kind === "ping") p.reject(lost);
      else if (whole) p.reject(unknown);
      else keep.push(p);
    }
    if (this.#ended || this.#stopping) {
      for (const p of keep) p.reject(new ClosedError(`Writing to ${this.#url} failed: the client is closed`));
      return;
    }
    for (const p of keep) this.#queuedBytes += p.bytes.length;
    this.#queue.unshift(...keep);
    if (this.#conn !== conn) return;
    // Nothing more goes to this connection; closing it ends the read loop, which reconnects.
    this.#ready = false;
    this.#writeFailure ??= lost;
    try {
      conn.close();
    } catch { /* already closed */ }
  }

  // ------------------------------------------------------------ reading

  async #run(first: Deno.Conn): Promise<void> {
    let conn: Deno.Conn | undefined = first;
    while (conn !== undefined) {
      const readFailure = await this.#read(conn);
      const reason = this.#writeFailure ?? readFailure;
      this.#writeFailure = undefined;
      if (this.#stopping || this.#ended) return;
      this.#ready = false;
      this.#reconnecting = true;
      this.#clearHeartbeat();
      try {
        conn.close();
      } catch { /* already closed */ }
      const lost = new ConnectionError(`Pings to ${this.#url} failed: the connection was lost`, { url: this.#url });
      for (const resolve of this.#pings.values()) resolve();
      this.#pings.clear();
      this.#dropPings(lost);
      if (reason instanceof ProtocolError || this.#reconnect === undefined) {
        void this.#fail(reason);
        return;
      }
      this.status.emit("disconnected", { url: this.#url }, reason);
      conn = await this.#reconnectLoop(reason);
      if (conn === undefined) return;
    }
  }

  #dropPings(err: Error): void {
    const keep: Pending[] = [];
    for (const p of this.#queue) {
      if (p.kind === "ping") {
        p.reject(err);
        this.#queuedBytes -= p.bytes.length;
      } else if (p.kind === "state") {
        p.resolve();
        this.#queuedBytes -= p.bytes.length;
      } else keep.push(p);
    }
    this.#queue = keep;
  }

  async #reconnectLoop(reason: Error): Promise<Deno.Conn | undefined> {
    const rc = this.#reconnect!;
    let wait = rc.initialDelayMs;
    let lastError: unknown = reason;
    for (let attempt = 1; attempt <= rc.maxAttempts; attempt++) {
      if (this.#stopping || this.#ended) return undefined;
      this.status.emit("reconnecting", { url: this.#url, attempt, delayMs: wait });
      await delay(wait, this.#stopSignal.signal);
      if (this.#stopping || this.#ended) return undefined;
      wait = Math.min(rc.maxDelayMs, wait * 2);
      let conn: Deno.Conn;
      try {
        conn = await MessageBusClient.#connect(this.host, this.port, this.#options);
      } catch (err) {
        lastError = err;
        continue;
      }
      if (this.#stopping || this.#ended) {
        conn.close();
        return undefined;
      }
      try {
        await this.#writeCredentials(conn);
      } catch (err) {
        lastError = err;
        try {
          conn.close();
        } catch { /* gone */ }
        continue;
      }
      if (this.#stopping || this.#ended) {
        conn.close();
        return undefined;
      }
      const restore: Pending[] = [];
      const add = (bytes: Uint8Array) => restore.push({ bytes, kind: "state", resolve: noop, reject: noop });
      for (const s of this.#subscriptions.values()) {
        const bytes = this.#encode({ type: 5, feed: s.feed, topic: s.topic, isAdd: true });
        for (let i = 0; i < s.count; i++) add(bytes);
      }
      for (const [feed, n] of this.#notifyCounts) {
        if (n > 0) add(this.#encode({ type: 4, feed, isAdd: true }));
      }
      for (const p of restore) this.#queuedBytes += p.bytes.length;
      this.#queue.unshift(...restore);
      this.#conn = conn;
      this.#reconnecting = false;
      this.#ready = true;
      this.#armHeartbeat();
      this.#kick();
      this.status.emit("reconnected", { url: this.#url, attempt });
      return conn;
    }
    void this.#fail(
      new ConnectionError(`Reconnecting to ${this.#url} failed after ${rc.maxAttempts} attempts`, {
        url: this.#url,
        cause: lastError,
      }),
    );
    return undefined;
  }

  async #read(conn: Deno.Conn): Promise<Error> {
    const decoder = new MessageDecoder({
      imageField: this.#imageField,
      maxLength: this.#options.maxMessageSize ?? 16 * 1024 * 1024,
    });
    // Decoded messages keep views into what was read, so a buffer is never read into twice: a small read is copied
    // out and the buffer kept, a large one is handed over whole (a fresh 64 KiB buffer per read cost more than the
    // decoding when messages arrive one by one).
    let buf = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (cause) {
        return new ConnectionError(`Reading from ${this.#url} failed: ${(cause as Error)?.message ?? cause}`, {
          url: this.#url,
          cause,
        });
      }
      if (n === null) {
        if (decoder.buffered > 0) {
          // A truncated message: a disconnect (EOF anywhere is one), with the protocol error as its cause.
          const cause = new TruncatedInputError(
            `Reading a message from ${this.#url} failed: the input ended after ${decoder.buffered} of its bytes`,
          );
          return new ConnectionError(
            `Reading from ${this.#url} failed: the server closed the connection inside a message`,
            { url: this.#url, cause },
          );
        }
        return new ConnectionError(`Reading from ${this.#url} failed: the server closed the connection`, {
          url: this.#url,
        });
      }
      this.#armHeartbeat();
      try {
        let chunk: Uint8Array;
        if (n <= 8 * 1024) chunk = buf.slice(0, n);
        else {
          chunk = buf.subarray(0, n);
          buf = new Uint8Array(64 * 1024);
        }
        decoder.feed(chunk);
        for (let m = decoder.next(); m !== null; m = decoder.next()) {
          this.#dispatching = true;
          try {
            await this.#dispatch(m);
          } finally {
            this.#dispatching = false;
          }
          if (this.#stopping || this.#ended) return new ClosedError("The client is closed");
        }
      } catch (err) {
        if (err instanceof ProtocolError) return err;
        return new ProtocolError(`Handling a message from ${this.#url} failed: ${(err as Error)?.message ?? err}`, {
          cause: err,
        });
      }
    }
  }

  async #dispatch(m: BusMessage): Promise<void> {
    switch (m.type) {
      case 8:
      case 9: {
        // Data on our own probe topic (a user's publish there): never dispatched.
        if (m.feed === this.#probeFeed && m.topic === this.#probeTopic) return;
        const image = this.#imageField === "bool" ? m.isImage === true : m.contentType ?? "";
        for (const h of [...this.dataHandlers]) {
          await this.#call("data", () => h(m.user, m.host, m.feed, m.topic, m.packets, image));
        }
        const sinks = this.#dataSinks.get(key(m.feed, m.topic));
        if (sinks === undefined) return;
        const notice = m.user === "" && m.host === "" && m.packets === null;
        // Packets are views into the read buffer: a message kept for a reader must not keep it all alive.
        const packets = m.packets?.map((p) => p.data === null ? p : { ...p, data: detachBytes(p.data) }) ?? null;
        for (const sink of [...sinks]) {
          // Adapter streams (labelled) do not get the server's own notices.
          if (notice && sink.label !== undefined) continue;
          const msg = new DataMessage({
            topic: sink.label,
            topicName: m.topic,
            feed: m.feed,
            user: m.user,
            host: m.host,
            isImage: m.isImage,
            contentType: m.contentType,
            packets,
            unicast: m.type === 9,
          });
          await this.#give(sink, msg);
        }
        return;
      }
      case 3: {
        if (m.feed === this.#probeFeed && m.topic === this.#probeTopic) {
          // Our probe's own subscription, echoed: the add answers the oldest ping; never dispatched.
          if (m.isAdd) {
            const oldest = this.#pings.entries().next();
            if (!oldest.done) {
              this.#pings.delete(oldest.value[0]);
              oldest.value[1]();
            }
          }
          return;
        }
        for (const h of [...this.notificationHandlers]) {
          await this.#call("notification", () => h(m.clientId, m.user, m.host, m.feed, m.topic, m.isAdd));
        }
        const sinks = this.#notifySinks.get(m.feed);
        if (sinks === undefined) return;
        const n: Notification = {
          clientId: m.clientId,
          user: m.user,
          host: m.host,
          feed: m.feed,
          topic: m.topic,
          isAdd: m.isAdd,
        };
        for (const sink of [...sinks]) await this.#give(sink, n);
        return;
      }
      case 6: {
        for (const h of [...this.authorizationHandlers]) {
          await this.#call("authorization", () => h(m.clientId, m.host, m.user, m.feed, m.topic));
        }
        const r: AuthorizationRequestEvent = {
          clientId: m.clientId,
          host: m.host,
          user: m.user,
          feed: m.feed,
          topic: m.topic,
        };
        for (const sink of [...this.#authSinks]) await this.#give(sink, r);
        return;
      }
      default:
        throw new ProtocolError(`Handling a message from ${this.#url} failed: a server never sends type ${m.type}`);
    }
  }

  /** Runs a handler; what it throws is reported as an `"error"` status event and the client goes on. */
  async #call(kind: string, run: () => void | Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      this.status.emit("error", { url: this.#url, handler: kind }, err);
    }
  }

  async #give<M>(sink: Sink<M>, message: M): Promise<void> {
    const c = sink.controller;
    if (c.offer(message)) return;
    await c.push(message).catch(noop);
  }

  // ------------------------------------------------------------ heartbeat

  #armHeartbeat(): void {
    if (!this.#options.monitorHeartbeat || this.#heartbeatTimeout <= 0 || !this.#ready) return;
    this.#clearHeartbeat();
    this.#heartbeatTimer = setTimeout(() => {
      this.#heartbeatTimer = undefined;
      if (this.#dispatching) {
        this.#armHeartbeat();
        return;
      }
      const err = new TimeoutError(
        `Monitoring the heartbeat of ${this.#url} failed: nothing arrived for ${this.#heartbeatTimeout} ms`,
        { timeoutMs: this.#heartbeatTimeout },
      );
      this.status.emit("error", { url: this.#url }, err);
      try {
        this.#conn?.close();
      } catch { /* already closed */ }
    }, this.#heartbeatTimeout);
  }

  #clearHeartbeat(): void {
    if (this.#heartbeatTimer !== undefined) clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }

  // ------------------------------------------------------------ calls

  #image(value: unknown, action: string): { isImage: boolean | null; contentType: string | null } {
    if (this.#imageField === "bool") {
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

  /**
   * Publishes to every subscriber of exactly (feed, topic) (message type 1).
   *
   * @param feed The feed.
   * @param topic The topic.
   * @param isImage Whether this is a full image (bool dialect), or the content type (contentType dialect).
   * @param packets The packets, or `null`.
   * @returns A promise that resolves once written (there is no acknowledgement). While the
   *   connection is down the publish waits in the queue and resolves once written after the
   *   reconnection.
   * @throws {TypeError} On an invalid argument.
   * @throws {ClosedError} When the client is closed.
   * @throws {ConnectionError} When the connection failed after taking it (whether the server read it
   *   is unknown), when more than `maxQueuedBytes` wait for the connection, or when the client gave up
   *   reconnecting.
   */
  publish(
    feed: string,
    topic: string,
    isImage: boolean | string,
    packets: readonly DataPacket[] | null,
  ): Promise<void> {
    try {
      const action = `Publishing to ${feed}/${topic}`;
      checkName(feed, "feed", action);
      checkName(topic, "topic", action);
      const img = this.#image(isImage, action);
      const bytes = this.#encode({
        type: 1,
        feed,
        topic,
        isImage: img.isImage,
        contentType: img.contentType,
        packets: checkPackets(packets, action),
      });
      return this.#enqueue(bytes, "data");
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Sends to one subscriber of (feed, topic), by its client id (message type 2).
   *
   * @param clientId The recipient's client id (from a notification).
   * @param feed The feed.
   * @param topic The topic.
   * @param isImage Whether this is a full image (bool dialect), or the content type.
   * @param packets The packets, or `null`.
   * @returns A promise that resolves once written.
   * @throws {TypeError} On an invalid argument.
   * @throws {ClosedError} When the client is closed.
   */
  send(
    clientId: string,
    feed: string,
    topic: string,
    isImage: boolean | string,
    packets: readonly DataPacket[] | null,
  ): Promise<void> {
    try {
      const action = `Sending to ${clientId} on ${feed}/${topic}`;
      checkName(feed, "feed", action);
      checkName(topic, "topic", action);
      uuidToBytes(clientId);
      const img = this.#image(isImage, action);
      const bytes = this.#encode({ type: 2, clientId, feed, topic, ...img, packets: checkPackets(packets, action) });
      return this.#enqueue(bytes, "data");
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Answers an authorization request (message type 7).
   *
   * @param clientId The subscriber's client id.
   * @param feed The feed.
   * @param topic The topic.
   * @param isAuthorizationRequired Whether packets are filtered by the entitlements.
   * @param entitlements The entitlements granted, or `null`.
   * @returns A promise that resolves once written.
   * @throws {TypeError} On an invalid argument.
   * @throws {RangeError} On an entitlement that is not a 32-bit integer.
   * @throws {ClosedError} When the client is closed.
   */
  authorize(
    clientId: string,
    feed: string,
    topic: string,
    isAuthorizationRequired: boolean,
    entitlements: ReadonlySet<number> | null,
  ): Promise<void> {
    try {
      const action = `Authorizing ${clientId} on ${feed}/${topic}`;
      checkName(feed, "feed", action);
      checkName(topic, "topic", action);
      if (typeof isAuthorizationRequired !== "boolean") {
        throw new TypeError(`${action} failed: isAuthorizationRequired is not a boolean`);
      }
      checkEntitlements(entitlements, action);
      const bytes = this.#encode({ type: 7, clientId, feed, topic, isAuthorizationRequired, entitlements });
      return this.#enqueue(bytes, "data");
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #trackSubscription(feed: string, topic: string, delta: number): void {
    const k = key(feed, topic);
    const s = this.#subscriptions.get(k) ?? { feed, topic, count: 0 };
    s.count = Math.max(0, s.count + delta);
    if (s.count === 0) this.#subscriptions.delete(k);
    else this.#subscriptions.set(k, s);
  }

  #request(feed: string, topic: string, isAdd: boolean): Promise<void> {
    const action = `${isAdd ? "Adding" : "Removing"} a subscription to ${feed}/${topic}`;
    try {
      checkName(feed, "feed", action);
      checkName(topic, "topic", action);
      if (this.#ended || this.#stopping) throw new ClosedError(`${action} failed: the client is closed`);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#trackSubscription(feed, topic, isAdd ? 1 : -1);
    // While reconnecting the state is restored on reconnection; the request itself is not queued.
    if (this.#reconnecting) return Promise.resolve();
    return this.#enqueue(this.#encode({ type: 5, feed, topic, isAdd }), "state");
  }

  /**
   * Subscribes to (feed, topic) (message type 5). The server counts adds per
   * client; data arrives once per message whatever the count.
   *
   * @param feed The feed.
   * @param topic The topic (matched exactly; no wildcards).
   * @returns A promise that resolves once written.
   * @throws {TypeError} On an empty feed or topic.
   * @throws {ClosedError} When the client is closed.
   */
  addSubscription(feed: string, topic: string): Promise<void> {
    return this.#request(feed, topic, true);
  }

  /**
   * Removes one subscription to (feed, topic) (message type 5).
   *
   * @param feed The feed.
   * @param topic The topic.
   * @returns A promise that resolves once written.
   * @throws {TypeError} On an empty feed or topic.
   * @throws {ClosedError} When the client is closed.
   */
  removeSubscription(feed: string, topic: string): Promise<void> {
    return this.#request(feed, topic, false);
  }

  #notify(feed: string, isAdd: boolean, write = true): Promise<void> {
    const action = `${isAdd ? "Adding" : "Removing"} notifications of ${feed}`;
    try {
      checkName(feed, "feed", action);
      if (this.#ended || this.#stopping) throw new ClosedError(`${action} failed: the client is closed`);
    } catch (err) {
      return Promise.reject(err);
    }
    const n = (this.#notifyCounts.get(feed) ?? 0) + (isAdd ? 1 : -1);
    if (n <= 0) this.#notifyCounts.delete(feed);
    else this.#notifyCounts.set(feed, n);
    if (!write || this.#reconnecting) return Promise.resolve();
    return this.#enqueue(this.#encode({ type: 4, feed, isAdd }), "state");
  }

  /**
   * Registers for notifications of subscriptions on a feed (message type 4).
   * The server then replays one add per current (topic, subscriber).
   *
   * @param feed The feed.
   * @returns A promise that resolves once written.
   * @throws {TypeError} On an empty feed.
   * @throws {ClosedError} When the client is closed.
   */
  addNotification(feed: string): Promise<void> {
    return this.#notify(feed, true);
  }

  /**
   * Unregisters from notifications on a feed (message type 4). The server
   * keeps one registration per client and feed, so this also silences the
   * client's notification streams of that feed.
   *
   * @param feed The feed.
   * @returns A promise that resolves once written.
   * @throws {TypeError} On an empty feed.
   * @throws {ClosedError} When the client is closed.
   */
  removeNotification(feed: string): Promise<void> {
    return this.#notify(feed, false);
  }

  /**
   * Measures a round trip through the server: registers for notifications of
   * the probe feed (unless a `notifications()` stream of it already holds the
   * registration), subscribes to this client's topic of it, unsubscribes and
   * unregisters, in one write, and waits for the server's notification of
   * that subscription. Since the server handles a connection's messages in
   * order, the echo also proves every earlier request was processed. Needs
   * the Subscribe role on the probe feed (registering for notifications
   * needs no role) and a probe feed that requires no authorization; never
   * the Publish role.
   *
   * @param timeoutMs How long to wait for the echo. Default 5000.
   * @returns The round-trip time in milliseconds.
   * @throws {TimeoutError} When no echo came in time.
   * @throws {ConnectionError} When the connection was lost meanwhile.
   * @throws {ClosedError} When the client is closed.
   */
  async ping(timeoutMs = 5000): Promise<number> {
    if (this.#ended || this.#stopping) throw new ClosedError(`Pinging ${this.#url} failed: the client is closed`);
    // One probe topic per client: the server keeps an authorization per (feed, topic) for the connection's life.
    const topic = this.#probeTopic;
    const feed = this.#probeFeed;
    const seq = String(++this.#pingSeq);
    const register = (this.#notifyCounts.get(feed) ?? 0) === 0;
    const w = [
      ...(register ? [this.#encode({ type: 4, feed, isAdd: true })] : []),
      this.#encode({ type: 5, feed, topic, isAdd: true }),
      this.#encode({ type: 5, feed, topic, isAdd: false }),
      ...(register ? [this.#encode({ type: 4, feed, isAdd: false })] : []),
    ];
    const bytes = new Uint8Array(w.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of w) {
      bytes.set(b, at);
      at += b.length;
    }
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let late = false;
    // Echoes answer pings oldest first (they carry no sequence number).
    const echoed = new Promise<void>((resolve) => this.#pings.set(seq, resolve));
    const timedOut = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs));
    try {
      await this.#enqueue(bytes, "ping");
      const r = await Promise.race([echoed.then(() => "echo" as const), timedOut]);
      if (r === "timeout") {
        late = true;
        throw new TimeoutError(`Pinging ${this.#url} timed out after ${timeoutMs} ms`, { timeoutMs });
      }
      if (this.#ended || this.#stopping) throw new ClosedError(`Pinging ${this.#url} failed: the client is closed`);
      if (!this.#ready) {
        throw new ConnectionError(`Pinging ${this.#url} failed: the connection was lost`, { url: this.#url });
      }
      return performance.now() - t0;
    } finally {
      clearTimeout(timer);
      // A late echo may still come on this connection: it must answer nothing (a lost connection clears them all).
      if (late && this.#pings.has(seq)) this.#pings.set(seq, noop);
      else this.#pings.delete(seq);
    }
  }

  // ------------------------------------------------------------ streams

  #stream<M>(
    sinks: Set<Sink<M>>,
    label: string | undefined,
    options: MessageBusStreamOptions,
    open: () => Promise<void>,
    close: () => Promise<void>,
    onEmpty: () => void,
  ): Subscription<M> {
    if (this.#ended || this.#stopping) {
      throw new ClosedError(`Subscribing on ${this.#url} failed: the client is closed`);
    }
    let sink: Sink<M> | undefined;
    const sub: Subscription<M> = new Subscription<M>({
      kind: "push",
      start: async (controller) => {
        sink = { controller, label };
        sinks.add(sink);
        await open();
        if (options.sync && this.#started) await this.ping();
      },
      cancel: async () => {
        this.#streams.delete(sub as Subscription<unknown>);
        if (sink !== undefined) sinks.delete(sink);
        if (sinks.size === 0) onEmpty();
        if (!this.#ended && !this.#stopping) await close().catch(noop);
      },
    }, options);
    this.#streams.add(sub as Subscription<unknown>);
    return sub;
  }

  #subscribeAs(feed: string, topic: string, label: string | undefined, options: MessageBusStreamOptions) {
    const action = `Subscribing to ${feed}/${topic}`;
    checkName(feed, "feed", action);
    checkName(topic, "topic", action);
    const k = key(feed, topic);
    let sinks = this.#dataSinks.get(k);
    if (sinks === undefined) this.#dataSinks.set(k, sinks = new Set());
    const set = sinks;
    return this.#stream<DataMessage>(
      set,
      label,
      options,
      () => this.addSubscription(feed, topic),
      () => this.removeSubscription(feed, topic),
      () => {
        if (this.#dataSinks.get(k) === set) this.#dataSinks.delete(k);
      },
    );
  }

  /**
   * A stream of the data published on (feed, topic): sends a subscription
   * request when it starts and the removal when it ends.
   *
   * @param feed The feed.
   * @param topic The topic (matched exactly).
   * @param options Buffer, overflow policy (`"block"` pauses the whole connection), signal, sync.
   * @returns The subscription; `ready` resolves once the request is written (with `sync`, once processed).
   * @throws {TypeError} On an empty feed or topic, or an invalid option.
   * @throws {RangeError} On an invalid `highWaterMark`.
   * @throws {ClosedError} When the client is closed.
   */
  subscribe(feed: string, topic: string, options: MessageBusStreamOptions = {}): Subscription<DataMessage> {
    return this.#subscribeAs(feed, topic, undefined, options);
  }

  /**
   * A stream of the subscription notifications of a feed. The first stream
   * of a feed registers with the server (which replays one add per current
   * subscriber) and the last one to end unregisters; a later stream of the
   * same feed gets no replay.
   *
   * @param feed The feed.
   * @param options Buffer, overflow policy, signal, sync.
   * @returns The subscription.
   * @throws {TypeError} On an empty feed or an invalid option.
   * @throws {ClosedError} When the client is closed.
   */
  notifications(feed: string, options: MessageBusStreamOptions = {}): Subscription<Notification> {
    checkName(feed, "feed", `Listening to notifications of ${feed}`);
    let sinks = this.#notifySinks.get(feed);
    if (sinks === undefined) this.#notifySinks.set(feed, sinks = new Set());
    const set = sinks;
    return this.#stream<Notification>(
      set,
      undefined,
      options,
      () => this.#notify(feed, true, set.size === 1),
      () => this.#notify(feed, false, set.size === 0),
      () => {
        if (this.#notifySinks.get(feed) === set) this.#notifySinks.delete(feed);
      },
    );
  }

  /**
   * A stream of the authorization requests the server sends this client
   * (when it holds the Authorize role on a feed). Answer each with
   * {@linkcode MessageBusClient.authorize}.
   *
   * @param options Buffer, overflow policy, signal.
   * @returns The subscription.
   * @throws {ClosedError} When the client is closed.
   */
  authorizationRequests(options: MessageBusStreamOptions = {}): Subscription<AuthorizationRequestEvent> {
    return this.#stream<AuthorizationRequestEvent>(
      this.#authSinks,
      undefined,
      options,
      () => Promise.resolve(),
      () => Promise.resolve(),
      noop,
    );
  }

  static {
    subscribeAs = (client, feed, topic, label, options) => client.#subscribeAs(feed, topic, label, options);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = await conn.write(bytes);
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  if (!(ms > 0)) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      p.then((v) => (v as { close?: () => void }).close?.(), noop);
      reject(new TimeoutError(`Timed out after ${ms} ms`, { timeoutMs: ms }));
    }, ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
