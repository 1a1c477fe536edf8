/**
 * Plain NATS and JetStream over TCP (`@nats-io/transport-node`), for Deno
 * and Node: the same {@linkcode NatsPubSub} as `./nats`, with a `nats://`
 * URL. Each connection keeps its own transport on every reconnect, whatever
 * other NATS connections (WebSocket ones included) the process opens.
 *
 * @example
 * ```ts ignore
 * import { NatsPubSub } from "@x/pubsub/nats/tcp";
 *
 * const ps = await NatsPubSub.connect({ servers: "nats://127.0.0.1:4222", jetstream: true });
 * const receipt = await ps.publish("orders.new", "{}");
 * console.log(receipt.confirmed, receipt.sequence); // true 1
 * await ps.close();
 * ```
 *
 * @module
 */

import { BaseNatsPubSub, connectOptions, type NatsPubSubOptions, openConnection } from "./client.ts";
import { TCP_TRANSPORT } from "./tcp_transport.ts";

export {
  BaseNatsPubSub,
  type ConsumerState,
  type JetStreamModeOptions,
  mapNatsError,
  type NatsAuthenticator,
  type NatsCredentials,
  type NatsPublishOptions,
  type NatsPubSubOptions,
  type NatsSubscribeOptions,
} from "./client.ts";
export { type AckSender, JetStreamMessage, NatsMessage, type NatsMessageInit } from "./message.ts";
export type { AckCodec } from "./codec.ts";
export type { WebSocketConstructor } from "../core/open_web_socket.ts";

/**
 * NATS over TCP as a `PubSub` (see {@linkcode BaseNatsPubSub} for the two
 * modes and everything it does).
 *
 * @example
 * ```ts ignore
 * import { NatsPubSub } from "@x/pubsub/nats/tcp";
 *
 * await using ps = await NatsPubSub.connect("nats://127.0.0.1:4222");
 * await ps.publish("hello", "world");
 * ```
 */
export class NatsPubSub extends BaseNatsPubSub {
  /**
   * Connects over TCP (`nats://host:port`), with TLS when the server requires
   * it, when the URL is `tls://` or when `caCerts` are given (then a server
   * without TLS is refused).
   *
   * @param servers A URL, a list of URLs, or the options (credentials, JetStream mode, reconnects).
   * @returns The adapter, connected.
   * @throws {TypeError} When the servers or options are invalid.
   * @throws {AuthError} When the server refuses the credentials.
   * @throws {ConnectionError} When no server can be reached, or its certificate is not trusted.
   * @throws {TimeoutError} When connecting takes longer than `timeoutMs`.
   */
  static async connect(servers: string | string[] | NatsPubSubOptions): Promise<NatsPubSub> {
    const options = connectOptions(servers);
    const list = Array.isArray(options.servers) ? options.servers : [options.servers];
    const ws = list.find((u) => typeof u === "string" && /^(wss?|https?):/i.test(u));
    if (ws !== undefined) {
      throw new TypeError(`Connecting to NATS failed: ${ws} is a WebSocket URL; use @x/pubsub/nats for WebSocket`);
    }
    const nc = await openConnection(TCP_TRANSPORT, options);
    return new NatsPubSub(nc, { jetstream: options.jetstream, owns: true, url: String(options.servers) });
  }
}
