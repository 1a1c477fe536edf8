/**
 * `FakeStreamSea`: a stream-sea 4.x server on loopback, for tests. HTTP API
 * and WebSocket protocol as in the spec, with switches for what the spec
 * leaves open and hooks for fault injection.
 *
 * @module
 */

import { importSPKI, jwtVerify } from "jose";
import { decodeBase64 } from "../../core/base64.ts";
import { ProtocolError } from "../../core/errors.ts";
import { matchesFilter } from "../../streamsea/filter.ts";
import { readAtMost } from "../../streamsea/http.ts";
import { closeSocket } from "../../streamsea/subscription.ts";
import { type ClientFrame, decodeClientFrame, type ReceivedCredentials } from "../../streamsea/codec.ts";
import {
  checkSchemaDefinition,
  formatViolations,
  type SchemaDefinition,
  validate,
  type ValidateOptions,
} from "../../streamsea/schema.ts";
import { toSpkiPem } from "./keys.ts";
import { sameFields } from "./same_fields.ts";

/** A client account of the fake server. */
export interface FakeClient {
  /** The client id. */
  clientId: string;
  /** Its secret (Basic auth). */
  clientSecret: string;
  /** Its jail (tenant). Default `"some_jail"`. */
  jailId?: string | undefined;
  /** An RSA public key PEM (SPKI or PKCS#1) that verifies its JWTs, or `null`. */
  jwtPublicKey?: string | null | undefined;
}

/**
 * The fake's behaviour. Every field may be changed at run time through
 * {@linkcode FakeStreamSea.settings}. Fields marked "assumption" choose
 * between readings of an open question of the spec (§14).
 */
export interface FakeStreamSeaSettings {
  /** The action of subscribe replies and deliveries. Default `"subscription"` (what real servers send). */
  replyAction: "subscription" | "subscribe";
  /** Assumption: subscriptions without groupId share one group per client (`"per-client"`, default) or each get all (`"broadcast"`). */
  defaultGroup: "per-client" | "broadcast";
  /** Assumption: a batch publish is delivered as one array payload (`"whole"`, default) or one delivery per element. */
  batchDelivery: "whole" | "split";
  /** Assumption: validation strictness (defaults of `validate`: all fields required, extras allowed). */
  validation: ValidateOptions;
  /** Assumption: publishing to a stream without a schema is accepted (default true) or refused with 404. */
  publishWithoutSchema: boolean;
  /** Assumption: subscribing to a stream without a schema is accepted (default true) or refused. */
  subscribeWithoutSchema: boolean;
  /** Assumption: a `mustFanout` JWT subscribing without groupId is refused (`"reject"`, default) or given a unique group. */
  mustFanout: "reject" | "force";
  /** Delay before each WebSocket reply (authenticate, subscribe), in ms. Default 0. */
  replyDelayMs: number;
  /** Refuse every WebSocket authentication. Default false. */
  refuseAuth: boolean;
  /** Close each connection after it carried this many deliveries. */
  killAfterMessages: number | undefined;
  /** Close each connection this long after it authenticated, in ms. */
  killAfterMs: number | undefined;
  /** The largest request body, in bytes (after gunzip). Default 8 MiB. */
  maxBodyBytes: number;
}

/**
 * Options of {@linkcode FakeStreamSea.start}.
 *
 * @example
 * ```ts
 * import type { FakeStreamSeaOptions } from "@x/pubsub/testing/streamsea";
 *
 * const options: FakeStreamSeaOptions = {
 *   clients: [{ clientId: "abc", clientSecret: "def123" }],
 *   replyAction: "subscribe",
 *   defaultGroup: "broadcast",
 *   pingIntervalSeconds: 5,
 * };
 * console.log(options.replyAction); // subscribe
 * ```
 */
export interface FakeStreamSeaOptions extends Partial<FakeStreamSeaSettings> {
  /** Client accounts. Default one: `abc` / `def123` in jail `some_jail`. */
  clients?: FakeClient[] | undefined;
  /**
   * Seconds between server pings: a ping goes out after this long without a
   * frame from the client, and a socket that sends nothing back (no pong)
   * within as long again is closed. Default 30, as the spec requires.
   */
  pingIntervalSeconds?: number | undefined;
  /** How many requests and frames `requests` and `frames` keep (the last ones). Default 1000. */
  records?: number | undefined;
}

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

