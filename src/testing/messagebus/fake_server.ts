/**
 * `FakeMessageBus`: a jetblack-messagebus server on loopback, following the
 * server semantics of the spec (§4–§8) for tests.
 *
 * @module
 */

import { ChunkedReader } from "../../core/chunked_reader.ts";
import { type BusMessage, type DataPacket, encodeMessage, type ImageField } from "../../messagebus/codec.ts";
import { MessageDecoder } from "../../messagebus/message_decoder.ts";
import { type AuthInfo, Interactor } from "./interactor.ts";
import { authenticate, machineHostName } from "./login.ts";
import type {
  FakeClientInfo,
  FakeFeedConfig,
  FakeMessageBusEvent,
  FakeMessageBusOptions,
  FakeMessageBusSubscription,
  FakePublishOptions,
} from "./options.ts";

interface SubState {
  refCount: number;
  required: boolean;
  entitlements: ReadonlySet<number> | null;
}

function key(feed: string, topic: string): string {
  return `${feed}\u0000${topic}`;
}

function isSubset(need: ReadonlySet<number>, granted: ReadonlySet<number> | null): boolean {
  if (granted === null) return false;
  for (const n of need) if (!granted.has(n)) return false;
  return true;
}

/**
 * A jetblack-messagebus server for tests, on 127.0.0.1, plain TCP or TLS,
 * in the v3 or v4 credential dialect and the bool or contentType image
 * dialect. It implements the spec's server semantics: credentials read
 * first with no reply (a failure stalls or closes), a random client id per
 * connection, subscription reference counts, authorization round trips
 * with entitlement filtering per recipient and the "not entitled" message,
 * notifications with replay to late registrations and removes on every
 * remove request, exact (feed, topic) matching, forwarded multicast and
 * unicast, the "stale" message when the last publisher of a topic leaves,
 * and the optional heartbeat.
 *
 * Deliberate departures from the real server (as the spec asks): negative
 * and over-large lengths and counts are refused, a null packet list is
 * treated as empty, EOF anywhere is a disconnect, and an unknown type code
 * closes the connection. Impersonation and forwarding fields are read and
 * ignored (as the real server does when neither is allowed).
 *
 * @example
 * ```ts ignore
 * import { FakeMessageBus } from "@x/pubsub/testing/messagebus";
 * import { MessageBusClient } from "@x/pubsub/messagebus";
 *
 * const server = await FakeMessageBus.start();
 * const client = await MessageBusClient.create("127.0.0.1", server.port);
 * await client.start();
 * await client.stop();
 * await server.close();
 * ```
 */
export class FakeMessageBus {
  /** The port listened on. */
  readonly port: number;
  /** The address listened on (`127.0.0.1` unless `hostname` was given). */
  readonly hostname: string;
  readonly #listener: Deno.Listener;
  readonly #options: FakeMessageBusOptions;
  readonly #field: ImageField;
  readonly #maxQueued: number;
  readonly #clients = new Map<string, Interactor>();
  readonly #sockets = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #subs = new Map<string, Map<string, Map<string, SubState>>>();
  readonly #notifiers = new Map<string, Set<string>>();
  readonly #publishers = new Map<string, Set<string>>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #accepting: Promise<void>;
  #closed = false;
  #authFailures = 0;

  private constructor(listener: Deno.Listener, options: FakeMessageBusOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#field = options.imageField ?? "bool";
    this.#maxQueued = options.maxQueuedBytes ?? 1024 * 1024;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.hostname = (listener.addr as Deno.NetAddr).hostname;
    this.#accepting = this.#accept();
    const every = options.heartbeatIntervalMs ?? 0;
    if (every > 0) this.#heartbeat = setInterval(() => this.#sendHeartbeat(), every);
  }

