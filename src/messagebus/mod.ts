/**
 * jetblack-messagebus over TCP or TLS: a client modelled on the Python
 * client 3.0.1 (`create`, `start`, handlers, `publish`, `send`,
 * `authorize`, subscriptions and notifications) with Web Streams beside the
 * handlers, the pure wire codec, and {@linkcode MessageBusPubSub}, the core
 * contract's adapter.
 *
 * The protocol has no acknowledgements: every promise here means "written
 * to the socket", except `ping()` and the login probe, which make a round
 * trip through the server.
 *
 * @example Subscribe, publish, read
 * ```ts ignore
 * import { MessageBusClient } from "@x/pubsub/messagebus";
 *
 * const client = await MessageBusClient.create("127.0.0.1", 9091);
 * await client.start();
 * const sub = client.subscribe("TEST", "FOO", { sync: true });
 * await sub.ready;
 * await client.publish("TEST", "FOO", false, [{ entitlements: null, data: new TextEncoder().encode("hi") }]);
 * for await (const msg of sub) {
 *   console.log(msg.user, msg.feed, msg.topic, msg.text());
 *   break;
 * }
 * await client.stop();
 * ```
 *
 * @module
 */

export {
  type Authenticator,
  type AuthenticatorOptions,
  BasicAuthenticator,
  TokenAuthenticator,
} from "./authenticator.ts";
export {
  type AuthDialect,
  type AuthorizationRequest,
  type AuthorizationResponse,
  type BusMessage,
  bytesToUuid,
  connectionString,
  type Credentials,
  type DataPacket,
  decodeMessage,
  type DecodeOptions,
  type Dialect,
  encodeCredentials,
  encodeMessage,
  type ForwardedMulticastData,
  type ForwardedSubscriptionRequest,
  type ForwardedUnicastData,
  type ImageField,
  type ImageFields,
  MAX_COUNT,
  MessageDecoder,
  MessageType,
  type MulticastData,
  type NotificationRequest,
  parseConnectionString,
  type SubscriptionRequest,
  type UnicastData,
  uuidToBytes,
} from "./codec.ts";
export { MessageBusClient } from "./client.ts";
export type {
  AuthorizationHandler,
  DataHandler,
  MessageBusClientOptions,
  MessageBusStreamOptions,
  MessageBusTlsOptions,
  NotificationHandler,
  ReconnectOptions,
} from "./options.ts";
export { type AuthorizationRequestEvent, DataMessage, type DataMessageInit, type Notification } from "./message.ts";
export { MessageBusPubSub, type MessageBusPubSubOptions } from "./adapter.ts";

// Core types that appear in this entry's signatures.
export type { BasicMessage, Message } from "../core/message.ts";
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
export type { OverflowPolicy, StreamOptions } from "../core/source.ts";
export type { Subscription } from "../core/subscription.ts";
