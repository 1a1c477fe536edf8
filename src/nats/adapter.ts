/**
 * The NATS adapter, {@linkcode NatsPubSub}: one class for `./nats`
 * (WebSocket) and `./nats/tcp` (which adds the TCP transport).
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { type JetStreamClient, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { withDeadline } from "../core/async.ts";
import { ClosedError, TimeoutError } from "../core/errors.ts";
import type {
  Capabilities,
  PublishChunk,
  PublishData,
  PublishReceipt,
  PubSub,
  WritableOptions,
} from "../core/pubsub.ts";
import { checkPublishData, publishWritable } from "../core/publish_writable.ts";
import { StatusChannel } from "../core/status.ts";
import { checkOverflow, type OverflowPolicy, UNPAUSABLE_HIGH_WATER_MARK } from "../core/source.ts";
import { Subscription } from "../core/subscription.ts";
import { checkName, checkSubject } from "./codec.ts";
import { type ConsumerState, consumerState } from "./consumer_info.ts";
import { connectOptions, openConnection } from "./client.ts";
import { consumerSource } from "./consumer_source.ts";
import { coreSource } from "./core_source.ts";
import type { JetStreamMessage, NatsMessage } from "./message.ts";
import {
  checkPositive,
  type JetStreamModeOptions,
  type NatsPublishOptions,
  type NatsPubSubOptions,
  type NatsSubscribeOptions,
} from "./options.ts";
import { mapNatsError } from "./errors.ts";
import { toNatsHeaders } from "./headers.ts";

/**
 * The overflow policies of core NATS subscriptions, the default first: the
 * server cannot be paused without stalling every subscription of the
 * connection, so `"block"` is not offered; as nats.go's pending limits, the
 * default drops the newest.
 */
const CORE_OVERFLOW: readonly OverflowPolicy[] = ["drop-newest", "drop-oldest", "error"];
/** JetStream subscriptions pull only what the reader asks for: nothing overflows, the stream holds the rest. */
const PULL_OVERFLOW: readonly OverflowPolicy[] = ["block"];

function checkDeliver(deliver: unknown, action: string): void {
  if (deliver === undefined) return;
  if (deliver === "all" || deliver === "new" || deliver === "last" || deliver === "last-per-subject") return;
  if (typeof deliver === "object" && deliver !== null) {
    const d = deliver as { sequence?: unknown; time?: unknown };
    if (typeof d.sequence === "number" && Number.isInteger(d.sequence) && d.sequence >= 1) return;
    if (d.time instanceof Date && !isNaN(d.time.getTime())) return;
  }
  throw new TypeError(
    `${action} failed: deliver ${
      JSON.stringify(deliver)
    } is not "all", "new", "last", "last-per-subject", {sequence} or {time}`,
  );
}

/**
 * NATS and JetStream as a `PubSub`. {@linkcode NatsPubSub.connect} picks
 * the transport from the URLs: WebSocket for `ws://`/`wss://` (in browsers
 * too), TCP for `nats://`/`tls://` once `@x/pubsub/nats/tcp` is imported;
 * {@linkcode NatsPubSub.fromConnection} wraps a connection you made. Each
 * connection keeps its own transport on every reconnect.
 *
 * Two modes, chosen at connect time:
 * - core NATS (default): `subscribe()` is a NATS subscription (wildcards
 *   `*`/`>`, `group` = queue group) fed to a bounded buffer with a drop or
 *   error policy (`"drop-newest"` by default; `"block"` is not offered: the
 *   server cannot be paused for one subscription); `publish()` resolves once
 *   the message is handed to the connection (`confirmed: false`).
 * - JetStream (`jetstream: true`): `subscribe()` reads through a pull
 *   consumer (ephemeral, or durable with `durable`/`group`) and pulls only as
 *   the reader reads; messages have `ack()/nak()/term()`; `publish()`
 *   resolves on the stream's PubAck (`confirmed: true`, `sequence`).
 *
 * @example
 * ```ts ignore
 * import { NatsPubSub } from "@x/pubsub/nats";
 *
 * const ps = await NatsPubSub.connect({ servers: "ws://127.0.0.1:8080" });
 * const sub = ps.subscribe("greetings.*");
 * await sub.ready;
 * await ps.publish("greetings.en", "hello");
 * for await (const msg of sub) {
 *   console.log(msg.subject, msg.text()); // greetings.en hello
 *   break;
 * }
 * await ps.close();
 * ```
 */
