/**
 * `SubscriptionTable`: what a messagebus client has asked the server for
 * (subscriptions with their counts, notification registrations), restored
 * on every reconnection.
 *
 * @module
 */

import type { BusMessage } from "./codec.ts";
import { subscriptionKey } from "./options.ts";

/** The live subscriptions and notification registrations of one client. */
export class SubscriptionTable {
  readonly #subscriptions = new Map<string, { feed: string; topic: string; count: number }>();
  readonly #notifications = new Map<string, number>();

  /** Counts a subscription to (feed, topic) up or down (never below 0). */
  track(feed: string, topic: string, delta: number): void {
    const k = subscriptionKey(feed, topic);
    const s = this.#subscriptions.get(k) ?? { feed, topic, count: 0 };
    s.count = Math.max(0, s.count + delta);
    if (s.count === 0) this.#subscriptions.delete(k);
    else this.#subscriptions.set(k, s);
  }

  /** Counts a notification registration of `feed` up or down. */
  trackNotifications(feed: string, delta: number): void {
    const n = (this.#notifications.get(feed) ?? 0) + delta;
    if (n <= 0) this.#notifications.delete(feed);
    else this.#notifications.set(feed, n);
  }

  /** How many registrations of `feed` are live. */
  notificationCount(feed: string): number {
    return this.#notifications.get(feed) ?? 0;
  }

  /**
   * The requests that restore the table on a new connection: as many adds
   * per (feed, topic) as are live, then one registration per feed.
   */
  restoreRequests(encode: (message: BusMessage) => Uint8Array): Uint8Array[] {
    const restore: Uint8Array[] = [];
    for (const s of this.#subscriptions.values()) {
      const bytes = encode({ type: 5, feed: s.feed, topic: s.topic, isAdd: true });
      for (let i = 0; i < s.count; i++) restore.push(bytes);
    }
    for (const [feed, n] of this.#notifications) {
      if (n > 0) restore.push(encode({ type: 4, feed, isAdd: true }));
    }
    return restore;
  }
}
