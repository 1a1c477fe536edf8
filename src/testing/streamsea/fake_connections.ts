/**
 * The fake stream-sea server's WebSocket side: connections and their
 * authentication (Basic, or an RS512 JWT with its filter, `mustFanout` and
 * expiry), subscriptions in consumer groups, deliveries, and the fault
 * switches that act on connections (reply delay, kills, refusals).
 *
 * @module
 */

import { importSPKI, jwtVerify } from "jose";
import { ProtocolError } from "../../core/errors.ts";
import { type ClientFrame, decodeClientFrame, type ReceivedCredentials } from "../../streamsea/codec.ts";
import { matchesFilter } from "../../streamsea/filter.ts";
import { closeSocket } from "../../streamsea/subscription.ts";
import type { Account, FakeState } from "./fake_options.ts";
import { toSpkiPem } from "./keys.ts";

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

/** One live subscription, as {@linkcode FakeStreamSea.subscriptions} lists it. */
export interface FakeSubscriptionInfo {
  /** The stream. */
  stream: string;
  /** The request id of its subscribe frame. */
  id: number;
  /** The consumer group it asked for, if any. */
  groupId: string | undefined;
  /** The client id of its connection. */
  clientId: string;
  /** Its connection's number (from 1, in the order they were opened). */
  connection: number;
}

/** One WebSocket frame a client sent, for assertions. */
export interface FakeFrameRecord {
  /** Which connection (from 1, in the order they were opened). */
  connection: number;
  /** The text received. */
  text: string;
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

function sendOn(conn: Conn, text: string): void {
  if (conn.socket.readyState !== WebSocket.OPEN) return;
  try {
    conn.socket.send(text);
  } catch { /* the peer is closing the connection */ }
}

/** The WebSocket connections of a fake server. */
export class FakeConnections {
  readonly #state: FakeState;
  readonly #pingSeconds: number;
  readonly #record: (frame: FakeFrameRecord) => void;
  readonly #conns = new Set<Conn>();
  readonly #rr = new Map<string, number>();
  #connections = 0;
  #uniq = 0;

  /**
   * Creates the connection set of a fake.
   *
   * @param state The accounts, schemas and switches.
   * @param pingSeconds Seconds between server pings.
   * @param record Told of each text frame a client sends, before the fake acts on it.
   */
  constructor(state: FakeState, pingSeconds: number, record: (frame: FakeFrameRecord) => void) {
    this.#state = state;
    this.#pingSeconds = pingSeconds;
    this.#record = record;
  }

  /** The number of open connections. */
  get size(): number {
    return this.#conns.size;
  }

  /** The live subscriptions: stream, request id, groupId and client of each. */
  get subscriptions(): FakeSubscriptionInfo[] {
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

  /** The open connections: number, client, jail and subscription count of each. */
  get list(): FakeConnectionInfo[] {
    return [...this.#conns].filter((c) => !c.closed).map((c) => ({
      connection: c.n,
      clientId: c.account?.clientId,
      jailId: c.account?.jailId,
      subscriptions: c.subs.length,
    }));
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
   * Closes every connection from the server side.
   *
   * @param code The close code.
   * @param reason The close reason.
   * @returns Once the sockets are closed.
   */
  async closeAll(code: number, reason: string): Promise<void> {
    await Promise.all([...this.#conns].map((c) => this.#closeConn(c, code, reason)));
  }

  /**
   * Delivers a published payload to the stream's subscriptions of the jail:
   * one subscription per consumer group, round robin, within the JWT filters.
   *
   * @param jailId The jail.
   * @param stream The stream.
   * @param payload The message or batch.
   * @returns The number of deliveries sent.
   */
  deliver(jailId: string, stream: string, payload: unknown): number {
    const items = this.#state.settings.batchDelivery === "split" && Array.isArray(payload) ? payload : [payload];
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
    const head = `,"action":${JSON.stringify(this.#state.settings.replyAction)},"streamName":${
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
      const kill = this.#state.settings.killAfterMessages;
      if (kill !== undefined && c.delivered >= kill) void this.#closeConn(c, 1012, "killed after messages");
    }
    return sent;
  }

  #passes(filter: unknown, payload: unknown, stream: string): boolean {
    if (Array.isArray(payload)) return payload.some((p) => matchesFilter(filter, p, stream));
    return matchesFilter(filter, payload, stream);
  }

  /**
   * Upgrades a request to a WebSocket connection of the stream-sea protocol.
   *
   * @param req The request (`GET /api/v1/streams` with `Upgrade: websocket`).
   * @returns The upgrade response.
   * @throws {TypeError} When the request is not a valid WebSocket upgrade.
   */
  upgrade(req: Request): Response {
    // Deno pings after idleTimeout / 2 seconds without a frame from the client, and closes the
    // socket when nothing comes back within another idleTimeout / 2.
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 2 * this.#pingSeconds });
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
        this.#record({ connection: conn.n, text: ev.data });
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
    const delay = this.#state.settings.replyDelayMs;
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
      const killMs = this.#state.settings.killAfterMs;
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
      const action = this.#state.settings.replyAction;
      const fail = (message: string) =>
        this.#later(conn, () => this.#send(conn, { id: frame.id, action, success: false, error: { message } }));
      if (
        !this.#state.settings.subscribeWithoutSchema &&
        this.#state.jails.get(account.jailId)?.get(frame.stream) === undefined
      ) {
        fail(`Stream ${frame.stream} does not exist`);
        return;
      }
      let groupKey: string;
      if (frame.groupId !== undefined) groupKey = `group:${frame.groupId}`;
      else if (conn.mustFanout) {
        if (this.#state.settings.mustFanout === "reject") {
          fail("This token must use fanout: a groupId is required");
          return;
        }
        groupKey = `unique:${++this.#uniq}`;
      } else if (this.#state.settings.defaultGroup === "per-client") groupKey = `client:${account.clientId}`;
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
    const account = this.#state.accounts.get(c.clientId);
    if (this.#state.settings.refuseAuth || account === undefined) return "Invalid credentials";
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
}
