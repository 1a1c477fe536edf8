/**
 * Address announcements: a publisher tells the nameservers where it is,
 * every 2 s, by UDP multicast or by REQ to each nameserver's port 21200.
 *
 * @module
 */

import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { networkInterfaces } from "node:os";
import { ClosedError } from "../core/errors.ts";
import { delay } from "../core/async.ts";
import { StatusChannel } from "../core/status.ts";
import type { PosttrollConfig } from "./config.ts";
import type { PosttrollMessage } from "./message.ts";
import { multicastError } from "./multicast_route.ts";
import { clientSecurity } from "./socket_security.ts";
import { request } from "./sockets.ts";

/**
 * This host's IPv4 address as peers should reach it: the first
 * non-internal IPv4 address of the network interfaces, else `127.0.0.1`.
 * (Python posttroll asks the routing table with a UDP socket "connected" to
 * 8.8.8.8; this asks the interfaces, with the same usual answer and no
 * socket.)
 *
 * @example
 * ```ts
 * import { getOwnIp } from "./broadcaster.ts";
 *
 * console.log(/^\d+\.\d+\.\d+\.\d+$/.test(getOwnIp())); // true
 * ```
 *
 * @returns The address.
 */
export function getOwnIp(): string {
  try {
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) {
        if (info.family === "IPv4" && !info.internal) return info.address;
      }
    }
  } catch { /* no permission: fall through */ }
  return "127.0.0.1";
}

/** Options of {@linkcode AddressBroadcaster}. */
export interface AddressBroadcasterOptions {
  /**
   * Nameserver hosts to register with by REQ (`host` means
   * `tcp://host:<broadcastPort>`, `host:port` is used as given); empty or
   * absent: UDP multicast.
   */
  nameservers?: readonly string[] | undefined;
  /** Time between announcements, in ms. Default 2000. */
  interval?: number | undefined;
  /** How long to wait for a nameserver's `ok`, in ms. Default the interval. */
  replyTimeout?: number | undefined;
}

/**
 * Sends one announcement (encoded once, so every repeat carries the same
 * time, as in Python) every `interval`: as a UDP datagram to the multicast
 * group (TTL and interface from the settings; broadcast when the group is
 * `0.0.0.0` or `255.255.255.255`), or on a fresh REQ socket to each
 * nameserver, waiting for its `ok` with a timeout. Status events:
 * `"registered"` (detail `nameserver`, or `group` and `port`), `"error"` (a
 * failed multicast send is a {@linkcode ConnectionError} naming the group, the
 * port and, where that is the cause, the missing route).
 *
 * @example
 * ```ts ignore
 * import { AddressBroadcaster, resolveConfig } from "@x/pubsub/posttroll";
 * import { announcement } from "@x/pubsub/posttroll/wire";
 *
 * const msg = announcement({ name: "svc", services: ["svc"], uri: "tcp://127.0.0.1:40000", backend: "unsecure_zmq" });
 * const b = new AddressBroadcaster(msg, resolveConfig({ broadcastPort: 21200 }), { nameservers: ["127.0.0.1"] });
 * b.start();
 * await b.stop();
 * ```
 */
export class AddressBroadcaster {
  /** `"registered"` after each `ok`, `"error"` on a failed attempt, `"closed"`. */
  readonly status: StatusChannel = new StatusChannel();
  readonly #frame: string;
  readonly #config: PosttrollConfig;
  readonly #nameservers: readonly string[];
  readonly #interval: number;
  readonly #replyTimeout: number;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #udp: UdpSocket | undefined;

