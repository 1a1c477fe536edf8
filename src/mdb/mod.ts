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

export { Connection, type ConnectOptions } from "./connection.ts";
export { durableName } from "./durable_name.ts";
export { EXPIRY_MARGIN_MS, JWTManager, type JWTManagerOptions } from "./jwt_manager.ts";
export { MdbMessage, type MdbMessageInit, SettleableMdbMessage } from "./message.ts";
export { type MdbUrls, Offset, type RegistryEntry } from "./protocol.ts";
export { type MdbPublisher, MdbPubSub, type MdbPubSubOptions } from "./pubsub.ts";
export { type AckMode, type MdbSubscribeOptions, MdbSubscription, type WaitOptions } from "./subscription.ts";
export { UnknownDatasetError } from "./unknown_dataset_error.ts";
export type { AckCodec, AckInfo } from "../nats/codec.ts";
export type { AckSender } from "../nats/settlement.ts";
export { type ClientCert, type PemSource, type TlsOptions } from "./tls.ts";
export type { PubSubError } from "../core/errors.ts";
export type { WebSocketConstructor } from "../core/open_web_socket.ts";
export type { BasicMessage, Message, Settleable } from "../core/message.ts";
export type {
  Capabilities,
  DeliveryGuarantee,
  PublishChunk,
  PublishData,
  PublishOptions,
  PublishReceipt,
  PubSub,
  SubscribeOptions,
  WritableOptions,
} from "../core/pubsub.ts";
export type { StatusChannel, StatusEvent, StatusType } from "../core/status.ts";
export type { OverflowPolicy, StreamOptions, Subscription } from "../core/subscription.ts";
