/**
 * `FakeBroadcaster`: the broadcaster side of httppubsub (lonelypss 0.0.11)
 * as a Hono app, written from the protocol spec, for tests.
 *
 * @module
 */

import { Hono } from "hono";
import { ByteReader } from "../../core/byte_reader.ts";
import { ChunkedReader, NEED_MORE } from "../../core/chunked_reader.ts";
import { type AuthConfig, type AuthResult, noneAuth } from "../../httppubsub/auth.ts";
import { toHex as hex } from "../../core/bytes.ts";
import type { AuthDocument } from "../../httppubsub/auth_document.ts";
import { formatReprDigest } from "../../httppubsub/authorization_header.ts";
import {
  encodeCheckSubscriptionsResponse,
  encodeGenericResponse,
  encodeNotifyResponse,
} from "../../httppubsub/broadcaster_responses.ts";
import {
  MAX_NOTIFY_PREFIX,
  type NotifyPrefix,
  readCheckSubscriptionsRequest,
  readNotifyPrefix,
  readSetSubscriptionsRequest,
  readSubscribeRequest,
  readUnsubscribeRequest,
} from "../../httppubsub/requests_to_broadcaster.ts";
import {
  encodeMissedRequest,
  encodeReceivePrefix,
  readSubscriberResponse,
  type SubscriberResponse,
} from "../../httppubsub/requests_to_subscriber.ts";
import { strongEtag, type SubscriptionSet } from "../../httppubsub/strong_etag.ts";
import { compileGlob } from "../../httppubsub/glob.ts";
import type { ReceiverApp } from "../../httppubsub/receiver.ts";
import { withDeadline } from "../../core/async.ts";
import { concatBytes, equalBytes } from "../../core/bytes.ts";
import { cancelQuietly, readCapped } from "../../httppubsub/body.ts";
import { takeSha512 } from "../../httppubsub/sha512.ts";
import { type FakeWebsocketHost, FakeWebsocketPeer } from "./fake_websocket.ts";
import { base64UrlPadded, NotifyTrace, type TraceExtra } from "./notify_trace.ts";
import { WebsocketFanout } from "./websocket_fanout.ts";

/** Options of {@linkcode FakeBroadcaster}. */
export interface FakeBroadcasterOptions {
  /** Verifies subscriber requests and confirmations ("to-broadcaster"). Default none. */
  toBroadcasterAuth?: AuthConfig;
  /** Signs responses, receives and missed notices ("to-subscriber"). Default none. */
  toSubscriberAuth?: AuthConfig;
  /** How long a subscriber may take to answer a receive, in ms. Default 5000. */
  receiveTimeoutMs?: number;
  /** Delay before a missed notice after a failed receive, in ms. Default 0. */
  missedDelayMs?: number;
  /** How many missed notices to send per failure (lonelypss's quirk sends a burst). Default 1. */
  missedBurst?: number;
  /** The largest message accepted by notify, in bytes. Default 64 MiB. */
  maxMessageBytes?: number;
  /** The fetch used to reach subscribers. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** The largest RECEIVE_STREAM part payload sent to websocket subscribers. Default 3.5 MiB less 1 KiB. */
  websocketPartBytes?: number;
}

/** One stored subscription. */
export interface FakeSubscription {
  /** The subscriber url, with fragment. */
  url: string;
  /** `"exact"` or `"glob"`. */
  kind: "exact" | "glob";
  /** The exact topic (UTF-8, lossy) or glob. */
  key: string;
  /** The recovery url, "" for none. */
  recovery: string;
}

/** Counters a test can check. */
export interface FakeBroadcasterStats {
  /** Notify requests accepted. */
  notifies: number;
  /** Receive POSTs sent. */
  receives: number;
  /** Receive POSTs confirmed. */
  confirmed: number;
  /** Receive POSTs that failed (timeout, bad answer, bad confirmation). */
  failedReceives: number;
  /** Subscriptions deleted by "unsubscribe immediately". */
  unsubscribedImmediately: number;
  /** Missed notices sent. */
  missedSent: number;
  /** Missed notices whose confirmation verified. */
  missedConfirmed: number;
  /** Requests refused with 400/401/403/409. */
  refused: number;
}

/** One url's rows; `seq` is the insertion order lonelypss's table scan follows. */
interface UrlSubs {
  exact: Map<string, { topic: Uint8Array; recovery: string; seq: number }>;
  glob: Map<string, { match: (t: string) => boolean; recovery: string; seq: number }>;
}

