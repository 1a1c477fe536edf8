/**
 * The MDB connection: reads the config document, holds the gateway token
 * manager and the HTTPS client, and opens dataset subscriptions.
 *
 * @module
 */

import { ClosedError, ConnectionError } from "../core/errors.ts";
import type { WebSocketConstructor } from "../core/open_web_socket.ts";
import { JWTManager } from "./jwt_manager.ts";
import { configUrl, type MdbUrls, parseConfig } from "./codec.ts";
import type { MdbContext } from "./dataset_source.ts";
import { type MdbSubscribeOptions, MdbSubscription } from "./subscription.ts";
import { checkTimeout, type ClientCert, httpGet, loadCaCerts, loadClientCert, type TlsOptions } from "./tls.ts";

/** Options of {@linkcode Connection.connect}. */
export interface ConnectOptions extends TlsOptions {
  /**
   * `true` (default): NATS over the config's `nats_websocket_url`. `false`:
   * over TCP to the config's `nats_url`.
   */
  websocket?: boolean | undefined;
  /**
   * The WebSocket constructor for NATS over WebSocket (any WHATWG-compatible
   * one). Default `NoDelayWebSocket`: Nagle's algorithm off. Deno's own
   * `WebSocket` leaves it on, which costs ≈ 43 ms per pull (a batch of 10
   * then moves ≈ 230 msg/s instead of thousands): pass it only to compare.
   * `caBundle` applies to both.
   */
  webSocket?: WebSocketConstructor | undefined;
  /**
   * What a dataset the registry does not know (406) does: `"error"` (default)
   * fails the subscription with {@linkcode UnknownDatasetError};
   * `"events"` uses `EVENTS.<dataset>` as speedracer 0.0.2 silently does.
   */
  unknownDataset?: "error" | "events" | undefined;
  /**
   * How a dataset's subject is found: `"registry"` (default, speedracer
   * 0.0.2): `EVENTS.<dataset>` or `OBJECTS.<dataset>` from the registry entry;
   * `"slug"` (later speedracer, today's Autobahn): the dataset lower-cased, no
   * registry call.
   */
  subjects?: "registry" | "slug" | undefined;
  /** How many times a dropped NATS connection is retried before the subscription fails. Default 60 (nats-py). */
  maxReconnectAttempts?: number | undefined;
  /** The wait between reconnect attempts, in ms. Default 2000 (nats-py). */
  reconnectTimeWaitMs?: number | undefined;
  /** Gives up fetching the config when aborted. */
  signal?: AbortSignal | undefined;
}

/**
 * A connection to an Autobahn Mission Data Broker: the config document, the
 * gateway token manager, and the dataset subscriptions opened through it. Each
 * subscription has its own NATS connection (each dataset has its own MAS
 * user JWT).
 *
 * Certificates: the client certificate (default `~/.ssh/cert.crt` and
 * `~/.ssh/cert.key`) goes to the API gateway only; the CA bundle (`caBundle`,
 * else the file named by `SSL_CA_BUNDLE`, else the system roots) verifies every
 * HTTPS server and a `wss://` NATS server.
 *
 * @example
 * ```ts ignore
 * import { Connection, Offset } from "@x/pubsub/mdb";
 *
 * const conn = await Connection.connect("https://mdb.example", {
 *   cert: ["/home/me/.ssh/cert.crt", "/home/me/.ssh/cert.key"],
 * });
 * const sub = await conn.subscribe("my-dataset", { offset: Offset.BEGIN, batch: 10 });
 * for await (const msg of sub) {
 *   console.log(msg.sequence, msg.text());
 * }
 * await conn.close();
 * ```
 */
export class Connection {
  /** The URL given. */
  readonly url: string;
  /** The config document. */
  readonly urls: MdbUrls;
  /** The client certificate given, or `undefined` for the defaults. */
  readonly cert: ClientCert | undefined;
  /** The CA bundle given, or `undefined`. */
  readonly caBundle: string | undefined;
  /** The gateway token manager (on `urls.api_gateway_url`, with the client certificate). */
  readonly jwtManager: JWTManager;
  readonly #ctx: MdbContext;
  readonly #subs = new Set<MdbSubscription>();
  #closed = false;

  private constructor(url: string, urls: MdbUrls, options: ConnectOptions, ctx: Omit<MdbContext, "urls">) {
    this.url = url;
    this.urls = urls;
    this.cert = options.cert;
    this.caBundle = options.caBundle;
    this.jwtManager = ctx.jwtManager;
    this.#ctx = { ...ctx, urls };
  }

