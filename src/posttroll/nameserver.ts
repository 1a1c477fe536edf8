/**
 * The nameserver: answers "where is service X?" (REQ/REP on 5557, 5558
 * with CURVE), takes address announcements (UDP multicast, or REQ/REP on
 * 21200), ages them, and publishes changes on 16543.
 *
 * @module
 */

import * as zmq from "zeromq";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { networkInterfaces } from "node:os";
import { ClosedError, ConnectionError } from "../core/errors.ts";
import { StatusChannel } from "../core/status.ts";
import { getOwnIp } from "./broadcaster.ts";
import { type PosttrollBackend, type PosttrollConfig, type PosttrollConfigInit, resolveConfig } from "./config.ts";
import { PyDateTime } from "./datetime.ts";
import { pyEntries, type PyValue } from "./json.ts";
import { PosttrollMessage } from "./message.ts";
import { multicastError } from "./multicast_route.ts";
import { serverSecurity, type SocketSecurity } from "./socket_security.ts";
import { closeSocket, receiveEach, SerialSender } from "./sockets.ts";

/** Options of {@linkcode Nameserver}. */
export interface NameserverOptions {
  /** The address every socket binds: `*` (default, as the original) or an IP. */
  host?: string | undefined;
  /** How long an address stays listed without a new announcement, in ms. Default 600 000 (10 minutes). */
  maxAge?: number | undefined;
  /** Take announcements by UDP multicast (default true); false: by REQ/REP on `broadcastPort`. */
  multicast?: boolean | undefined;
  /** In multicast mode, drop datagrams whose source is not an address of this host. */
  localOnly?: boolean | undefined;
  /**
   * The address of this host in the change feed's own registration (no-multicast mode); default this host's
   * first non-internal IPv4 address, else `127.0.0.1`.
   */
  advertisedAddress?: string | undefined;
  /** Settings in code: `nameserverPort`, `secureNameserverPort`, `broadcastPort`, `addressPublishPort`, keys... */
  config?: PosttrollConfigInit | undefined;
  /** The most addresses listed at once; announcements of new ones beyond it are dropped. Default 10 000. */
  maxEntries?: number | undefined;
  /** Called with log lines (what `-v` prints). */
  log?: ((level: "debug" | "info" | "warning", message: string) => void) | undefined;
  /**
   * In multicast mode, how long to wait before trying again to join the
   * group when joining failed (typically a host without a multicast route),
   * in ms. Default 10 000, as Python's. The nameserver keeps answering
   * queries meanwhile.
   */
  multicastRetryInterval?: number | undefined;
}

/** The largest request or announcement taken over ZeroMQ, in bytes; bigger ones drop the connection. */
const MAX_REQUEST = 64 * 1024;

interface Entry {
  metadata: Map<string, PyValue>;
  receivedAt: number;
  receiveTime: PyDateTime;
  service: PyValue;
  name: string;
}

function isObject(v: PyValue): v is { [key: string]: PyValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof PyDateTime) &&
    Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * A PostTroll nameserver. Unlike the Python one it survives malformed input:
 * a request it cannot decode, or whose data is not an object with a
 * string `service`, gets an empty (header-only) reply and the server goes
 * on; a malformed announcement is dropped (logged). In multicast mode, a
 * group it cannot join (a host without a multicast route) does not fail
 * `start()`: it answers queries and tries again every
 * `multicastRetryInterval`. Status events: `"add"` and `"remove"` (detail
 * `uri`, `service`); `"listening"` (detail `group`, `port`) once the
 * multicast intake works; `"error"` (detail `group`, `port`, `retryInMs`
 * for a failed join, with a {@linkcode ConnectionError} naming the group and
 * the missing route); `"closed"`.
 *
 * @example
 * ```ts ignore
 * import { Nameserver } from "@x/pubsub/posttroll";
 *
 * const ns = new Nameserver({
 *   host: "127.0.0.1", multicast: false, maxAge: 4000,
 *   config: { nameserverPort: 0, broadcastPort: 0, addressPublishPort: 0 },
 * });
 * await ns.start();
 * console.log(ns.ports); // { nameserver: ..., broadcast: ..., addressPublish: ... }
 * await ns.close();
 * ```
 */
