/**
 * The NATS transport over WebSocket: one nats-core `Transport` per dial, on a
 * socket from `openWebSocket` (NoDelayWebSocket under Deno, the platform
 * `WebSocket` elsewhere, or the user's constructor).
 *
 * @module
 */

import { checkOptions, type ConnectionOptions, type Server, type Transport } from "@nats-io/nats-core/internal";
import { ConnectionError, ProtocolError } from "../core/errors.ts";
import { openWebSocket, type WebSocketConstructor } from "../core/open_web_socket.ts";

/** How a connection's WebSocket transports are made. */
export interface WebSocketTransportOptions {
  /** The WebSocket constructor; default `openWebSocket`'s. */
  webSocket?: WebSocketConstructor | undefined;
  /** PEM CA certificates trusted for `wss:` besides the system roots. */
  caCerts?: string[] | undefined;
  /** Whether a server given without a scheme (a gossiped `host:port`) is reached over `wss:`. */
  secure?: boolean | undefined;
}

/** The part of nats.js's `wsFactory` option this transport honours. */
type WsFactory = (url: string, options: ConnectionOptions) => Promise<{ socket: WebSocket; encrypted: boolean }>;

const encoder = new TextEncoder();
/** The longest first line (the server's INFO) read before giving up. */
const MAX_INFO = 64 * 1024;
const CRLF = "\r\n";

/**
 * The URL to dial for a server of the pool: its own when it has a
 * `ws:`/`wss:` scheme, else built from its host and port.
 */
