/**
 * `broadcasterRoutes`: the fake broadcaster's HTTP face as a Hono app,
 * route by route as lonelypss (FastAPI) answers: subscribe and unsubscribe
 * (exact and glob), check and set subscriptions, notify, the websocket
 * upgrade, 405 for another method on a route and 404 for an unknown path;
 * plus the test hooks that refuse everything while closing or fail the next
 * requests on demand.
 *
 * @module
 */

import { Hono } from "hono";
import { equalBytes } from "../../core/bytes.ts";
import { ChunkedReader, NEED_MORE } from "../../core/chunked_reader.ts";
import type { AuthConfig, AuthResult } from "../../httppubsub/auth.ts";
import type { AuthDocument } from "../../httppubsub/auth_document.ts";
import { cancelQuietly, readCapped } from "../../httppubsub/body.ts";
import {
  encodeCheckSubscriptionsResponse,
  encodeGenericResponse,
  encodeNotifyResponse,
} from "../../httppubsub/broadcaster_responses.ts";
import { utf8OrUndefined as utf8 } from "../../httppubsub/local_subscription.ts";
import {
  MAX_NOTIFY_PREFIX,
  type NotifyPrefix,
  readCheckSubscriptionsRequest,
  readNotifyPrefix,
  readSetSubscriptionsRequest,
  readSubscribeRequest,
  readUnsubscribeRequest,
  type SubscribeRequest,
  type UnsubscribeRequest,
} from "../../httppubsub/requests_to_broadcaster.ts";
import { takeSha512 } from "../../httppubsub/sha512.ts";
import { strongEtag } from "../../httppubsub/strong_etag.ts";
import type { FakeBroadcasterStats } from "./fake_broadcaster_stats.ts";
import { type FakeWebsocketHost, FakeWebsocketPeer } from "./fake_websocket.ts";
import { NotifyTrace } from "./notify_trace.ts";
import { readLeading } from "./read_leading.ts";
import type { SubscriptionStore } from "./subscription_store.ts";
import type { WebsocketFanout } from "./websocket_fanout.ts";

/** What the routes read and drive of their broadcaster. */
export interface BroadcasterRouteHost {
  /** Verifies subscriber requests. */
  readonly toBroadcaster: AuthConfig;
  /** Signs responses. */
  readonly toSubscriber: AuthConfig;
  /** The HTTP subscriptions. */
  readonly store: SubscriptionStore;
  /** The websocket peers and their internal registrations. */
  readonly websockets: WebsocketFanout;
  /** The counters to keep. */
  readonly stats: FakeBroadcasterStats;
  /** The largest message accepted by notify, in bytes. */
  readonly maxMessageBytes: number;
  /** The largest RECEIVE_STREAM part payload sent to websocket subscribers. */
  readonly websocketPartBytes: number;
  /** Whether the broadcaster is closing. */
  readonly closed: () => boolean;
  /** The status the next request fails with, if a test asked for one. */
  readonly nextFailure: () => number | undefined;
  /** The served origin, once serving. */
  readonly origin: () => string | undefined;
  /** Fans a message out (tracked until it settles) and resolves to the subscribers it reached. */
  readonly fanOut: (
    topic: Uint8Array,
    data: Uint8Array,
    sha512: Uint8Array,
    trace: NotifyTrace | undefined,
    origin: string,
  ) => Promise<number>;
  /** Told of each frame a websocket subscriber sent. */
  readonly onFrame: (peer: FakeWebsocketPeer, frame: Uint8Array | string) => void;
}

const OCTET = { "content-type": "application/octet-stream" };
/** FastAPI's body for a path it has no route for. */
const NOT_FOUND = { detail: "Not Found" };
const EMPTY = new Uint8Array(0);

/** What lonelypss (FastAPI) answers for a method a route does not take. */
function methodNotAllowed(): Response {
  return Response.json({ detail: "Method Not Allowed" }, { status: 405, headers: { allow: "POST" } });
}

function denied(r: AuthResult): number | undefined {
  return r === "ok" ? undefined : r === "unauthorized" ? 401 : r === "forbidden" ? 403 : 503;
}

const small = async (req: Request) => await readCapped(req, 5 * 0xffff + 1024);

/**
 * Builds the broadcaster's routes.
 *
 * @example
 * ```ts ignore
 * const app = broadcasterRoutes(host);
 * const res = await app.request("/v1/notify", { method: "GET" }); // 405
 * ```
 *
 * @param host The broadcaster state the routes read and drive.
 * @returns The Hono app.
 */
