/**
 * `SubscriptionStore`: the fake broadcaster's subscription tables, one row
 * per url and exact topic or glob, as lonelypss keeps them: rows carry
 * their recovery url and their insertion order, which a notify's fan-out
 * follows.
 *
 * @module
 */

import { toHex as hex } from "../../core/bytes.ts";
import { compileGlob } from "../../httppubsub/glob.ts";
import { lossyUtf8, utf8OrUndefined } from "../../httppubsub/local_subscription.ts";
import type { SubscriptionSet } from "../../httppubsub/strong_etag.ts";

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

/** One stored row a topic matched. */
export interface StoreRow {
  /** `"exact"` or `"glob"`. */
  readonly kind: "exact" | "glob";
  /** The glob, for a glob row. */
  readonly glob: string | undefined;
  /** Its place in the insertion order. */
  readonly seq: number;
  /** The subscriber url, with fragment. */
  readonly url: string;
  /** The recovery url, "" for none. */
  readonly recovery: string;
  /** Deletes the row; `false` if it was gone already. */
  readonly remove: () => boolean;
}

/** One url's rows; `seq` is the insertion order lonelypss's table scan follows. */
interface UrlSubs {
  exact: Map<string, { topic: Uint8Array; recovery: string; seq: number }>;
  glob: Map<string, { match: (t: string) => boolean; recovery: string; seq: number }>;
}

/**
 * The subscriptions of every url, and the insertion order shared with the
 * broadcaster's internal websocket registrations.
 *
 * @example
 * ```ts ignore
 * const store = new SubscriptionStore();
 * store.add("http://127.0.0.1:1/v1/receive", "glob", "a/*", "");
 * console.log(store.match(new TextEncoder().encode("a/1")).length); // 1
 * ```
 */
export class SubscriptionStore {
  readonly #subs = new Map<string, UrlSubs>();
  /** Insertion order of every row, HTTP and internal, as the subscription tables keep it. */
  #seq = 0;

  /**
   * Hands out the next place in the insertion order.
   *
   * @returns The place.
   */
  nextSeq(): number {
    return this.#seq++;
  }

  /**
   * Stores one subscription, last in the order.
   *
   * @param url The subscriber url.
   * @param kind `"exact"` or `"glob"`.
   * @param key The topic bytes (exact) or the glob.
   * @param recovery The recovery url, "" for none.
   * @returns `false` if the url holds it already (nothing changes).
   */
  add(url: string, kind: "exact" | "glob", key: Uint8Array | string, recovery: string): boolean {
    let s = this.#subs.get(url);
    if (s === undefined) this.#subs.set(url, s = { exact: new Map(), glob: new Map() });
    if (kind === "exact") {
      const topic = key as Uint8Array;
      const k = hex(topic);
      if (s.exact.has(k)) return false;
      s.exact.set(k, { topic: topic.slice(), recovery, seq: this.#seq++ });
    } else {
      const glob = key as string;
      if (s.glob.has(glob)) return false;
      s.glob.set(glob, { match: compileGlob(glob), recovery, seq: this.#seq++ });
    }
    return true;
  }

  /**
   * Deletes one subscription.
   *
   * @param url The subscriber url.
   * @param kind `"exact"` or `"glob"`.
   * @param key The topic bytes (exact) or the glob.
   * @returns `false` if the url did not hold it.
   */
  remove(url: string, kind: "exact" | "glob", key: Uint8Array | string): boolean {
    const s = this.#subs.get(url);
    const removed = kind === "exact" ? s?.exact.delete(hex(key as Uint8Array)) : s?.glob.delete(key as string);
    return removed === true;
  }

  /**
   * Replaces a url's subscriptions with the given set: rows that stay keep
   * their place in the order, new ones go last (exact rows first, then
   * globs, each in the order given).
   *
   * @param url The subscriber url.
   * @param set The subscriptions it holds from now on.
   */
  replace(url: string, set: SubscriptionSet): void {
    const old = this.#subs.get(url);
    const s: UrlSubs = { exact: new Map(), glob: new Map() };
    for (const e of set.exact) {
      const k = hex(e.key);
      s.exact.set(k, { topic: e.key.slice(), recovery: e.recovery, seq: old?.exact.get(k)?.seq ?? this.#seq++ });
    }
    for (const e of set.glob) {
      const seq = old?.glob.get(e.key)?.seq ?? this.#seq++;
      s.glob.set(e.key, { match: compileGlob(e.key), recovery: e.recovery, seq });
    }
    if (s.exact.size === 0 && s.glob.size === 0) this.#subs.delete(url);
    else this.#subs.set(url, s);
  }

  /**
   * A url's subscriptions as the strong etag covers them.
   *
   * @param url The subscriber url.
   * @returns Its exact topics and globs, in stored order.
   */
  set(url: string): SubscriptionSet {
    const s = this.#subs.get(url);
    if (s === undefined) return { exact: [], glob: [] };
    return {
      exact: [...s.exact.values()].map((e) => ({ key: e.topic, recovery: e.recovery })),
      glob: [...s.glob].map(([key, e]) => ({ key, recovery: e.recovery })),
    };
  }

  /**
   * Lists the stored subscriptions.
   *
   * @param url Only those of this url.
   * @returns The subscriptions.
   */
  list(url?: string): FakeSubscription[] {
    const out: FakeSubscription[] = [];
    for (const [u, s] of this.#subs) {
      if (url !== undefined && u !== url) continue;
      for (const e of s.exact.values()) {
        out.push({ url: u, kind: "exact", key: lossyUtf8.decode(e.topic), recovery: e.recovery });
      }
      for (const [g, e] of s.glob) out.push({ url: u, kind: "glob", key: g, recovery: e.recovery });
    }
    return out;
  }

  /**
   * The rows a topic matches, url by url: its exact row, then the globs
   * that match it (SQLite GLOB semantics; none for a topic that is not
   * UTF-8).
   *
   * @param topic The topic.
   * @returns The rows, each able to delete itself.
   */
  match(topic: Uint8Array): StoreRow[] {
    const key = hex(topic);
    const text = utf8OrUndefined(topic);
    const rows: StoreRow[] = [];
    for (const [url, s] of this.#subs) {
      const e = s.exact.get(key);
      if (e !== undefined) {
        rows.push({
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
        rows.push({ kind: "glob", glob: g, seq: ge.seq, url, recovery: ge.recovery, remove: () => s.glob.delete(g) });
      }
    }
    return rows;
  }
}
