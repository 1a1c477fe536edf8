/**
 * `FakeStreamSea`: a stream-sea 4.x server on loopback, for tests. HTTP API
 * and WebSocket protocol as in the spec, with switches for what the spec
 * leaves open and hooks for fault injection. The HTTP API is in
 * `fake_http.ts`, the WebSocket side in `fake_connections.ts`.
 *
 * @module
 */

import type { SchemaDefinition } from "../../streamsea/schema.ts";
import {
  type FakeConnectionInfo,
  FakeConnections,
  type FakeFrameRecord,
  type FakeSubscriptionInfo,
} from "./fake_connections.ts";
import { answerHttp, failureResponse, type FakeRequestRecord } from "./fake_http.ts";
import type { FakeClient, FakeState, FakeStreamSeaOptions, FakeStreamSeaSettings } from "./fake_options.ts";

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
  readonly #state: FakeState;
  readonly #conns: FakeConnections;
  readonly #records: number;
  #closing = false;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;

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
    const ping = pingIntervalSeconds ?? 30;
    if (!Number.isInteger(ping) || ping < 1) {
      throw new RangeError(`Creating a FakeStreamSea failed: pingIntervalSeconds ${ping} is not a positive integer`);
    }
    this.#state = { settings: this.settings, accounts: new Map(), jails: new Map() };
    this.#conns = new FakeConnections(this.#state, ping, (frame) => {
      this.frames.push(frame);
      if (this.frames.length > this.#records) this.frames.shift();
      this.#tell(this.onFrame, frame);
    });
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
  get subscriptions(): FakeSubscriptionInfo[] {
    return this.#conns.subscriptions;
  }

  /** The open WebSocket connections: number, client, jail and subscription count of each. */
  get connections(): FakeConnectionInfo[] {
    return this.#conns.list;
  }

  /**
   * Lists the stored schemas.
   *
   * @param jailId Only those of this jail; default every jail's.
   * @returns The jail and schema of each.
   */
  schemas(jailId?: string): { jailId: string; schema: SchemaDefinition }[] {
    const out: { jailId: string; schema: SchemaDefinition }[] = [];
    for (const [jail, streams] of this.#state.jails) {
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
    this.#state.accounts.set(client.clientId, {
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
    return this.#state.jails.get(jailId)?.get(stream);
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
    return this.#conns.deliver(jailId, stream, payload);
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
    return this.#conns.inject(stream, frame);
  }

  /**
   * Closes every WebSocket connection from the server side, as a crashing
   * or restarting server would.
   *
   * @param code The close code. Default 1012 (service restart).
   * @returns Once the sockets are closed.
   */
  async dropConnections(code = 1012): Promise<void> {
    await this.#conns.closeAll(code, "dropped by the fake");
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
        return this.#conns.upgrade(req);
      }
      res = await answerHttp(
        this.#state,
        req,
        url,
        record,
        (jail, stream, payload) => this.#conns.deliver(jail, stream, payload),
      );
    } catch (err) {
      res = failureResponse(err);
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

  /**
   * Closes every connection and stops listening.
   *
   * @returns Once everything is released.
   */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#conns.closeAll(1001, "server shutting down");
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await server.shutdown();
  }

  /** Calls {@linkcode FakeStreamSea.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
