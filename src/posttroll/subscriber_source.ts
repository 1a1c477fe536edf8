/**
 * The source of a PostTroll subscription: the SUB sockets, which publishers
 * they connect (nameserver, address feed, direct addresses), what libzmq
 * says of each link, and the receive loop.
 *
 * @module
 */

import * as zmq from "zeromq";
import { AuthError, ConnectionError, ProtocolError } from "../core/errors.ts";
import { StatusChannel } from "../core/status.ts";
import type { PushController, PushSource } from "../core/source.ts";
import { CURRENT_MESSAGE_VERSION, frameText, isTruthy } from "./codec.ts";
import { type PosttrollConfig, resolveConfig } from "./config.ts";
import { decodeText, PosttrollMessage } from "./message.ts";
import { type AddressEntry, waitForPubAddress } from "./nameserver_client.ts";
import { clientSecurity } from "./socket_security.ts";
import { closeSocket, followEvents, receive, receiveEach, unloading } from "./sockets.ts";
import type { PosttrollSubscribeOptions } from "./subscriber.ts";

/**
 * Python's topic normalisation: a topic starting with `pytroll:/` is used
 * as is, one starting with `/` gets `pytroll:/` in front, any other
 * `pytroll://`. The result is a ZeroMQ prefix filter: `counter` matches
 * `/counter`, `/counter/json` and `/counterfoo`.
 *
 * @example
 * ```ts
 * import { normalizeTopic } from "./subscriber_source.ts";
 *
 * console.log(normalizeTopic("counter"), normalizeTopic("/counter"), normalizeTopic("pytroll:/")); // pytroll://counter pytroll://counter pytroll:/
 * ```
 *
 * @param topic The topic.
 * @returns The prefix.
 * @throws {TypeError} When the topic is not a string.
 */
export function normalizeTopic(topic: string): string {
  if (typeof topic !== "string") throw new TypeError(`Subscribing failed: topic ${String(topic)} is not a string`);
  if (topic.startsWith("pytroll:/")) return topic;
  if (topic.startsWith("/")) return `pytroll:/${topic}`;
  return `pytroll://${topic}`;
}

/** Hooks the adapter uses; not part of the public API. */
export interface SubscriberHooks {
  /** Extra prefixes to subscribe to. */
  extraTopics?: readonly string[];
  /** Return false to swallow a frame before decoding. */
  filter?: (text: string) => boolean;
  /** Runs first in start; resolves with more addresses to connect. */
  before?: (signal: AbortSignal) => Promise<readonly string[]>;
  /** Runs at the end of start; `ready` waits for it. */
  ready?: (signal: AbortSignal) => Promise<void>;
}

function hostOf(nameserver: string): string {
  const m = /^[a-z]+:\/\/(\[[^\]]*\]|[^:/]*)/.exec(nameserver);
  return m === null ? nameserver : m[1]!;
}

/** A push source that knows which publishers it is connected to. */
export interface AddressedSource extends PushSource<PosttrollMessage> {
  /** The connected publisher URIs. */
  readonly addresses: string[];
  /** The publishers' connection events, malformed frames, refusals. */
  readonly status: StatusChannel;
  /** How many malformed frames were dropped (`malformed: "drop"`). */
  readonly malformed: number;
}

/**
 * How long after a publisher's connection dropped libzmq must have said it
 * reconnects (it does so at once) before the subscription takes the
 * connection for given up (a protocol error, such as a frame above
 * `maxMessageSize`) and connects it again itself.
 */
const GIVEN_UP_AFTER_MS = 1000;

/** What the subscription knows of one publisher's connection, from the socket's events. */
interface Link {
  /** Whether a handshake ever completed. */
  handshaken: boolean;
  /** When the connection dropped, while it is down. */
  downAt: number | undefined;
  /** Waiting for libzmq's reconnection after a drop. */
  check: ReturnType<typeof setTimeout> | undefined;
  /** A refusal was reported; further failures of the same kind are not. */
  refused: boolean;
}

/**
 * The push source behind a `PosttrollSubscription`: one SUB socket
 * per backend, the publishers it connects (from the nameserver, the address
 * feed and direct addresses), its links' health from libzmq's socket events,
 * and the receive loop that decodes frames onto the stream.
 */