export function broadcasterRoutes(host: BroadcasterRouteHost): Hono {
  const app = new Hono();
  const refuse = (status: number): Response => {
    host.stats.refused++;
    return new Response(null, { status });
  };
  const sign = async (doc: AuthDocument, tracing: Uint8Array = EMPTY): Promise<string | undefined> =>
    await host.toSubscriber.authorize(doc, tracing);

  app.use("/v1/*", async (c, next) => {
    if (host.closed()) {
      // Shutting down: nothing new is taken (a real server stops listening first).
      await cancelQuietly(c.req.raw.body);
      return refuse(503);
    }
    const status = host.nextFailure();
    if (status !== undefined) {
      await cancelQuietly(c.req.raw.body);
      return new Response(null, { status });
    }
    await next();
  });

  for (const kind of ["exact", "glob"] as const) {
    for (const subscribe of [true, false]) {
      app.post(`/v1/${subscribe ? "subscribe" : "unsubscribe"}/${kind}`, async (c) => {
        const body = await small(c.req.raw);
        if (body === undefined) return refuse(400);
        // Fields in order; lonelypss ignores bytes after them.
        const req: Partial<SubscribeRequest> & UnsubscribeRequest | undefined = subscribe
          ? readLeading(readSubscribeRequest, body)
          : readLeading(readUnsubscribeRequest, body);
        if (req === undefined) return refuse(400);
        const recovery = req.recovery ?? "";
        const glob = kind === "glob" ? utf8(req.key) : undefined;
        if (kind === "glob" && glob === undefined) return refuse(400);
        // An unsubscribe is signed and confirmed as a subscribe with no recovery url.
        const doc = (confirm: boolean): AuthDocument =>
          kind === "exact"
            ? { type: confirm ? "confirm-subscribe-exact" : "subscribe-exact", url: req.url, recovery, topic: req.key }
            : { type: confirm ? "confirm-subscribe-glob" : "subscribe-glob", url: req.url, recovery, glob: glob! };
        const bad = denied(await host.toBroadcaster.verify(doc(false), c.req.header("authorization"), req.tracing));
        if (bad !== undefined) return refuse(bad);
        const changed = subscribe
          ? host.store.add(req.url, kind, glob ?? req.key, recovery)
          : host.store.remove(req.url, kind, glob ?? req.key);
        if (!changed) return refuse(409);
        return new Response(encodeGenericResponse({ authorization: await sign(doc(true)), tracing: EMPTY }), {
          headers: OCTET,
        });
      });
    }
  }

  app.get("/v1/websocket", (c) => {
    // Not an upgrade: FastAPI has no HTTP route there.
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return Response.json(NOT_FOUND, { status: 404 });
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    const ws: FakeWebsocketHost = {
      toBroadcaster: host.toBroadcaster,
      toSubscriber: host.toSubscriber,
      partBytes: host.websocketPartBytes,
      fanOut: (topic, data, sha) => host.fanOut(topic, data, sha, undefined, ""),
      subscribed: (kind, key, delta) => host.websockets.change(kind, key, delta),
      gone: (peer) => host.websockets.remove(peer),
    };
    const peer = new FakeWebsocketPeer(socket, ws);
    host.websockets.peers.add(peer);
    socket.addEventListener("message", (ev) => {
      try {
        host.onFrame(peer, ev.data instanceof ArrayBuffer ? new Uint8Array(ev.data) : String(ev.data));
      } catch { /* a listener's failure is not the fake's */ }
    });
    return response;
  });

  app.post("/v1/check_subscriptions", async (c) => {
    const body = await small(c.req.raw);
    if (body === undefined) return refuse(400);
    const req = readLeading(readCheckSubscriptionsRequest, body);
    if (req === undefined) return refuse(400);
    const bad = denied(
      await host.toBroadcaster.verify(
        { type: "check-subscriptions", url: req.url },
        c.req.header("authorization"),
        req.tracing,
      ),
    );
    if (bad !== undefined) return refuse(bad);
    const etag = await strongEtag(req.url, host.store.set(req.url));
    const authorization = await sign({ type: "check-subscriptions-response", etag });
    return new Response(encodeCheckSubscriptionsResponse({ authorization, tracing: EMPTY, etag }), {
      headers: OCTET,
    });
  });

  app.post("/v1/set_subscriptions", async (c) => {
    const body = await readCapped(c.req.raw, 64 * 1024 * 1024);
    if (body === undefined) return refuse(400);
    const req = readLeading(readSetSubscriptionsRequest, body);
    if (req === undefined) return refuse(400);
    const bad = denied(
      await host.toBroadcaster.verify(
        { type: "set-subscriptions", url: req.url, etag: req.etag },
        c.req.header("authorization"),
        req.tracing,
      ),
    );
    if (bad !== undefined) return refuse(bad);
    const etag = await strongEtag(req.url, req);
    if (!equalBytes(etag, req.etag)) return refuse(400);
    host.store.replace(req.url, req);
    const authorization = await sign({ type: "set-subscriptions-response", etag });
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
      return refuse(400);
    }
    if (prefix === NEED_MORE) {
      await cancelQuietly(reader);
      return refuse(400);
    }
    const p = prefix;
    const bad = denied(
      await host.toBroadcaster.verify(
        { type: "notify", topic: p.topic, identifier: p.identifier, sha512: p.sha512 },
        c.req.header("authorization"),
        p.tracing,
      ),
    );
    if (bad !== undefined) {
      await cancelQuietly(reader);
      return refuse(bad);
    }
    if (p.length > host.maxMessageBytes) {
      await cancelQuietly(reader);
      return refuse(413);
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
        return refuse(400);
      }
      if (r.done) break;
      ok = take(r.value);
    }
    if (!ok || at !== p.length) {
      await cancelQuietly(reader);
      return refuse(400);
    }
    const sha = hasher.digest();
    if (!equalBytes(sha, p.sha512)) return refuse(400);
    trace.event("auth_accepted");
    host.stats.notifies++;
    const origin = host.origin() ?? new URL(c.req.url).origin;
    const subscribers = await host.fanOut(p.topic, data, sha, trace, origin);
    // A fan-out cut short by close() confirms nothing: the notifier must not count it as delivered.
    if (host.closed()) return refuse(503);
    // lonelypss answers a notify with its "simple" tracer's record (every other answer has empty tracing).
    const tracing = trace.encode();
    const authorization = await sign({
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
  return app;
}
