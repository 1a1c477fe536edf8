/**
 * `FakeBroadcaster`: the broadcaster side of httppubsub (lonelypss 0.0.11)
 * as a Hono app, written from the protocol spec, for tests. It wires its
 * parts together: the routes (`broadcaster_routes.ts`), the subscription
 * tables (`subscription_store.ts`), the notify fan-out (`notify_fanout.ts`),
 * the receives and missed notices it sends (`subscriber_poster.ts`) and its
 * websocket subscribers (`websocket_fanout.ts`, `fake_websocket.ts`).
 *
 * @module
 */

import { noneAuth } from "../../httppubsub/auth.ts";
import type { ReceiverApp } from "../../httppubsub/receiver.ts";
import { broadcasterRoutes } from "./broadcaster_routes.ts";
import type { FakeBroadcasterOptions } from "./fake_broadcaster_options.ts";
import { type FakeBroadcasterStats, zeroStats } from "./fake_broadcaster_stats.ts";
import type { FakeWebsocketPeer } from "./fake_websocket.ts";
import { NotifyFanout } from "./notify_fanout.ts";
import { SubscriberPoster } from "./subscriber_poster.ts";
import { type FakeSubscription, SubscriptionStore } from "./subscription_store.ts";
import { WebsocketFanout } from "./websocket_fanout.ts";

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
  /** Counters. */
  readonly stats: FakeBroadcasterStats = zeroStats();
  readonly #store = new SubscriptionStore();
  readonly #websockets = new WebsocketFanout(() => this.#store.nextSeq());
  readonly #poster: SubscriberPoster;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #abort = new AbortController();
  #failures: number[] = [];
  /** The served origin, for the internal registrations' url in traces. */
  #origin: string | undefined;
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
    const toBroadcaster = options.toBroadcasterAuth ?? noneAuth();
    const toSubscriber = options.toSubscriberAuth ?? noneAuth();
    const track = (p: Promise<void>) => void this.#track(p);
    const closed = () => this.#closed;
    this.#poster = new SubscriberPoster({
      toBroadcaster,
      toSubscriber,
      receiveTimeoutMs: options.receiveTimeoutMs ?? 5000,
      missedDelayMs: options.missedDelayMs ?? 0,
      missedBurst: options.missedBurst ?? 1,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      stats: this.stats,
      signal: this.#abort.signal,
      track,
    });
    const fanout = new NotifyFanout({
      store: this.#store,
      websockets: this.#websockets,
      poster: this.#poster,
      stats: this.stats,
      closed,
      track,
    });
    this.app = broadcasterRoutes({
      toBroadcaster,
      toSubscriber,
      store: this.#store,
      websockets: this.#websockets,
      stats: this.stats,
      maxMessageBytes: options.maxMessageBytes ?? 64 * 1024 * 1024,
      websocketPartBytes: options.websocketPartBytes ?? 3.5 * 1024 * 1024 - 1024,
      closed,
      nextFailure: () => this.#failures.shift(),
      origin: () => this.#origin,
      fanOut: (topic, data, sha512, trace, origin) => this.#track(fanout.fanOut(topic, data, sha512, trace, origin)),
      onFrame: (peer, frame) => this.onFrame?.(peer, frame),
    });
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
    return this.#store.list(url);
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
    this.#poster.close();
    this.#abort.abort(new Error("The fake broadcaster was closed"));
    for (const p of this.#websockets.peers) p.close(1001, "going away");
    await Promise.allSettled([...this.#pending]);
    await this.#server?.shutdown();
  }

  /** The websocket subscribers connected now. */
  get websocketPeers(): FakeWebsocketPeer[] {
    return [...this.#websockets.peers];
  }

  /**
   * The broadcaster's internal registrations for its websocket subscribers:
   * one per distinct exact topic (hex) and glob across all of them, with how
   * many subscriptions hold each.
   */
  get websocketRegistrations(): { exact: Map<string, number>; glob: Map<string, number> } {
    return this.#websockets.registrations;
  }

  /**
   * Sends a MISSED notice for a topic to every websocket subscriber of it.
   *
   * @param topic The topic.
   * @returns Resolves once sent.
   */
  async missedToWebsockets(topic: string): Promise<void> {
    const bytes = new TextEncoder().encode(topic);
    await Promise.all([...this.#websockets.peers].filter((p) => p.matches(bytes)).map((p) => p.missed(bytes)));
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    const done = () => this.#pending.delete(p);
    p.then(done, done);
    return p;
  }
}