export class SubscriberSource implements AddressedSource {
  readonly kind = "push" as const;
  readonly #options: PosttrollSubscribeOptions;
  readonly #hooks: SubscriberHooks;
  readonly #config: PosttrollConfig;
  readonly #sockets = new Map<string, zmq.Subscriber>();
  readonly #connected = new Map<string, string>();
  readonly #loops: Promise<void>[] = [];
  /** Each socket's event loop, which ends once libzmq destroyed the closed socket. */
  readonly #watches = new Map<zmq.Subscriber, Promise<void>>();
  readonly #topics: string[];
  readonly #services: string[] | null;
  readonly #maxMessageSize: number;
  #controller!: PushController<PosttrollMessage>;
  #listener: zmq.Subscriber | undefined;
  readonly status: StatusChannel = new StatusChannel();
  #malformed = 0;
  readonly #links = new Map<string, Link>();

  constructor(options: PosttrollSubscribeOptions, hooks: SubscriberHooks) {
    this.#options = options;
    this.#hooks = hooks;
    this.#config = resolveConfig(options.config);
    const topics = options.topics ?? "pytroll:/";
    this.#topics = (typeof topics === "string" ? [topics] : [...topics]).map(normalizeTopic);
    const services = options.services === undefined ? "" : options.services;
    this.#services = services === null ? null : typeof services === "string" ? [services] : [...services];
    for (const a of options.addresses ?? []) {
      if (typeof a !== "string" || !/^[a-z]+:\/\/./.test(a)) {
        throw new TypeError(`Subscribing failed: address ${JSON.stringify(a)} is not a URL such as tcp://host:port`);
      }
    }
    const max = options.maxMessageSize ?? 64 * 1024 * 1024;
    if (!Number.isInteger(max) || (max < 1 && max !== -1)) {
      throw new RangeError(`Subscribing failed: maxMessageSize ${max} is not a positive integer or -1`);
    }
    this.#maxMessageSize = max;
    if (options.timeout !== undefined && !(options.timeout > 0)) {
      throw new RangeError(`Subscribing failed: timeout ${options.timeout} is not a positive number of ms`);
    }
  }

