/**
 * The jetblack-messagebus wire format, for writing a peer, a fake or a
 * proxy: every message type both ways, the incremental decoder, and the
 * credentials of the login. Pure functions, no I/O.
 *
 * The client and the adapter are in `@x/pubsub/messagebus`; the types both
 * entries share (`DataPacket`, `Credentials`, `ImageField`, `AuthDialect`)
 * are exported by both.
 *
 * @example A message, encoded and decoded
 * ```ts
 * import { decodeMessage, encodeMessage, MessageType } from "@x/pubsub/messagebus/wire";
 *
 * const bytes = encodeMessage({ type: MessageType.SubscriptionRequest, feed: "prices", topic: "AAPL", isAdd: true });
 * console.log(decodeMessage(bytes).type === MessageType.SubscriptionRequest); // true
 * ```
 *
 * @module
 */

export {
  type AuthDialect,
  type AuthorizationRequest,
  type AuthorizationResponse,
  type BusMessage,
  type DataPacket,
  type Dialect,
  encodeMessage,
  type ForwardedMulticastData,
  type ForwardedSubscriptionRequest,
  type ForwardedUnicastData,
  type ImageField,
  type ImageFields,
  MessageType,
  type MulticastData,
  type NotificationRequest,
  type SubscriptionRequest,
  type UnicastData,
} from "./codec.ts";
export { decodeMessage, type DecodeOptions, MessageDecoder } from "./message_decoder.ts";
export { connectionString, type Credentials, encodeCredentials, parseConnectionString } from "./credentials.ts";
export { bytesToUuid, uuidToBytes } from "./uuid.ts";
