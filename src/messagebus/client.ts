/**
 * `MessageBusClient`: a jetblack-messagebus connection over TCP or TLS, its
 * lifecycle (start, stop, failure), the state a reconnection restores and its
 * calls. Its parts live beside it: `connection.ts` (dial, read loop,
 * reconnection), `write_queue.ts`, `dispatcher.ts`, `streams.ts`,
 * `subscription_table.ts`, `heartbeat_monitor.ts`, `options.ts`.
 *
 * @module
 */

import { withDeadline } from "../core/async.ts";
import { concatBytes } from "../core/bytes.ts";
import { AuthError, ClosedError, ConnectionError, TimeoutError } from "../core/errors.ts";
import { StatusChannel } from "../core/status.ts";
import type { Subscription } from "../core/subscription.ts";
import { type BusMessage, type DataPacket, encodePacked, type ImageField } from "./codec.ts";
import { BusConnection, connectionUrl, dial } from "./connection.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { AuthorizationRequestEvent, DataMessage, Notification } from "./message.ts";
import {
  type AuthorizationHandler,
  checkClientOptions,
  checkEntitlements,
  checkImage,
  checkName,
  checkPackets,
  type DataHandler,
  type MessageBusClientOptions,
  type MessageBusStreamOptions,
  type NotificationHandler,
  reconnectPolicy,
} from "./options.ts";
import { BusStreams } from "./streams.ts";
import { SubscriptionTable } from "./subscription_table.ts";
import { uuidToBytes } from "./uuid.ts";
import { type WriteKind, WriteQueue } from "./write_queue.ts";