  async start(controller: PushController<PosttrollMessage>): Promise<void> {
    this.#controller = controller;
    const { signal } = controller;
    const o = this.#options;
    const nameserver = o.nameserver === undefined ? "localhost" : o.nameserver;
    const timeout = o.timeout ?? 10_000;
    const extra = (await this.#hooks.before?.(signal)) ?? [];
    if (nameserver !== false && o.addrListener) await this.#startListener(nameserver);
    if (nameserver !== false && this.#services !== null) {
      for (const service of this.#services) {
        // As Python, wait for a first publisher, unless the address feed will bring it.
        const entries = await waitForPubAddress(
          service,
          { nameserver, timeout, config: this.#config, signal },
          !o.addrListener,
        );
        for (const e of entries) await this.#connectEntry(e);
      }
    }
    for (const a of [...extra, ...(o.addresses ?? [])]) await this.connect(a, this.#config.backend);
    if (this.#sockets.size === 0) await this.#socket(this.#config.backend);
    await this.#hooks.ready?.(signal);
  }

  async #socket(backend: string): Promise<zmq.Subscriber> {
    let socket = this.#sockets.get(backend);
    if (socket !== undefined) return socket;
    const security = await clientSecurity(this.#config, backend);
    if (unloading()) throw new ConnectionError("Subscribing failed: the process is exiting");
    socket = new zmq.Subscriber({
      ...security,
      receiveHighWaterMark: 10_000,
      maxMessageSize: this.#maxMessageSize,
    });
    if (this.#controller.signal.aborted) {
      socket.close();
      throw this.#controller.signal.reason;
    }
    for (const t of this.#topics) socket.subscribe(t);
    for (const t of this.#hooks.extraTopics ?? []) socket.subscribe(t);
    this.#sockets.set(backend, socket);
    this.#loops.push(this.#run(socket));
    this.#watches.set(socket, followEvents(socket.events, (ev) => this.#onEvent(socket, backend, ev)));
    return socket;
  }

  get malformed(): number {
    return this.#malformed;
  }

  /** The connected URI an event's address stands for (libzmq reports the peer's resolved address). */
  #uriOf(address: string): string | undefined {
    if (this.#connected.has(address)) return address;
    const port = address.slice(address.lastIndexOf(":"));
    const same = [...this.#connected.keys()].filter((u) => u.endsWith(port));
    return same.length === 1 ? same[0] : undefined;
  }

  #link(uri: string): Link {
    let link = this.#links.get(uri);
    if (link === undefined) {
      link = { handshaken: false, downAt: undefined, check: undefined, refused: false };
      this.#links.set(uri, link);
    }
    return link;
  }

  /**
   * Follows the socket's connection events (libzmq's monitor): reports each
   * publisher's connection, loss and return, the handshakes it refused, and
   * reconnects a publisher whose connection libzmq gave up after a
   * protocol error (a frame above `maxMessageSize`). The events are read to
   * their end even after the subscription ended (see `followEvents`).
   */
  #onEvent(socket: zmq.Subscriber, backend: string, ev: zmq.Event): void {
    if (this.#controller.signal.aborted) return;
    if (!("address" in ev)) return;
    const uri = this.#uriOf(ev.address);
    if (uri === undefined) return;
    const link = this.#link(uri);
    switch (ev.type) {
      case "handshake":
        clearTimeout(link.check);
        link.check = undefined;
        if (link.downAt !== undefined) {
          this.status.emit("reconnected", { uri, downMs: Math.round(performance.now() - link.downAt) });
        } else if (!link.handshaken) this.status.emit("connected", { uri });
        link.handshaken = true;
        link.downAt = undefined;
        link.refused = false;
        break;
      case "disconnect":
        if (!link.handshaken || link.check !== undefined) break;
        if (link.downAt === undefined) {
          link.downAt = performance.now();
          this.status.emit("disconnected", { uri });
        }
        link.check = setTimeout(() => this.#givenUp(socket, uri, link), GIVEN_UP_AFTER_MS);
        break;
      case "connect:retry":
      case "connect:delay":
      case "connect":
        clearTimeout(link.check);
        link.check = undefined;
        break;
      case "handshake:error:auth":
        this.#refused(
          link,
          uri,
          new AuthError(
            `Subscribing to ${uri} failed: the publisher refused this client's ${
              backend === "secure_zmq" ? "CURVE key" : "address"
            } (${ev.error.message})`,
            { cause: ev.error },
          ),
        );
        break;
      case "handshake:error:protocol":
        this.#refused(
          link,
          uri,
          new ProtocolError(
            `Subscribing to ${uri} failed: the ZeroMQ handshake broke (${ev.error.message}); a ${
              backend === "secure_zmq" ? "CURVE client meeting a plain publisher" : "plain client meeting a CURVE " +
                "publisher"
            }, or a peer that is not a ZeroMQ publisher`,
            { cause: ev.error },
          ),
        );
        break;
      case "handshake:error:other":
        // Under CURVE, a server that cannot read our HELLO (it was sealed for another key) closes the connection.
        if (backend !== "secure_zmq" || link.handshaken) break;
        this.#refused(
          link,
          uri,
          new AuthError(
            `Subscribing to ${uri} failed: the publisher closed the connection during the CURVE handshake ` +
              `(${ev.error.message}): the server public key (serverPublicKeyFile) is most likely not this ` +
              `publisher's; libzmq keeps trying`,
            { cause: ev.error },
          ),
        );
        break;
    }
  }

  #refused(link: Link, uri: string, err: Error): void {
    if (link.refused) return;
    link.refused = true;
    this.status.emit("error", { uri }, err);
  }

  /** libzmq dropped a handshaken connection and did not schedule a reconnection: report it and connect again. */
  #givenUp(socket: zmq.Subscriber, uri: string, link: Link): void {
    link.check = undefined;
    if (this.#controller.signal.aborted || unloading() || socket.closed || !this.#connected.has(uri)) return;
    const max = this.#maxMessageSize;
    this.status.emit(
      "error",
      { uri, maxMessageSize: max },
      new ProtocolError(
        `Receiving from ${uri} failed: the connection broke on a protocol error after the handshake, most likely a ` +
          `frame above maxMessageSize (${max} bytes), which libzmq drops with the connection: that frame is lost, ` +
          `and the publisher is connected again`,
      ),
    );
    try {
      socket.disconnect(uri);
    } catch { /* libzmq forgot it already */ }
    try {
      socket.connect(uri);
    } catch (err) {
      this.status.emit(
        "error",
        { uri },
        new ConnectionError(`Connecting to ${uri} again failed`, { url: uri, cause: err }),
      );
    }
  }

  async #connectEntry(e: AddressEntry): Promise<void> {
    const version = e.supported_message_version;
    if (typeof version === "string" && version > CURRENT_MESSAGE_VERSION) return;
    await this.connect(e.URI, typeof e.backend === "string" ? e.backend : "unsecure_zmq");
  }

  async connect(uri: string, backend: string): Promise<void> {
    if (this.#connected.has(uri)) return;
    const socket = await this.#socket(backend);
    try {
      socket.connect(uri);
    } catch (err) {
      throw new ConnectionError(`Connecting to ${uri} failed`, { url: uri, cause: err });
    }
    this.#connected.set(uri, backend);
  }

  get addresses(): string[] {
    return [...this.#connected.keys()];
  }

  disconnect(uri: string): void {
    const backend = this.#connected.get(uri);
    if (backend === undefined) return;
    this.#connected.delete(uri);
    const link = this.#links.get(uri);
    if (link !== undefined) clearTimeout(link.check);
    this.#links.delete(uri);
    try {
      this.#sockets.get(backend)?.disconnect(uri);
    } catch { /* already gone */ }
  }

  async #startListener(nameserver: string): Promise<void> {
    const url = `tcp://${hostOf(nameserver)}:${this.#config.addressPublishPort}`;
    const security = await clientSecurity(this.#config);
    if (unloading()) throw new ConnectionError("Subscribing failed: the process is exiting");
    const socket = new zmq.Subscriber({ ...security, maxMessageSize: 64 * 1024 });
    this.#listener = socket;
    socket.subscribe("pytroll://address");
    socket.connect(url);
    this.#loops.push(this.#listen(socket));
  }

  #wanted(service: unknown): boolean {
    const wanted = this.#services;
    if (wanted === null) return false;
    if (wanted.includes("")) return true;
    if (Array.isArray(service)) return service.some((s) => wanted.includes(s as string));
    return typeof service === "string" && wanted.some((w) => service.includes(w));
  }

  async #listen(socket: zmq.Subscriber): Promise<void> {
    const { signal } = this.#controller;
    await receiveEach(socket, signal, async (frames) => {
      for (const frame of frames) {
        let msg: PosttrollMessage;
        try {
          msg = PosttrollMessage.decode(frame);
        } catch {
          continue; // A malformed notice from the nameserver is skipped.
        }
        const data = msg.payload;
        if (typeof data !== "object" || data === null || Array.isArray(data)) continue;
        const d = data as Record<string, unknown>;
        if (typeof d.URI !== "string") continue;
        // As Python: a missing status means true; any falsy status means removed.
        const status = "status" in d ? isTruthy(d.status) : true;
        if (status && this.#wanted(d.service)) {
          try {
            await this.#connectEntry(d as AddressEntry);
          } catch (err) {
            if (!signal.aborted) this.#controller.error(err);
            return false;
          }
        } else if (!status) {
          this.disconnect(d.URI);
        }
      }
    });
  }

  async #run(socket: zmq.Subscriber): Promise<void> {
    const controller = this.#controller;
    const { signal } = controller;
    const drop = this.#options.malformed === "drop";
    const filter = this.#hooks.filter;
    while (!signal.aborted) {
      let frames: Uint8Array[];
      try {
        // A message already there is taken at once; otherwise wait (see `receive`).
        frames = !unloading() && socket.readable ? await socket.receive() : await receive(socket, signal);
      } catch (err) {
        if (!signal.aborted) controller.error(new ConnectionError("Receiving from publishers failed", { cause: err }));
        return;
      }
      for (const frame of frames) {
        let msg: PosttrollMessage;
        try {
          const text = frameText(frame);
          if (filter !== undefined && !filter(text)) continue;
          msg = decodeText(text, frame);
        } catch (err) {
          if (drop && err instanceof ProtocolError) {
            this.#malformed++;
            this.status.emit("malformed", { dropped: this.#malformed }, err);
            continue;
          }
          controller.error(err);
          return;
        }
        if (controller.offer(msg)) continue;
        if (signal.aborted) return;
        try {
          await controller.push(msg);
        } catch {
          return;
        }
      }
    }
  }

  /**
   * Closes every socket and waits until libzmq destroyed them (their event
   * loops end with the monitor's last event), and for the receive loops.
   */
  async cancel(): Promise<void> {
    const sockets = [...this.#sockets.values()];
    this.#sockets.clear();
    this.#connected.clear();
    for (const link of this.#links.values()) clearTimeout(link.check);
    this.#links.clear();
    if (!unloading()) this.#listener?.close(); // else Deno frees it (see `unloading`)
    await Promise.all(sockets.map((socket) => closeSocket(socket, this.#watches.get(socket))));
    this.#watches.clear();
    await Promise.allSettled(this.#loops);
    this.status.close();
  }
}
