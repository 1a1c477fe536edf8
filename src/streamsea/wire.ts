/**
 * The stream-sea wire format, for writing a server, a fake or a proxy: the
 * JSON frames of the subscription WebSocket both ways, and the credentials
 * they carry. Pure functions, no I/O; loads in browsers.
 *
 * For now it repeats the codec exports of `@x/pubsub/streamsea`, which
 * will drop them.
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
  isUuid,
  type JwtCredentials,
  type ReceivedCredentials,
  type ServerFrame,
  STREAMS_PATH,
} from "./codec.ts";