/** One WebSocket connection, as {@linkcode FakeStreamSea.connections} lists it. */
export interface FakeConnectionInfo {
  /** Its number (from 1, in the order they were opened). */
  connection: number;
  /** The authenticated client id, or `undefined` before authentication. */
  clientId: string | undefined;
  /** Its jail, or `undefined` before authentication. */
  jailId: string | undefined;
  /** How many live subscriptions it holds. */
  subscriptions: number;
}

/** One WebSocket frame a client sent, for assertions. */
export interface FakeFrameRecord {
  /** Which connection (from 1, in the order they were opened). */
  connection: number;
  /** The text received. */
  text: string;
}

interface Account {
  clientId: string;
  clientSecret: string;
  jailId: string;
  jwtPublicKey: string | null;
}

interface Sub {
  readonly conn: Conn;
  readonly id: number;
  readonly stream: string;
  readonly groupKey: string;
  readonly groupId: string | undefined;
}

interface Conn {
  readonly n: number;
  readonly socket: WebSocket;
  account: Account | undefined;
  filter: unknown;
  mustFanout: boolean;
  lastId: number;
  delivered: number;
  readonly subs: Sub[];
  readonly timers: Set<ReturnType<typeof setTimeout>>;
  closed: boolean;
}

const UNAUTHORIZED = "The credentials are present and well formed but invalid.";

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sendOn(conn: Conn, text: string): void {
  if (conn.socket.readyState !== WebSocket.OPEN) return;
  try {
    conn.socket.send(text);
  } catch { /* the peer is closing the connection */ }
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

class HttpFailure extends Error {
  constructor(readonly status: number, message: string, readonly errors?: string[]) {
    super(message);
  }
}

function readLimited(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  return readAtMost(stream, max, () => new HttpFailure(413, `The request body is larger than ${max} bytes`));
}

/**
 * A stream-sea server on `127.0.0.1` (a free port), faithful to the spec:
 * Basic and JWT (RS512) auth, jails, define/describe with the version rules,
 * validation on publish with the 400 replies, the schema-versions vector,
 * consumer groups (same group shares, distinct groups each get all),
 * deliveries only after subscribing, protocol-level pings, gzip and plain
 * bodies (and the Python client's `Content-Encoding: gzip` on empty GETs).
 *
 * @example
 * ```ts ignore
 * import { FakeStreamSea } from "@x/pubsub/testing/streamsea";
 * import { StreamSeaClient } from "@x/pubsub/streamsea";
 *
 * await using fake = await FakeStreamSea.start();
 * const client = new StreamSeaClient({ ...fake.connection, clientId: "abc", clientSecret: "def123" });
 * console.log(await client.describeStream("nothing")); // null
 * await client.close();
 * ```
 */
export class FakeStreamSea {
  /** The behaviour switches; change them at any time. */
  readonly settings: FakeStreamSeaSettings;
  /** The HTTP requests received, oldest first (the last 1000, or `records`). */
  readonly requests: FakeRequestRecord[] = [];
  /** The WebSocket frames received, oldest first (the last 1000, or `records`). */
  readonly frames: FakeFrameRecord[] = [];
  /** Told of each HTTP request once answered (the record `requests` keeps), e.g. for logs. */
  onRequest: ((request: FakeRequestRecord) => void) | undefined;
  /** Told of each text frame a client sent, before the fake acts on it, e.g. for logs. */
  onFrame: ((frame: FakeFrameRecord) => void) | undefined;
  readonly #accounts = new Map<string, Account>();
  readonly #jails = new Map<string, Map<string, SchemaDefinition>>();
  readonly #conns = new Set<Conn>();
  readonly #rr = new Map<string, number>();
  readonly #ping: number;
  readonly #records: number;
  #closing = false;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #connections = 0;
  #uniq = 0;

  /**
   * Creates the fake without listening (use {@linkcode FakeStreamSea.start},
   * or call {@linkcode FakeStreamSea.handler} in-process).
   *
   * @param options Accounts, switches, ping interval.
   * @throws {RangeError} When the ping interval is not a positive integer.
   */
  constructor(options: FakeStreamSeaOptions = {}) {
    const { clients, pingIntervalSeconds, records, ...rest } = options;
    this.#records = records ?? 1000;
    this.settings = {
      replyAction: "subscription",
      defaultGroup: "per-client",
      batchDelivery: "whole",
      validation: {},
      publishWithoutSchema: true,
      subscribeWithoutSchema: true,
      mustFanout: "reject",
      replyDelayMs: 0,
      refuseAuth: false,
      killAfterMessages: undefined,
      killAfterMs: undefined,
      maxBodyBytes: 8 * 1024 * 1024,
      ...rest,
    };
    this.#ping = pingIntervalSeconds ?? 30;
    if (!Number.isInteger(this.#ping) || this.#ping < 1) {
      throw new RangeError(
        `Creating a FakeStreamSea failed: pingIntervalSeconds ${this.#ping} is not a positive integer`,
      );
    }
    for (const c of clients ?? [{ clientId: "abc", clientSecret: "def123" }]) this.addClient(c);
  }

  /**
   * Creates a fake and starts listening on `127.0.0.1` on a free port.
   *
   * @param options Accounts, switches, ping interval.
   * @returns The running fake.
   */
  static start(options: FakeStreamSeaOptions = {}): Promise<FakeStreamSea> {
    const fake = new FakeStreamSea(options);
    return new Promise((resolve) => {
      fake.#server = Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        onListen: () => resolve(fake),
      }, (req) => fake.handler(req));
    });
  }

  /** The port listened on. */
  get port(): number {
    if (this.#server === undefined) throw new Error("The fake is not listening");
    return this.#server.addr.port;
  }

  /** `remoteHost` and `remotePort` for a client. */
  get connection(): { remoteHost: string; remotePort: number } {
    return { remoteHost: "127.0.0.1", remotePort: this.port };
  }

  /** The number of open WebSocket connections. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  /** The live subscriptions: stream, request id, groupId and client of each. */
  get subscriptions(): {
    stream: string;
    id: number;
    groupId: string | undefined;
    clientId: string;
    connection: number;
  }[] {
    const out = [];
    for (const c of this.#conns) {
      if (c.closed) continue;
      for (const s of c.subs) {
        out.push({
          stream: s.stream,
          id: s.id,
          groupId: s.groupId,
          clientId: c.account?.clientId ?? "",
          connection: c.n,
        });
      }
    }
    return out;
  }

  /** The open WebSocket connections: number, client, jail and subscription count of each. */
  get connections(): FakeConnectionInfo[] {
    return [...this.#conns].filter((c) => !c.closed).map((c) => ({
      connection: c.n,
      clientId: c.account?.clientId,
      jailId: c.account?.jailId,
      subscriptions: c.subs.length,
    }));
  }

  /**
   * Lists the stored schemas.
   *
   * @param jailId Only those of this jail; default every jail's.
   * @returns The jail and schema of each.
   */
  schemas(jailId?: string): { jailId: string; schema: SchemaDefinition }[] {
    const out: { jailId: string; schema: SchemaDefinition }[] = [];
    for (const [jail, streams] of this.#jails) {
      if (jailId !== undefined && jail !== jailId) continue;
      for (const schema of streams.values()) out.push({ jailId: jail, schema });
    }
    return out;
  }

  /**
   * Adds (or replaces) a client account.
   *
   * @param client The account.
   */
  addClient(client: FakeClient): void {
    this.#accounts.set(client.clientId, {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      jailId: client.jailId ?? "some_jail",
      jwtPublicKey: client.jwtPublicKey ?? null,
    });
  }

  /**
   * The schema of a stream, as stored.
   *
   * @param stream The stream.
   * @param jailId The jail; default `some_jail`.
   * @returns The schema, or undefined.
   */
  schema(stream: string, jailId = "some_jail"): SchemaDefinition | undefined {
    return this.#jails.get(jailId)?.get(stream);
  }

  /**
   * Publishes in-process (no HTTP, no validation), as if a client had.
   *
   * @param stream The stream.
   * @param payload The message or batch.
   * @param jailId The jail; default `some_jail`.
   * @returns The number of deliveries sent.
   */
  publishLocal(stream: string, payload: unknown, jailId = "some_jail"): number {
    return this.#deliver(jailId, stream, payload);
  }

  /**
   * Sends raw text on every live subscription of a stream (fault injection:
   * malformed JSON, unknown ids, frames without an id, wrong actions).
   *
   * @param stream The stream.
   * @param frame The text, or a function of the subscription's request id.
   * @returns How many sockets it was sent on.
   */
  inject(stream: string, frame: string | ((id: number) => string)): number {
    let n = 0;
    for (const c of this.#conns) {
      for (const s of c.subs) {
        if (s.stream !== stream || c.closed) continue;
        sendOn(c, typeof frame === "string" ? frame : frame(s.id));
        n++;
      }
    }
    return n;
  }

  /**
   * Closes every WebSocket connection from the server side, as a crashing
   * or restarting server would.
   *
   * @param code The close code. Default 1012 (service restart).
   * @returns Once the sockets are closed.
   */
  async dropConnections(code = 1012): Promise<void> {
    await Promise.all([...this.#conns].map((c) => this.#closeConn(c, code, "dropped by the fake")));
  }

  /**
   * Answers one HTTP request (or upgrades `/api/v1/streams` to a WebSocket).
   * Usable in-process, without listening.
   *
   * @param req The request.
   * @returns The response.
   */
  async handler(req: Request): Promise<Response> {
    // Shutting down: accept nothing more (a publish answered 200 now would reach no subscriber).
    if (this.#closing) return Response.json({ message: "The server is shutting down" }, { status: 503 });
    const url = new URL(req.url);
    const record: FakeRequestRecord = {
      method: req.method,
      path: url.pathname,
      contentEncoding: req.headers.get("content-encoding"),
      body: undefined,
      status: 0,
    };
    let res: Response;
    try {
      if (url.pathname === "/api/v1/streams" && req.headers.get("upgrade")?.toLowerCase() === "websocket") {
        return this.#upgrade(req);
      }
      res = await this.#route(req, url, record);
    } catch (err) {
      if (err instanceof HttpFailure) {
        res = json(
          err.errors === undefined ? { message: err.message } : { message: err.message, errors: err.errors },
          err.status,
        );
      } else {
        res = json({ message: "Internal error" }, 500);
      }
    }
    record.status = res.status;
    this.requests.push(record);
    if (this.requests.length > this.#records) this.requests.shift();
    this.#tell(this.onRequest, record);
    return res;
  }

  #tell<T>(listener: ((value: T) => void) | undefined, value: T): void {
    try {
      listener?.(value);
    } catch { /* a listener's failure is not the fake's */ }
  }

  #authenticateHttp(req: Request): Account {
    const auth = req.headers.get("authorization") ?? "";
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/.exec(auth);
    if (m !== null) {
      const bytes = decodeBase64(m[1]!);
      const decoded = bytes === undefined ? "" : new TextDecoder().decode(bytes); // undecodable: 401 below
      const at = decoded.indexOf(":");
      const account = at < 0 ? undefined : this.#accounts.get(decoded.slice(0, at));
      if (account !== undefined && account.clientSecret === decoded.slice(at + 1)) return account;
    }
    throw new HttpFailure(401, UNAUTHORIZED);
  }

  async #body(req: Request, record: FakeRequestRecord): Promise<unknown> {
    if (req.body === null) return undefined;
    let bytes = await readLimited(req.body, this.settings.maxBodyBytes * 4);
    if (bytes.length === 0) return undefined;
    const enc = req.headers.get("content-encoding")?.toLowerCase();
    if (enc === "gzip") {
      try {
        bytes = await readLimited(
          new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip")),
          this.settings.maxBodyBytes,
        );
      } catch (err) {
        if (err instanceof HttpFailure) throw err;
        throw new HttpFailure(400, "The request body is not valid gzip");
      }
    } else if (enc !== undefined && enc !== "identity") {
      throw new HttpFailure(415, `Content-Encoding ${enc} is not supported`);
    } else if (bytes.length > this.settings.maxBodyBytes) {
      throw new HttpFailure(413, `The request body is larger than ${this.settings.maxBodyBytes} bytes`);
    }
    try {
      record.body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new HttpFailure(400, "The request body is not JSON");
    }
    return record.body;
  }

  async #route(req: Request, url: URL, record: FakeRequestRecord): Promise<Response> {
    const path = url.pathname;
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/v1\/streams\/([^/]+)\/(publish|define|schema)$/.exec(path)) !== null) {
      const account = this.#authenticateHttp(req);
      let stream: string;
      try {
        stream = decodeURIComponent(m[1]!);
      } catch {
        throw new HttpFailure(400, "The stream name is not valid");
      }
      const op = m[2];
      if (op === "schema" && req.method === "GET") {
        await this.#body(req, record); // the Python client sends Content-Encoding: gzip on an empty GET
        const schema = this.#jails.get(account.jailId)?.get(stream);
        if (schema === undefined) throw new HttpFailure(404, `Stream ${stream} has no schema`);
        return json({ name: schema.name, version: schema.version, fields: schema.fields });
      }
      if (op === "publish" && req.method === "POST") {
        return this.#publish(account, stream, await this.#body(req, record));
      }
      if (op === "define" && req.method === "POST") return this.#define(account, stream, await this.#body(req, record));
      throw new HttpFailure(405, `${req.method} is not allowed on ${path}`);
    }
    if (path === "/api/v1/schema-versions-vector" && req.method === "POST") {
      const account = this.#authenticateHttp(req);
      const body = await this.#body(req, record);
      const names = isRecord(body) ? body.schemaNames : undefined;
      if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) {
        throw new HttpFailure(400, "schemaNames must be an array of strings");
      }
      const jail = this.#jails.get(account.jailId);
      return json({ versionsVector: names.map((n: string) => jail?.get(n)?.version ?? null) });
    }
    if ((m = /^\/api\/v1\/client\/([^/]+)\/jwt-public-key$/.exec(path)) !== null && req.method === "PUT") {
      const account = this.#authenticateHttp(req);
      if (decodeURIComponent(m[1]!) !== account.clientId) {
        throw new HttpFailure(403, "A client may only set its own JWT public key");
      }
      const body = await this.#body(req, record);
      const key = isRecord(body) ? body.jwtPublicKey : undefined;
      if (key !== null && (typeof key !== "string" || !(await isRsaPublicKey(key)))) {
        throw new HttpFailure(400, "jwtPublicKey must be an RSA public key PEM or null");
      }
      account.jwtPublicKey = key;
      return json({ givenId: account.clientId, jwtPublicKey: key });
    }
    throw new HttpFailure(404, `No route for ${req.method} ${path}`);
  }

  #publish(account: Account, stream: string, body: unknown): Response {
    const payload = isRecord(body) ? body.payload : undefined;
    const ok = Array.isArray(payload) ? payload.length > 0 && payload.every(isRecord) : isRecord(payload);
    if (!ok) throw new HttpFailure(400, "The payload must be an object or a non-empty array of objects");
    const schema = this.#jails.get(account.jailId)?.get(stream);
    if (schema === undefined) {
      if (!this.settings.publishWithoutSchema) throw new HttpFailure(404, `Stream ${stream} has no schema`);
    } else {
      const violations = validate(payload, schema, this.settings.validation);
      if (violations.length > 0) {
        throw new HttpFailure(400, `The payload does not match the schema of ${stream}`, formatViolations(violations));
      }
    }
    // Fan out now, to the subscriptions confirmed so far, before the publisher
    // hears 200: a subscription made after that never gets this message
    // (spec §8, §15.1: only messages published after a subscription reach it).
    this.#deliver(account.jailId, stream, payload);
    return json({});
  }

  #define(account: Account, stream: string, body: unknown): Response {
    if (!isRecord(body)) throw new HttpFailure(400, "The schema must be an object");
    if (body.name !== undefined && body.name !== stream) {
      throw new HttpFailure(400, `The schema name ${JSON.stringify(body.name)} is not the stream name ${stream}`);
    }
    const schema = { name: stream, version: body.version, fields: body.fields };
    const problems = checkSchemaDefinition(schema);
    if (problems.length > 0) throw new HttpFailure(400, "The schema is not valid", problems);
    const def = schema as SchemaDefinition;
    let jail = this.#jails.get(account.jailId);
    if (jail === undefined) this.#jails.set(account.jailId, jail = new Map());
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

  #deliver(jailId: string, stream: string, payload: unknown): number {
    const items = this.settings.batchDelivery === "split" && Array.isArray(payload) ? payload : [payload];
    let sent = 0;
    for (const item of items) sent += this.#deliverOne(jailId, stream, item);
    return sent;
  }

  #deliverOne(jailId: string, stream: string, payload: unknown): number {
    const groups = new Map<string, Sub[]>();
    for (const c of this.#conns) {
      if (c.closed || c.account?.jailId !== jailId) continue;
      for (const s of c.subs) {
        if (s.stream !== stream) continue;
        let g = groups.get(s.groupKey);
        if (g === undefined) groups.set(s.groupKey, g = []);
        g.push(s);
      }
    }
    if (groups.size === 0) return 0;
    const body = JSON.stringify(payload);
    const head = `,"action":${JSON.stringify(this.settings.replyAction)},"streamName":${
      JSON.stringify(stream)
    },"payload":`;
    let sent = 0;
    for (const [key, members] of groups) {
      const eligible = members.filter((s) =>
        s.conn.filter === undefined || this.#passes(s.conn.filter, payload, stream)
      );
      if (eligible.length === 0) continue;
      const n = this.#rr.get(key) ?? 0;
      this.#rr.set(key, n + 1);
      const sub = eligible[n % eligible.length]!;
      const c = sub.conn;
      sendOn(c, `{"id":${sub.id}${head}${body}}`);
      sent++;
      c.delivered++;
      const kill = this.settings.killAfterMessages;
      if (kill !== undefined && c.delivered >= kill) void this.#closeConn(c, 1012, "killed after messages");
    }
    return sent;
  }

  #passes(filter: unknown, payload: unknown, stream: string): boolean {
    if (Array.isArray(payload)) return payload.some((p) => matchesFilter(filter, p, stream));
    return matchesFilter(filter, payload, stream);
  }

  #upgrade(req: Request): Response {
    // Deno pings after idleTimeout / 2 seconds without a frame from the client, and closes the
    // socket when nothing comes back within another idleTimeout / 2.
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 2 * this.#ping });
    const conn: Conn = {
      n: ++this.#connections,
      socket,
      account: undefined,
      filter: undefined,
      mustFanout: false,
      lastId: 0,
      delivered: 0,
      subs: [],
      timers: new Set(),
      closed: false,
    };
    this.#conns.add(conn);
    socket.onmessage = (ev) => {
      if (conn.closed) return;
      if (typeof ev.data === "string") {
        const frame = { connection: conn.n, text: ev.data };
        this.frames.push(frame);
        if (this.frames.length > this.#records) this.frames.shift();
        this.#tell(this.onFrame, frame);
      }
      void this.#onFrame(conn, ev.data).catch(() => this.#closeConn(conn, 1011, "internal error"));
    };
    socket.onclose = () => this.#forget(conn);
    socket.onerror = () => {};
    return response;
  }

  #forget(conn: Conn): void {
    conn.closed = true;
    for (const t of conn.timers) clearTimeout(t);
    conn.timers.clear();
    this.#conns.delete(conn);
  }

  #closeConn(conn: Conn, code: number, reason: string): Promise<void> {
    const socket = conn.socket;
    conn.closed = true;
    for (const t of conn.timers) clearTimeout(t);
    conn.timers.clear();
    if (socket.readyState === WebSocket.CLOSED) {
      this.#conns.delete(conn);
      return Promise.resolve();
    }
    return closeSocket(socket, code, reason).then(() => this.#forget(conn));
  }

  #later(conn: Conn, fn: () => void): void {
    const delay = this.settings.replyDelayMs;
    if (delay <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      conn.timers.delete(t);
      if (!conn.closed) fn();
    }, delay);
    conn.timers.add(t);
  }

  #send(conn: Conn, reply: Record<string, unknown>): void {
    if (!conn.closed) sendOn(conn, JSON.stringify(reply));
  }

  /** Answers with an error and closes the connection (the fake's reading of protocol violations). */
  #refuse(conn: Conn, id: number, action: string, message: string): void {
    this.#send(conn, { id, action, success: false, error: { message } });
    void this.#closeConn(conn, 1008, message.slice(0, 100));
  }

  async #onFrame(conn: Conn, data: unknown): Promise<void> {
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(data as string | ArrayBuffer);
    } catch (err) {
      if (err instanceof ProtocolError) {
        await this.#closeConn(conn, 1007, "malformed frame");
        return;
      }
      throw err;
    }
    if (frame.id !== conn.lastId + 1) {
      this.#refuse(conn, frame.id, frame.action, `Expected id ${conn.lastId + 1}, got ${frame.id}`);
      return;
    }
    conn.lastId = frame.id;
    if ("credentials" in frame) {
      if (frame.id !== 1 || conn.account !== undefined) {
        this.#refuse(conn, frame.id, "authenticate", "Already authenticated");
        return;
      }
      const result = await this.#checkCredentials(frame.credentials);
      if (conn.closed) return;
      if (typeof result === "string") {
        this.#later(conn, () => this.#refuse(conn, 1, "authenticate", result));
        return;
      }
      conn.account = result.account;
      conn.filter = result.filter;
      conn.mustFanout = result.mustFanout;
      if (result.exp !== undefined) {
        const t = setTimeout(
          () => void this.#closeConn(conn, 4001, "JWT expired"),
          Math.max(0, result.exp * 1000 - Date.now()),
        );
        conn.timers.add(t);
      }
      const killMs = this.settings.killAfterMs;
      if (killMs !== undefined) {
        const t = setTimeout(() => void this.#closeConn(conn, 1012, "killed after ms"), killMs);
        conn.timers.add(t);
      }
      this.#later(
        conn,
        () =>
          this.#send(conn, {
            id: 1,
            action: "authenticate",
            success: true,
            payload: { jailId: result.account.jailId },
          }),
      );
      return;
    }
    if ("stream" in frame) {
      const account = conn.account;
      if (account === undefined) {
        this.#refuse(conn, frame.id, "subscribe", "Not authenticated");
        return;
      }
      const action = this.settings.replyAction;
      const fail = (message: string) =>
        this.#later(conn, () => this.#send(conn, { id: frame.id, action, success: false, error: { message } }));
      if (!this.settings.subscribeWithoutSchema && this.#jails.get(account.jailId)?.get(frame.stream) === undefined) {
        fail(`Stream ${frame.stream} does not exist`);
        return;
      }
      let groupKey: string;
      if (frame.groupId !== undefined) groupKey = `group:${frame.groupId}`;
      else if (conn.mustFanout) {
        if (this.settings.mustFanout === "reject") {
          fail("This token must use fanout: a groupId is required");
          return;
        }
        groupKey = `unique:${++this.#uniq}`;
      } else if (this.settings.defaultGroup === "per-client") groupKey = `client:${account.clientId}`;
      else groupKey = `unique:${++this.#uniq}`;
      const sub: Sub = {
        conn,
        id: frame.id,
        stream: frame.stream,
        groupKey: `${account.jailId}/${frame.stream}/${groupKey}`,
        groupId: frame.groupId,
      };
      this.#later(conn, () => {
        conn.subs.push(sub);
        this.#send(conn, { id: frame.id, action, success: true, streamName: frame.stream, payload: frame.id });
      });
      return;
    }
    this.#refuse(conn, frame.id, frame.action, `Unknown action ${frame.action}`);
  }

  async #checkCredentials(
    c: ReceivedCredentials,
  ): Promise<string | { account: Account; filter: unknown; mustFanout: boolean; exp: number | undefined }> {
    const account = this.#accounts.get(c.clientId);
    if (this.settings.refuseAuth || account === undefined) return "Invalid credentials";
    if (c.type === "basic") {
      return c.clientSecret === account.clientSecret
        ? { account, filter: undefined, mustFanout: false, exp: undefined }
        : "Invalid credentials";
    }
    const pem = account.jwtPublicKey === null ? undefined : toSpkiPem(account.jwtPublicKey);
    if (pem === undefined) return "Invalid credentials: no JWT public key is registered";
    try {
      const key = await importSPKI(pem, "RS512");
      const { payload } = await jwtVerify(c.jwt, key, { algorithms: ["RS512"] });
      if (typeof payload.exp !== "number") return "Invalid JWT: exp is required";
      if (typeof payload.mustFanout !== "boolean") return "Invalid JWT: mustFanout is required";
      return { account, filter: payload.filter, mustFanout: payload.mustFanout, exp: payload.exp };
    } catch {
      return "Invalid JWT";
    }
  }

  /**
   * Closes every connection and stops listening.
   *
   * @returns Once everything is released.
   */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#conns].map((c) => this.#closeConn(c, 1001, "server shutting down")));
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await server.shutdown();
  }

  /** Calls {@linkcode FakeStreamSea.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