  /**
   * Starts listening on 127.0.0.1.
   *
   * @param options Port, TLS, dialects, authentication, roles, heartbeat.
   * @returns The running server.
   * @throws {TypeError} On an unknown dialect.
   * @throws {Deno.errors.AddrInUse} When the port is taken.
   */
  static start(options: FakeMessageBusOptions = {}): Promise<FakeMessageBus> {
    if (options.auth !== undefined && options.auth !== "v3" && options.auth !== "v4") {
      return Promise.reject(
        new TypeError(`Starting a FakeMessageBus failed: auth ${JSON.stringify(options.auth)} is not "v3" or "v4"`),
      );
    }
    const port = options.port ?? 0;
    const hostname = options.hostname ?? "127.0.0.1";
    const listener = options.tls
      ? Deno.listenTls({ hostname, port, cert: options.tls.cert, key: options.tls.key })
      : Deno.listen({ hostname, port, transport: "tcp" });
    return Promise.resolve(new FakeMessageBus(listener, options));
  }

  /** The connected, authenticated clients. */
  get clients(): FakeClientInfo[] {
    return [...this.#clients.values()].map(({ id, user, host }) => ({ id, user, host }));
  }

  /** How many connections failed authentication so far. */
  get authFailures(): number {
    return this.#authFailures;
  }

  /**
   * The reference count of a client's subscription, 0 when there is none.
   *
   * @param clientId The client.
   * @param feed The feed.
   * @param topic The topic.
   * @returns The count.
   */
  refCount(clientId: string, feed: string, topic: string): number {
    return this.#subs.get(feed)?.get(topic)?.get(clientId)?.refCount ?? 0;
  }

  /** The live subscriptions, in no particular order. */
  get subscriptions(): FakeMessageBusSubscription[] {
    const out: FakeMessageBusSubscription[] = [];
    for (const [feed, topics] of this.#subs) {
      for (const [topic, clients] of topics) {
        for (const [clientId, s] of clients) {
          const user = this.#clients.get(clientId)?.user ?? "";
          out.push({ clientId, user, feed, topic, refCount: s.refCount });
        }
      }
    }
    return out;
  }

  /**
   * Sends a data message (type 8) to every client subscribed to the feed and
   * topic, as the server forwards a client's multicast: each recipient gets
   * the packets its entitlements allow. No client is recorded as the
   * topic's publisher (so no "stale" message follows).
   *
   * @example
   * ```ts ignore
   * const sent = server.publish("PRICES", "EURUSD", [{ entitlements: null, data: new TextEncoder().encode("1.08") }]);
   * ```
   *
   * @param feed The feed.
   * @param topic The topic.
   * @param packets The packets, or `null` for none.
   * @param options The image flag or content type, and the publisher the recipients see.
   * @returns How many clients it was sent to.
   */
  publish(
    feed: string,
    topic: string,
    packets: readonly DataPacket[] | null,
    options: FakePublishOptions = {},
  ): number {
    const clients = this.#subs.get(feed)?.get(topic);
    if (clients === undefined) return 0;
    const image = this.#field === "bool"
      ? { isImage: options.isImage ?? false, contentType: null }
      : { isImage: null, contentType: options.contentType ?? "" };
    const user = options.user ?? "admin";
    const host = options.host ?? this.#options.hostName ?? machineHostName();
    let sent = 0;
    for (const [id, s] of clients) {
      const c = this.#clients.get(id);
      if (c === undefined) continue;
      const m: BusMessage = { type: 8, user, host, feed, topic, ...image, packets: this.#filter(packets, s) };
      c.send(encodeMessage(m, { imageField: this.#field }));
      sent++;
    }
    return sent;
  }

  /**
   * Drops one client's connection abruptly (the others stay).
   *
   * @param clientId The client's id (see {@linkcode FakeMessageBus.clients}).
   * @returns Whether such a client was connected.
   */
  disconnect(clientId: string): boolean {
    const c = this.#clients.get(clientId);
    c?.close();
    return c !== undefined;
  }

  /**
   * Writes raw bytes to every authenticated client (for tests of malformed input).
   *
   * @param bytes The bytes.
   */
  sendRaw(bytes: Uint8Array): void {
    for (const c of this.#clients.values()) c.send(bytes);
  }

  /**
   * Drops every connection abruptly, as a crashing server would (the
   * listener stays open).
   */
  dropConnections(): void {
    for (const c of [...this.#clients.values()]) c.close();
    for (const s of this.#sockets) {
      try {
        s.close();
      } catch { /* closed */ }
    }
  }

  /** Stops listening, closes every connection and the heartbeat timer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    try {
      this.#listener.close();
    } catch { /* closed */ }
    this.dropConnections();
    await this.#accepting;
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  /** Calls {@linkcode FakeMessageBus.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      this.#sockets.add(conn);
      const task = this.#serve(conn).catch(() => {}).finally(() => {
        this.#sockets.delete(conn);
        this.#tasks.delete(task);
      });
      this.#tasks.add(task);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    if (this.#options.tls) {
      try {
        await (conn as Deno.TlsConn).handshake();
      } catch {
        conn.close();
        return;
      }
    }
    const input = new ChunkedReader({ maxBuffered: 1024 * 1024 });
    const read = async (): Promise<boolean> => {
      const buf = new Uint8Array(64 * 1024);
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        return false;
      }
      if (n === null) return false;
      input.push(buf.subarray(0, n));
      return true;
    };
    // 1. Credentials, as bare strings.
    let user: string | undefined;
    const host = this.#options.hostName ?? machineHostName();
    try {
      user = await authenticate(this.#options, input, read);
    } catch {
      user = undefined;
    }
    if (user === undefined) {
      this.#authFailures++;
      this.#observe({ type: "login-failed" });
      if (this.#options.onAuthFailure === "close") {
        conn.close();
        return;
      }
      // Faithful: stop reading; the socket stays open until the server closes.
      return;
    }
    // 2. The interactor and its read loop.
    const me = new Interactor(conn, user, host);
    this.#clients.set(me.id, me);
    this.#observe({ type: "login", client: me.info });
    const decoder = new MessageDecoder({ imageField: this.#field, maxLength: 16 * 1024 * 1024, maxCount: 65536 });
    try {
      decoder.feed(input.drain());
      for (;;) {
        for (let m = decoder.next(); m !== null; m = decoder.next()) {
          this.#observe({ type: "message", client: me.info, message: m });
          const slow = this.#handle(me, m);
          for (const target of slow) await target.below(this.#maxQueued);
          if (me.closed) return;
        }
        const buf = new Uint8Array(64 * 1024);
        const n = await conn.read(buf);
        if (n === null) break;
        decoder.feed(buf.subarray(0, n));
      }
    } catch {
      // A malformed message, a reset or a closed socket: a disconnect.
    } finally {
      this.#disconnect(me);
      await me.writing?.catch(() => {});
    }
  }

  #observe(event: FakeMessageBusEvent): void {
    try {
      this.#options.observer?.(event);
    } catch { /* an observer's failure is not the fake's */ }
  }

  // ------------------------------------------------------------ semantics

  #feed(feed: string): FakeFeedConfig | undefined {
    const feeds = this.#options.feeds;
    return feeds !== undefined && Object.hasOwn(feeds, feed) ? feeds[feed] : undefined;
  }

  #allowed(role: "publishers" | "subscribers" | "authorizers", feed: string, user: string): boolean {
    const list = this.#feed(feed)?.[role];
    if (list === undefined) return role !== "authorizers";
    return list.includes(user);
  }

  #authRequired(feed: string): boolean {
    return this.#feed(feed)?.isAuthorizationRequired ?? this.#options.isAuthorizationRequired ?? false;
  }

  #send(to: Interactor, m: BusMessage, slow: Set<Interactor>): void {
    to.send(encodeMessage(m, { imageField: this.#field }));
    if (to.queued >= this.#maxQueued) slow.add(to);
  }

  #image(isImage: boolean): { isImage: boolean | null; contentType: string | null } {
    return this.#field === "bool" ? { isImage, contentType: null } : { isImage: null, contentType: "" };
  }

  #handle(me: Interactor, m: BusMessage): Set<Interactor> {
    const slow = new Set<Interactor>();
    switch (m.type) {
      case 5:
        if (!this.#allowed("subscribers", m.feed, me.user)) break;
        if (m.isAdd) this.#subscribe(me, m.feed, m.topic, slow);
        else this.#unsubscribe(me, m.feed, m.topic, slow);
        break;
      case 4:
        if (m.isAdd) this.#addNotification(me, m.feed, slow);
        else this.#notifiers.get(m.feed)?.delete(me.id);
        break;
      case 7:
        this.#authorizationResponse(m.clientId, m.feed, m.topic, m.isAuthorizationRequired, m.entitlements, slow);
        break;
      case 1:
      case 2:
        if (!this.#allowed("publishers", m.feed, me.user)) break;
        this.#publish(me, m, slow);
        break;
      default:
        // Types 3, 6, 8 and 9 are parsed and ignored, as the real server does.
        break;
    }
    return slow;
  }

  #subscribe(me: Interactor, feed: string, topic: string, slow: Set<Interactor>): void {
    const cached = me.authCache.get(key(feed, topic));
    if (cached !== undefined) {
      this.#addSubscription(me, feed, topic, cached, slow);
      return;
    }
    if (!this.#authRequired(feed)) {
      const info = { required: false, entitlements: null };
      me.authCache.set(key(feed, topic), info);
      this.#addSubscription(me, feed, topic, info, slow);
      return;
    }
    for (const c of this.#clients.values()) {
      if (c.closed || !this.#allowed("authorizers", feed, c.user)) continue;
      this.#send(c, { type: 6, clientId: me.id, host: me.host, user: me.user, feed, topic }, slow);
    }
  }

  #addSubscription(me: Interactor, feed: string, topic: string, info: AuthInfo, slow: Set<Interactor>): void {
    let topics = this.#subs.get(feed);
    if (topics === undefined) this.#subs.set(feed, topics = new Map());
    let clients = topics.get(topic);
    if (clients === undefined) topics.set(topic, clients = new Map());
    const s = clients.get(me.id);
    // Quirk: a repeat raises the count and keeps the first entitlements.
    if (s !== undefined) s.refCount++;
    else clients.set(me.id, { refCount: 1, required: info.required, entitlements: info.entitlements });
    this.#notify(me, feed, topic, true, slow);
  }

  #unsubscribe(me: Interactor, feed: string, topic: string, slow: Set<Interactor>): void {
    const clients = this.#subs.get(feed)?.get(topic);
    const s = clients?.get(me.id);
    if (clients !== undefined && s !== undefined) {
      s.refCount--;
      if (s.refCount <= 0) {
        clients.delete(me.id);
        this.#prune(feed, topic);
      }
    }
    // Every remove request is forwarded, even for subscriptions that never existed.
    this.#notify(me, feed, topic, false, slow);
  }

  #prune(feed: string, topic: string): void {
    const topics = this.#subs.get(feed);
    if (topics?.get(topic)?.size === 0) topics.delete(topic);
    if (topics?.size === 0) this.#subs.delete(feed);
  }

  #notify(sub: Interactor, feed: string, topic: string, isAdd: boolean, slow: Set<Interactor>): void {
    const ids = this.#notifiers.get(feed);
    if (ids === undefined) return;
    for (const id of ids) {
      const c = this.#clients.get(id);
      if (c === undefined) continue;
      this.#send(c, { type: 3, user: sub.user, host: sub.host, clientId: sub.id, feed, topic, isAdd }, slow);
    }
  }

  #addNotification(me: Interactor, feed: string, slow: Set<Interactor>): void {
    let ids = this.#notifiers.get(feed);
    if (ids === undefined) this.#notifiers.set(feed, ids = new Set());
    if (ids.has(me.id)) return;
    ids.add(me.id);
    const topics = this.#subs.get(feed);
    if (topics === undefined) return;
    for (const [topic, clients] of topics) {
      for (const id of clients.keys()) {
        const c = this.#clients.get(id);
        if (c === undefined) continue;
        this.#send(me, { type: 3, user: c.user, host: c.host, clientId: c.id, feed, topic, isAdd: true }, slow);
      }
    }
  }

