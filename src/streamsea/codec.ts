/**
 * The stream-sea WebSocket protocol as pure functions: encoding client
 * frames, decoding and checking server frames (and, for the fake server,
 * the reverse), UUID group ids. No I/O.
 *
 * @module
 */

import { ProtocolError } from "../core/errors.ts";

/** Basic credentials: the client id and its secret. */
export interface BasicCredentials {
  /** Always `"basic"`. */
  type: "basic";
  /** The client id. */
  clientId: string;
  /** The client secret. */
  clientSecret: string;
}

/**
 * JWT credentials, for front ends that must not hold the secret: an RS512
 * token minted by a backend (see `createStreamSeaJwt`). A function is called
 * on every (re)connection, so it can hand out a fresh token.
 */
export interface JwtCredentials {
  /** Always `"jwt"`. */
  type: "jwt";
  /** The client id whose registered public key verifies the token. */
  clientId: string;
  /** The compact JWS, or a function returning a fresh one. */
  jwt: string | (() => string | Promise<string>);
}

/**
 * How a WebSocket connection authenticates.
 *
 * @example
 * ```ts
 * import type { CredentialOptions } from "@x/pubsub/streamsea";
 *
 * const creds: CredentialOptions = { type: "basic", clientId: "abc", clientSecret: "def123" };
 * console.log(creds.type); // basic
 * ```
 */
export type CredentialOptions = BasicCredentials | JwtCredentials;

/**
 * The WebSocket path of a stream-sea server.
 *
 * @example
 * ```ts
 * import { STREAMS_PATH } from "@x/pubsub/streamsea/wire";
 *
 * console.log(new URL(STREAMS_PATH, "ws://localhost:3104").href); // ws://localhost:3104/api/v1/streams
 * ```
 */
export const STREAMS_PATH = "/api/v1/streams";

/**
 * Encodes the authenticate request (always id 1 on a connection).
 *
 * @example
 * ```ts
 * import { encodeAuthenticate } from "@x/pubsub/streamsea/wire";
 *
 * console.log(encodeAuthenticate(1, { type: "basic", clientId: "abc", clientSecret: "def123" }));
 * // {"id":1,"action":"authenticate","payload":{"type":"basic","clientId":"abc","clientSecret":"def123"}}
 * ```
 *
 * @param id The request id.
 * @param credentials Basic credentials, or JWT credentials with the token already resolved.
 * @returns The frame's text.
 */
export function encodeAuthenticate(
  id: number,
  credentials: BasicCredentials | { type: "jwt"; clientId: string; jwt: string },
): string {
  const payload = credentials.type === "basic"
    ? { type: "basic", clientId: credentials.clientId, clientSecret: credentials.clientSecret }
    : { type: "jwt", clientId: credentials.clientId, jwt: credentials.jwt };
  return JSON.stringify({ id, action: "authenticate", payload });
}

/**
 * Encodes a subscribe request; the `groupId` key is left out when there is
 * none.
 *
 * @example
 * ```ts
 * import { encodeSubscribe } from "@x/pubsub/streamsea/wire";
 *
 * console.log(encodeSubscribe(2, "boiler_data")); // {"id":2,"action":"subscribe","payload":"boiler_data"}
 * ```
 *
 * @param id The request id.
 * @param stream The stream name.
 * @param groupId The consumer group, a UUID.
 * @returns The frame's text.
 */
export function encodeSubscribe(id: number, stream: string, groupId?: string): string {
  return JSON.stringify(
    groupId === undefined ? { id, action: "subscribe", payload: stream } : {
      id,
      action: "subscribe",
      payload: stream,
      groupId,
    },
  );
}

/**
 * A server frame, checked for shape. Every server frame answers a client
 * request and carries its `id`.
 */
export interface ServerFrame {
  /** The id of the request it answers (a positive integer). */
  readonly id: number;
  /** `authenticate`, `subscription` (or `subscribe`), or whatever the server said. */
  readonly action: string;
  /** Present on replies (true or false), absent on deliveries. */
  readonly success: boolean | undefined;
  /** Whether the frame has a `payload` key (it may be `null`). */
  readonly hasPayload: boolean;
  /** The payload: the auth result, the subscription key, or the user message(s). */
  readonly payload: unknown;
  /** The stream of a subscription reply or delivery, where given. */
  readonly streamName: string | undefined;
  /** The error message of a failed reply, where given. */
  readonly error: string | undefined;
}

