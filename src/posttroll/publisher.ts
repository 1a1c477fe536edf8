/**
 * Publishers: `Publisher` binds a PUB socket; `NoisyPublisher` also
 * announces its address; `publish()` picks one as Python's `Publish` does.
 *
 * @module
 */

import * as zmq from "zeromq";
import { ClosedError, ConnectionError } from "../core/errors.ts";
import { StatusChannel } from "../core/status.ts";
import { announcement } from "./announcement.ts";
import { AddressBroadcaster, getOwnIp } from "./broadcaster.ts";
import { type PosttrollConfig, type PosttrollConfigInit, resolveConfig } from "./config.ts";
import { encodeConfigured, PosttrollMessage, type PosttrollMessageInit } from "./message.ts";
import { serverSecurity, type SocketSecurity } from "./socket_security.ts";
import { closeSocket, SerialSender } from "./sockets.ts";

/** Options of {@linkcode Publisher}. */
export interface PublisherOptions {
  /** The name, used in heartbeat subjects (`/heartbeat/<name>`). */
  name?: string | undefined;
  /** The address to bind: `*` (every interface, the original's default) or an IP. */
  host?: string | undefined;
  /**
   * The port; 0 (default) picks one: the OS's choice, or a random port in
   * `[pubMinPort, pubMaxPort)` when either setting is changed from its default.
   */
  port?: number | undefined;
  /** Settings in code, over the `POSTTROLL_*` environment. */
  config?: PosttrollConfigInit | undefined;
}

/** What {@linkcode Publisher.send} takes. */
export type PublisherInput = PosttrollMessage | PosttrollMessageInit | string;

function startsWithBytes(frame: Uint8Array, prefix: string): boolean {
  const p = new TextEncoder().encode(prefix);
  if (p.length > frame.length) return false;
  for (let i = 0; i < p.length; i++) if (frame[i] !== p[i]) return false;
  return true;
}

