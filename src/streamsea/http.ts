/**
 * The stream-sea HTTP API: the seed's four functions over `fetch`, with
 * Basic auth and JSON (optionally gzipped) bodies.
 *
 * @module
 */

import { encodeBase64 } from "../core/base64.ts";
import { concatBytes } from "../core/bytes.ts";
import { AuthError, ConnectionError, ProtocolError, TimeoutError } from "../core/errors.ts";
import { SchemaValidationError, StreamSeaError } from "./errors.ts";
import { checkSchemaDefinition, type SchemaDefinition, validate, type ValidateOptions } from "./schema.ts";

/**
 * Where a stream-sea server is and who we are: the seed's keyword options,
 * in camelCase.
 *
 * @example
 * ```ts
 * import type { StreamSeaConnectionOptions } from "@x/pubsub/streamsea";
 *
 * const conn: StreamSeaConnectionOptions = { remoteHost: "localhost", remotePort: 3104, clientId: "abc", clientSecret: "def123" };
 * console.log(conn.remoteHost); // localhost
 * ```
 */
export interface StreamSeaConnectionOptions {
  /** The server's host name or address. */
  remoteHost: string;
  /** The port; left out of URLs when absent (as the Python client does). */
  remotePort?: number | undefined;
  /** Use TLS (`https:` and `wss:`). Default false. */
  secure?: boolean | undefined;
  /** The client id. */
  clientId: string;
  /** The client secret (Basic auth on every HTTP call). */
  clientSecret: string;
  /**
   * Gzip request bodies and send `Content-Encoding: gzip` (as the Python and
   * PHP clients do). Default false: plain JSON, as the JS client sends.
   */
  gzip?: boolean | undefined;
  /** Time allowed for each HTTP request, in milliseconds. Default 30 000. */
  timeoutMs?: number | undefined;
  /** The `fetch` to use; default `globalThis.fetch`. */
  fetch?: typeof fetch | undefined;
}

