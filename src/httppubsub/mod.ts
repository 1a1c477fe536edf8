/**
 * httppubsub (the lonelypsp protocol of lonelypss / lonelypsc): subscribe
 * without holding a connection. The broadcaster POSTs each message to this
 * process's receiver, a Hono app you can mount anywhere; `notify()` posts to
 * one of several broadcasters with retries. Auth per direction: none, token
 * or HMAC-SHA512. Loads in browsers and edge functions (`bind: { type:
 * "serve" }` needs Deno at run time).
 *
 * @example Subscribing and notifying
 * ```ts ignore
 * import { HttpPubSubClient, authConfigFromFile } from "@x/pubsub/httppubsub";
 *
 * const client = new HttpPubSubClient({
 *   broadcasters: [{ host: "http://127.0.0.1:3003" }],
 *   bind: { type: "serve", hostname: "127.0.0.1", port: 3002 },
 *   host: "http://127.0.0.1:3002#worker-1",
 *   ...(await authConfigFromFile("subscriber-secrets.json")),
 * });
 * const sub = client.subscribeGlob("orders/*");
 * await sub.ready;
 * for await (const msg of sub.withTimeout(5000)) {
 *   if (msg === null) continue; // nothing for 5 s
 *   console.log(msg.topic, msg.streamed ? await msg.bytes() : msg.text());
 * }
 * await client.close();
 * ```
 *
 * @module
 */

export { HttpPubSub, type HttpPubSubOptions, type HttpPubSubReceipt, toServerGlob } from "./adapter.ts";
export {
  type AuthConfig,
  authConfigFromFile,
  authConfigFromSecrets,
  type AuthPair,
  type AuthResult,
  type AuthScheme,
  decodeHmacSecret,
  generateSecret,
  generateSecrets,
  hmacAuth,
  type HmacAuthOptions,
  noneAuth,
  type SecretEntry,
  type SecretsFile,
  setupSecrets,
  tokenAuth,
} from "./auth.ts";
export {
  type BindConfig,
  type BroadcasterConfig,
  HttpPubSubClient,
  type HttpPubSubClientOptions,
  type NotifyData,
  type NotifyOptions,
  type NotifyResult,
} from "./client.ts";
export {
  AUTH_DOCUMENT_NUMBERS,
  type AuthDocument,
  base64Decode,
  base64Encode,
  BroadcasterResponseType,
  type CheckSubscriptionsRequest,
  type CheckSubscriptionsResponse,
  compareBytes,
  decodeCheckSubscriptionsRequest,
  decodeCheckSubscriptionsResponse,
  decodeGenericResponse,
  decodeMissedRequest,
  decodeNotifyResponse,
  decodeSetSubscriptionsRequest,
  decodeSubscribeRequest,
  decodeSubscriberResponse,
  decodeUnsubscribeRequest,
  encodeAuthDocument,
  encodeCheckSubscriptionsRequest,
  encodeCheckSubscriptionsResponse,
  encodeEtagDocument,
  encodeGenericResponse,
  encodeMissedRequest,
  encodeNotifyPrefix,
  encodeNotifyResponse,
  encodeReceivePrefix,
  encodeSetSubscriptionsRequest,
  encodeSubscribeRequest,
  encodeSubscriberResponse,
  encodeUnsubscribeRequest,
  formatHmacAuthorization,
  formatReprDigest,
  type GenericResponse,
  hex,
  type HmacAuthorization,
  MAX_IDENTIFIER,
  MAX_NOTIFY_PREFIX,
  MAX_RECEIVE_PREFIX,
  MAX_U16_FIELD,
  type MissedRequest,
  type NotifyPrefix,
  type NotifyResponse,
  parseHmacAuthorization,
  parseReprDigest,
  readNotifyPrefix,
  readReceivePrefix,
  type ReceivePrefix,
  type SetSubscriptionsRequest,
  SHA512_LENGTH,
  sortSubscriptionSet,
  strongEtag,
  type SubscribeRequest,
  type SubscriberResponse,
  SubscriberResponseType,
  type SubscriptionEntry,
  type SubscriptionSet,
  toBytes,
  type TopicInput,
  type UnsubscribeRequest,
} from "./codec.ts";
export { AmbiguousError, RefusedError, RetriesExhaustedError } from "./errors.ts";
export { compileGlob, escapeGlob, matchGlob } from "./glob.ts";
export { HttpPubSubMessage, type HttpPubSubMessageInit } from "./message.ts";
export { WebsocketPubSubClient, type WebsocketPubSubClientOptions } from "./ws_client.ts";
export {
  type B2SMessage,
  B2SType,
  connectionNonce,
  decodeB2S,
  decodeS2B,
  decodeUintHeader,
  encodeB2S,
  encodeMinimalUint,
  encodeS2B,
  MINIMAL_HEADERS,
  type S2BMessage,
  S2BType,
  type StreamPart,
  type StreamStart,
  websocketUrl,
} from "./ws_codec.ts";
export { type HttpPubSubSubscribeOptions, HttpPubSubSubscription, MultiSubscription } from "./subscription.ts";
export { createReceiverApp, type ReceivedMessage, type ReceiverApp, type ReceiverTarget } from "./receiver.ts";
export type { ByteReader, PrefixWidth } from "../core/bytes.ts";
export type { ConnectionError, PubSubError } from "../core/errors.ts";
export type { Message } from "../core/message.ts";
export type { WebSocketConstructor } from "../core/open_web_socket.ts";
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
