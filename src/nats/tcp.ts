/**
 * Plain NATS and JetStream over TCP (`@nats-io/transport-node`), for Deno
 * and Node: the same {@linkcode NatsPubSub} class and exports as `./nats`;
 * importing this entry adds the TCP transport, so `connect()` also takes
 * `nats://` and `tls://` URLs (and still `ws://`/`wss://` ones). Each
 * connection keeps its own transport on every reconnect, whatever other NATS
 * connections (WebSocket ones included) the process opens.
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

import "./tcp_transport.ts";

// The same exports as ./nats: one class, which this entry's import above lets dial TCP.
export * from "./mod.ts";
