/**
 * The NATS connection of one MDB dataset subscription: over the config's
 * `nats_websocket_url` (default) or `nats_url`, through the same per-connection
 * transports as `./nats` and `./nats/tcp`, with speedracer's connection
 * settings.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { ProtocolError } from "../core/errors.ts";
import type { WebSocketConstructor } from "../core/open_web_socket.ts";
import { connectNats, transportFor } from "../nats/client.ts";
import type { MdbUrls } from "./codec.ts";

/** What {@linkcode connectMdbNats} needs. */
export interface MdbNatsOptions {
  /** The config document. */
  readonly urls: MdbUrls;
  /** `true`: WebSocket to `nats_websocket_url`; `false`: TCP to `nats_url`. */
  readonly websocket: boolean;
  /** The WebSocket constructor; default `NoDelayWebSocket` under Deno. */
  readonly webSocket: WebSocketConstructor | undefined;
  /** PEM CA certificates trusted for `wss:` and `tls:` besides the system roots. */
  readonly caCerts: string[] | undefined;
  /** The connection name (`<CN> (<dataset>)`, as speedracer). */
  readonly name: string;
  /** The dataset, for messages. */
  readonly dataset: string;
  /** Gives the current MAS user JWT at each (re)connect. */
  readonly authenticator: () => { jwt: string; sig: string };
  /** Reconnect attempts (-1 = forever). */
  readonly maxReconnectAttempts: number;
  /** The wait between reconnect attempts, in ms. */
  readonly reconnectTimeWaitMs: number;
}

/**
 * The URL connected to, for error messages.
 *
 * @param o The options.
 * @returns The WebSocket or TCP URL.
 */
export function mdbNatsUrl(o: Pick<MdbNatsOptions, "urls" | "websocket">): string | undefined {
  return o.websocket ? o.urls.nats_websocket_url : o.urls.nats_url;
}

/**
 * Opens the NATS connection of a dataset subscription. Errors are nats.js's
 * or this library's, unmapped (the caller names the action).
 *
 * @param o The options.
 * @returns The connection.
 * @throws {ProtocolError} When `websocket` is false and the config has no `nats_url`.
 */
export async function connectMdbNats(o: MdbNatsOptions): Promise<NatsConnection> {
  const common = {
    name: o.name,
    authenticator: o.authenticator,
    maxReconnectAttempts: o.maxReconnectAttempts,
    reconnectTimeWait: o.reconnectTimeWaitMs,
    timeout: 10_000,
    pingInterval: 120_000,
    ignoreAuthErrorAbort: true,
  };
  if (o.websocket) {
    const url = o.urls.nats_websocket_url; // ws: or wss: (parseConfig checked)
    return await connectNats({ ...common, servers: url }, transportFor([url], o));
  }
  const url = o.urls.nats_url;
  if (url === undefined) {
    throw new ProtocolError(
      `Subscribing to dataset ${o.dataset} failed: websocket is false but the MDB config has no nats_url`,
    );
  }
  await import("../nats/tcp_transport.ts"); // registers the TCP transport (transport-node) on first use
  const tls = o.caCerts !== undefined && url.startsWith("tls:") ? { tls: { ca: o.caCerts.join("\n") } } : {};
  return await connectNats({ ...common, servers: url, ...tls }, transportFor([url], o));
}