/**
 * The default largest server frame the client accepts, in UTF-16 code units: 64 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAME } from "@x/pubsub/streamsea/wire";
 *
 * console.log(DEFAULT_MAX_FRAME / 1024 / 1024); // 64
 * ```
 */
export const DEFAULT_MAX_FRAME = 64 * 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(what: string): never {
  throw new ProtocolError(`Decoding a stream-sea frame failed: ${what}`);
}

function parseJson(text: string, who: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(`Decoding a stream-sea ${who} frame failed: it is not JSON`, { cause: err });
  }
}

/**
 * Decodes and checks one frame from the server: a JSON object in a text
 * frame, with a positive integer `id`, a string `action`, and, where
 * present, a boolean `success`, a string `streamName` and an `error` (a
 * string or an object with a `message`).
 *
 * @example
 * ```ts
 * import { decodeServerFrame } from "@x/pubsub/streamsea/wire";
 *
 * const f = decodeServerFrame('{"id":1,"action":"authenticate","success":true,"payload":{"jailId":"j"}}');
 * console.log(f.id, f.success); // 1 true
 * ```
 *
 * @param data The frame: a string (a text frame) or bytes (a binary frame, which is refused).
 * @param maxLength The largest frame accepted, in UTF-16 code units.
 * @returns The frame.
 * @throws {ProtocolError} When the frame is binary, too long, not JSON, or misshapen.
 */
export function decodeServerFrame(
  data: string | ArrayBuffer | Uint8Array | Blob,
  maxLength = DEFAULT_MAX_FRAME,
): ServerFrame {
  if (typeof data !== "string") fail("it is a binary frame, not a text frame");
  if (data.length > maxLength) fail(`it is ${data.length} characters long, over the limit of ${maxLength}`);
  const value = parseJson(data, "server");
  if (!isRecord(value)) fail("it is not a JSON object");
  const { id, action, success, streamName, error } = value;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1) {
    fail(`its id ${JSON.stringify(id) ?? "undefined"} is not a positive integer`);
  }
  if (typeof action !== "string") fail(`the action of frame ${id} is not a string`);
  if (success !== undefined && typeof success !== "boolean") fail(`the success of frame ${id} is not a boolean`);
  if (streamName !== undefined && typeof streamName !== "string") fail(`the streamName of frame ${id} is not a string`);
  let message: string | undefined;
  if (error !== undefined && error !== null) {
    if (typeof error === "string") message = error;
    else if (isRecord(error) && (error.message === undefined || typeof error.message === "string")) {
      message = (error.message as string | undefined) ?? "no message";
    } else fail(`the error of frame ${id} is neither a string nor an object with a message`);
  }
  return {
    id,
    action,
    success,
    hasPayload: Object.hasOwn(value, "payload"),
    payload: value.payload,
    streamName,
    error: message,
  };
}

/** A client request as the server sees it, checked for shape. */
export type ClientFrame =
  | { readonly id: number; readonly action: "authenticate"; readonly credentials: ReceivedCredentials }
  | { readonly id: number; readonly action: "subscribe"; readonly stream: string; readonly groupId: string | undefined }
  | { readonly id: number; readonly action: string; readonly unknown: true };

/** Credentials as received in an authenticate request. */
export type ReceivedCredentials =
  | { readonly type: "basic"; readonly clientId: string; readonly clientSecret: string }
  | { readonly type: "jwt"; readonly clientId: string; readonly jwt: string };

function clientFail(what: string): never {
  throw new ProtocolError(`Decoding a stream-sea client frame failed: ${what}`);
}

