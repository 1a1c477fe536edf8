/**
 * Autobahn Mission Data Broker (MDB) datasets as Web Streams, on the wire
 * like the Python client speedracer: the config from the MDB Account Server,
 * a gateway JWT over mutual TLS, the dataset registry, a MAS-issued NATS user
 * JWT, and a durable JetStream pull consumer over NATS WebSocket (or TCP).
 *
 * Deno only (mutual TLS needs `Deno.createHttpClient`).
 *
 * @example Reading a dataset
 * ```ts ignore
 * import { Connection, Offset } from "@x/pubsub/mdb";
 *
 * await using conn = await Connection.connect("https://mdb.example", {
 *   cert: ["/home/me/.ssh/cert.crt", "/home/me/.ssh/cert.key"],
 * });
 * const sub = await conn.subscribe("my-dataset", { offset: Offset.BEGIN });
 * for await (const msg of sub) {
 *   console.log(msg.sequence, msg.timestamp, msg.text());
 * }
 * ```
 *
 * @module
 */

export { Connection, type ConnectOptions } from "./client.ts";
export { JWTManager, type JWTManagerOptions } from "./jwt_manager.ts";
export { MdbMessage, SettleableMdbMessage } from "./message.ts";
export { type MdbUrls, Offset, type RegistryEntry } from "./codec.ts";
export { type MdbPublisher, MdbPubSub, type MdbPubSubOptions } from "./adapter.ts";
export { type AckMode, type MdbSubscribeOptions, MdbSubscription, type WaitOptions } from "./subscription.ts";
export { UnknownDatasetError } from "./errors.ts";
export type { ClientCert, PemSource, TlsOptions } from "./tls.ts";
