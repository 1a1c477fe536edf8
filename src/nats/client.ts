/**
 * Opens NATS connections: the options of `NatsPubSub.connect()` checked and
 * turned into nats.js's, the transport chosen from the URLs (WebSocket for
 * `ws:`/`wss:`, TCP for `nats:`/`tls:` once `./nats/tcp` has loaded it), and
 * a connection that keeps that transport for life.
 *
 * nats-core 3.4 builds the transport of every dial (the first and each
 * reconnect) from one process-wide factory, which `wsconnect()` and
 * transport-node's `connect()` each overwrite: after a WebSocket connection
 * and then a TCP one, the WebSocket connection reconnects over TCP to a
 * WebSocket port and never recovers. Here each connection carries its own
 * {@linkcode NatsTransport}; its protocol handler installs a dispatching
 * factory and names its transport in the same synchronous step in which
 * nats-core builds one, so nothing another connection (ours or nats.js's
 * own) does in between can swap it.
 *
 * Connections opened with nats.js's own functions keep working beside ours:
 * when one of them redials while the dispatching factory is installed, it
 * gets a transport chosen from its own server URL (WebSocket for `ws:`/`wss:`,
 * TCP when the TCP transport has been loaded by `./nats/tcp` or `./mdb`).
 *
 * @module
 */

import type { Authenticator } from "@nats-io/nats-core";
import {
  type ConnectionOptions,
  type NatsConnection,
  NatsConnectionImpl,
  ProtocolHandler,
  type Server,
  setTransportFactory,
  type Transport,
  type TransportFactory,
  wsUrlParseFn,
} from "@nats-io/nats-core/internal";
import { ConnectionError, TimeoutError } from "../core/errors.ts";
import { mapNatsError } from "./errors.ts";
import { checkPositive, type NatsPubSubOptions } from "./options.ts";
import { WebSocketTransport } from "./web_socket_transport.ts";

/** How one connection makes the transport of each dial. */
export interface NatsTransport {
  /** `"ws"` or `"tcp"`. */
  readonly kind: "ws" | "tcp";
  /** A new transport, for one dial. */
  create(): Transport;
}

/** A URL dialled over WebSocket: `ws:`, `wss:`, and `http:`/`https:` (which nats.js's `wsconnect()` also takes). */
const WEBSOCKET_URL = /^(wss?|https?):\/\//i;

/** The transport being built by one of our connections, set only during its synchronous `prepare()`. */
let building: NatsTransport | undefined;
/** The TCP transport, once `./nats/tcp` or MDB's TCP path has loaded it. */
let tcp: NatsTransport | undefined;

/**
 * URLs keep their scheme: `ws:`/`wss:`/`http(s):` ones are normalised as
 * nats.js does for WebSocket (default ports 80/443); `nats:`, `tls:` and bare
 * `host:port` (gossip) are left for the transport, which knows its kind.
 */
function urlParse(u: string, encrypted?: boolean): string {
  return WEBSOCKET_URL.test(u) ? wsUrlParseFn(u, encrypted) : u;
}

/** The one factory installed process-wide. */
const DISPATCH: TransportFactory = {
  factory: () => building !== undefined ? building.create() : new ForeignTransport(),
  urlParseFn: urlParse,
};

/**
 * Makes the TCP transport available to connections that redial through the
 * dispatching factory without one of their own (nats.js's `connect()`).
 *
 * @param transport The TCP transport.
 * @param resolve Its DNS resolver.
 */
export function registerTcpTransport(transport: NatsTransport, resolve: (host: string) => Promise<string[]>): void {
  tcp = transport;
  DISPATCH.dnsResolveFn = resolve;
}

/**
 * A transport for a connection nats.js opened itself (not through
 * {@linkcode connectNats}) that redials while our factory is installed: it
 * picks WebSocket or TCP from the server it is asked to dial.
 */
class ForeignTransport implements Transport {
  #inner: Transport | undefined;
  #discarded = false;
  #closedError: Error | undefined;
  #resolveClosed!: (v: void | Error) => void;
  readonly #closed = new Promise<void | Error>((resolve) => this.#resolveClosed = resolve);