function checkPort(port: unknown, action: string): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${action} failed: port ${String(port)} is not an integer from 0 to 65535`);
  }
  return port;
}

/**
 * A PostTroll publisher: a publishing socket bound to `tcp://<host>:<port>`
 * (a CURVE server under `secure_zmq`). It never registers anywhere; see
 * {@linkcode NoisyPublisher}. Sending resolves once zeromq took the frame:
 * PUB/SUB has no confirmation and drops messages for subscribers that are
 * not connected (or not yet subscribed: a subscriber that joins, or comes
 * back after either side restarted, misses what was sent before its
 * subscription arrived) or too slow.
 *
 * What went to no one is counted: the socket is an XPUB (to subscribers,
 * the same as Python's PUB), so the publisher knows which topic prefixes
 * are subscribed when it sends, and {@linkcode Publisher.unheard} counts
 * the frames no subscription matched. Status events: `"subscribed"` and
 * `"unsubscribed"` (detail `topic`, the prefix, and `unheard`, the count so
 * far) when a prefix gains its first subscriber or loses its last;
 * `"error"`; `"closed"`.
 *
 * @example
 * ```ts ignore
 * import { Publisher } from "@x/pubsub/posttroll";
 *
 * const pub = await new Publisher({ host: "127.0.0.1", port: 0, name: "counter" }).start();
 * console.log(pub.url); // tcp://127.0.0.1:<port>
 * await pub.send({ subject: "/counter", type: "info", data: "1" });
 * await pub.heartbeat(30);
 * await pub.close();
 * ```
 */
export class Publisher {
  /** The name given (heartbeats use it). */
  readonly name: string;
  /** `"subscribed"`, `"unsubscribed"`, `"error"` on a failure in the background, `"closed"`. */
  readonly status: StatusChannel = new StatusChannel();
  /** The settings in force. */
  readonly config: PosttrollConfig;
  readonly #host: string;
  readonly #port: number;
  #socket: zmq.XPublisher | undefined;
  #sender: SerialSender | undefined;
  /** The subscribed topic prefixes, as the socket reported them (XPUB reports each prefix's first and last). */
  readonly #topics = new Set<string>();
  #unheard = 0;
  #checkedAt = -Infinity;
  #security: SocketSecurity | undefined;
  #boundPort = 0;
  #lastBeat: number | undefined;
  #closed = false;
  #starting: Promise<this> | undefined;

  /**
   * Creates the publisher (not yet bound: call {@linkcode Publisher.start}).
   *
   * @param options Name, bind address, port, settings.
   * @throws {RangeError} On an invalid port.
   * @throws {TypeError} On an invalid setting.
   */
  constructor(options: PublisherOptions = {}) {
    this.name = options.name ?? "";
    this.#host = options.host ?? "*";
    this.#port = checkPort(options.port ?? 0, "Creating a publisher");
    this.config = resolveConfig(options.config);
  }

  /**
   * How many frames were sent while no subscriber's subscription matched
   * them: lost for certain (PUB/SUB keeps nothing). After a restart of this
   * publisher, or of its subscribers, these are the messages lost at the
   * join. Frames lost to a subscriber that dies, or to a full queue, are not
   * counted. The subscriptions are looked at before a send at most once a
   * millisecond, so frames sent within a millisecond of a subscriber's
   * subscription arriving (or going) may be counted the wrong way.
   */
  get unheard(): number {
    return this.#unheard;
  }

  /** The bound port (0 before `start()`). */
  get port(): number {
    return this.#boundPort;
  }

  /** The bound address, `tcp://<host>:<port>` (empty before `start()`). */
  get url(): string {
    return this.#boundPort === 0 ? "" : `tcp://${this.#host}:${this.#boundPort}`;
  }

  /**
   * Binds the socket.
   *
   * @returns This publisher.
   * @throws {ConnectionError} When the address cannot be bound.
   * @throws {AuthError} When CURVE key files cannot be read.
   */
  start(): Promise<this> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<this> {
    if (this.#closed) throw new ClosedError("Starting a publisher failed: it is closed");
    const security = await serverSecurity(this.config);
    const socket = new zmq.XPublisher({ ...security.options, sendHighWaterMark: 10_000 });
    try {
      this.#boundPort = await this.#bind(socket);
    } catch (err) {
      socket.close();
      security.release();
      throw err;
    }
    this.#socket = socket;
    this.#security = security;
    this.#sender = new SerialSender({ send: (frame) => this.#sendCounted(socket, frame) });
    return this;
  }

  /**
   * Sends one frame, counting it as unheard when no subscribed prefix
   * matches it. `readable` makes libzmq process the subscriptions that
   * arrived, so when it says nothing is waiting, the set is what libzmq's
   * own send will use; otherwise they are read first (the sender keeps the
   * order: it starts the next send only once this one is done).
   */
  #sendCounted(socket: zmq.XPublisher, frame: string | Uint8Array): Promise<void> {
    // Asking costs about 1 µs (a getsockopt through N-API), as much as the send: at most once a millisecond, so a
    // subscription that arrives or goes is seen within a millisecond of sending, and a burst pays once.
    const now = performance.now();
    if (now - this.#checkedAt < 1 || !socket.readable) {
      if (now - this.#checkedAt >= 1) this.#checkedAt = now;
      this.#count(frame);
      return socket.send(frame);
    }
    this.#checkedAt = now;
    return (async () => {
      while (socket.readable) {
        const [sub] = await socket.receive();
        if (sub !== undefined && sub.length > 0) this.#subscription(sub);
      }
      this.#count(frame);
      await socket.send(frame);
    })();
  }

  #subscription(message: Uint8Array): void {
    const topic = new TextDecoder().decode(message.subarray(1));
    const subscribed = message[0] === 1;
    if (subscribed) this.#topics.add(topic);
    else if (message[0] === 0) this.#topics.delete(topic);
    else return;
    this.status.emit(subscribed ? "subscribed" : "unsubscribed", { topic, unheard: this.#unheard });
  }

  #count(frame: string | Uint8Array): void {
    const text = typeof frame === "string" ? frame : undefined;
    for (const t of this.#topics) {
      if (t === "" || (text !== undefined ? text.startsWith(t) : startsWithBytes(frame as Uint8Array, t))) return;
    }
    this.#unheard++;
  }

  async #bind(socket: zmq.XPublisher): Promise<number> {
    const { pubMinPort, pubMaxPort } = this.config;
    const custom = pubMinPort !== 49152 || pubMaxPort !== 65536;
    const attempts = this.#port === 0 && custom ? 100 : 1;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      const port = this.#port !== 0
        ? this.#port
        : custom
        ? pubMinPort + Math.floor(Math.random() * (pubMaxPort - pubMinPort))
        : 0;
      const endpoint = `tcp://${this.#host}:${port === 0 ? "*" : port}`;
      try {
        await socket.bind(endpoint);
        const bound = socket.lastEndpoint ?? "";
        return Number(bound.slice(bound.lastIndexOf(":") + 1));
      } catch (err) {
        last = err;
      }
    }
    throw new ConnectionError(`Binding a publisher to ${this.#host}:${this.#port || "a random port"} failed`, {
      cause: last,
      url: `tcp://${this.#host}:${this.#port}`,
    });
  }

  /**
   * Sends one message.
   *
   * @param message A message, the fields of one (the configured
   *   `messageVersion` applies), or an encoded frame.
   * @returns A promise that resolves once zeromq took the frame.
   * @throws {ClosedError} When the publisher is closed or not started.
   * @throws {TypeError} On an invalid message.
   */
  send(message: PublisherInput): Promise<void> {
    try {
      const sender = this.#sender;
      if (this.#closed || sender === undefined) {
        throw new ClosedError(`Sending failed: the publisher is ${this.#closed ? "closed" : "not started"}`);
      }
      return sender.send(this.#frame(message));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #frame(message: PublisherInput): string {
    if (typeof message === "string") {
      if (!message.isWellFormed()) throw new TypeError("Sending failed: the frame has a lone surrogate");
      return message;
    }
    if (message instanceof PosttrollMessage) return message.encode();
    if (typeof message !== "object" || message === null) {
      throw new TypeError(`Sending failed: ${String(message)} is not a message`);
    }
    return encodeConfigured(message, this.config.messageVersion);
  }

  /**
   * Sends a heartbeat (`/heartbeat/<name>`, type `beat`, data
   * `{"min_interval": minInterval}`) if this is the first call or at least
   * `minInterval` seconds passed since the last one sent.
   *
   * @param minInterval Seconds, as in Python. Default 0.
   * @returns Whether a heartbeat was sent.
   * @throws {ClosedError} When the publisher is closed or not started.
   */
  async heartbeat(minInterval = 0): Promise<boolean> {
    const now = performance.now();
    if (this.#lastBeat !== undefined && now - this.#lastBeat < minInterval * 1000) return false;
    this.#lastBeat = now;
    await this.send({ subject: `/heartbeat/${this.name}`, type: "beat", data: { min_interval: minInterval } });
    return true;
  }

  /**
   * A stream to pipe messages into. Each chunk is a {@linkcode PosttrollMessage}
   * or its fields; with a `subject`, strings and bytes are sent as `info`
   * messages with that subject (without one, a string is a whole frame).
   *
   * @param subject The subject for string and byte chunks.
   * @returns The stream; each write resolves once zeromq took the frame.
   */
  writable(subject?: string): WritableStream<PublisherInput | Uint8Array> {
    return new WritableStream<PublisherInput | Uint8Array>({
      write: (chunk) => {
        if (typeof chunk === "string" || chunk instanceof Uint8Array) {
          if (subject !== undefined) return this.send({ subject, type: "info", data: chunk });
          if (typeof chunk === "string") return this.send(chunk);
          throw new TypeError("Writing a chunk failed: bytes need the writable's subject");
        }
        return this.send(chunk);
      },
    });
  }

  /**
   * Closes the socket (messages not yet sent are dropped) and resolves once
   * libzmq destroyed it, so the port is free: a publisher started right
   * after on the same port binds it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#starting?.catch(() => {});
    await this.#sender?.idle();
    if (this.#socket !== undefined) await closeSocket(this.#socket);
    this.#security?.release();
    this.status.close();
  }

  /** Calls {@linkcode Publisher.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Options of {@linkcode NoisyPublisher}. */
export interface NoisyPublisherOptions extends PublisherOptions {
  /** The name the publisher registers (required). */
  name: string;
  /** More service names it answers to. */
  aliases?: string | readonly string[] | undefined;
  /**
   * Nameserver hosts to register with by REQ (port `broadcastPort`, or
   * `host:port`); absent or empty: UDP multicast to the group.
   */
  nameservers?: readonly string[] | undefined;
  /** The address announced in the URI; default this host's first non-internal IPv4 address, else `127.0.0.1`. */
  advertisedAddress?: string | undefined;
  /** Time between announcements, in ms. Default 2000. */
  broadcastInterval?: number | undefined;
}

/**
 * A {@linkcode Publisher} that announces `tcp://<advertisedAddress>:<port>`
 * under `[name, ...aliases]` every 2 s, by multicast or to the given
 * nameservers (Python's `NoisyPublisher`).
 *
 * @example
 * ```ts ignore
 * import { NoisyPublisher } from "@x/pubsub/posttroll";
 *
 * const pub = await new NoisyPublisher({
 *   name: "a_service", aliases: ["alias1"], host: "127.0.0.1", advertisedAddress: "127.0.0.1",
 *   nameservers: ["127.0.0.1"],
 * }).start();
 * await pub.send({ subject: "/counter", data: "1" });
 * await pub.close();
 * ```
 */
export class NoisyPublisher extends Publisher {
  /** `[name, ...aliases]`. */
  readonly services: string[];
  /** Registration events (`"registered"`, `"error"`), once started. */
  broadcaster: AddressBroadcaster | undefined;
  readonly #options: NoisyPublisherOptions;

  /**
   * Creates the publisher (call {@linkcode NoisyPublisher.start}).
   *
   * @param options Name, aliases, nameservers, bind and advertised addresses.
   * @throws {TypeError} When the name or an alias is not a non-empty string.
   * @throws {RangeError} On an invalid port or interval.
   */
  constructor(options: NoisyPublisherOptions) {
    super(options);
    if (typeof options.name !== "string" || options.name === "" || /\s/.test(options.name)) {
      throw new TypeError(`Creating a NoisyPublisher failed: name ${JSON.stringify(options.name)} is not a word`);
    }
    const aliases = options.aliases === undefined
      ? []
      : typeof options.aliases === "string"
      ? [options.aliases]
      : [...options.aliases];
    for (const a of aliases) {
      if (typeof a !== "string" || a === "") {
        throw new TypeError(`Creating a NoisyPublisher failed: alias ${JSON.stringify(a)} is not a non-empty string`);
      }
    }
    this.services = [options.name, ...aliases];
    this.#options = options;
  }

  /** The URI announced, once started. */
  get advertisedUrl(): string {
    return `tcp://${this.#options.advertisedAddress ?? getOwnIp()}:${this.port}`;
  }

  /**
   * Binds and starts announcing.
   *
   * @returns This publisher.
   * @throws {ConnectionError} When the address cannot be bound.
   * @throws {RangeError} When the announcement would be 1024 bytes or more.
   */
  override async start(): Promise<this> {
    await super.start();
    if (this.broadcaster === undefined) {
      const msg = announcement({
        name: this.name,
        services: this.services,
        uri: this.advertisedUrl,
        backend: this.config.backend,
      });
      this.broadcaster = new AddressBroadcaster(msg, this.config, {
        nameservers: this.#options.nameservers,
        interval: this.#options.broadcastInterval,
      });
      this.broadcaster.start();
    }
    return this;
  }

  /** Stops announcing and closes the socket. */
  override async close(): Promise<void> {
    await this.broadcaster?.stop();
    await super.close();
  }
}

/** Options of {@linkcode publish}. */
export interface PublishFactoryOptions extends PublisherOptions {
  /** Aliases, for a {@linkcode NoisyPublisher}. */
  aliases?: string | readonly string[] | undefined;
  /**
   * `false` with a `port` set: a plain {@linkcode Publisher} that never
   * registers. A list of hosts: register with them by REQ. Absent or empty:
   * register by multicast.
   */
  nameservers?: readonly string[] | false | undefined;
  /** The address announced; default this host's IP. */
  advertisedAddress?: string | undefined;
  /** Time between announcements, in ms. Default 2000. */
  broadcastInterval?: number | undefined;
  /**
   * Announce by UDP multicast when no nameservers are given (default true).
   * `false` with no nameservers gives a plain {@linkcode Publisher} that never announces.
   */
  broadcast?: boolean | undefined;
}

/**
 * Python's `Publish(name, port, aliases, nameservers)`: a started
 * {@linkcode Publisher} when `nameservers` is `false` and a port is given,
 * (or `broadcast` is `false` with no nameservers), else a started
 * {@linkcode NoisyPublisher}.
 *
 * @example
 * ```ts ignore
 * import { publish } from "@x/pubsub/posttroll";
 *
 * await using pub = await publish("a_service", {
 *   port: 0, host: "127.0.0.1", advertisedAddress: "127.0.0.1", aliases: ["alias1"], nameservers: ["127.0.0.1"],
 * });
 * await pub.send({ subject: "/counter", data: "0" });
 * ```
 *
 * @param name The publisher's name.
 * @param options Port, aliases, nameservers, addresses.
 * @returns The started publisher.
 * @throws {TypeError} When a NoisyPublisher is needed and the name is empty.
 * @throws {ConnectionError} When the address cannot be bound.
 */
export async function publish(name: string, options: PublishFactoryOptions = {}): Promise<Publisher> {
  const hasNameservers = Array.isArray(options.nameservers) && options.nameservers.length > 0;
  if (
    (options.nameservers === false && options.port !== undefined) || (options.broadcast === false && !hasNameservers)
  ) {
    return await new Publisher({ ...options, name }).start();
  }
  const { nameservers, broadcast: _broadcast, ...rest } = options;
  return await new NoisyPublisher({ ...rest, name, nameservers: nameservers === false ? undefined : nameservers })
    .start();
}
