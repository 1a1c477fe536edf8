/**
 * The one way every WebSocket client of the library opens a socket: the
 * user's constructor if given, else {@linkcode NoDelayWebSocket} where the
 * runtime has raw TCP sockets (Deno), else the platform `WebSocket`
 * (browsers, Node ≥ 22, whose undici client sets `TCP_NODELAY`).
 *
 * @module
 */

import { hasRawSockets, NoDelayWebSocket } from "./no_delay_web_socket.ts";

/**
 * Any WHATWG-compatible `WebSocket` constructor: the platform's, `npm:ws`'s,
 * {@linkcode NoDelayWebSocket}, or your own.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/**
 * A `WebSocket` that can stop reading its socket ({@linkcode NoDelayWebSocket}
 * is one): while paused it dispatches no message, so TCP flow control holds
 * the sender.
 */
export interface PausableWebSocket extends WebSocket {
  /** Stops dispatching messages and reading the socket. */
  pause(): void;
  /** Dispatches what was held back and reads again. */
  resume(): void;
}

/**
 * Whether a socket can be paused ({@linkcode PausableWebSocket}).
 *
 * @param ws The socket.
 * @returns Whether it has `pause()` and `resume()`.
 */
export function isPausable(ws: WebSocket): ws is PausableWebSocket {
  const w = ws as Partial<PausableWebSocket>;
  return typeof w.pause === "function" && typeof w.resume === "function";
}

/**
 * Whether the sockets a constructor makes can be paused: the given one, or
 * {@linkcode defaultWebSocket} (a client offers `"block"` only then).
 *
 * @param ctor The constructor; default the one {@linkcode openWebSocket} would use.
 * @returns Whether its sockets have `pause()` and `resume()`.
 */
export function makesPausable(ctor?: WebSocketConstructor | undefined): boolean {
  let c: WebSocketConstructor;
  try {
    c = ctor ?? defaultWebSocket();
  } catch {
    return false;
  }
  const proto = c.prototype as Partial<PausableWebSocket> | undefined;
  return typeof proto?.pause === "function" && typeof proto.resume === "function";
}

/** Options of {@linkcode openWebSocket}. */
export interface OpenWebSocketOptions {
  /** The constructor to use; default {@linkcode defaultWebSocket}. */
  webSocket?: WebSocketConstructor | undefined;
  /** The subprotocols offered. */
  protocols?: string | string[] | undefined;
  /**
   * PEM CA certificates trusted for `wss:` besides the system roots. Applied
   * by {@linkcode NoDelayWebSocket} and by Deno's own `WebSocket`; any other
   * constructor cannot take them (a `TypeError`).
   */
  caCerts?: string[] | undefined;
  /** {@linkcode NoDelayWebSocket} only: the largest message accepted, in bytes. */
  maxMessageSize?: number | undefined;
}

/**
 * The constructor used when none is given: {@linkcode NoDelayWebSocket} where
 * the runtime has raw TCP sockets (Deno), else the platform `WebSocket`.
 *
 * @returns The constructor.
 * @throws {TypeError} When the runtime has neither.
 */
export function defaultWebSocket(): WebSocketConstructor {
  if (hasRawSockets()) return NoDelayWebSocket;
  const platform = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof platform !== "function") {
    throw new TypeError("Opening a WebSocket failed: this runtime has no WebSocket; pass the webSocket option");
  }
  return platform;
}

interface HttpClientRuntime {
  createHttpClient(options: { caCerts: string[] }): { close(): void };
}

/**
 * Opens a WebSocket with the given (or default) constructor.
 *
 * @example
 * ```ts ignore
 * import { openWebSocket } from "./open_web_socket.ts";
 *
 * const ws = openWebSocket("ws://127.0.0.1:8080", { protocols: ["v1"] });
 * ws.onopen = () => ws.send("hi");
 * ```
 *
 * @param url The `ws:` or `wss:` URL.
 * @param options The constructor, subprotocols, CA certificates, size limit.
 * @returns The socket (connecting).
 * @throws {DOMException} `SyntaxError` on an invalid URL or subprotocol.
 * @throws {TypeError} When there is no WebSocket, or `caCerts` cannot be applied to the constructor.
 */
export function openWebSocket(url: string | URL, options: OpenWebSocketOptions = {}): WebSocket {
  const Ctor = options.webSocket ?? defaultWebSocket();
  if (typeof Ctor !== "function") throw new TypeError("Opening a WebSocket failed: webSocket is not a constructor");
  const { protocols, caCerts } = options;
  if (Ctor === NoDelayWebSocket || Ctor.prototype instanceof NoDelayWebSocket) {
    return new (Ctor as typeof NoDelayWebSocket)(url, {
      protocols,
      caCerts,
      maxMessageSize: options.maxMessageSize,
    });
  }
  if (caCerts === undefined) return protocols === undefined ? new Ctor(String(url)) : new Ctor(String(url), protocols);
  const rt = (globalThis as { Deno?: Partial<HttpClientRuntime> }).Deno;
  const platform = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (Ctor !== platform || typeof rt?.createHttpClient !== "function") {
    throw new TypeError(
      "Opening a WebSocket failed: caCerts apply only to NoDelayWebSocket and Deno's WebSocket, not this constructor",
    );
  }
  // Deno's own WebSocket takes the CA through an HTTP client, released once the socket is closed.
  const client = rt.createHttpClient({ caCerts });
  const Native = Ctor as unknown as new (
    url: string,
    init: { protocols?: string | string[]; client: unknown },
  ) => WebSocket;
  try {
    const ws = new Native(String(url), { ...(protocols === undefined ? {} : { protocols }), client });
    ws.addEventListener("close", () => client.close(), { once: true });
    return ws;
  } catch (err) {
    client.close();
    throw err;
  }
}