export class NatsPubSub implements PubSub<NatsMessage> {
  /** What this connection can do in its mode. */
  readonly capabilities: Capabilities;
  /** Connection events: `connected`, `disconnected`, `reconnecting`, `reconnected`, `error`, `closed`. */
  readonly status: StatusChannel = new StatusChannel();
  /** Whether `subscribe()` and `publish()` go through JetStream. */
  readonly jetstream: boolean;
  readonly #nc: NatsConnection;
  readonly #owns: boolean;
  readonly #jsOptions: JetStreamModeOptions;
  readonly #subs = new Set<Subscription<NatsMessage>>();
  readonly #reconnectListeners = new Set<() => void>();
  readonly #url: string | undefined;
  #jsm: Promise<JetStreamManager> | undefined;
  #js: JetStreamClient | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #reconnecting = false;
  #reconnected: { promise: Promise<void>; resolve: () => void } | undefined;
  /** When the connection dropped, until the reconnect (the start of core subscriptions' gap). */
  #droppedAt: Date | undefined;
  readonly #statusLoop: Promise<void>;

  /**
   * Wraps an open connection.
   *
   * @param nc The connection.
   * @param options The mode; `owns` (default true) closes the connection on `close()`.
   */
  private constructor(
    nc: NatsConnection,
    options: { jetstream?: boolean | JetStreamModeOptions | undefined; owns?: boolean; url?: string | undefined },
  ) {
    this.#nc = nc;
    this.#owns = options.owns ?? true;
    this.#url = options.url;
    this.jetstream = options.jetstream !== undefined && options.jetstream !== false;
    this.#jsOptions = typeof options.jetstream === "object" ? options.jetstream : {};
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.capabilities = {
      settle: this.jetstream,
      confirmedPublish: this.jetstream,
      wildcards: "nats",
      maxPayload,
      ordered: true,
      replay: this.jetstream,
      groups: true,
      headers: true,
      overflow: this.jetstream ? PULL_OVERFLOW : CORE_OVERFLOW,
      delivery: this.jetstream ? "at-least-once" : "at-most-once",
    };
    this.status.emit("connected", { server: nc.getServer() });
    this.#statusLoop = this.#watch();
  }

  /**
   * Connects. The URLs choose the transport: `ws://`/`wss://` over
   * WebSocket (`NoDelayWebSocket` under Deno, the `webSocket` option for any
   * other); `nats://host:port` (or `host:port`) over TCP and `tls://` over TLS,
   * which need `@x/pubsub/nats/tcp` imported (it adds the TCP transport;
   * `./nats` alone loads no Node module). Over TCP, TLS is used when the
   * server requires it, the URL is `tls://` or `caCerts` are given (then a
   * server without TLS is refused).
   *
   * @example
   * ```ts ignore
   * import { NatsPubSub } from "@x/pubsub/nats";
   *
   * await using ps = await NatsPubSub.connect({ servers: "wss://nats.example.com", token: "s3cret" });
   * await ps.publish("hello", "world");
   * ```
   *
   * @param servers A URL, a list of URLs (all WebSocket or all TCP), or the options (credentials, JetStream
   *   mode, reconnects).
   * @returns The adapter, connected.
   * @throws {TypeError} When the servers or options are invalid, the URLs mix WebSocket and TCP, or a TCP URL is
   *   given without `@x/pubsub/nats/tcp` loaded.
   * @throws {RangeError} When `timeoutMs` is not a positive number.
   * @throws {AuthError} When the server refuses the credentials.
   * @throws {ConnectionError} When no server can be reached, or its certificate is not trusted.
   * @throws {TimeoutError} When connecting takes longer than `timeoutMs`.
   */
  static async connect(servers: string | string[] | NatsPubSubOptions): Promise<NatsPubSub> {
    const options = connectOptions(servers);
    const nc = await openConnection(options);
    return new NatsPubSub(nc, { jetstream: options.jetstream, owns: true, url: String(options.servers) });
  }