/** One row a notify matched: an HTTP subscription, or an internal websocket registration (`url` undefined). */
interface Target {
  kind: "exact" | "glob";
  glob: string | undefined;
  seq: number;
  url: string | undefined;
  recovery: string;
  remove: () => boolean;
}

const OCTET = { "content-type": "application/octet-stream" };
/** FastAPI's body for a path it has no route for. */
const NOT_FOUND = { detail: "Not Found" };
const EMPTY = new Uint8Array(0);
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lossy = new TextDecoder();

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Reads a body's fields as lonelypss does: in order, ignoring whatever
 * follows them.
 */
function readLeading<T>(read: (r: ByteReader) => T, body: Uint8Array): T | undefined {
  try {
    return read(new ByteReader(body));
  } catch {
    return undefined;
  }
}

/** What lonelypss (FastAPI) answers for a method a route does not take. */
function methodNotAllowed(): Response {
  return Response.json({ detail: "Method Not Allowed" }, { status: 405, headers: { allow: "POST" } });
}

function denied(r: AuthResult): number | undefined {
  return r === "ok" ? undefined : r === "unauthorized" ? 401 : r === "forbidden" ? 403 : 503;
}

function stripFragment(url: string): string {
  const i = url.indexOf("#");
  return i < 0 ? url : url.slice(0, i);
}

/**
 * A broadcaster for tests: stores subscriptions per url, fans each notify
 * out to the matching subscribers one after another (SQLite GLOB semantics,
 * `*` crossing `/`), checks their signed confirmations, sends missed notices
 * to recovery urls after failures, and honours "unsubscribe immediately".
 * Every auth mode works in both directions. Serve it with `serve()` or call
 * `app.request()` in-process.
 *
 * @example
 * ```ts ignore
 * import { FakeBroadcaster } from "@x/pubsub/testing/httppubsub";
 *
 * const fake = new FakeBroadcaster();
 * const url = await fake.serve();
 * // ... point an HttpPubSubClient at url ...
 * await fake.close();
 * ```
 */
export class FakeBroadcaster {
  /** The broadcaster's routes: a Hono app, typed as a fetch handler. */
  readonly app: ReceiverApp;
  readonly #app: Hono = new Hono();
  /** Counters. */
  readonly stats: FakeBroadcasterStats = {
    notifies: 0,
    receives: 0,
    confirmed: 0,
    failedReceives: 0,
    unsubscribedImmediately: 0,
    missedSent: 0,
    missedConfirmed: 0,
    refused: 0,
  };
  readonly #toBroadcaster: AuthConfig;
  readonly #toSubscriber: AuthConfig;
  readonly #receiveTimeoutMs: number;
  readonly #missedDelayMs: number;
  readonly #missedBurst: number;
  readonly #maxMessage: number;
  readonly #fetch: typeof fetch;
  readonly #subs = new Map<string, UrlSubs>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #abort = new AbortController();
  #failures: number[] = [];
  /** Insertion order of every row, HTTP and internal, as the subscription tables keep it. */
  #seq = 0;
  readonly #fanout = new WebsocketFanout(() => this.#seq++);
  /** The served origin, for the internal registrations' url in traces. */
  #origin: string | undefined;
  readonly #partBytes: number;
  #server: { shutdown(): Promise<void>; addr: { port: number } } | undefined;
  #closed = false;
  /** Told of each frame a websocket subscriber sent (binary frames as bytes), e.g. for logs. */
  onFrame: ((peer: FakeWebsocketPeer, frame: Uint8Array | string) => void) | undefined;

  /**
   * Creates the fake.
   *
   * @param options Auth per direction, timeouts, missed behaviour.
   */
  constructor(options: FakeBroadcasterOptions = {}) {
    this.#toBroadcaster = options.toBroadcasterAuth ?? noneAuth();
    this.#toSubscriber = options.toSubscriberAuth ?? noneAuth();
    this.#receiveTimeoutMs = options.receiveTimeoutMs ?? 5000;
    this.#missedDelayMs = options.missedDelayMs ?? 0;
    this.#missedBurst = options.missedBurst ?? 1;
    this.#maxMessage = options.maxMessageBytes ?? 64 * 1024 * 1024;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#partBytes = options.websocketPartBytes ?? 3.5 * 1024 * 1024 - 1024;
    this.app = this.#app;
    this.#routes();
  }