function urlOf(server: Server, secure: boolean): string {
  const src = server.src;
  if (/^wss?:\/\//i.test(src)) return src;
  if (/^https?:\/\//i.test(src)) return src.replace(/^http/i, "ws");
  const host = server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname;
  return `${secure ? "wss" : "ws"}://${host}:${server.port}`;
}

/**
 * One dial's transport: a WebSocket carrying the NATS protocol. The first
 * line must be the server's `INFO`, checked against the options before
 * `connect()` resolves; every byte received (INFO included) is yielded, in
 * order, also the bytes that came just before the socket closed.
 */
export class WebSocketTransport implements Transport {
  /** Sent in CONNECT, as nats.js's WebSocket transport does. */
  readonly lang: string = "nats.ws";
  /** Sent in CONNECT: the nats-core version. */
  readonly version: string = "3.4.0";
  /** Why the transport closed, when it was an error. */
  closeError?: Error;
  readonly #options: WebSocketTransportOptions;
  #socket: WebSocket | undefined;
  #url = "";
  #open = false;
  #done = false;
  #chunks: Uint8Array[] = [];
  #wake: (() => void) | undefined;
  readonly #closed: Promise<void | Error>;
  #resolveClosed!: (v: void | Error) => void;

  /**
   * Creates the transport (nothing is opened until `connect()`).
   *
   * @param options The constructor, CA certificates, scheme for gossiped servers.
   */
  constructor(options: WebSocketTransportOptions = {}) {
    this.#options = options;
    this.#closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Whether the transport is done. */
  get isClosed(): boolean {
    return this.#done;
  }

  /**
   * Opens the socket and waits for the server's INFO.
   *
   * @param server The server to dial.
   * @param options The connection's options.
   * @returns When the INFO came and suits the options.
   */
  async connect(server: Server, options: ConnectionOptions): Promise<void> {
    const url = urlOf(server, this.#options.secure ?? false);
    this.#url = url;
    const wsFactory = (options as { wsFactory?: WsFactory }).wsFactory;
    let socket: WebSocket;
    if (typeof wsFactory === "function") {
      socket = (await wsFactory(url, options)).socket;
    } else {
      socket = openWebSocket(url, { webSocket: this.#options.webSocket, caCerts: this.#options.caCerts });
    }
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    if (this.#done) {
      socket.close();
      throw this.closeError ?? new ConnectionError(`Connecting to ${url} failed: the transport was closed`, { url });
    }
    await new Promise<void>((resolve, reject) => {
      let first = "";
      let lastError: Error | undefined;
      socket.onmessage = (ev: MessageEvent) => {
        const data = ev.data;
        const bytes = typeof data === "string" ? encoder.encode(data) : new Uint8Array(data as ArrayBuffer);
        this.#push(bytes);
        if (this.#open) return;
        first += new TextDecoder().decode(bytes);
        const end = first.indexOf(CRLF);
        if (end < 0) {
          if (first.length > MAX_INFO) reject(new ProtocolError(`Connecting to ${url} failed: no INFO line`));
          return;
        }
        const m = /^INFO\s+(\{.*\})\s*$/i.exec(first.slice(0, end));
        if (m === null) {
          reject(
            new ProtocolError(`Connecting to ${url} failed: the server sent ${JSON.stringify(first.slice(0, 40))}`),
          );
          return;
        }
        try {
          checkOptions(JSON.parse(m[1]!), options);
        } catch (err) {
          reject(err);
          return;
        }
        this.#open = true;
        resolve();
      };
      socket.onerror = (ev: Event) => {
        const err = (ev as ErrorEvent).error;
        lastError = err instanceof Error ? err : new ConnectionError(
          `The WebSocket to ${url} failed${(ev as ErrorEvent).message ? `: ${(ev as ErrorEvent).message}` : ""}`,
          {
            url,
          },
        );
        if (!this.#open) reject(lastError);
      };
      socket.onclose = (ev: CloseEvent) => {
        const err = lastError ??
          (ev.wasClean ? undefined : new ConnectionError(`The WebSocket to ${url} closed (code ${ev.code})`, { url }));
        if (!this.#open) {
          reject(err ?? new ConnectionError(`Connecting to ${url} failed: the server closed the WebSocket`, { url }));
        }
        this.#finish(err);
      };
    });
  }

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #finish(err: Error | undefined): void {
    if (this.closeError === undefined && err !== undefined) this.closeError = err;
    this.#done = true;
    const s = this.#socket;
    if (s !== undefined) s.onmessage = s.onerror = s.onclose = null;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    this.#resolveClosed(this.closeError);
  }

  /**
   * The bytes received, chunk by chunk, until the socket closes.
   *
   * @returns The iterator.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<Uint8Array> {
    while (true) {
      if (this.#chunks.length === 0) {
        if (this.#done) return;
        await new Promise<void>((resolve) => this.#wake = resolve);
        continue;
      }
      const chunks = this.#chunks;
      this.#chunks = [];
      for (const c of chunks) yield c;
    }
  }

  /**
   * Whether the connection is encrypted (`wss:`).
   *
   * @returns Whether it is.
   */
  isEncrypted(): boolean {
    return this.#open && /^wss:/i.test(this.#url);
  }

  /**
   * Sends protocol bytes (dropped once closed; a broken socket is reported by its close).
   *
   * @param frame The bytes.
   */
  send(frame: Uint8Array): void {
    if (this.#done || !this.#open) return;
    try {
      this.#socket?.send(frame);
    } catch { /* the close event reports it */ }
  }

  /**
   * Closes the socket.
   *
   * @param err Why, when it is an error.
   * @returns When the socket is closed.
   */
  close(err?: Error): Promise<void> {
    if (err !== undefined && this.closeError === undefined) this.closeError = err;
    this.#closeSocket();
    return this.#closed.then(() => {});
  }

  /** Closes the socket without an error (nats-core reconnects). */
  disconnect(): void {
    this.#closeSocket();
  }

  /** Closes the socket of an abandoned dial. */
  discard(): void {
    this.#closeSocket();
  }

  #closeSocket(): void {
    const s = this.#socket;
    if (s === undefined || s.readyState === 3 /* CLOSED */) {
      if (!this.#done) this.#finish(undefined);
      return;
    }
    this.#done = true;
    try {
      s.close();
    } catch { /* already closing */ }
  }

  /**
   * Resolves once the transport is closed, with its error if any.
   *
   * @returns The closing.
   */
  closed(): Promise<void | Error> {
    return this.#closed;
  }
}
