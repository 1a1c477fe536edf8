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

export { AUTH_DOCUMENT_NUMBERS, type AuthDocument, encodeAuthDocument } from "./auth_document.ts";
export {
  formatHmacAuthorization,
  formatReprDigest,
  type HmacAuthorization,
  parseHmacAuthorization,
  parseReprDigest,
} from "./authorization_header.ts";
export {
  type CheckSubscriptionsResponse,
  decodeCheckSubscriptionsResponse,
  decodeGenericResponse,
  decodeNotifyResponse,
  encodeCheckSubscriptionsResponse,
  encodeGenericResponse,
  encodeNotifyResponse,
  type GenericResponse,
  type NotifyResponse,
} from "./broadcaster_responses.ts";
export { BroadcasterResponseType, SubscriberResponseType, type TopicInput } from "./codec.ts";
export {
  type CheckSubscriptionsRequest,
  decodeCheckSubscriptionsRequest,
  decodeNotifyPrefix,
  decodeSetSubscriptionsRequest,
  decodeSubscribeRequest,
  decodeUnsubscribeRequest,
  encodeCheckSubscriptionsRequest,
  encodeNotifyPrefix,
  encodeSetSubscriptionsRequest,
  encodeSubscribeRequest,
  encodeUnsubscribeRequest,
  MAX_NOTIFY_PREFIX,
  type NotifyPrefix,
  type SetSubscriptionsRequest,
  type SubscribeRequest,
  type UnsubscribeRequest,
} from "./requests_to_broadcaster.ts";
export {
  decodeMissedRequest,
  decodeReceivePrefix,
  decodeSubscriberResponse,
  encodeMissedRequest,
  encodeReceivePrefix,
  encodeSubscriberResponse,
  MAX_RECEIVE_PREFIX,
  type MissedRequest,
  type ReceivePrefix,
  type SubscriberResponse,
} from "./requests_to_subscriber.ts";
export {
  encodeEtagDocument,
  sortSubscriptionSet,
  strongEtag,
  type SubscriptionEntry,
  type SubscriptionSet,
} from "./strong_etag.ts";
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
