/**
 * The stream-sea wire format, for writing a server, a fake or a proxy: the
 * JSON frames of the subscription WebSocket both ways, the credentials
 * they carry, and the JWT filter a server applies to each delivery. Pure
 * functions, no I/O; loads in browsers.
 *
 * @example A subscribe frame, as the server reads it
 * ```ts
 * import { decodeClientFrame, encodeSubscribe } from "@x/pubsub/streamsea/wire";
 *
 * const frame = decodeClientFrame(encodeSubscribe(1, "readings"));
 * console.log(frame.action); // subscribe
 * ```
 *
 * @module
 */

export {
  type BasicCredentials,
  type ClientFrame,
  type CredentialOptions,
  decodeClientFrame,
  decodeServerFrame,
  DEFAULT_MAX_FRAME,
  encodeAuthenticate,
  encodeSubscribe,
  groupIdFromName,
  type JwtCredentials,
  type ReceivedCredentials,
  type ServerFrame,
  STREAMS_PATH,
} from "./codec.ts";
export { type FilterExpression, matchesFilter } from "./filter.ts";