const HEARTBEAT_FEED = "__admin__";
const HEARTBEAT_TOPIC = "heartbeat";

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
  readonly #url: string;
  readonly #probeFeed: string;
  #started = false;
  #stopping = false;
  #ended = false;
  readonly #stopSignal = new AbortController();
  readonly #writer: WriteQueue;
  readonly #streams: BusStreams;
  readonly #dispatcher: Dispatcher;
  readonly #connection: BusConnection;
  #resolveClosed!: (err: Error | undefined) => void;
  readonly #table = new SubscriptionTable();
  readonly #probeTopic: string = crypto.randomUUID();

  private constructor(host: string, port: number, conn: Deno.Conn, options: MessageBusClientOptions) {
    this.host = host;
    this.port = port;
    this.#options = options;
    this.#imageField = options.imageField ?? "bool";
    this.#dialect = { imageField: this.#imageField };
    this.#url = connectionUrl(host, port, options);
    this.#probeFeed = options.probeFeed ?? "__probe__";
    const url = this.#url;
    const closing = () => this.#ended || this.#stopping;
    this.#writer = new WriteQueue({
      url,
      writable: () => this.#connection.writable(),
      closing,
      broken: (conn, err) => this.#connection.broken(conn, err),
    }, options.maxQueuedBytes ?? 16 * 1024 * 1024);
    this.#streams = new BusStreams(this, {
      url,
      closing,
      started: () => this.#started,
      ping: () => this.ping(),
      addSubscription: (feed, topic) => this.addSubscription(feed, topic),
      removeSubscription: (feed, topic) => this.removeSubscription(feed, topic),
      notify: (feed, isAdd, write) => this.#notify(feed, isAdd, write),
    });
    this.#dispatcher = new Dispatcher({
      url,
      imageField: this.#imageField,
      probeFeed: this.#probeFeed,
      probeTopic: this.#probeTopic,
      dataHandlers: this.dataHandlers,
      notificationHandlers: this.notificationHandlers,
      authorizationHandlers: this.authorizationHandlers,
      status: this.status,
      streams: this.#streams,
    });
    this.#connection = new BusConnection(conn, {
      url,
      host,
      port,
      options,
      policy: reconnectPolicy(options),
      signal: this.#stopSignal.signal,
      status: this.status,
      dispatcher: this.#dispatcher,
      writer: this.#writer,
      closing,
      restoreRequests: () => this.#table.restoreRequests((m) => this.#encode(m)),
      fail: (err: Error) => this.#fail(err),
    });
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
    checkClientOptions(host, port, options);
    const conn = await dial(host, port, options);
    const client = new MessageBusClient(host, port, conn, options);
    client.status.emit("connected", { url: client.#url });
    return client;
  }

  /** Whether `start()` has run and the connection is up (not reconnecting, not closed). */
  get isConnected(): boolean {
    return this.#connection.ready && !this.#ended;
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
    try {
      await this.#connection.login();
    } catch (cause) {
      const err = new ConnectionError(`Writing the credentials to ${this.#url} failed`, { url: this.#url, cause });
      await this.#fail(err);
      throw err;
    }
    if (this.#options.monitorHeartbeat) {
      this.#table.track(HEARTBEAT_FEED, HEARTBEAT_TOPIC, 1);
      this.#enqueue(this.#encode({ type: 5, feed: HEARTBEAT_FEED, topic: HEARTBEAT_TOPIC, isAdd: true }), "state")
        .catch(() => {});
    }
    this.#connection.begin();
    this.#writer.kick();
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
    const writing = this.#writer.writing;
    if (this.#connection.ready && writing !== undefined) {
      // Flush for up to a second; what is left is rejected by the shutdown.
      await withDeadline(1000, writing).catch(() => {});
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
    this.#stopSignal.abort();
    this.#connection.close();
    this.#writer.rejectAll(err ?? new ClosedError(`Writing to ${this.#url} failed: the client is closed`));
    this.#dispatcher.releaseEchoes();
    const streamsClosed = this.#streams.endAll(err);
    await Promise.allSettled([this.#connection.loop, this.#writer.writing, ...streamsClosed]);
    this.status.close();
    this.#resolveClosed(err);
  }

  #encode(message: BusMessage): Uint8Array {
    return encodePacked(message, this.#dialect);
  }

  #enqueue(bytes: Uint8Array, kind: WriteKind): Promise<void> {
    return this.#writer.enqueue(bytes, kind);
  }

  // ------------------------------------------------------------ calls

  /**
   * Checks the feed and topic, makes the message (which checks the rest) and
   * queues it as data; a bad argument is a rejected promise, not a throw.
   */
  #writeData(
    describe: () => string,
    feed: string,
    topic: string,
    message: (action: string) => BusMessage,
  ): Promise<void> {
    try {
      const action = describe();
      checkName(feed, "feed", action);
      checkName(topic, "topic", action);
      return this.#enqueue(this.#encode(message(action)), "data");
    } catch (err) {
      return Promise.reject(err);
    }
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
    return this.#writeData(() => `Publishing to ${feed}/${topic}`, feed, topic, (action) => {
      const img = checkImage(this.#imageField, isImage, action);
      const checked = checkPackets(packets, action);
      return { type: 1, feed, topic, isImage: img.isImage, contentType: img.contentType, packets: checked };
    });
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
    return this.#writeData(() => `Sending to ${clientId} on ${feed}/${topic}`, feed, topic, (action) => {
      uuidToBytes(clientId);
      const img = checkImage(this.#imageField, isImage, action);
      return { type: 2, clientId, feed, topic, ...img, packets: checkPackets(packets, action) };
    });
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
    return this.#writeData(() => `Authorizing ${clientId} on ${feed}/${topic}`, feed, topic, (action) => {
      if (typeof isAuthorizationRequired !== "boolean") {
        throw new TypeError(`${action} failed: isAuthorizationRequired is not a boolean`);
      }
      checkEntitlements(entitlements, action);
      return { type: 7, clientId, feed, topic, isAuthorizationRequired, entitlements };
    });
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
    this.#table.track(feed, topic, isAdd ? 1 : -1);
    // While reconnecting the state is restored on reconnection; the request itself is not queued.
    if (this.#connection.reconnecting) return Promise.resolve();
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
    this.#table.trackNotifications(feed, isAdd ? 1 : -1);
    if (!write || this.#connection.reconnecting) return Promise.resolve();
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
    const register = this.#table.notificationCount(feed) === 0;
    const bytes = concatBytes([
      ...(register ? [this.#encode({ type: 4, feed, isAdd: true })] : []),
      this.#encode({ type: 5, feed, topic, isAdd: true }),
      this.#encode({ type: 5, feed, topic, isAdd: false }),
      ...(register ? [this.#encode({ type: 4, feed, isAdd: false })] : []),
    ]);
    const t0 = performance.now();
    let late = false;
    // Echoes answer pings oldest first (they carry no sequence number).
    const { id, echoed } = this.#dispatcher.expectEcho();
    // The deadline runs from now, the time in the queue included; `done` releases its timer early.
    const done = new AbortController();
    const answered = withDeadline(timeoutMs > 0 ? timeoutMs : 0, echoed, {
      signal: done.signal,
      error: () => new TimeoutError(`Pinging ${this.#url} timed out after ${timeoutMs} ms`, { timeoutMs }),
    });
    answered.catch(() => {});
    try {
      await this.#enqueue(bytes, "ping");
      try {
        await answered;
      } catch (err) {
        late = true;
        throw err;
      }
      if (this.#ended || this.#stopping) throw new ClosedError(`Pinging ${this.#url} failed: the client is closed`);
      if (!this.#connection.ready) {
        throw new ConnectionError(`Pinging ${this.#url} failed: the connection was lost`, { url: this.#url });
      }
      return performance.now() - t0;
    } finally {
      done.abort();
      // A late echo may still come on this connection: it must answer nothing (a lost connection clears them all).
      this.#dispatcher.forgetEcho(id, late);
    }
  }

  // ------------------------------------------------------------ streams

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
    return this.#streams.data(feed, topic, undefined, options);
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
    return this.#streams.notifications(feed, options);
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
    return this.#streams.authorizationRequests(options);
  }
}