  /**
   * Wraps a connection made elsewhere (by `wsconnect`, transport-node's
   * `connect`, or another library).
   *
   * @example
   * ```ts ignore
   * import { wsconnect } from "@nats-io/nats-core";
   * import { NatsPubSub } from "@x/pubsub/nats";
   *
   * const nc = await wsconnect({ servers: "ws://127.0.0.1:8080" });
   * const ps = NatsPubSub.fromConnection(nc, { jetstream: true, owns: false });
   * await ps.close(); // nc stays open
   * await nc.close();
   * ```
   *
   * @param nc The connection.
   * @param options The mode; `owns` (default false here) closes the connection on `close()`.
   * @returns The adapter.
   */
  static fromConnection(
    nc: NatsConnection,
    options: { jetstream?: boolean | JetStreamModeOptions | undefined; owns?: boolean } = {},
  ): NatsPubSub {
    return new NatsPubSub(nc, { ...options, owns: options.owns ?? false });
  }

  /**
   * The underlying nats.js `NatsConnection`, for anything this API does not
   * cover (request/reply, KV, object store...).
   *
   * @internal
   */
  get connection(): NatsConnection {
    return this.#nc;
  }

  /** The JetStream API prefix in use. */
  get apiPrefix(): string {
    if (this.#jsOptions.apiPrefix !== undefined) return this.#jsOptions.apiPrefix;
    if (this.#jsOptions.domain !== undefined) return `$JS.${this.#jsOptions.domain}.API`;
    return "$JS.API";
  }

  /**
   * Whether the server understands `+TERM <reason>` (nats-server 2.11 and
   * later; older servers ignore the whole ack when a reason is appended, so
   * the reason is left out for them).
   *
   * @internal
   */
  get termReasons(): boolean {
    const [major = 0, minor = 0] = (this.#nc.info?.version ?? "0.0.0").split(".").map((n) => parseInt(n, 10));
    return major > 2 || (major === 2 && minor >= 11);
  }

  /** @internal When the connection dropped, while it is down (the start of core subscriptions' gap). */
  get droppedAt(): Date | undefined {
    return this.#droppedAt;
  }

  /** @internal Whether the connection is between a disconnect and a reconnect. */
  get reconnecting(): boolean {
    return this.#reconnecting;
  }

  /**
   * The nats.js `JetStreamManager` of this connection (made once), to manage
   * streams and consumers.
   *
   * @internal
   * @returns The manager.
   */
  jetstreamManager(): Promise<JetStreamManager> {
    this.#jsm ??= jetstreamManager(this.#nc, {
      ...(this.#jsOptions.domain === undefined ? {} : { domain: this.#jsOptions.domain }),
      ...(this.#jsOptions.apiPrefix === undefined ? {} : { apiPrefix: this.#jsOptions.apiPrefix }),
      timeout: this.#jsOptions.timeoutMs ?? 5_000,
      checkAPI: false,
    });
    return this.#jsm;
  }

  async #jetstreamClient(): Promise<JetStreamClient> {
    this.#js ??= (await this.jetstreamManager()).jetstream();
    return this.#js;
  }

  /** @internal Calls `fn` after each reconnect; returns the unsubscriber. */
  onReconnect(fn: () => void): () => void {
    this.#reconnectListeners.add(fn);
    return () => this.#reconnectListeners.delete(fn);
  }

  /** @internal Resolves at the next reconnect, on close, or when `signal` aborts. */
  async waitReconnected(signal: AbortSignal): Promise<void> {
    const r = this.#reconnected;
    if (r === undefined) return;
    // At most a minute: the caller looks again; the timer goes as soon as one of the three happens.
    await withDeadline(60_000, r.promise, { signal }).catch(() => {});
  }

  /** @internal Publishes an ack payload. */
  sendAck(reply: string, payload: Uint8Array): Promise<void> {
    try {
      if (this.#nc.isClosed()) throw new ClosedError("Settling a message failed: the connection is closed");
      this.#nc.publish(reply, payload);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(mapNatsError(err, "Settling a message"));
    }
  }

  /**
   * @internal Sends an ack payload as a request and resolves on the server's
   * (empty) reply: the server has taken the settlement.
   */
  async confirmAck(reply: string, payload: Uint8Array): Promise<void> {
    const timeoutMs = this.apiTimeoutMs;
    if (this.#nc.isClosed()) throw new ClosedError("Settling a message failed: the connection is closed");
    try {
      await this.#nc.request(reply, payload, { timeout: timeoutMs });
    } catch (err) {
      const mapped = mapNatsError(err, "Settling a message");
      if (mapped instanceof TimeoutError) {
        throw new TimeoutError(`Settling a message failed: the server did not confirm it within ${timeoutMs} ms`, {
          cause: err,
          timeoutMs,
        });
      }
      throw mapped;
    }
  }

  /** @internal How long JetStream API requests (and `no_wait` pulls, confirmed settlements) may take. */
  get apiTimeoutMs(): number {
    return this.#jsOptions.timeoutMs ?? 5_000;
  }

  /**
   * The server's view of a JetStream consumer: how many messages it has not
   * delivered yet (`pending`), delivered and not acknowledged (`ackPending`;
   * every reader of a shared consumer together), the pull requests it holds
   * (`waiting`), and in a cluster the server that leads it (`leader`). Works
   * in either mode.
   *
   * @example
   * ```ts ignore
   * import { NatsPubSub } from "@x/pubsub/nats/tcp";
   *
   * const ps = await NatsPubSub.connect({ servers: "nats://127.0.0.1:4222", jetstream: true });
   * const info = await ps.consumerInfo("billing", { topic: "orders.>" }); // or { stream: "ORDERS" }
   * console.log(info.pending, info.ackPending, info.waiting, info.leader);
   * await ps.close();
   * ```
   *
   * @param consumer The consumer's name (a subscription's `durable` or `group`).
   * @param where The stream, or a subject of it (the stream is found as `subscribe()` finds it).
   * @returns The consumer's state.
   * @throws {TypeError} On an invalid name or subject.
   * @throws {PubSubError} When no stream takes the subject, or the stream has no such consumer.
   * @throws {TimeoutError} When no answer comes within `timeoutMs` (in a cluster: no server leads the consumer).
   * @throws {ClosedError} When the connection is closed.
   */
  async consumerInfo(consumer: string, where: { stream: string } | { topic: string }): Promise<ConsumerState> {
    const action = `Reading the info of consumer ${String(consumer)}`;
    checkName(consumer, "consumer", action);
    if (typeof where !== "object" || where === null) {
      throw new TypeError(`${action} failed: the second argument must be { stream } or { topic }`);
    }
    let stream: string;
    if ("stream" in where) {
      checkName(where.stream, "stream", action);
      stream = where.stream;
    } else {
      checkSubject(where.topic, action, true);
      stream = "";
    }
    if (this.#closed || this.#nc.isClosed()) throw new ClosedError(`${action} failed: the connection is closed`);
    if (stream === "") {
      const topic = (where as { topic: string }).topic;
      try {
        stream = await (await this.jetstreamManager()).streams.find(topic);
      } catch (err) {
        throw mapNatsError(err, `${action} (finding the stream of ${topic})`);
      }
    }
    return await consumerState(this.#nc, this.apiPrefix, stream, consumer, this.apiTimeoutMs);
  }

  async #watch(): Promise<void> {
    try {
      for await (const s of this.#nc.status()) {
        switch (s.type) {
          case "disconnect":
            if (!this.#reconnecting) {
              this.#reconnecting = true;
              this.#droppedAt = new Date();
              let resolve!: () => void;
              const promise = new Promise<void>((r) => resolve = r);
              this.#reconnected = { promise, resolve };
            }
            this.status.emit("disconnected", { server: s.server });
            break;
          case "reconnecting":
            this.status.emit("reconnecting");
            break;
          case "reconnect":
            this.#reconnecting = false;
            this.#reconnected?.resolve();
            this.#reconnected = undefined;
            for (const fn of this.#reconnectListeners) fn();
            this.#droppedAt = undefined;
            this.status.emit("reconnected", { server: s.server });
            break;
          case "error":
            this.status.emit("error", {}, mapNatsError(s.error, "The connection"));
            break;
          default:
            break;
        }
      }
    } catch { /* the connection closed */ }
    const err = await this.#nc.closed();
    this.#reconnected?.resolve();
    if (!this.#closed) {
      // Lost for good (not closed by us): end every subscription with the reason.
      const reason = err instanceof Error
        ? mapNatsError(err, "The connection")
        : new ClosedError("The connection was closed");
      await Promise.all([...this.#subs].map((s) => s.close(reason)));
      this.status.close();
    }
  }

  /**
   * Subscribes to a subject (NATS wildcards `*` and `>` allowed).
   *
   * @param topic The subject or pattern.
   * @param options Buffer, overflow policy, group, signal, and the JetStream consumer options.
   * @returns The subscription; `ready` resolves once the server has it (the consumer exists).
   * @throws {TypeError} On an invalid subject or option.
   * @throws {RangeError} On an out-of-range option.
   * @throws {ClosedError} When the connection is closed.
   */
  subscribe(topic: string, options: NatsSubscribeOptions = {}): Subscription<NatsMessage> {
    return this.#subscribe(topic, options, this.jetstream);
  }

  /**
   * Reads a subject through a JetStream pull consumer, whatever the mode:
   * the typed form of `subscribe()` in JetStream mode. Pulls only as the
   * reader reads (at most `highWaterMark` messages at a time).
   *
   * @example
   * ```ts ignore
   * import { NatsPubSub } from "@x/pubsub/nats";
   *
   * const ps = await NatsPubSub.connect("ws://127.0.0.1:8080");
   * for await (const msg of ps.consume("orders.>", { durable: "billing", deliver: "all" })) {
   *   console.log(msg.sequence, msg.text());
   *   await msg.ack();
   * }
   * ```
   *
   * @param topic The subject or pattern (within one stream).
   * @param options Buffer, signal, and the consumer options.
   * @returns The subscription; `ready` resolves once the consumer exists.
   * @throws {TypeError} On an invalid subject or option.
   * @throws {RangeError} On an out-of-range option.
   * @throws {ClosedError} When the connection is closed.
   */
  consume(topic: string, options: NatsSubscribeOptions = {}): Subscription<JetStreamMessage> {
    return this.#subscribe(topic, options, true) as Subscription<JetStreamMessage>;
  }

  #subscribe(topic: string, options: NatsSubscribeOptions, jetstream: boolean): Subscription<NatsMessage> {
    const action = `Subscribing to ${String(topic)}`;
    checkSubject(topic, action, true);
    if (options.group !== undefined) {
      if (typeof options.group !== "string" || options.group === "") {
        throw new TypeError(`${action} failed: group must be a non-empty string`);
      }
      if (jetstream) checkName(options.group, "group", action);
      else checkSubject(options.group, `${action} (queue group)`);
    }
    if (options.durable !== undefined) checkName(options.durable, "durable", action);
    if (options.stream !== undefined) checkName(options.stream, "stream", action);
    if (options.bind === true && options.durable === undefined && options.group === undefined) {
      throw new TypeError(`${action} failed: bind needs a durable name`);
    }
    checkDeliver(options.deliver, action);
    checkPositive(options.ackWaitMs, "ackWaitMs", action);
    checkPositive(options.expiresMs, "expiresMs", action);
    if (options.confirmAcks !== undefined && typeof options.confirmAcks !== "boolean") {
      throw new TypeError(`${action} failed: confirmAcks ${String(options.confirmAcks)} is not a boolean`);
    }
    const overflow = checkOverflow(options.overflow, action, jetstream ? PULL_OVERFLOW : CORE_OVERFLOW);
    if (this.#closed || this.#nc.isClosed()) throw new ClosedError(`${action} failed: the connection is closed`);
    const source = jetstream ? consumerSource(this, topic, options) : coreSource(this, topic, options);
    const highWaterMark = options.highWaterMark ?? (jetstream ? undefined : UNPAUSABLE_HIGH_WATER_MARK);
    const sub = new Subscription<NatsMessage>(source, { ...options, overflow, highWaterMark });
    this.#subs.add(sub);
    void sub.closed.then(() => this.#subs.delete(sub));
    return sub;
  }

  /**
   * Publishes one message. Core mode: resolves once handed to the connection
   * (`confirmed: false`). JetStream mode: resolves on the stream's PubAck
   * (`confirmed: true`, with `sequence` and `id` = `<stream>:<sequence>`).
   *
   * @param topic A subject (no wildcards).
   * @param data Bytes or a string.
   * @param options Headers, a signal, a JetStream message id.
   * @returns The receipt.
   * @throws {TypeError} On an invalid subject or payload.
   * @throws {RangeError} When the payload is over `capabilities.maxPayload`.
   * @throws {ClosedError} When the connection is closed.
   * @throws {TimeoutError} When the PubAck does not come in time.
   * @throws {PubSubError} When no stream takes the subject (JetStream mode).
   */
  async publish(topic: string, data: PublishData, options: NatsPublishOptions = {}): Promise<PublishReceipt> {
    const action = `Publishing to ${String(topic)}`;
    checkSubject(topic, action);
    const bytes = checkPublishData(data, action, this.capabilities.maxPayload);
    if (this.#closed || this.#nc.isClosed()) throw new ClosedError(`${action} failed: the connection is closed`);
    options.signal?.throwIfAborted();
    const headers = toNatsHeaders(options.headers);
    if (!this.jetstream) {
      try {
        this.#nc.publish(topic, bytes, headers === undefined ? undefined : { headers });
      } catch (err) {
        throw mapNatsError(err, action);
      }
      return { topic, confirmed: false };
    }
    const js = await this.#jetstreamClient();
    const signal = options.signal;
    signal?.throwIfAborted();
    const timeoutMs = this.#jsOptions.timeoutMs ?? 5_000;
    const opts: Record<string, unknown> = { timeout: timeoutMs };
    if (headers !== undefined) opts.headers = headers;
    if (options.msgId !== undefined) opts.msgID = options.msgId;
    const acked = js.publish(topic, bytes, opts);
    try {
      // An abort gives up on the PubAck at once (its late outcome, success or failure, is then ignored).
      const ack = signal === undefined ? await acked : await withDeadline(Infinity, acked, { signal });
      return { topic, confirmed: true, sequence: ack.seq, id: `${ack.stream}:${ack.seq}` };
    } catch (err) {
      if (signal?.aborted && err === signal.reason) throw err;
      const mapped = mapNatsError(err, action);
      if (mapped instanceof TimeoutError) {
        throw new TimeoutError(`${action} failed: no PubAck within ${timeoutMs} ms`, { cause: err, timeoutMs });
      }
      throw mapped;
    }
  }

  /**
   * A stream that publishes each chunk (see `publishWritable` in the core).
   *
   * @param topic The subject; without one, chunks must be messages.
   * @param options Window, headers, receipt callback.
   * @returns The stream.
   * @throws {TypeError} On an invalid subject.
   * @throws {RangeError} When `maxInFlight` is not a positive integer.
   */
  writable(topic?: string, options?: WritableOptions): WritableStream<PublishChunk> {
    if (topic !== undefined) checkSubject(topic, "Creating a writable");
    return publishWritable(this, topic, options);
  }

  /**
   * Ends every subscription (ephemeral consumers are deleted) and, when it
   * owns the connection, closes it. Safe to call twice.
   *
   * @returns When everything is released.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await Promise.all([...this.#subs].map((s) => s.close()));
      if (this.#owns) {
        try {
          await this.#nc.close();
        } catch { /* already closed */ }
        await this.#statusLoop;
      }
      this.status.close();
    })();
    return this.#closing;
  }

  /** Calls {@linkcode NatsPubSub.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal The server URL given at connect, for error messages. */
  get url(): string | undefined {
    return this.#url;
  }
}