  /**
   * Makes the next requests fail with the given statuses (e.g. 503 to test
   * retries), one status per request.
   *
   * @param statuses The statuses, in order.
   */
  failNext(...statuses: number[]): void {
    this.#failures.push(...statuses);
  }

  /**
   * Lists the stored subscriptions.
   *
   * @param url Only those of this url.
   * @returns The subscriptions.
   */
  subscriptions(url?: string): FakeSubscription[] {
    const out: FakeSubscription[] = [];
    for (const [u, s] of this.#subs) {
      if (url !== undefined && u !== url) continue;
      for (const e of s.exact.values()) {
        out.push({ url: u, kind: "exact", key: lossy.decode(e.topic), recovery: e.recovery });
      }
      for (const [g, e] of s.glob) out.push({ url: u, kind: "glob", key: g, recovery: e.recovery });
    }
    return out;
  }

  /**
   * Serves the app on loopback.
   *
   * @param options Hostname (default 127.0.0.1) and port (default 0: a free one).
   * @returns The base url, e.g. `http://127.0.0.1:40123`.
   */
  serve(options: { hostname?: string; port?: number } = {}): Promise<string> {
    const hostname = options.hostname ?? "127.0.0.1";
    this.#server = Deno.serve({ hostname, port: options.port ?? 0, onListen: () => {} }, this.app.fetch);
    this.#origin = `http://${hostname}:${this.#server.addr.port}`;
    return Promise.resolve(this.#origin);
  }

  /**
   * Stops the server, pending missed notices and fan-outs. From its first
   * moment every request, and every notify whose fan-out it cut short, is
   * answered 503, so no notify is confirmed that did not reach its subscribers.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#abort.abort(new Error("The fake broadcaster was closed"));
    for (const p of this.#fanout.peers) p.close(1001, "going away");
    await Promise.allSettled([...this.#pending]);
    await this.#server?.shutdown();
  }

  /** The websocket subscribers connected now. */
  get websocketPeers(): FakeWebsocketPeer[] {
    return [...this.#fanout.peers];
  }

  /**
   * The broadcaster's internal registrations for its websocket subscribers:
   * one per distinct exact topic (hex) and glob across all of them, with how
   * many subscriptions hold each.
   */
  get websocketRegistrations(): { exact: Map<string, number>; glob: Map<string, number> } {
    return this.#fanout.registrations;
  }

  /**
   * Sends a MISSED notice for a topic to every websocket subscriber of it.
   *
   * @param topic The topic.
   * @returns Resolves once sent.
   */
  async missedToWebsockets(topic: string): Promise<void> {
    const bytes = new TextEncoder().encode(topic);
    await Promise.all([...this.#fanout.peers].filter((p) => p.matches(bytes)).map((p) => p.missed(bytes)));
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    const done = () => this.#pending.delete(p);
    p.then(done, done);
    return p;
  }

  #refuse(status: number): Response {
    this.stats.refused++;
    return new Response(null, { status });
  }

  #urlSubs(url: string): UrlSubs {
    let s = this.#subs.get(url);
    if (s === undefined) this.#subs.set(url, s = { exact: new Map(), glob: new Map() });
    return s;
  }

  #set(url: string): SubscriptionSet {
    const s = this.#subs.get(url);
    if (s === undefined) return { exact: [], glob: [] };
    return {
      exact: [...s.exact.values()].map((e) => ({ key: e.topic, recovery: e.recovery })),
      glob: [...s.glob].map(([key, e]) => ({ key, recovery: e.recovery })),
    };
  }

  async #sign(doc: AuthDocument, tracing: Uint8Array = EMPTY): Promise<string | undefined> {
    return await this.#toSubscriber.authorize(doc, tracing);
  }

  #routes(): void {
    const app = this.#app;
    app.use("/v1/*", async (c, next) => {
      if (this.#closed) {
        // Shutting down: nothing new is taken (a real server stops listening first).
        await cancelQuietly(c.req.raw.body);
        return this.#refuse(503);
      }
      const status = this.#failures.shift();
      if (status !== undefined) {
        await cancelQuietly(c.req.raw.body);
        return new Response(null, { status });
      }
      await next();
    });

    const small = async (req: Request) => await readCapped(req, 5 * 0xffff + 1024);

