/**
 * The httppubsub wire format (lonelypsp), for writing a peer, a fake or a
 * proxy: the HTTP request and response bodies between subscribers and
 * broadcasters, the authorization headers and documents, the strong etag of
 * a subscription set, and the WebSocket frames both ways. Pure functions,
 * no I/O; loads in browsers.
 *
 * For now it repeats the codec exports of `@x/pubsub/httppubsub`, which
 * will drop them.
 *
 * @example A subscribe request body
 * ```ts
 * import { decodeSubscribeRequest, encodeSubscribeRequest } from "@x/pubsub/httppubsub/wire";
 *
 * const body = encodeSubscribeRequest({ url: "http://me/#1", key: "t", recovery: "", tracing: new Uint8Array() });
 * console.log(decodeSubscribeRequest(body).url); // http://me/#1
 * ```
 *
 * @module
 */

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
} from "./websocket_codec.ts";
