/**
 * `SubscriptionRegistry`: the subscriptions of one httppubsub client and the
 * reference-counted topics and globs they register, shared by
 * `HttpPubSubClient` (which keeps the broadcaster in sync with
 * `set_subscriptions`) and `WebsocketPubSubClient` (which sends one
 * SUBSCRIBE / UNSUBSCRIBE frame per registration). Each client drives it
 * through a {@linkcode RegistryTransport}.
 *
 * What stays in the clients on purpose: how a copy of a message is told
 * apart. The broadcaster sends one copy per matching registration; the HTTP
 * client counts `rows - 1` copies of the same topic and body within a window,
 * the websocket client (whose copies also come from other clients'
 * registrations) takes any same topic and body within a time window for one.
 *
 * @module
 */

import { ClosedError } from "../core/errors.ts";
import type { PushController } from "../core/source.ts";
import type { Subscription } from "../core/subscription.ts";
import { toHex } from "../core/bytes.ts";
import { compileGlob } from "./glob.ts";
import type { HttpPubSubMessage } from "./message.ts";
import {
  addExact,
  addGlobs,
  globArgs,
  type LocalSubscription,
  localSubscription,
  lossyUtf8,
  matches,
  topicArgs,
} from "./local_subscription.ts";
import { type HttpPubSubSubscribeOptions, HttpPubSubSubscription, MultiSubscription } from "./subscription.ts";

/** One registration on the broadcaster: an exact topic (keyed by its hex) or a glob (keyed by itself). */
export type Registration =
  | { readonly kind: "exact"; readonly key: string; readonly bytes: Uint8Array }
  | { readonly kind: "glob"; readonly key: string; readonly glob: string };

/** The registrations a change of reference counts added (first reference) or removed (last one gone). */
export interface RegistrationChange {
  readonly added: readonly Registration[];
  readonly removed: readonly Registration[];
}

/** How a client carries registrations to its broadcaster. */
export interface RegistryTransport {
  /** Whether the client is closed (new subscriptions are refused). */
  isClosed(): boolean;
  /** Whether the link failed for good: a subscription that ends then sends no removal. */
  hasFailed(): boolean;
  /** Made ready before a subscription registers (HTTP: the receiver started; websocket: connected). */
  prepare(): Promise<void>;
  /**
   * Carries a change to the broadcaster. Called on every change, even an
   * empty one (it then resolves once the work in flight is done).
   */
  apply(change: RegistrationChange): Promise<void>;
}

/** An exact topic's registration: its bytes and how many subscriptions hold it. */
export interface ExactEntry {
  readonly bytes: Uint8Array;
  count: number;
}

/** A glob's registration: its matcher and how many subscriptions hold it. */
export interface GlobEntry {
  readonly match: (topic: string) => boolean;
  count: number;
}

/** The subscriptions of one client and their reference-counted registrations. */
export class SubscriptionRegistry {
  /** Exact topics registered, by hex. */
  readonly exact: Map<string, ExactEntry> = new Map();
  /** Globs registered. */
  readonly globs: Map<string, GlobEntry> = new Map();
  /** The subscriptions started and not ended. */
  readonly subs: Set<LocalSubscription> = new Set();
  readonly #streams = new Set<Subscription<HttpPubSubMessage>>();
  readonly #transport: RegistryTransport;

  /**
   * @param transport How registrations reach the broadcaster.
   */
  constructor(transport: RegistryTransport) {
    this.#transport = transport;
  }

  /**
   * Changes the reference counts of topics and globs by `delta` and carries
   * the registrations that appeared or went to the broadcaster.
   *
   * @param change The topics and globs.
   * @param delta One more or one fewer reference each.
   * @returns Resolves once the broadcaster has the change.
   */
  change(change: { exact: Uint8Array[]; glob: string[] }, delta: 1 | -1): Promise<void> {
    const moved: Registration[] = [];
    for (const bytes of change.exact) {
      const key = toHex(bytes);
      const e = this.exact.get(key);
      if (delta > 0) {
        if (e === undefined) {
          this.exact.set(key, { bytes: bytes.slice(), count: 1 });
          moved.push({ kind: "exact", key, bytes });
        } else e.count++;
      } else if (e !== undefined && --e.count === 0) {
        this.exact.delete(key);
        moved.push({ kind: "exact", key, bytes });
      }
    }
    for (const glob of change.glob) {
      const g = this.globs.get(glob);
      if (delta > 0) {
        if (g === undefined) {
          this.globs.set(glob, { match: compileGlob(glob), count: 1 });
          moved.push({ kind: "glob", key: glob, glob });
        } else g.count++;
      } else if (g !== undefined && --g.count === 0) {
        this.globs.delete(glob);
        moved.push({ kind: "glob", key: glob, glob });
      }
    }
    return this.#transport.apply(delta > 0 ? { added: moved, removed: [] } : { added: [], removed: moved });
  }

