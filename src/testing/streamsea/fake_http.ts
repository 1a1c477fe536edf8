/**
 * The fake stream-sea server's HTTP API: Basic authentication, request
 * bodies (plain or gzip, bounded), and the routes: publish (validated),
 * define, schema, the schema-versions vector, and the JWT public key.
 *
 * @module
 */

import { importSPKI } from "jose";
import { decodeBase64 } from "../../core/base64.ts";
import { readAtMost } from "../../streamsea/http.ts";
import { checkSchemaDefinition, formatViolations, type SchemaDefinition, validate } from "../../streamsea/schema.ts";
import type { Account, FakeState } from "./fake_options.ts";
import { toSpkiPem } from "./keys.ts";
import { sameFields } from "./same_fields.ts";

/** One HTTP request the fake received, for assertions. */
export interface FakeRequestRecord {
  /** The method. */
  method: string;
  /** The path. */
  path: string;
  /** The `Content-Encoding` header, or null. */
  contentEncoding: string | null;
  /** The parsed body, or undefined. */
  body: unknown;
  /** The status answered. */
  status: number;
}

/** Fans a published payload out to a stream's subscriptions; returns how many deliveries were sent. */
export type Deliver = (jailId: string, stream: string, payload: unknown) => number;

const UNAUTHORIZED = "The credentials are present and well formed but invalid.";

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether a PEM (SPKI or PKCS#1) holds an RSA public key WebCrypto can verify RS512 with. */
async function isRsaPublicKey(pem: string): Promise<boolean> {
  const spki = toSpkiPem(pem);
  if (spki === undefined) return false;
  try {
    await importSPKI(spki, "RS512");
    return true;
  } catch {
    return false;
  }
}

/** An error reply: its status, message and, for validation failures, the list of errors. */
export class HttpFailure extends Error {
  constructor(readonly status: number, message: string, readonly errors?: string[]) {
    super(message);
  }
}

function readLimited(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  return readAtMost(stream, max, () => new HttpFailure(413, `The request body is larger than ${max} bytes`));
}

/**
 * The reply to a failed request: an {@linkcode HttpFailure}'s status and
 * `{ message, errors? }`, anything else a 500.
 *
 * @param err What the request failed with.
 * @returns The response.
 */
export function failureResponse(err: unknown): Response {
  if (err instanceof HttpFailure) {
    return json(
      err.errors === undefined ? { message: err.message } : { message: err.message, errors: err.errors },
      err.status,
    );
  }
  return json({ message: "Internal error" }, 500);
}

function authenticate(state: FakeState, req: Request): Account {
  const auth = req.headers.get("authorization") ?? "";
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/.exec(auth);
  if (m !== null) {
    const bytes = decodeBase64(m[1]!);
    const decoded = bytes === undefined ? "" : new TextDecoder().decode(bytes); // undecodable: 401 below
    const at = decoded.indexOf(":");
    const account = at < 0 ? undefined : state.accounts.get(decoded.slice(0, at));
    if (account !== undefined && account.clientSecret === decoded.slice(at + 1)) return account;
  }
  throw new HttpFailure(401, UNAUTHORIZED);
}

async function readBody(state: FakeState, req: Request, record: FakeRequestRecord): Promise<unknown> {
  if (req.body === null) return undefined;
  let bytes = await readLimited(req.body, state.settings.maxBodyBytes * 4);
  if (bytes.length === 0) return undefined;
  const enc = req.headers.get("content-encoding")?.toLowerCase();
  if (enc === "gzip") {
    try {
      bytes = await readLimited(
        new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip")),
        state.settings.maxBodyBytes,
      );
    } catch (err) {
      if (err instanceof HttpFailure) throw err;
      throw new HttpFailure(400, "The request body is not valid gzip");
    }
  } else if (enc !== undefined && enc !== "identity") {
    throw new HttpFailure(415, `Content-Encoding ${enc} is not supported`);
  } else if (bytes.length > state.settings.maxBodyBytes) {
    throw new HttpFailure(413, `The request body is larger than ${state.settings.maxBodyBytes} bytes`);
  }
  try {
    record.body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpFailure(400, "The request body is not JSON");
  }
  return record.body;
}

/**
 * Answers one request of the fake's HTTP API (not the WebSocket upgrade),
 * setting `record.body` once the body is read.
 *
 * @param state The accounts, schemas and switches.
 * @param req The request.
 * @param url Its URL.
 * @param record The record of the request, filled in.
 * @param deliver Fans a published payload out to the subscriptions.
 * @returns The response.
 * @throws {HttpFailure} An error reply ({@linkcode failureResponse} answers it).
 */
export async function answerHttp(
  state: FakeState,
  req: Request,
  url: URL,
  record: FakeRequestRecord,
  deliver: Deliver,
): Promise<Response> {
  const path = url.pathname;
  let m: RegExpExecArray | null;
  if ((m = /^\/api\/v1\/streams\/([^/]+)\/(publish|define|schema)$/.exec(path)) !== null) {
    const account = authenticate(state, req);
    let stream: string;
    try {
      stream = decodeURIComponent(m[1]!);
    } catch {
      throw new HttpFailure(400, "The stream name is not valid");
    }
    const op = m[2];
    if (op === "schema" && req.method === "GET") {
      await readBody(state, req, record); // the Python client sends Content-Encoding: gzip on an empty GET
      const schema = state.jails.get(account.jailId)?.get(stream);
      if (schema === undefined) throw new HttpFailure(404, `Stream ${stream} has no schema`);
      return json({ name: schema.name, version: schema.version, fields: schema.fields });
    }
    if (op === "publish" && req.method === "POST") {
      return publish(state, account, stream, deliver, await readBody(state, req, record));
    }
    if (op === "define" && req.method === "POST") {
      return define(state, account, stream, await readBody(state, req, record));
    }
    throw new HttpFailure(405, `${req.method} is not allowed on ${path}`);
  }
  if (path === "/api/v1/schema-versions-vector" && req.method === "POST") {
    const account = authenticate(state, req);
    const body = await readBody(state, req, record);
    const names = isRecord(body) ? body.schemaNames : undefined;
    if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) {
      throw new HttpFailure(400, "schemaNames must be an array of strings");
    }
    const jail = state.jails.get(account.jailId);
    return json({ versionsVector: names.map((n: string) => jail?.get(n)?.version ?? null) });
  }
  if ((m = /^\/api\/v1\/client\/([^/]+)\/jwt-public-key$/.exec(path)) !== null && req.method === "PUT") {
    const account = authenticate(state, req);
    if (decodeURIComponent(m[1]!) !== account.clientId) {
      throw new HttpFailure(403, "A client may only set its own JWT public key");
    }
    const body = await readBody(state, req, record);
    const key = isRecord(body) ? body.jwtPublicKey : undefined;
    if (key !== null && (typeof key !== "string" || !(await isRsaPublicKey(key)))) {
      throw new HttpFailure(400, "jwtPublicKey must be an RSA public key PEM or null");
    }
    account.jwtPublicKey = key;
    return json({ givenId: account.clientId, jwtPublicKey: key });
  }
  throw new HttpFailure(404, `No route for ${req.method} ${path}`);
}