  /**
   * Creates the broadcaster (not started).
   *
   * @param message The announcement.
   * @param config The settings (ports, group, TTL, interface, keepalive).
   * @param options The nameservers and the interval.
   * @throws {RangeError} When the interval is not a positive number, or the group is not a multicast address.
   */
  constructor(message: PosttrollMessage, config: PosttrollConfig, options: AddressBroadcasterOptions = {}) {
    this.#frame = message.encode();
    this.#config = config;
    this.#nameservers = [...(options.nameservers ?? [])];
    this.#interval = options.interval ?? 2000;
    if (!(this.#interval > 0)) {
      throw new RangeError(`Creating a broadcaster failed: interval ${this.#interval} is not a positive number`);
    }
    this.#replyTimeout = options.replyTimeout ?? this.#interval;
    const group = config.mcGroup;
    if (this.#nameservers.length === 0 && group !== "" && group !== "0.0.0.0" && group !== "255.255.255.255") {
      const first = Number(group.split(".")[0]);
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(group) || first < 224 || first > 239) {
        throw new RangeError(
          `Creating a broadcaster failed: ${group} is not a multicast group (224.0.0.0 to 239.255.255.255)`,
        );
      }
    }
  }

  /** Starts announcing (the first announcement goes out at once). */
  start(): void {
    if (this.#loop !== undefined) return;
    if (this.#abort.signal.aborted) throw new ClosedError("Starting a broadcaster failed: it is stopped");
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      if (this.#nameservers.length > 0) {
        await Promise.all(this.#nameservers.map((ns) => this.#register(ns)));
      } else {
        await this.#multicast();
      }
      await delay(this.#interval, signal);
    }
  }

  async #register(ns: string): Promise<void> {
    const url = ns.includes("://")
      ? ns
      : ns.includes(":")
      ? `tcp://${ns}`
      : `tcp://${ns}:${this.#config.broadcastPort}`;
    try {
      // Registration is unsecure upstream (spec §8.4): plain REQ, keepalive options only.
      const options = await clientSecurity(this.#config, "unsecure_zmq");
      const reply = await request(url, this.#frame, options, this.#replyTimeout, this.#abort.signal);
      const text = new TextDecoder().decode(reply);
      if (text === "ok") this.status.emit("registered", { nameserver: url });
      else this.status.emit("error", { nameserver: url, reply: text });
    } catch (err) {
      if (!this.#abort.signal.aborted) this.status.emit("error", { nameserver: url }, err);
    }
  }

  async #multicast(): Promise<void> {
    const cfg = this.#config;
    const group = cfg.mcGroup;
    const broadcast = group === "" || group === "0.0.0.0" || group === "255.255.255.255";
    try {
      if (this.#udp === undefined) {
        const udp = createSocket({ type: "udp4", reuseAddr: true });
        this.#udp = udp;
        udp.on("error", (err) => this.status.emit("error", {}, err));
        await new Promise<void>((resolve, reject) => {
          udp.once("error", reject);
          udp.bind(0, () => {
            udp.off("error", reject);
            resolve();
          });
        });
        if (broadcast) udp.setBroadcast(true);
        else {
          udp.setMulticastTTL(cfg.mcTtl);
          if (cfg.multicastInterface !== undefined) udp.setMulticastInterface(cfg.multicastInterface);
        }
      }
      const udp = this.#udp;
      await new Promise<void>((resolve, reject) =>
        udp.send(this.#frame, cfg.broadcastPort, broadcast ? "255.255.255.255" : group, (err) => {
          if (err) reject(err);
          else resolve();
        })
      );
      this.status.emit("registered", { group: broadcast ? "255.255.255.255" : group, port: cfg.broadcastPort });
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      const port = cfg.broadcastPort;
      // Node's and Deno's bare "send UNKNOWN 225.0.0.212:21200" (ENETUNREACH), completed with the group and the route.
      const error = broadcast
        ? err
        : multicastError(`Announcing by multicast to ${group}:${port}`, group, cfg.multicastInterface, err);
      this.status.emit("error", { group, port }, error);
    }
  }

  /** Stops announcing and releases its sockets. */
  async stop(): Promise<void> {
    this.#abort.abort(new ClosedError("The broadcaster was stopped"));
    await this.#loop;
    const udp = this.#udp;
    this.#udp = undefined;
    if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()));
    this.status.close();
  }
}
