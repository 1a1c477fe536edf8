/**
 * Plain NATS and JetStream over WebSocket: {@linkcode NatsPubSub} implements
 * the `PubSub` contract on core subjects (wildcards `*`/`>`, queue groups)
 * or, with `jetstream: true`, on JetStream pull consumers (pulls only as the
 * reader reads; `ack()`/`nak()`/`term()`; publish resolves on the PubAck).
 *
 * This entry loads in browsers and edge functions: it connects to `ws://`
 * and `wss://` URLs (the transport is the web `WebSocket`; under Deno,
 * `NoDelayWebSocket`, which turns Nagle's algorithm off; the `webSocket`
 * option takes any other). `./nats/tcp` exports the same class and adds the
 * TCP transport, for `nats://` and `tls://` URLs. Each connection keeps its
 * own transport on every reconnect, whatever other NATS connections the
 * process opens.
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

export { NatsPubSub } from "./adapter.ts";
export type {
  JetStreamModeOptions,
  NatsAuthenticator,
  NatsCredentials,
  NatsPublishOptions,
  NatsPubSubOptions,
  NatsSubscribeOptions,
} from "./options.ts";
export type { ConsumerState } from "./consumer_info.ts";
export { JetStreamMessage, NatsMessage } from "./message.ts";
