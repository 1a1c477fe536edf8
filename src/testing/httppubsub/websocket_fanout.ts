/**
 * `WebsocketFanout`: how lonelypss feeds its websocket subscribers. The
 * broadcaster holds one internal registration per distinct exact topic and
 * per distinct glob across all its websocket clients (its own subscription
 * to `/v1/receive_for_websockets`, counted per client), and each of those
 * registrations that a notify matches hands the message to every websocket
 * client the topic is relevant to. So one client subscribed to `a/1` and
 * `a/*` gets a notify to `a/1` twice, and so does every other client whose
 * subscriptions cover `a/1` (lonelypss 0.0.11, `SimpleFanoutWSReceiver`).
 *
 * @module
 */

import { toHex as hex } from "../../core/bytes.ts";
import { compileGlob } from "../../httppubsub/glob.ts";
import type { FakeWebsocketPeer } from "./fake_websocket.ts";

/** One internal registration that matched a topic. */
export interface FanoutRow {
  /** `"exact"` or `"glob"`. */
  readonly kind: "exact" | "glob";
  /** The glob, for a glob row. */
  readonly glob: string | undefined;
  /** Its place in the broadcaster's insertion order. */
  readonly seq: number;
}

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The internal registrations and the peers they feed.
 *
 * @example
 * ```ts ignore
 * const fanout = new WebsocketFanout(() => seq++);
 * fanout.change("exact", new TextEncoder().encode("a/1"), 1);
 * console.log(fanout.rows(new TextEncoder().encode("a/1")).length); // 1
 * ```
 */
export class WebsocketFanout {
  /** The connected peers, in connection order. */
  readonly peers: Set<FakeWebsocketPeer> = new Set();
  readonly #exact = new Map<string, { count: number; seq: number }>();
  readonly #glob = new Map<string, { count: number; seq: number; match: (t: string) => boolean }>();
  readonly #nextSeq: () => number;

  /**
   * Creates the fan-out.
   *
   * @param nextSeq Hands out the broadcaster's insertion order.
   */
  constructor(nextSeq: () => number) {
    this.#nextSeq = nextSeq;
  }

  /**
   * Counts one websocket subscription in or out; the internal registration
   * exists while its count is above 0.
   *
   * @param kind `"exact"` or `"glob"`.
   * @param key The topic bytes or the glob.
   * @param delta +1 on subscribe, -1 on unsubscribe or close.
   */
  change(kind: "exact" | "glob", key: Uint8Array | string, delta: 1 | -1): void {
    if (kind === "exact") {
      const k = hex(key as Uint8Array);
      const e = this.#exact.get(k);
      if (e === undefined) {
        if (delta > 0) this.#exact.set(k, { count: 1, seq: this.#nextSeq() });
      } else if ((e.count += delta) <= 0) this.#exact.delete(k);
      return;
    }
    const g = key as string;
    const e = this.#glob.get(g);
    if (e === undefined) {
      if (delta > 0) this.#glob.set(g, { count: 1, seq: this.#nextSeq(), match: compileGlob(g) });
    } else if ((e.count += delta) <= 0) this.#glob.delete(g);
  }

  /**
   * The internal registrations a topic matches: at most one exact row, and
   * one row per matching glob.
   *
   * @param topic The topic.
   * @returns The rows.
   */
  rows(topic: Uint8Array): FanoutRow[] {
    const out: FanoutRow[] = [];
    const e = this.#exact.get(hex(topic));
    if (e !== undefined) out.push({ kind: "exact", glob: undefined, seq: e.seq });
    let text: string;
    try {
      text = strict.decode(topic);
    } catch {
      return out;
    }
    for (const [glob, g] of this.#glob) if (g.match(text)) out.push({ kind: "glob", glob, seq: g.seq });
    return out;
  }

  /** The internal registrations and their counts, for tests. */
  get registrations(): { exact: Map<string, number>; glob: Map<string, number> } {
    return {
      exact: new Map([...this.#exact].map(([k, v]) => [k, v.count])),
      glob: new Map([...this.#glob].map(([k, v]) => [k, v.count])),
    };
  }

  /**
   * Hands one copy of a message to every peer the topic is relevant to, as
   * one internal receive does.
   *
   * @param topic The topic.
   * @param data The body.
   * @param sha512 Its SHA-512.
   * @param track Keeps each delivery's promise until it settles.
   * @returns How many peers it went to (the count lonelypss confirms).
   */
  deliver(
    topic: Uint8Array,
    data: Uint8Array,
    sha512: Uint8Array,
    track: (p: Promise<void>) => void,
  ): number {
    let n = 0;
    for (const peer of this.peers) {
      if (!peer.matches(topic)) continue;
      track(peer.deliver(topic, data, sha512));
      n++;
    }
    return n;
  }

  /**
   * Forgets a peer whose socket closed, counting its subscriptions out.
   *
   * @param peer The peer.
   */
  remove(peer: FakeWebsocketPeer): void {
    if (!this.peers.delete(peer)) return;
    for (const topic of peer.exact.values()) this.change("exact", topic, -1);
    for (const glob of peer.globs.keys()) this.change("glob", glob, -1);
  }
}
