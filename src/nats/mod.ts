/**
 * Plain NATS and JetStream over WebSocket: {@linkcode NatsPubSub} implements
 * the `PubSub` contract on core subjects (wildcards `*`/`>`, queue groups)
 * or, with `jetstream: true`, on JetStream pull consumers (pulls only as the
 * reader reads; `ack()`/`nak()`/`term()`; publish resolves on the PubAck).
 *
 * This entry loads in browsers and edge functions (the transport is the web
 * `WebSocket`; under Deno, `NoDelayWebSocket`, which turns Nagle's algorithm
 * off; the `webSocket` option takes any other); `./nats/tcp` offers the same
 * over TCP. Each connection keeps its own transport on every reconnect,
 * whatever other NATS connections the process opens.
 *
 * @example Core NATS
 * ```ts ignore
 * import { NatsPubSub } from "@x/pubsub/nats";
 *
 * const ps = await NatsPubSub.connect("ws://127.0.0.1:8080");
 * const sub = ps.subscribe("greetings.*");
 * await sub.ready;
 * await ps.publish("greetings.en", "hello");
 * for await (const msg of sub) {
 *   console.log(msg.subject, msg.text()); // greetings.en hello
 *   break;
 * }
 * await ps.close();
 * ```
 *
 * @example JetStream, at least once
 * ```ts ignore
 * import { NatsPubSub } from "@x/pubsub/nats";
 *
 * const ps = await NatsPubSub.connect({ servers: "ws://127.0.0.1:8080", jetstream: true });
 * const receipt = await ps.publish("orders.new", JSON.stringify({ id: 1 }));
 * console.log(receipt.sequence);
 * for await (const msg of ps.consume("orders.>", { durable: "billing", deliver: "all" })) {
 *   console.log(msg.sequence, msg.json());
 *   await msg.ack();
 * }
 * ```
 *
 * @module
 */

import { BaseNatsPubSub, connectOptions, type NatsPubSubOptions, openConnection } from "./client.ts";
import { webSocketTransport } from "./connect_nats.ts";

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
 * NATS over WebSocket as a `PubSub` (see {@linkcode BaseNatsPubSub} for the
 * two modes and everything it does).
 *
 * @example
 * ```ts ignore
 * import { NatsPubSub } from "@x/pubsub/nats";
 *
 * await using ps = await NatsPubSub.connect({ servers: "wss://nats.example.com", token: "s3cret" });
 * await ps.publish("hello", "world");
 * ```
 */
export class NatsPubSub extends BaseNatsPubSub {
  /**
   * Connects over WebSocket (`ws://` or `wss://`).
   *
   * @param servers A URL, a list of URLs, or the options (credentials, JetStream mode, reconnects).
   * @returns The adapter, connected.
   * @throws {TypeError} When the servers or options are invalid.
   * @throws {AuthError} When the server refuses the credentials.
   * @throws {ConnectionError} When no server can be reached, or its certificate is not trusted (`wss:`).
   * @throws {TimeoutError} When connecting takes longer than `timeoutMs`.
   */
  static async connect(servers: string | string[] | NatsPubSubOptions): Promise<NatsPubSub> {
    const options = connectOptions(servers);
    const list = Array.isArray(options.servers) ? options.servers : [options.servers];
    const transport = webSocketTransport({
      webSocket: options.webSocket,
      caCerts: options.caCerts,
      secure: list.some((u) => typeof u === "string" && /^(wss|https):/i.test(u)),
    });
    const nc = await openConnection(transport, options);
    return new NatsPubSub(nc, { jetstream: options.jetstream, owns: true, url: String(options.servers) });
  }
}