function publish(state: FakeState, account: Account, stream: string, deliver: Deliver, body: unknown): Response {
  const payload = isRecord(body) ? body.payload : undefined;
  const ok = Array.isArray(payload) ? payload.length > 0 && payload.every(isRecord) : isRecord(payload);
  if (!ok) throw new HttpFailure(400, "The payload must be an object or a non-empty array of objects");
  const schema = state.jails.get(account.jailId)?.get(stream);
  if (schema === undefined) {
    if (!state.settings.publishWithoutSchema) throw new HttpFailure(404, `Stream ${stream} has no schema`);
  } else {
    const violations = validate(payload, schema, state.settings.validation);
    if (violations.length > 0) {
      throw new HttpFailure(400, `The payload does not match the schema of ${stream}`, formatViolations(violations));
    }
  }
  // Fan out now, to the subscriptions confirmed so far, before the publisher
  // hears 200: a subscription made after that never gets this message
  // (spec §8, §15.1: only messages published after a subscription reach it).
  deliver(account.jailId, stream, payload);
  return json({});
}

function define(state: FakeState, account: Account, stream: string, body: unknown): Response {
  if (!isRecord(body)) throw new HttpFailure(400, "The schema must be an object");
  if (body.name !== undefined && body.name !== stream) {
    throw new HttpFailure(400, `The schema name ${JSON.stringify(body.name)} is not the stream name ${stream}`);
  }
  const schema = { name: stream, version: body.version, fields: body.fields };
  const problems = checkSchemaDefinition(schema);
  if (problems.length > 0) throw new HttpFailure(400, "The schema is not valid", problems);
  const def = schema as SchemaDefinition;
  let jail = state.jails.get(account.jailId);
  if (jail === undefined) state.jails.set(account.jailId, jail = new Map());
  const current = jail.get(stream);
  if (current !== undefined) {
    if (def.version < current.version) {
      throw new HttpFailure(
        400,
        `The version pushed for the schema [${stream}] is [${def.version}] but there is already an older version defined [${current.version}]`,
      );
    }
    if (def.version === current.version) {
      // `fields` is an unordered set (§6.1): the same fields in another order are the same schema.
      if (!sameFields(current.fields, def.fields)) {
        throw new HttpFailure(
          400,
          `The schema [${stream}] version [${def.version}] is already defined with other fields`,
        );
      }
      return json(current);
    }
  }
  const stored = { name: stream, version: def.version, fields: structuredClone(def.fields) };
  jail.set(stream, stored);
  return json(stored);
}