    for (const kind of ["exact", "glob"] as const) {
      app.post(`/v1/subscribe/${kind}`, async (c) => {
        const body = await small(c.req.raw);
        if (body === undefined) return this.#refuse(400);
        // Fields in order; lonelypss ignores bytes after them.
        const req = readLeading(readSubscribeRequest, body);
        if (req === undefined) return this.#refuse(400);
        const glob = kind === "glob" ? utf8(req.key) : undefined;
        if (kind === "glob" && glob === undefined) return this.#refuse(400);
        const doc: AuthDocument = kind === "exact"
          ? { type: "subscribe-exact", url: req.url, recovery: req.recovery, topic: req.key }
          : { type: "subscribe-glob", url: req.url, recovery: req.recovery, glob: glob! };
        const bad = denied(await this.#toBroadcaster.verify(doc, c.req.header("authorization"), req.tracing));
        if (bad !== undefined) return this.#refuse(bad);
        const s = this.#urlSubs(req.url);
        if (kind === "exact") {
          const k = hex(req.key);
          if (s.exact.has(k)) return this.#refuse(409);
          s.exact.set(k, { topic: req.key.slice(), recovery: req.recovery, seq: this.#seq++ });
        } else {
          if (s.glob.has(glob!)) return this.#refuse(409);
          s.glob.set(glob!, { match: compileGlob(glob!), recovery: req.recovery, seq: this.#seq++ });
        }
        const confirm: AuthDocument = kind === "exact"
          ? { type: "confirm-subscribe-exact", url: req.url, recovery: req.recovery, topic: req.key }
          : { type: "confirm-subscribe-glob", url: req.url, recovery: req.recovery, glob: glob! };
        return new Response(encodeGenericResponse({ authorization: await this.#sign(confirm), tracing: EMPTY }), {
          headers: OCTET,
        });
      });

      app.post(`/v1/unsubscribe/${kind}`, async (c) => {
        const body = await small(c.req.raw);
        if (body === undefined) return this.#refuse(400);
        const req = readLeading(readUnsubscribeRequest, body);
        if (req === undefined) return this.#refuse(400);
        const glob = kind === "glob" ? utf8(req.key) : undefined;
        if (kind === "glob" && glob === undefined) return this.#refuse(400);
        const doc: AuthDocument = kind === "exact"
          ? { type: "subscribe-exact", url: req.url, recovery: "", topic: req.key }
          : { type: "subscribe-glob", url: req.url, recovery: "", glob: glob! };
        const bad = denied(await this.#toBroadcaster.verify(doc, c.req.header("authorization"), req.tracing));
        if (bad !== undefined) return this.#refuse(bad);
        const s = this.#subs.get(req.url);
        const removed = kind === "exact" ? s?.exact.delete(hex(req.key)) : s?.glob.delete(glob!);
        if (removed !== true) return this.#refuse(409);
        const confirm: AuthDocument = kind === "exact"
          ? { type: "confirm-subscribe-exact", url: req.url, recovery: "", topic: req.key }
          : { type: "confirm-subscribe-glob", url: req.url, recovery: "", glob: glob! };
        return new Response(encodeGenericResponse({ authorization: await this.#sign(confirm), tracing: EMPTY }), {
          headers: OCTET,
        });
      });
    }

    app.get("/v1/websocket", (c) => {
      // Not an upgrade: FastAPI has no HTTP route there.
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return Response.json(NOT_FOUND, { status: 404 });
      const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
      const host: FakeWebsocketHost = {
        toBroadcaster: this.#toBroadcaster,
        toSubscriber: this.#toSubscriber,
        partBytes: this.#partBytes,
        fanOut: (topic, data, sha) => this.#track(this.#fanOut(topic, data, sha, undefined, "")),
        subscribed: (kind, key, delta) => this.#fanout.change(kind, key, delta),
        gone: (peer) => this.#fanout.remove(peer),
      };
      const peer = new FakeWebsocketPeer(socket, host);
      this.#fanout.peers.add(peer);
      socket.addEventListener("message", (ev) => {
        try {
          this.onFrame?.(peer, ev.data instanceof ArrayBuffer ? new Uint8Array(ev.data) : String(ev.data));
        } catch { /* a listener's failure is not the fake's */ }
      });
      return response;
    });

    app.post("/v1/check_subscriptions", async (c) => {
      const body = await small(c.req.raw);
      if (body === undefined) return this.#refuse(400);
      const req = readLeading(readCheckSubscriptionsRequest, body);
      if (req === undefined) return this.#refuse(400);
      const bad = denied(
        await this.#toBroadcaster.verify(
          { type: "check-subscriptions", url: req.url },
          c.req.header("authorization"),
          req.tracing,
        ),
      );
      if (bad !== undefined) return this.#refuse(bad);
      const etag = await strongEtag(req.url, this.#set(req.url));
      const authorization = await this.#sign({ type: "check-subscriptions-response", etag });
      return new Response(encodeCheckSubscriptionsResponse({ authorization, tracing: EMPTY, etag }), {
        headers: OCTET,
      });
    });

    app.post("/v1/set_subscriptions", async (c) => {
      const body = await readCapped(c.req.raw, 64 * 1024 * 1024);
      if (body === undefined) return this.#refuse(400);
      const req = readLeading(readSetSubscriptionsRequest, body);
      if (req === undefined) return this.#refuse(400);
      const bad = denied(
        await this.#toBroadcaster.verify(
          { type: "set-subscriptions", url: req.url, etag: req.etag },
          c.req.header("authorization"),
          req.tracing,
        ),
      );
      if (bad !== undefined) return this.#refuse(bad);
      const etag = await strongEtag(req.url, req);
      if (!equalBytes(etag, req.etag)) return this.#refuse(400);
      // Rows that stay keep their place in the table order; new ones go last.
      const old = this.#subs.get(req.url);
      const s: UrlSubs = { exact: new Map(), glob: new Map() };
      for (const e of req.exact) {
        const k = hex(e.key);
        s.exact.set(k, { topic: e.key.slice(), recovery: e.recovery, seq: old?.exact.get(k)?.seq ?? this.#seq++ });
      }
      for (const e of req.glob) {
        const seq = old?.glob.get(e.key)?.seq ?? this.#seq++;
        s.glob.set(e.key, { match: compileGlob(e.key), recovery: e.recovery, seq });
      }
      if (s.exact.size === 0 && s.glob.size === 0) this.#subs.delete(req.url);
      else this.#subs.set(req.url, s);
      const authorization = await this.#sign({ type: "set-subscriptions-response", etag });
      return new Response(encodeGenericResponse({ authorization, tracing: EMPTY }), { headers: OCTET });
    });

    app.post("/v1/notify", async (c) => {
      // lonelypss's tracer starts when the request arrives.
      const trace = new NotifyTrace();
      const body = c.req.raw.body;
      const reader = body?.getReader();
      const input = new ChunkedReader({ maxBuffered: Number.MAX_SAFE_INTEGER });
      let prefix: NotifyPrefix | typeof NEED_MORE = NEED_MORE;
      try {
        while (reader !== undefined) {
          prefix = input.read(readNotifyPrefix);
          if (prefix !== NEED_MORE || input.buffered > MAX_NOTIFY_PREFIX) break;
          const r = await reader.read();
          if (r.done) break;
          input.push(r.value);
        }
      } catch {
        await cancelQuietly(reader);
        return this.#refuse(400);
      }
      if (prefix === NEED_MORE) {
        await cancelQuietly(reader);
        return this.#refuse(400);
      }
      const p = prefix;
      const bad = denied(
        await this.#toBroadcaster.verify(
          { type: "notify", topic: p.topic, identifier: p.identifier, sha512: p.sha512 },
          c.req.header("authorization"),
          p.tracing,
        ),
      );
      if (bad !== undefined) {
        await cancelQuietly(reader);
        return this.#refuse(bad);
      }
      if (p.length > this.#maxMessage) {
        await cancelQuietly(reader);
        return this.#refuse(413);
      }
      trace.event("auth_tentatively_accepted");
      const data = new Uint8Array(p.length);
      const hasher = await takeSha512();
      let at = 0;
      const first = input.drain();
      const take = (chunk: Uint8Array): boolean => {
        if (at + chunk.length > p.length) return false;
        data.set(chunk, at);
        hasher.update(chunk);
        at += chunk.length;
        return true;
      };
      let ok = take(first);
      while (ok && reader !== undefined) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch {
          return this.#refuse(400);
        }
        if (r.done) break;
        ok = take(r.value);
      }
      if (!ok || at !== p.length) {
        await cancelQuietly(reader);
        return this.#refuse(400);
      }
      const sha = hasher.digest();
      if (!equalBytes(sha, p.sha512)) return this.#refuse(400);
      trace.event("auth_accepted");
      this.stats.notifies++;
      const origin = this.#origin ?? new URL(c.req.url).origin;
      const subscribers = await this.#track(this.#fanOut(p.topic, data, sha, trace, origin));
      // A fan-out cut short by close() confirms nothing: the notifier must not count it as delivered.
      if (this.#closed) return this.#refuse(503);
      // lonelypss answers a notify with its "simple" tracer's record (every other answer has empty tracing).
      const tracing = trace.encode();
      const authorization = await this.#sign({
        type: "confirm-notify",
        identifier: p.identifier,
        subscribers,
        topic: p.topic,
        sha512: sha,
      }, tracing);
      return new Response(
        encodeNotifyResponse({ authorization, tracing, subscribers, identifier: p.identifier }),
        { headers: OCTET },
      );
    });

    // FastAPI answers another method on a route with 405 (and a path it does not know with 404).
    for (
      const path of [
        "/v1/subscribe/exact",
        "/v1/subscribe/glob",
        "/v1/unsubscribe/exact",
        "/v1/unsubscribe/glob",
        "/v1/notify",
        "/v1/check_subscriptions",
        "/v1/set_subscriptions",
      ]
    ) {
      app.all(path, async (c) => {
        await cancelQuietly(c.req.raw.body);
        return methodNotAllowed();
      });
    }
    app.notFound(async (c) => {
      await cancelQuietly(c.req.raw.body);
      return Response.json(NOT_FOUND, { status: 404 });
    });
  }

  /**
   * Sends the message to every row it matches, one after another, in
   * lonelypss's order: the exact rows, then the glob rows, each in the order
   * they were stored. An HTTP subscription gets a receive POST and counts what
   * it confirms; an internal websocket registration hands a copy to every
   * websocket peer the topic is relevant to and counts each (so a peer
   * covered by two registrations gets two copies). Returns the sum.
   */
  async #fanOut(
    topic: Uint8Array,
    data: Uint8Array,
    sha512: Uint8Array,
    trace: NotifyTrace | undefined,
    origin: string,
  ): Promise<number> {
    const key = hex(topic);
    const text = utf8(topic);
    const targets: Target[] = [];
    for (const [url, s] of this.#subs) {
      const e = s.exact.get(key);
      if (e !== undefined) {
        targets.push({
          kind: "exact",
          glob: undefined,
          seq: e.seq,
          url,
          recovery: e.recovery,
          remove: () => s.exact.delete(key),
        });
      }
      if (text === undefined) continue;
      for (const [g, ge] of s.glob) {
        if (!ge.match(text)) continue;
        targets.push({
          kind: "glob",
          glob: g,
          seq: ge.seq,
          url,
          recovery: ge.recovery,
          remove: () => s.glob.delete(g),
        });
      }
    }
    for (const row of this.#fanout.rows(topic)) {
      targets.push({ ...row, url: undefined, recovery: "", remove: () => false });
    }
    targets.sort((a, b) => a.kind === b.kind ? a.seq - b.seq : a.kind === "exact" ? -1 : 1);
    let total = 0;
    for (const t of targets) {
      if (this.#closed) break;
      const url = t.url ?? `${origin}/v1/receive_for_websockets`;
      if (t.kind === "exact") trace?.event("exact_subscriber_found", { url });
      else trace?.event("glob_subscriber_found", { glob: t.glob!, url });
      if (t.url === undefined) {
        // lonelypss POSTs to itself; its websocket receiver answers at once with the peers it queued the copy for.
        trace?.event("sending_receive", {
          identifier_b64url: base64UrlPadded(crypto.getRandomValues(new Uint8Array(8))),
        });
        const n = this.#fanout.deliver(topic, data, sha512, (p) => void this.#track(p));
        trace?.event("response_received", { status_code: 200 });
        trace?.event("receive_confirmed", { num_subscribers: n });
        total += n;
        continue;
      }
      const n = await this.#receive(t.url, topic, data, sha512, trace);
      if (n === "unsubscribe") {
        trace?.event("unsubscribe_immediate_requested");
        if (t.remove()) {
          this.stats.unsubscribedImmediately++;
          trace?.event("unsubscribe_immediate_success");
        } else trace?.event("unsubscribe_immediate_not_found");
      } else if (n === undefined) {
        this.stats.failedReceives++;
        trace?.event("handle_missed_start");
        if (t.recovery === "") trace?.event("handle_missed_skipped", { recovery: null, next_retry_at: null });
        else {
          trace?.event("handle_missed_success", {
            recovery: t.recovery,
            next_retry_at: (Date.now() + this.#missedDelayMs) / 1000,
          });
          this.#scheduleMissed(t.recovery, topic);
        }
      } else {
        this.stats.confirmed++;
        total += n;
      }
    }
    trace?.event("no_more_subscribers");
    return total;
  }

  /**
   * POSTs one receive and judges the answer as lonelypss does: the status is
   * ignored; the body's fields are read in order (what follows is ignored);
   * the confirmation is verified for the identifier it echoes.
   */
  async #receive(
    url: string,
    topic: Uint8Array,
    data: Uint8Array,
    sha512: Uint8Array,
    trace: NotifyTrace | undefined,
  ): Promise<number | "unsubscribe" | undefined> {
    const identifier = crypto.getRandomValues(new Uint8Array(8));
    trace?.event("sending_receive", { identifier_b64url: base64UrlPadded(identifier) });
    const prefix = encodeReceivePrefix({ tracing: EMPTY, topic, identifier, length: data.length });
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "repr-digest": formatReprDigest(sha512),
    };
    const authorization = await this.#sign({ type: "receive", url, topic, identifier, sha512 });
    if (authorization !== undefined) headers.authorization = authorization;
    this.stats.receives++;
    let status: number | undefined;
    let answer: Uint8Array | undefined;
    try {
      answer = await withDeadline(this.#receiveTimeoutMs, async (signal) => {
        const res = await this.#fetch(stripFragment(url), {
          method: "POST",
          headers,
          body: concatBytes([prefix, data]),
          signal,
        });
        status = res.status;
        trace?.event("response_received", { status_code: res.status });
        // The status is ignored, as lonelypss does: only the body counts.
        return await readCapped(res, 4 * 0xffff);
      }, { signal: this.#abort.signal });
    } catch {
      answer = undefined;
    }
    const outcome = (extra?: TraceExtra, name = "bad_response") => {
      trace?.event(status === undefined ? "network_error" : name, status === undefined ? undefined : extra);
      return undefined;
    };
    if (answer === undefined) return outcome();
    const res: SubscriberResponse | undefined = readLeading(readSubscriberResponse, answer);
    if (res === undefined || res.type === "confirm-missed") return outcome();
    if (res.type === "unsubscribe-immediate") return "unsubscribe";
    const ok = await this.#toBroadcaster.verify(
      { type: "confirm-receive", identifier: res.identifier, numSubscribers: res.numSubscribers, url },
      res.authorization,
      res.tracing,
    );
    if (ok !== "ok") return outcome({ result: ok.toUpperCase() }, "bad_auth_result");
    trace?.event("receive_confirmed", { num_subscribers: res.numSubscribers });
    return res.numSubscribers;
  }

  #scheduleMissed(recovery: string, topic: Uint8Array): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      for (let i = 0; i < this.#missedBurst; i++) void this.#track(this.#sendMissed(recovery, topic));
    }, this.#missedDelayMs);
    this.#timers.add(timer);
  }

  async #sendMissed(recovery: string, topic: Uint8Array): Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    const authorization = await this.#sign({ type: "missed", recovery, topic });
    if (authorization !== undefined) headers.authorization = authorization;
    this.stats.missedSent++;
    try {
      const answer = await withDeadline(this.#receiveTimeoutMs, async (signal) => {
        const res = await this.#fetch(stripFragment(recovery), {
          method: "POST",
          headers,
          body: encodeMissedRequest({ tracing: EMPTY, topic }),
          signal,
        });
        return await readCapped(res, 4 * 0xffff);
      }, { signal: this.#abort.signal });
      if (answer === undefined) return;
      const res = readLeading(readSubscriberResponse, answer);
      if (res?.type !== "confirm-missed") return;
      const ok = await this.#toBroadcaster.verify(
        { type: "confirm-missed", topic, url: recovery },
        res.authorization,
        res.tracing,
      );
      if (ok === "ok") this.stats.missedConfirmed++;
    } catch { /* a failed missed notice is dropped */ }
  }
}