/**
 * Decodes and checks one frame from a client (what a server does; the fake
 * server uses it). An unknown action is returned as such, for the server to
 * answer.
 *
 * @example
 * ```ts
 * import { decodeClientFrame } from "@x/pubsub/streamsea/wire";
 *
 * const f = decodeClientFrame('{"id":2,"action":"subscribe","payload":"boiler_data"}');
 * console.log(f.action, "stream" in f ? f.stream : ""); // subscribe boiler_data
 * ```
 *
 * @param data The frame.
 * @param maxLength The largest frame accepted, in UTF-16 code units.
 * @returns The request.
 * @throws {ProtocolError} When the frame is binary, too long, not JSON, or misshapen.
 */
export function decodeClientFrame(
  data: string | ArrayBuffer | Uint8Array | Blob,
  maxLength = 1024 * 1024,
): ClientFrame {
  if (typeof data !== "string") clientFail("it is a binary frame, not a text frame");
  if (data.length > maxLength) clientFail(`it is ${data.length} characters long, over the limit of ${maxLength}`);
  const value = parseJson(data, "client");
  if (!isRecord(value)) clientFail("it is not a JSON object");
  const { id, action, payload, groupId } = value;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1) {
    clientFail(`its id ${JSON.stringify(id) ?? "undefined"} is not a positive integer`);
  }
  if (typeof action !== "string") clientFail(`the action of frame ${id} is not a string`);
  if (action === "authenticate") {
    if (!isRecord(payload)) clientFail(`the payload of authenticate ${id} is not an object`);
    const { type, clientId } = payload;
    if (typeof clientId !== "string") clientFail(`the clientId of authenticate ${id} is not a string`);
    if (type === "basic") {
      if (typeof payload.clientSecret !== "string") {
        clientFail(`the clientSecret of authenticate ${id} is not a string`);
      }
      return { id, action, credentials: { type, clientId, clientSecret: payload.clientSecret } };
    }
    if (type === "jwt") {
      if (typeof payload.jwt !== "string") clientFail(`the jwt of authenticate ${id} is not a string`);
      return { id, action, credentials: { type, clientId, jwt: payload.jwt } };
    }
    clientFail(`the type ${JSON.stringify(type) ?? "undefined"} of authenticate ${id} is neither basic nor jwt`);
  }
  if (action === "subscribe") {
    if (typeof payload !== "string" || payload === "") clientFail(`the stream of subscribe ${id} is not a string`);
    if (groupId !== undefined && (typeof groupId !== "string" || !isUuid(groupId))) {
      clientFail(`the groupId of subscribe ${id} is not an RFC 4122 UUID`);
    }
    return { id, action, stream: payload, groupId };
  }
  return { id, action, unknown: true };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * Tells whether a string is an RFC 4122 UUID (8-4-4-4-12 hex digits,
 * version 1 to 5, the RFC's variant).
 *
 * @example
 * ```ts
 * import { isUuid } from "./codec.ts";
 *
 * console.log(isUuid(crypto.randomUUID()), isUuid("workers")); // true false
 * ```
 *
 * @param value The string.
 * @returns Whether it is a UUID.
 */
export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

const NAMESPACE = new Uint8Array([
  0x6b,
  0xa7,
  0xb8,
  0x11,
  0x9d,
  0xad,
  0x11,
  0xd1,
  0x80,
  0xb4,
  0x00,
  0xc0,
  0x4f,
  0xd4,
  0x30,
  0xc8,
]);

/**
 * Derives a stable group id (an RFC 4122 version 5 UUID in the URL
 * namespace, of `urn:x-pubsub:streamsea:group:<name>`) from a group name,
 * so that every process naming the same group joins the same consumer
 * group.
 *
 * @example
 * ```ts
 * import { groupIdFromName } from "@x/pubsub/streamsea/wire";
 *
 * console.log(await groupIdFromName("workers") === await groupIdFromName("workers")); // true
 * ```
 *
 * @param name The group name.
 * @returns The UUID.
 */
export async function groupIdFromName(name: string): Promise<string> {
  const text = new TextEncoder().encode(`urn:x-pubsub:streamsea:group:${name}`);
  const input = new Uint8Array(NAMESPACE.length + text.length);
  input.set(NAMESPACE);
  input.set(text, NAMESPACE.length);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-1", input)).slice(0, 16);
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