  get isClosed(): boolean {
    return this.#inner?.isClosed ?? this.#closedError !== undefined;
  }
  get lang(): string {
    return this.#inner?.lang ?? "nats.js";
  }
  get version(): string {
    return this.#inner?.version ?? "3.4.0";
  }
  get closeError(): Error {
    // nats-core reads it only after the transport closed with an error.
    return (this.#inner?.closeError ?? this.#closedError)!;
  }

  connect(server: Server, options: ConnectionOptions): Promise<void> {
    const ws = WEBSOCKET_URL.test(server.src) || typeof (options as { wsFactory?: unknown }).wsFactory ===
        "function";
    if (!ws && tcp === undefined) {
      const err = new ConnectionError(
        `Reconnecting to ${server.src} failed: nats.js's TCP transport is not loaded (import @x/pubsub/nats/tcp)`,
      );
      this.#closedError = err;
      this.#resolveClosed(err);
      return Promise.reject(err);
    }
    const inner = ws ? new WebSocketTransport({ webSocket: platformWebSocket() }) : tcp!.create();
    this.#inner = inner;
    void inner.closed().then((r) => this.#resolveClosed(r));
    if (this.#discarded) inner.discard();
    return inner.connect(server, options);
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this.#inner![Symbol.asyncIterator]();
  }
  isEncrypted(): boolean {
    return this.#inner?.isEncrypted() ?? false;
  }
  send(frame: Uint8Array): void {
    this.#inner?.send(frame);
  }
  close(err?: Error): Promise<void> {
    if (this.#inner !== undefined) return this.#inner.close(err);
    this.#closedError ??= err ?? new ConnectionError("The transport was closed");
    this.#resolveClosed(err);
    return Promise.resolve();
  }
  disconnect(): void {
    this.#inner?.disconnect();
  }
  closed(): Promise<void | Error> {
    return this.#closed;
  }
  discard(): void {
    this.#discarded = true;
    this.#inner?.discard();
  }
}

/** What nats.js's own `wsconnect()` would use: the platform WebSocket. */
function platformWebSocket(): (new (url: string, protocols?: string | string[]) => WebSocket) | undefined {
  const ws = (globalThis as { WebSocket?: new (url: string, protocols?: string | string[]) => WebSocket }).WebSocket;
  return typeof ws === "function" ? ws : undefined;
}

interface Preparable {
  prepare(): unknown;
}

/**
 * Makes `handler` build every dial's transport with `transport`: its
 * `prepare()` (where nats-core 3.4 calls the process-wide factory,
 * synchronously) first installs the dispatching factory and names the
 * transport, then runs the original.
 */
function ownTransport(handler: ProtocolHandler, transport: NatsTransport): void {
  const original = (ProtocolHandler.prototype as unknown as Partial<Preparable>).prepare;
  if (typeof original !== "function") {
    throw new Error("Connecting to NATS failed: nats-core's ProtocolHandler has no prepare() (version changed?)");
  }
  Object.defineProperty(handler, "prepare", {
    configurable: true,
    value(this: ProtocolHandler): unknown {
      setTransportFactory(DISPATCH);
      building = transport;
      try {
        return original.call(this);
      } finally {
        building = undefined;
      }
    },
  });
}

/**
 * Opens a NATS connection whose every dial, reconnects included, uses
 * `transport`, whatever other connections the process opens.
 *
 * @param options nats.js connection options.
 * @param transport The connection's transport.
 * @returns The connection, once connected.
 * @throws {Error} As nats.js's own connect functions do (map with `mapNatsError` of errors.ts).
 */
export async function connectNats(options: ConnectionOptions, transport: NatsTransport): Promise<NatsConnection> {
  setTransportFactory(DISPATCH); // the servers are parsed in the constructor below
  const opts: ConnectionOptions = { ...options };
  // A WebSocket URL is dialled by name (TLS checks it, Host carries it); only TCP resolves names itself.
  if (transport.kind === "ws") opts.resolve = false;
  const Impl = NatsConnectionImpl as unknown as new (options: ConnectionOptions) => NatsConnectionImpl;
  const nc = new Impl(opts);
  const handler = new ProtocolHandler(nc.options, nc);
  ownTransport(handler, transport);
  await handler.dialLoop();
  nc.protocol = handler;
  return nc as unknown as NatsConnection;
}

/**
 * The WebSocket transport of one connection.
 *
 * @param options The constructor, CA certificates and the scheme for gossiped servers.
 * @returns The transport.
 */
export function webSocketTransport(options: ConstructorParameters<typeof WebSocketTransport>[0] = {}): NatsTransport {
  return { kind: "ws", create: () => new WebSocketTransport(options) };
}

/**
 * The transport of a connection to `servers`: WebSocket when every URL is
 * `ws:`/`wss:` (or `http:`/`https:`), TCP when none is. The TCP transport is
 * there once `./nats/tcp` (or MDB's TCP path) has been loaded: `./nats` alone
 * never loads it, so that it runs in browsers.
 *
 * @param servers The server URLs.
 * @param options The WebSocket constructor and CA certificates.
 * @returns The transport.
 * @throws {TypeError} When the list mixes WebSocket and TCP URLs, or a TCP URL is given and the TCP transport
 *   is not loaded.
 */
export function transportFor(
  servers: readonly string[],
  options: Pick<NatsPubSubOptions, "webSocket" | "caCerts">,
): NatsTransport {
  const ws = servers.filter((u) => WEBSOCKET_URL.test(u));
  if (ws.length === servers.length) {
    return webSocketTransport({
      webSocket: options.webSocket,
      caCerts: options.caCerts,
      secure: ws.some((u) => /^(wss|https):/i.test(u)),
    });
  }
  if (ws.length > 0) {
    throw new TypeError(
      `Connecting to NATS failed: ${servers.join(",")} mixes WebSocket and TCP URLs (one connection has one transport)`,
    );
  }
  if (tcp === undefined) {
    throw new TypeError(
      `Connecting to NATS failed: ${servers[0]} is not a WebSocket URL, and NATS over TCP needs @x/pubsub/nats/tcp`,
    );
  }
  return tcp;
}

/**
 * Normalises the argument of `connect()`.
 *
 * @param servers A URL, a list of URLs, or the options.
 * @returns The options.
 * @throws {TypeError} When it is none of these.
 */
export function connectOptions(servers: string | string[] | NatsPubSubOptions): NatsPubSubOptions {
  if (typeof servers === "string" || Array.isArray(servers)) return { servers };
  if (typeof servers !== "object" || servers === null) {
    throw new TypeError(`Connecting to NATS failed: ${String(servers)} is not a URL, a list of URLs or options`);
  }
  return servers;
}

/**
 * Checks the options, chooses the transport from the URLs (see
 * {@linkcode transportFor}) and connects, mapping nats.js's errors. Every
 * NATS connection of the library (`./nats`, `./nats/tcp`, MDB) is opened here
 * or through {@linkcode connectNats}, so each keeps its own transport.
 *
 * @param options The options.
 * @returns The open connection.
 * @throws {TypeError} When the servers or options are invalid, or the URLs need a transport not loaded.
 * @throws {RangeError} When `timeoutMs` is not a positive number.
 * @throws {AuthError} When the server refuses the credentials.
 * @throws {ConnectionError} When no server can be reached, or TLS fails (an untrusted certificate).
 * @throws {TimeoutError} When connecting takes longer than `timeoutMs`.
 */
export async function openConnection(options: NatsPubSubOptions): Promise<NatsConnection> {
  const servers = options.servers;
  if (
    !(typeof servers === "string" && servers !== "") &&
    !(Array.isArray(servers) && servers.length > 0 && servers.every((s) => typeof s === "string" && s !== ""))
  ) {
    throw new TypeError(`Connecting to NATS failed: servers ${JSON.stringify(servers)} is not a URL or a list of URLs`);
  }
  checkPositive(options.timeoutMs, "timeoutMs", "Connecting to NATS");
  const list = Array.isArray(servers) ? servers : [servers];
  const caCerts = options.caCerts;
  if (caCerts !== undefined && (!Array.isArray(caCerts) || !caCerts.every((c) => typeof c === "string"))) {
    throw new TypeError("Connecting to NATS failed: caCerts must be a list of PEM strings");
  }
  const transport = transportFor(list, options);
  const opts: ConnectionOptions = {
    servers,
    timeout: options.timeoutMs ?? 5_000,
    reconnect: options.reconnect ?? true,
    maxReconnectAttempts: options.maxReconnectAttempts ?? 10,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 2_000,
  };
  if (options.name !== undefined) opts.name = options.name;
  if (options.token !== undefined) opts.token = options.token;
  if (options.user !== undefined) opts.user = options.user;
  if (options.pass !== undefined) opts.pass = options.pass;
  if (options.authenticator !== undefined) {
    opts.authenticator = options.authenticator as unknown as Authenticator | Authenticator[];
  }
  if (transport.kind === "tcp" && (caCerts !== undefined || list.some((u) => /^tls:\/\//i.test(u)))) {
    // TLS required (a tls:// URL or a CA given): a server that does not offer it is refused.
    opts.tls = caCerts === undefined ? {} : { ca: caCerts.join("\n") };
  }
  Object.assign(opts, options.nats ?? {});
  const url = list.join(",");
  try {
    return await connectNats(opts, transport);
  } catch (err) {
    const mapped = mapNatsError(err, `Connecting to ${url}`, url);
    if (mapped instanceof TimeoutError) {
      throw new TimeoutError(`Connecting to ${url} failed: the server did not answer within ${opts.timeout} ms`, {
        cause: err,
        timeoutMs: opts.timeout ?? 5_000,
      });
    }
    throw mapped;
  }
}