export class Nameserver {
  /** Change events: `"add"`, `"remove"`, `"error"`, `"closed"`. */
  readonly status: StatusChannel = new StatusChannel();
  /** The settings in force. */
  readonly config: PosttrollConfig;
  readonly #host: string;
  readonly #maxAge: number;
  readonly #maxEntries: number;
  readonly #multicast: boolean;
  readonly #localOnly: boolean;
  readonly #advertised: string | undefined;
  readonly #log: NonNullable<NameserverOptions["log"]>;
  readonly #entries = new Map<string, Entry>();
  readonly #abort = new AbortController();
  readonly #sockets: zmq.Socket[] = [];
  readonly #security: SocketSecurity[] = [];
  readonly #loops: Promise<void>[] = [];
  #feed: SerialSender | undefined;
  #udp: UdpSocket | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #joining: Promise<void> | undefined;
  readonly #retryInterval: number;
  #lastBeat: number | undefined;
  #ports = { nameserver: 0, secureNameserver: 0, broadcast: 0, addressPublish: 0 };
  #started: Promise<void> | undefined;
  #self: string | undefined;
  #closed = false;

  /**
   * Creates the nameserver (call {@linkcode Nameserver.start}).
   *
   * @param options Bind address, ageing, intake mode, ports.
   * @throws {RangeError} When `maxAge` or `multicastRetryInterval` is not a positive number, or `maxEntries` not a
   *   positive integer.
   */
  constructor(options: NameserverOptions = {}) {
    this.config = resolveConfig(options.config);
    this.#host = options.host ?? "*";
    this.#maxAge = options.maxAge ?? 600_000;
    if (!(this.#maxAge > 0)) {
      throw new RangeError(`Creating a nameserver failed: maxAge ${this.#maxAge} is not a positive number of ms`);
    }
    this.#maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new RangeError(`Creating a nameserver failed: maxEntries ${this.#maxEntries} is not a positive integer`);
    }
    this.#multicast = options.multicast ?? true;
    this.#localOnly = options.localOnly ?? false;
    this.#advertised = options.advertisedAddress;
    this.#log = options.log ?? (() => {});
    this.#retryInterval = options.multicastRetryInterval ?? 10_000;
    if (!(this.#retryInterval > 0)) {
      throw new RangeError(
        `Creating a nameserver failed: multicastRetryInterval ${this.#retryInterval} is not a positive number of ms`,
      );
    }
  }

  /** The bound ports (0 for one not bound), known after `start()`. */
  get ports(): { nameserver: number; secureNameserver: number; broadcast: number; addressPublish: number } {
    return { ...this.#ports };
  }

  /**
   * The addresses listed now, as a reply would give them.
   *
   * @returns The entries, oldest first.
   */
  addresses(): Map<string, PyValue>[] {
    return [...this.#entries.values()].map((e) => this.#replyEntry(e));
  }

  /**
   * Binds every socket and starts serving. In multicast mode, failing to
   * join the group does not fail it (see the class).
   *
   * @throws {ConnectionError} When a ZeroMQ port cannot be bound.
   * @throws {AuthError} When CURVE key files cannot be read.
   */
  start(): Promise<void> {
    if (this.#started === undefined) {
      const run = this.#start();
      this.#started = run.catch(() => {});
      return run.catch(async (err) => {
        await this.close();
        throw err;
      });
    }
    return this.#started;
  }

  async #bind(socket: zmq.Socket, port: number): Promise<number> {
    const endpoint = `tcp://${this.#host}:${port === 0 ? "*" : port}`;
    try {
      await socket.bind(endpoint);
    } catch (err) {
      throw new ConnectionError(`Binding the nameserver to ${endpoint} failed`, { url: endpoint, cause: err });
    }
    const bound = socket.lastEndpoint ?? "";
    return Number(bound.slice(bound.lastIndexOf(":") + 1));
  }

  /**
   * Binds a REP socket for address queries with the given backend's security and starts answering on it.
   *
   * @param backend `unsecure_zmq` (port 5557) or `secure_zmq` (5558).
   * @param port The port; 0 for a free one.
   * @returns The bound port.
   */
  async #answerQueries(backend: PosttrollBackend, port: number): Promise<number> {
    const security = await serverSecurity({ ...this.config, backend });
    this.#security.push(security);
    const socket = new zmq.Reply({ ...security.options, maxMessageSize: MAX_REQUEST });
    this.#sockets.push(socket);
    const bound = await this.#bind(socket, port);
    this.#loops.push(this.#serve(socket));
    return bound;
  }

  async #start(): Promise<void> {
    if (this.#closed) throw new ClosedError("Starting the nameserver failed: it is closed");
    const cfg = this.config;
    // The change feed: a CURVE server under secure_zmq.
    const feedSec = await serverSecurity(cfg);
    this.#security.push(feedSec);
    const feed = new zmq.Publisher(feedSec.options);
    this.#sockets.push(feed);
    this.#ports.addressPublish = await this.#bind(feed, cfg.addressPublishPort);
    this.#feed = new SerialSender(feed);
    // Queries: 5557 always plain.
    this.#ports.nameserver = await this.#answerQueries("unsecure_zmq", cfg.nameserverPort);
    // 5558 with CURVE when the server keys are configured, whatever the backend.
    if (cfg.serverSecretKeyFile !== undefined && cfg.clientsPublicKeysDirectory !== undefined) {
      this.#ports.secureNameserver = await this.#answerQueries("secure_zmq", cfg.secureNameserverPort);
    } else {
      this.#log("warning", "No server keys configured: not listening on the secure nameserver port");
    }
    // Announcements.
    if (this.#multicast) await this.#joinMulticast();
    else {
      const intakeSec = await serverSecurity({ ...cfg, backend: "unsecure_zmq" });
      this.#security.push(intakeSec);
      const intake = new zmq.Reply({ ...intakeSec.options, maxMessageSize: MAX_REQUEST });
      this.#sockets.push(intake);
      this.#ports.broadcast = await this.#bind(intake, cfg.broadcastPort);
      this.#loops.push(this.#intake(intake));
      // The feed registers itself, as Python's NoisyPublisher("address_receiver") does.
      const self = new PosttrollMessage({
        subject: "/address/address_receiver",
        type: "info",
        data: {
          URI: `tcp://${this.#advertised ?? getOwnIp()}:${this.#ports.addressPublish}`,
          service: ["address_receiver", "addresses"],
          supported_message_version: "v1.2",
          backend: cfg.backend,
        },
      });
      this.#self = self.encode();
      await this.#process(this.#self);
    }
    const every = Math.max(10, Math.min(this.#maxAge / 20, 2000));
    this.#timer = setInterval(() => void this.#tick(), every);
    this.#log("info", `Nameserver listening on ports ${JSON.stringify(this.#ports)}`);
  }

  /**
   * Starts the multicast intake; on failure reports it and tries again later
   * (Python logs "Receiver initialization failed" and retries too), while
   * the query sockets go on serving.
   */
  async #joinMulticast(): Promise<void> {
    this.#retry = undefined;
    if (this.#closed) return;
    const cfg = this.config;
    try {
      await this.#startMulticast();
    } catch (cause) {
      const udp = this.#udp;
      this.#udp = undefined;
      if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()));
      if (this.#closed) return;
      const group = cfg.mcGroup;
      const err = multicastError(
        `Joining the multicast group ${group} on port ${cfg.broadcastPort}`,
        group,
        cfg.multicastInterface,
        cause,
      );
      this.#log("warning", `${err.message}; trying again in ${this.#retryInterval / 1000} s`);
      this.status.emit("error", { group, port: cfg.broadcastPort, retryInMs: this.#retryInterval }, err);
      this.#retry = setTimeout(() => this.#joining = this.#joinMulticast(), this.#retryInterval);
      return;
    }
    this.status.emit("listening", { group: cfg.mcGroup, port: this.#ports.broadcast });
  }

  async #startMulticast(): Promise<void> {
    const cfg = this.config;
    const udp = createSocket({ type: "udp4", reuseAddr: true });
    this.#udp = udp;
    const group = cfg.mcGroup;
    const broadcast = group === "" || group === "0.0.0.0" || group === "255.255.255.255";
    // With a bind address, listen only to the group (or, for broadcast, that address), not to every interface.
    const address = this.#host === "*" ? undefined : broadcast ? this.#host : group;
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(cfg.broadcastPort, address, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    if (!broadcast) udp.addMembership(group, cfg.multicastInterface);
    this.#ports.broadcast = udp.address().port;
    const local = new Set<string>();
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) local.add(i.address);
    udp.on("error", (err) => this.status.emit("error", {}, err));
    udp.on("message", (data, rinfo) => {
      if (this.#localOnly && !local.has(rinfo.address)) {
        this.#log("debug", `Discarding an announcement from ${rinfo.address}`);
        return;
      }
      // Python reads at most 1024 bytes of a datagram.
      void this.#process(new Uint8Array(data.buffer, data.byteOffset, Math.min(data.length, 1024)));
    });
  }

  async #serve(socket: zmq.Reply): Promise<void> {
    await receiveEach(socket, this.#abort.signal, async (frames) => {
      let reply: PosttrollMessage;
      try {
        reply = this.#answer(frames[0] ?? new Uint8Array(0));
      } catch (err) {
        this.#log("warning", `Answering a malformed request with nothing: ${(err as Error).message}`);
        reply = new PosttrollMessage({ subject: "/oper/ns", type: "info", data: "" });
      }
      try {
        await socket.send(reply.encode());
      } catch {
        return false;
      }
    });
  }

  #answer(frame: Uint8Array): PosttrollMessage {
    const req = PosttrollMessage.decode(frame);
    const data = req.payload;
    if (!isObject(data) || typeof data.service !== "string") {
      throw new TypeError(`the request's data is not an object with a string service`);
    }
    const name = data.service;
    const found = [...this.#entries.values()].filter((e) => {
      if (name === "") return true;
      if (Array.isArray(e.service)) return e.service.includes(name);
      return typeof e.service === "string" && e.service.includes(name);
    });
    this.#log("debug", `Query for ${JSON.stringify(name)}: ${found.length} found`);
    return new PosttrollMessage({
      subject: "/oper/ns",
      type: "info",
      data: found.length === 0 ? "" : found.map((e) => this.#replyEntry(e)),
      version: req.version,
    });
  }

  #replyEntry(e: Entry): Map<string, PyValue> {
    const m = new Map(e.metadata);
    // Written as a string, so it keeps +00:00 in v1.01 replies as Python's does.
    m.set("receive_time", e.receiveTime.isoformat());
    return m;
  }

  async #intake(socket: zmq.Reply): Promise<void> {
    await receiveEach(socket, this.#abort.signal, async (frames) => {
      try {
        // As Python: "ok" first, then the processing.
        await socket.send("ok");
      } catch {
        return false;
      }
      await this.#process(frames[0] ?? new Uint8Array(0));
    });
  }

