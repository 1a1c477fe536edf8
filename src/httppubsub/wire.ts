/**
 * The httppubsub wire format (lonelypsp), for writing a peer, a fake or a
 * proxy: the HTTP request and response bodies between subscribers and
 * broadcasters, the authorization headers and documents, the strong etag of
 * a subscription set, and the WebSocket frames both ways. Pure functions,
 * no I/O; loads in browsers.
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
  BroadcasterResponseType,
  type CheckSubscriptionsRequest,
  type CheckSubscriptionsResponse,
  decodeCheckSubscriptionsRequest,
  decodeCheckSubscriptionsResponse,
  decodeGenericResponse,
  decodeMissedRequest,
  decodeNotifyPrefix,
  decodeNotifyResponse,
  decodeReceivePrefix,
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
  type HmacAuthorization,
  MAX_NOTIFY_PREFIX,
  MAX_RECEIVE_PREFIX,
  type MissedRequest,
  type NotifyPrefix,
  type NotifyResponse,
  parseHmacAuthorization,
  parseReprDigest,
  type ReceivePrefix,
  type SetSubscriptionsRequest,
  sortSubscriptionSet,
  strongEtag,
  type SubscribeRequest,
  type SubscriberResponse,
  SubscriberResponseType,
  type SubscriptionEntry,
  type SubscriptionSet,
  type TopicInput,
  type UnsubscribeRequest,
} from "./codec.ts";
export {
  type B2SMessage,
  B2SType,
  connectionNonce,
  decodeB2S,
  decodeS2B,
  encodeB2S,
  encodeS2B,
  MINIMAL_HEADERS,
  type S2BMessage,
  S2BType,
  type StreamPart,
  type StreamStart,
  websocketUrl,
} from "./websocket_codec.ts";