  /**
   * Subscribes to one or more exact topics.
   *
   * @param topic The topic, or several.
   * @param options The subscribe options.
   * @returns The subscription.
   * @throws {TypeError} On a bad topic or option.
   * @throws {RangeError} On a too-long topic.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeExact(
    topic: Uint8Array | string | (Uint8Array | string)[],
    options: HttpPubSubSubscribeOptions,
  ): HttpPubSubSubscription {
    const topics = topicArgs(topic);
    const local = localSubscription(options);
    return this.#open(local, { exact: addExact(local, topics), glob: [] }, options, false);
  }

  /**
   * Subscribes to one or more globs.
   *
   * @param glob The glob, or several.
   * @param options The subscribe options.
   * @returns The subscription.
   * @throws {TypeError} On a bad glob or option.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeGlob(glob: string | string[], options: HttpPubSubSubscribeOptions): HttpPubSubSubscription {
    const globs = globArgs(glob);
    const local = localSubscription(options);
    return this.#open(local, { exact: [], glob: addGlobs(local, globs) }, options, false);
  }

  /**
   * A subscription that starts empty.
   *
   * @param options The subscribe options.
   * @returns The subscription.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeMulti(options: HttpPubSubSubscribeOptions): MultiSubscription {
    return this.#open(localSubscription(options), { exact: [], glob: [] }, options, true) as MultiSubscription;
  }

  #open(
    local: LocalSubscription,
    registrations: { exact: Uint8Array[]; glob: string[] },
    options: HttpPubSubSubscribeOptions,
    multi: boolean,
  ): HttpPubSubSubscription {
    if (this.#transport.isClosed()) throw new ClosedError("Subscribing failed: the client is closed");
    let registered = false;
    const source = {
      kind: "push" as const,
      start: async (controller: PushController<HttpPubSubMessage>) => {
        await this.#transport.prepare();
        local.controller = controller;
        this.subs.add(local);
        registered = true;
        await this.change(registrations, 1);
      },
      cancel: async () => {
        this.subs.delete(local);
        local.controller = undefined;
        if (!registered) return;
        registered = false;
        const exact = [...local.exact].map((k) => this.exact.get(k)?.bytes).filter((b) => b !== undefined);
        const glob = [...local.globs.keys()];
        local.exact.clear();
        local.globs.clear();
        if (this.#transport.hasFailed()) return;
        try {
          await this.change({ exact, glob }, -1);
        } catch { /* the broadcaster drops us, unsubscribes immediately later, or the socket is gone */ }
      },
    };
    const sub = multi
      ? MultiSubscription.create((c, d) => this.change(c, d), local, source, options)
      : new HttpPubSubSubscription(source, options);
    this.#streams.add(sub);
    void sub.closed.then(() => this.#streams.delete(sub));
    return sub;
  }

  /** The topics and globs currently registered, with their reference counts. */
  get registrations(): { exact: Map<string, number>; glob: Map<string, number> } {
    return {
      exact: new Map([...this.exact.values()].map((e) => [lossyUtf8.decode(e.bytes), e.count])),
      glob: new Map([...this.globs].map(([g, v]) => [g, v.count])),
    };
  }

  /**
   * How many registrations a topic matches (the copies the broadcaster sends).
   *
   * @param key The topic's hex.
   * @param text The topic as strict UTF-8, or `undefined` (no glob matches it).
   * @returns The count.
   */
  rows(key: string, text: string | undefined): number {
    let rows = this.exact.has(key) ? 1 : 0;
    if (text !== undefined) {
      for (const g of this.globs.values()) if (g.match(text)) rows++;
    }
    return rows;
  }

  /**
   * The started subscriptions a topic is delivered to.
   *
   * @param key The topic's hex.
   * @param text The topic as strict UTF-8, or `undefined`.
   * @returns The subscriptions.
   */
  targets(key: string, text: string | undefined): LocalSubscription[] {
    return [...this.subs].filter((s) => s.controller !== undefined && matches(s, key, text));
  }

  /**
   * Calls `onMissed` of the subscriptions `wanted` picks; a callback's failure is the user's.
   *
   * @param topic The topic reported.
   * @param wanted Which subscriptions cover it.
   */
  missed(topic: string, wanted: (s: LocalSubscription) => boolean): void {
    for (const s of this.subs) {
      if (s.onMissed === undefined || !wanted(s)) continue;
      try {
        s.onMissed(topic);
      } catch { /* a user callback's failure is not the client's */ }
    }
  }

  /**
   * Ends every started subscription with `err`.
   *
   * @param err The error the readers see.
   */
  endAll(err: Error): void {
    for (const s of this.subs) s.controller?.error(err);
  }

  /**
   * Closes every subscription.
   *
   * @returns Resolves when each has closed (failures ignored).
   */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.#streams].map((s) => s.close()));
  }
}

/**
 * Hands one message to a subscription: waits until the reader took it
 * (`untilTaken`) or until it is buffered.
 *
 * @param s The subscription.
 * @param message The message.
 * @returns Resolves when handed over; rejects when the subscription ended.
 */
export function handOver(s: LocalSubscription, message: HttpPubSubMessage): Promise<void> {
  return s.untilTaken ? s.controller!.deliver(message) : s.controller!.push(message);
}