  #authorizationResponse(
    clientId: string,
    feed: string,
    topic: string,
    required: boolean,
    entitlements: ReadonlySet<number> | null,
    slow: Set<Interactor>,
  ): void {
    const sub = this.#clients.get(clientId);
    if (sub === undefined) return;
    const info: AuthInfo = { required, entitlements };
    sub.authCache.set(key(feed, topic), info);
    if (required && (entitlements === null || entitlements.size === 0)) {
      const notEntitled: BusMessage = {
        type: 8,
        user: "",
        host: "",
        feed,
        topic,
        ...this.#image(true),
        packets: null,
      };
      this.#send(sub, notEntitled, slow);
      return;
    }
    this.#addSubscription(sub, feed, topic, info, slow);
  }

  #filter(packets: readonly DataPacket[] | null, s: SubState): readonly DataPacket[] | null {
    if (!s.required || packets === null) return packets;
    const kept = packets.filter((p) =>
      p.entitlements !== null && p.entitlements.size > 0 && isSubset(p.entitlements, s.entitlements)
    );
    return kept.length === 0 ? null : kept;
  }

  #publish(me: Interactor, m: BusMessage & { type: 1 | 2 }, slow: Set<Interactor>): void {
    const clients = this.#subs.get(m.feed)?.get(m.topic);
    if (clients === undefined) return;
    const image = { isImage: m.isImage, contentType: m.contentType };
    let sent = false;
    if (m.type === 1) {
      for (const [id, s] of clients) {
        const c = this.#clients.get(id);
        if (c === undefined) continue;
        const packets = this.#filter(m.packets, s);
        this.#send(c, { type: 8, user: me.user, host: me.host, feed: m.feed, topic: m.topic, ...image, packets }, slow);
        sent = true;
      }
    } else {
      const s = clients.get(m.clientId);
      const c = this.#clients.get(m.clientId);
      if (s === undefined || c === undefined) return;
      const packets = this.#filter(m.packets, s);
      this.#send(c, {
        type: 9,
        user: me.user,
        host: me.host,
        clientId: c.id,
        feed: m.feed,
        topic: m.topic,
        ...image,
        packets,
      }, slow);
      sent = true;
    }
    if (sent) {
      const k = key(m.feed, m.topic);
      let pubs = this.#publishers.get(k);
      if (pubs === undefined) this.#publishers.set(k, pubs = new Set());
      pubs.add(me.id);
      me.publishing.add(k);
    }
  }

  #sendHeartbeat(): void {
    const clients = this.#subs.get("__admin__")?.get("heartbeat");
    if (clients === undefined) return;
    for (const id of clients.keys()) {
      const c = this.#clients.get(id);
      if (c === undefined) continue;
      c.send(encodeMessage({
        type: 8,
        user: "admin",
        host: "localhost",
        feed: "__admin__",
        topic: "heartbeat",
        ...this.#image(true),
        packets: null,
      }, { imageField: this.#field }));
    }
  }

  #disconnect(me: Interactor): void {
    if (!this.#clients.has(me.id)) return;
    this.#clients.delete(me.id);
    const slow = new Set<Interactor>();
    // 1. Its subscriptions, with remove notifications.
    for (const [feed, topics] of [...this.#subs]) {
      for (const [topic, clients] of [...topics]) {
        if (!clients.delete(me.id)) continue;
        this.#prune(feed, topic);
        this.#notify(me, feed, topic, false, slow);
      }
    }
    // 2. Its notification registrations.
    for (const ids of this.#notifiers.values()) ids.delete(me.id);
    // 3. As a publisher: "stale" to the subscribers of topics left without one.
    for (const k of me.publishing) {
      const pubs = this.#publishers.get(k);
      pubs?.delete(me.id);
      if (pubs !== undefined && pubs.size > 0) continue;
      this.#publishers.delete(k);
      const [feed, topic] = k.split("\u0000") as [string, string];
      const clients = this.#subs.get(feed)?.get(topic);
      if (clients === undefined) continue;
      for (const id of clients.keys()) {
        const c = this.#clients.get(id);
        if (c === undefined) continue;
        this.#send(c, { type: 8, user: "", host: "", feed, topic, ...this.#image(true), packets: null }, slow);
      }
    }
    me.close();
    this.#observe({ type: "disconnect", client: me.info });
  }
}