  async #process(frame: Uint8Array | string): Promise<void> {
    let msg: PosttrollMessage;
    try {
      msg = PosttrollMessage.decode(frame);
    } catch (err) {
      this.#log("warning", `Dropping an undecodable announcement: ${(err as Error).message}`);
      return;
    }
    if (msg.type !== "info" || !msg.subject.toLowerCase().startsWith("/address")) return;
    const data = msg.payload;
    if (!isObject(data) || typeof data.URI !== "string") {
      this.#log("warning", `Dropping an announcement without a URI: ${msg.raw().slice(0, 200)}`);
      return;
    }
    const uri = data.URI;
    const name = msg.subject.split("/")[1] ?? "";
    const metadata = new Map(pyEntries(data));
    metadata.set("status", true);
    const announced = new Map(metadata);
    metadata.set("name", name);
    const isNew = !this.#entries.has(uri);
    if (isNew && this.#entries.size >= this.#maxEntries) {
      this.#log("warning", `Dropping the announcement of ${uri}: ${this.#maxEntries} addresses are listed already`);
      return;
    }
    const now = PyDateTime.now();
    this.#entries.set(uri, {
      metadata,
      receivedAt: performance.now(),
      receiveTime: now,
      service: data.service ?? null,
      name,
    });
    if (isNew) {
      this.#log("info", `Publish add ${msg.raw().slice(0, 300)}`);
      this.status.emit("add", { uri, service: data.service ?? null });
      const out = new PosttrollMessage({
        subject: msg.subject,
        type: msg.type,
        sender: msg.sender,
        time: msg.pyTime,
        data: announced,
      });
      await this.#send(out);
    }
  }

  async #send(msg: PosttrollMessage): Promise<void> {
    try {
      await this.#feed?.send(msg.encode());
    } catch (err) {
      if (!this.#abort.signal.aborted) this.status.emit("error", {}, err);
    }
  }

  async #tick(): Promise<void> {
    // The feed's own registration is refreshed, as Python's NoisyPublisher repeats it every 2 s.
    if (this.#self !== undefined) await this.#process(this.#self);
    const now = performance.now();
    for (const [uri, e] of [...this.#entries]) {
      if (now - e.receivedAt <= this.#maxAge) continue;
      this.#entries.delete(uri);
      this.#log("info", `Publish remove ${uri}`);
      this.status.emit("remove", { uri, service: e.service });
      await this.#send(
        new PosttrollMessage({
          subject: `/address/${e.name}`,
          type: "info",
          data: new Map<string, PyValue>([["status", false], ["URI", uri], ["service", e.service]]),
        }),
      );
    }
    // The feed's heartbeat, at most every 29 s.
    if (this.#lastBeat === undefined || now - this.#lastBeat >= 29_000) {
      this.#lastBeat = now;
      await this.#send(
        new PosttrollMessage({ subject: "/heartbeat/address_receiver", type: "beat", data: { min_interval: 29 } }),
      );
    }
  }

  /** Stops serving and releases every socket and timer; resolves once libzmq destroyed the sockets (the ports are free). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new ClosedError("The nameserver was closed"));
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#started;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    await this.#joining;
    // Resolves once libzmq destroyed the sockets: the ports are free for a nameserver started next.
    await Promise.all(this.#sockets.map((s) => closeSocket(s)));
    await Promise.allSettled(this.#loops);
    for (const sec of this.#security) sec.release();
    const udp = this.#udp;
    if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()));
    this.status.close();
  }

  /** Calls {@linkcode Nameserver.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