/** Options every HTTP call takes besides the connection. */
export interface RequestOptions {
  /** Stops waiting; the call rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** What {@linkcode publish} and `StreamSeaClient.publish` take besides the stream and payload. */
export interface PublishRequestOptions extends RequestOptions {
  /**
   * Check the payload before sending: `true` fetches the stream's schema
   * (describe), a schema is used as given. A mismatch throws
   * {@linkcode SchemaValidationError} and nothing is sent. Default false.
   */
  validate?: boolean | SchemaDefinition | undefined;
  /** Strictness of that check. */
  validateOptions?: ValidateOptions | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks connection options and builds the server's base URL.
 *
 * @example
 * ```ts
 * import { baseUrl } from "./http.ts";
 *
 * console.log(baseUrl({ remoteHost: "127.0.0.1", remotePort: 3104 }, "ws"));
 * // ws://127.0.0.1:3104/api/v1
 * ```
 *
 * @param options The connection options.
 * @param scheme `"http"` for the HTTP API, `"ws"` for the WebSocket (TLS when `secure`).
 * @returns The URL up to `/api/v1`, without a trailing slash.
 * @throws {TypeError} When the host is empty or `secure` is not a boolean.
 * @throws {RangeError} When the port is not an integer from 1 to 65535.
 */
export function baseUrl(
  options: Pick<StreamSeaConnectionOptions, "remoteHost" | "remotePort" | "secure">,
  scheme: "http" | "ws",
): string {
  const { remoteHost, remotePort, secure } = options;
  if (typeof remoteHost !== "string" || remoteHost === "" || /[\s/?#@]/.test(remoteHost)) {
    throw new TypeError(`Connecting to stream-sea failed: remoteHost ${JSON.stringify(remoteHost)} is not a host`);
  }
  if (remotePort !== undefined && (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535)) {
    throw new RangeError(`Connecting to stream-sea failed: remotePort ${String(remotePort)} is not from 1 to 65535`);
  }
  if (secure !== undefined && typeof secure !== "boolean") {
    throw new TypeError(`Connecting to stream-sea failed: secure ${String(secure)} is not a boolean`);
  }
  const host = remoteHost.includes(":") && !remoteHost.startsWith("[") ? `[${remoteHost}]` : remoteHost;
  const port = remotePort === undefined ? "" : `:${remotePort}`;
  return `${scheme}${secure ? "s" : ""}://${host}${port}/api/v1`;
}

/**
 * Checks a stream name argument.
 *
 * @example
 * ```ts
 * import { checkStream } from "./http.ts";
 *
 * console.log(checkStream("boiler_data", "Publishing")); // boiler_data
 * ```
 *
 * @param stream The value given.
 * @param action The action, for the message.
 * @returns The name.
 * @throws {TypeError} When it is not a non-empty string.
 */
export function checkStream(stream: unknown, action: string): string {
  if (typeof stream !== "string" || stream === "") {
    throw new TypeError(
      `${action} failed: the stream name ${JSON.stringify(stream) ?? "undefined"} is not a non-empty string`,
    );
  }
  return stream;
}

function checkCredentials(options: StreamSeaConnectionOptions, action: string): void {
  if (typeof options.clientId !== "string" || options.clientId === "") {
    throw new TypeError(`${action} failed: clientId ${JSON.stringify(options.clientId)} is not a non-empty string`);
  }
  if (typeof options.clientSecret !== "string") {
    throw new TypeError(`${action} failed: clientSecret is not a string (HTTP calls need Basic credentials)`);
  }
}

function basic(clientId: string, clientSecret: string): string {
  return `Basic ${encodeBase64(new TextEncoder().encode(`${clientId}:${clientSecret}`))}`;
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The largest reply body read, in bytes: 16 MiB. */
const MAX_REPLY = 16 * 1024 * 1024;

/**
 * Reads a body whole, at most `max` bytes: past that, the body is cancelled
 * and `tooLarge()` is thrown. (The fake server reads request bodies with it.)
 *
 * @param body The body.
 * @param max The most bytes read.
 * @param tooLarge Makes the error for a body over `max`.
 * @returns The bytes.
 */
export async function readAtMost(
  body: ReadableStream<Uint8Array>,
  max: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      parts.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatBytes(parts, size);
}

async function readText(res: Response, max: number): Promise<string> {
  if (res.body === null) return "";
  const bytes = await readAtMost(res.body, max, () => new ProtocolError(`the reply is larger than ${max} bytes`));
  return new TextDecoder().decode(bytes);
}

interface Reply {
  status: number;
  body: unknown;
  url: string;
}

/**
 * Makes one HTTP call and maps failures to typed errors: 401/403 →
 * `AuthError`, other non-2xx → `StreamSeaError` (with `status`, `message`,
 * `errors`), network failure → `ConnectionError`, timeout → `TimeoutError`.
 * `allow` lists non-2xx statuses returned instead of thrown.
 */
async function call(
  options: StreamSeaConnectionOptions,
  method: "GET" | "POST" | "PUT",
  path: string,
  action: string,
  body: unknown,
  request: RequestOptions,
  allow: readonly number[] = [],
): Promise<Reply> {
  checkCredentials(options, action);
  request.signal?.throwIfAborted();
  const url = `${baseUrl(options, "http")}${path}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`${action} failed: timeoutMs ${String(timeoutMs)} is not a positive number`);
  }
  const headers = new Headers({
    "Authorization": basic(options.clientId, options.clientSecret),
    "Accept": "application/json",
  });
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    headers.set("Content-Type", "application/json");
    const text = JSON.stringify(body);
    if (options.gzip) {
      headers.set("Content-Encoding", "gzip");
      payload = await gzip(text) as Uint8Array<ArrayBuffer>;
    } else payload = text;
  }
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = request.signal === undefined ? timeout : AbortSignal.any([request.signal, timeout]);
  const doFetch = options.fetch ?? globalThis.fetch;
  let res: Response;
  let text: string;
  try {
    res = await doFetch(url, { method, headers, body: payload ?? null, signal });
    text = await readText(res, MAX_REPLY);
  } catch (err) {
    if (err instanceof ProtocolError) throw new ProtocolError(`${action} failed: ${err.message}`, { cause: err });
    if (request.signal?.aborted) throw request.signal.reason;
    if (timeout.aborted) {
      throw new TimeoutError(`${action} timed out after ${timeoutMs} ms`, { timeoutMs, cause: err });
    }
    throw new ConnectionError(`${action} failed: ${url} could not be reached`, { url, cause: err });
  }
  let json: unknown = undefined;
  if (text !== "") {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (res.ok || allow.includes(res.status)) {
    if (res.ok && json === undefined && text !== "") {
      throw new ProtocolError(`${action} failed: the ${res.status} reply from ${url} is not JSON`);
    }
    return { status: res.status, body: json, url };
  }
  const message = isRecord(json) && typeof json.message === "string" ? json.message : text.slice(0, 200);
  const errors = isRecord(json) && Array.isArray(json.errors) ? json.errors.map(String) : [];
  const what = `${action} failed with status ${res.status}${message === "" ? "" : `: ${message}`}`;
  if (res.status === 401 || res.status === 403) throw new AuthError(what, { url, status: res.status });
  throw new StreamSeaError(what, { status: res.status, errors, url });
}

/**
 * Fetches a stream's schema: `GET /api/v1/streams/{stream}/schema`.
 *
 * @example
 * ```ts ignore
 * import { describeStream } from "@x/pubsub/streamsea";
 *
 * const schema = await describeStream({
 *   remoteHost: "localhost", remotePort: 3104, clientId: "abc", clientSecret: "def123", stream: "boiler_data",
 * });
 * console.log(schema?.version);
 * ```
 *
 * @param options The connection and the `stream`.
 * @returns The schema, or `null` when the stream has none (404).
 * @throws {TypeError} On a bad argument.
 * @throws {AuthError} When the credentials are refused.
 * @throws {StreamSeaError} On another error status.
 * @throws {ProtocolError} When the reply is not a schema.
 * @throws {ConnectionError} When the server cannot be reached.
 * @throws {TimeoutError} When it does not answer in time.
 */
export async function describeStream(
  options: StreamSeaConnectionOptions & RequestOptions & { stream: string },
): Promise<SchemaDefinition | null> {
  const stream = checkStream(options.stream, "Describing a stream");
  const action = `Describing stream ${stream}`;
  const reply = await call(
    options,
    "GET",
    `/streams/${encodeURIComponent(stream)}/schema`,
    action,
    undefined,
    options,
    [
      404,
    ],
  );
  if (reply.status === 404) return null;
  const problems = checkSchemaDefinition(reply.body);
  if (problems.length > 0) {
    throw new ProtocolError(`${action} failed: the reply is not a schema: ${problems.slice(0, 5).join("; ")}`);
  }
  return reply.body as SchemaDefinition;
}

/**
 * Defines (or upgrades) a stream's schema: `POST /api/v1/streams/{name}/define`
 * with `{name, version, fields}`. The same version with the same fields is
 * accepted and changes nothing; with other fields, or a lower version, the
 * server refuses (400).
 *
 * @example
 * ```ts ignore
 * import { defineStream } from "@x/pubsub/streamsea";
 *
 * await defineStream({
 *   remoteHost: "localhost", remotePort: 3104, clientId: "abc", clientSecret: "def123",
 *   schema: { name: "boiler_data", version: 1, fields: [{ name: "temperature", type: "integer" }] },
 * });
 * ```
 *
 * @param options The connection and the `schema`.
 * @returns Once the server accepted it.
 * @throws {TypeError} When the schema is malformed.
 * @throws {AuthError} When the credentials are refused.
 * @throws {StreamSeaError} When the server refuses the definition.
 * @throws {ConnectionError} When the server cannot be reached.
 * @throws {TimeoutError} When it does not answer in time.
 */
export async function defineStream(
  options: StreamSeaConnectionOptions & RequestOptions & { schema: SchemaDefinition },
): Promise<void> {
  const problems = checkSchemaDefinition(options.schema);
  if (problems.length > 0) {
    throw new TypeError(`Defining a stream failed: the schema is malformed: ${problems.slice(0, 5).join("; ")}`);
  }
  const { name, version, fields } = options.schema;
  await call(
    options,
    "POST",
    `/streams/${encodeURIComponent(name)}/define`,
    `Defining stream ${name}`,
    { name, version, fields },
    options,
  );
}

/**
 * Fetches the current schema version of several streams at once:
 * `POST /api/v1/schema-versions-vector`.
 *
 * @example
 * ```ts ignore
 * import { getSchemaVersionsVector } from "@x/pubsub/streamsea";
 *
 * const versions = await getSchemaVersionsVector({
 *   remoteHost: "localhost", remotePort: 3104, clientId: "abc", clientSecret: "def123", streams: ["a", "b"],
 * });
 * console.log(versions); // e.g. [ 3, null ]
 * ```
 *
 * @param options The connection and the `streams`.
 * @returns One entry per stream, in the same order: the version, or `null` for a stream without a schema.
 * @throws {TypeError} When `streams` is not an array of names.
 * @throws {AuthError} When the credentials are refused.
 * @throws {StreamSeaError} On an error status.
 * @throws {ProtocolError} When the reply is not a vector as long as `streams`.
 * @throws {ConnectionError} When the server cannot be reached.
 * @throws {TimeoutError} When it does not answer in time.
 */
export async function getSchemaVersionsVector(
  options: StreamSeaConnectionOptions & RequestOptions & { streams: readonly string[] },
): Promise<(number | null)[]> {
  const action = "Fetching the schema versions vector";
  if (!Array.isArray(options.streams)) throw new TypeError(`${action} failed: streams is not an array`);
  const streams = options.streams.map((s) => checkStream(s, action));
  const reply = await call(options, "POST", "/schema-versions-vector", action, { schemaNames: streams }, options);
  const vector = isRecord(reply.body) ? reply.body.versionsVector : undefined;
  if (
    !Array.isArray(vector) || vector.length !== streams.length ||
    !vector.every((v) => v === null || (typeof v === "number" && Number.isFinite(v)))
  ) {
    throw new ProtocolError(`${action} failed: the reply has no versionsVector of ${streams.length} numbers or nulls`);
  }
  return vector as (number | null)[];
}

/**
 * Publishes a message, or a batch (an array of messages), to a stream:
 * `POST /api/v1/streams/{stream}/publish` with `{payload}`. Resolves when the
 * server accepted it (it validates the payload against the stream's schema).
 *
 * @example
 * ```ts ignore
 * import { publish } from "@x/pubsub/streamsea";
 *
 * await publish({
 *   remoteHost: "localhost", remotePort: 3104, clientId: "abc", clientSecret: "def123",
 *   stream: "boiler_data", payload: { temperature: 80 },
 * });
 * ```
 *
 * @param options The connection, `stream`, `payload`, and whether to validate first.
 * @returns Once the server accepted the message(s).
 * @throws {TypeError} When the payload is not an object or an array of objects.
 * @throws {SchemaValidationError} When `validate` is on and the payload breaks the schema.
 * @throws {AuthError} When the credentials are refused.
 * @throws {StreamSeaError} When the server refuses the payload (`errors` lists why).
 * @throws {ConnectionError} When the server cannot be reached.
 * @throws {TimeoutError} When it does not answer in time.
 */
export async function publish(
  options: StreamSeaConnectionOptions & PublishRequestOptions & { stream: string; payload: unknown },
): Promise<void> {
  const stream = checkStream(options.stream, "Publishing");
  const action = `Publishing to ${stream}`;
  const { payload } = options;
  const ok = Array.isArray(payload) ? payload.length > 0 && payload.every(isRecord) : isRecord(payload);
  if (!ok) {
    throw new TypeError(`${action} failed: the payload is not an object or a non-empty array of objects`);
  }
  if (options.validate) {
    const schema = options.validate === true ? await describeStream({ ...options, stream }) : options.validate;
    if (schema !== null) {
      const violations = validate(payload, schema, options.validateOptions);
      if (violations.length > 0) throw new SchemaValidationError(stream, violations);
    }
  }
  await call(options, "POST", `/streams/${encodeURIComponent(stream)}/publish`, action, { payload }, options);
}

/**
 * Registers (or, with `null`, clears) the RSA public key that verifies the
 * client's JWTs: `PUT /api/v1/client/{clientId}/jwt-public-key`. The server
 * only lets a client set its own key. An admin call of the JS client 4.3,
 * not of the seed.
 *
 * @example
 * ```ts ignore
 * import { setJwtPublicKey } from "@x/pubsub/streamsea";
 *
 * await setJwtPublicKey({
 *   remoteHost: "localhost", remotePort: 3104, clientId: "abc", clientSecret: "def123",
 *   jwtPublicKey: "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n",
 * });
 * ```
 *
 * @param options The connection and the `jwtPublicKey` PEM (SPKI, or PKCS#1 as the CLI writes), or `null`.
 * @returns Once the server stored it.
 * @throws {TypeError} When the key is neither a string nor null.
 * @throws {AuthError} When the credentials are refused.
 * @throws {StreamSeaError} When the server refuses the key.
 */
export async function setJwtPublicKey(
  options: StreamSeaConnectionOptions & RequestOptions & { jwtPublicKey: string | null },
): Promise<void> {
  const action = "Registering the JWT public key";
  if (options.jwtPublicKey !== null && typeof options.jwtPublicKey !== "string") {
    throw new TypeError(`${action} failed: jwtPublicKey is neither a string nor null`);
  }
  await call(
    options,
    "PUT",
    `/client/${encodeURIComponent(options.clientId)}/jwt-public-key`,
    action,
    { jwtPublicKey: options.jwtPublicKey },
    options,
  );
}