  /**
   * Connects: loads the certificates and fetches `/api/v1/config` from the
   * URL's origin (its path is replaced; no client certificate is sent).
   *
   * @param url The MDB URL, e.g. `https://mdb.example`.
   * @param options Certificates, transport, unknown-dataset policy, signal.
   * @returns The connection.
   * @throws {TypeError} When the URL or an option is invalid.
   * @throws {RangeError} When `timeoutMs` is not positive.
   * @throws {ConnectionError} When a certificate file cannot be read, the TLS handshake fails (wrong CA), or the config endpoint answers an error status.
   * @throws {ProtocolError} When the config document is malformed.
   * @throws {TimeoutError} When the config does not come within 10 s.
   */
  static async connect(url: string | URL, options: ConnectOptions = {}): Promise<Connection> {
    const cfgUrl = configUrl(url);
    if (options.websocket !== undefined && typeof options.websocket !== "boolean") {
      throw new TypeError("Connecting to MDB failed: websocket must be a boolean");
    }
    if (options.webSocket !== undefined && typeof options.webSocket !== "function") {
      throw new TypeError("Connecting to MDB failed: webSocket must be a WebSocket constructor");
    }
    const unknownDataset = options.unknownDataset ?? "error";
    if (unknownDataset !== "error" && unknownDataset !== "events") {
      throw new TypeError(
        `Connecting to MDB failed: unknownDataset ${String(unknownDataset)} is not "error" or "events"`,
      );
    }
    const subjects = options.subjects ?? "registry";
    if (subjects !== "registry" && subjects !== "slug") {
      throw new TypeError(`Connecting to MDB failed: subjects ${String(subjects)} is not "registry" or "slug"`);
    }
    const maxReconnectAttempts = options.maxReconnectAttempts ?? 60;
    if (!Number.isInteger(maxReconnectAttempts) || maxReconnectAttempts < -1) {
      throw new RangeError(`Connecting to MDB failed: maxReconnectAttempts ${maxReconnectAttempts} is not -1 or more`);
    }
    const reconnectTimeWaitMs = options.reconnectTimeWaitMs ?? 2_000;
    if (!Number.isFinite(reconnectTimeWaitMs) || reconnectTimeWaitMs < 0) {
      throw new RangeError(`Connecting to MDB failed: reconnectTimeWaitMs ${reconnectTimeWaitMs} is not 0 or more`);
    }
    const timeoutMs = checkTimeout(options.timeoutMs, "Connecting to MDB");
    const caCerts = await loadCaCerts(options.caBundle);
    await loadClientCert(options.cert); // fail early when a certificate file is missing
    const httpClient = caCerts === undefined ? undefined : Deno.createHttpClient({ caCerts });
    try {
      const res = await httpGet(cfgUrl, "the MDB config", {
        client: httpClient,
        signal: options.signal,
        timeoutMs,
      });
      if (res.status < 200 || res.status >= 300) {
        throw new ConnectionError(`Fetching the MDB config from ${cfgUrl} failed with status ${res.status}`, {
          url: cfgUrl,
        });
      }
      const urls = parseConfig(res.text);
      const jwtManager = new JWTManager(urls.api_gateway_url, {
        cert: options.cert,
        caBundle: options.caBundle,
        timeoutMs,
      });
      return new Connection(String(url), urls, options, {
        jwtManager,
        httpClient,
        caCerts,
        websocket: options.websocket ?? true,
        webSocket: options.webSocket,
        unknownDataset,
        timeoutMs,
        subjects,
        maxReconnectAttempts,
        reconnectTimeWaitMs,
      });
    } catch (err) {
      httpClient?.close();
      throw err;
    }
  }

  /** The open subscriptions. */
  get subscriptions(): readonly MdbSubscription[] {
    return [...this.#subs];
  }

  /**
   * Opens a subscription without waiting for it to start; `ready` tells when
   * it has (or why it could not). {@linkcode Connection.subscribe} awaits it.
   *
   * @param dataset The dataset slug.
   * @param options As {@linkcode Connection.subscribe}.
   * @returns The subscription.
   * @throws {TypeError} On an invalid dataset or option.
   * @throws {RangeError} On an invalid batch.
   * @throws {ClosedError} When the connection is closed.
   */
  open(dataset: string, options: MdbSubscribeOptions = {}): MdbSubscription {
    if (this.#closed) throw new ClosedError(`Subscribing to dataset ${dataset} failed: the connection is closed`);
    const sub = new MdbSubscription(this.#ctx, dataset, options);
    this.#subs.add(sub);
    void sub.closed.then(() => this.#subs.delete(sub));
    return sub;
  }

  /**
   * Subscribes to a dataset: looks it up in the registry, fetches a NATS user
   * JWT from the MAS, connects to NATS, finds the stream and creates the
   * user's durable pull consumer (or reuses it, which resumes where the user
   * left off; `offset` applies only to a new consumer).
   *
   * @param dataset The dataset slug.
   * @param options Offset (default NOW), batch (default 10), callback, ack mode, signal.
   * @returns The started subscription.
   * @throws {TypeError} On an invalid dataset or option.
   * @throws {RangeError} On an invalid batch.
   * @throws {AuthError} When the gateway, the MAS or the NATS server refuses.
   * @throws {UnknownDatasetError} When the registry or JetStream does not know the dataset.
   * @throws {ConnectionError} When a server cannot be reached.
   * @throws {ClosedError} When the connection is closed.
   */
  async subscribe(dataset: string, options: MdbSubscribeOptions = {}): Promise<MdbSubscription> {
    const sub = this.open(dataset, options);
    await sub.ready;
    return sub;
  }

  /**
   * Closes every subscription (their durable consumers stay) and releases the
   * HTTPS clients. Errors while closing are not raised.
   *
   * @returns When everything is released.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#subs].map((s) => s.close()));
    this.#subs.clear();
    await this.jwtManager.close();
    this.#ctx.httpClient?.close();
  }

  /** Calls {@linkcode Connection.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
