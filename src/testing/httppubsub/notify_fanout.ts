/**
 * `NotifyFanout`: how the fake broadcaster hands one notified message to
 * its subscribers: every row the topic matches, HTTP subscriptions and
 * internal websocket registrations alike, one after another in lonelypss's
 * order, counting what each confirms, honouring "unsubscribe immediately"
 * and scheduling missed notices after failures.
 *
 * @module
 */

import { encodeBase64 } from "../../core/base64.ts";
import type { FakeBroadcasterStats } from "./fake_broadcaster_stats.ts";
import type { NotifyTrace } from "./notify_trace.ts";
import type { SubscriberPoster } from "./subscriber_poster.ts";
import type { SubscriptionStore } from "./subscription_store.ts";
import type { WebsocketFanout } from "./websocket_fanout.ts";

/** What a {@linkcode NotifyFanout} reads and drives. */
export interface NotifyFanoutOptions {
  /** The HTTP subscriptions. */
  readonly store: SubscriptionStore;
  /** The internal websocket registrations and their peers. */
  readonly websockets: WebsocketFanout;
  /** Sends the receives and missed notices. */
  readonly poster: SubscriberPoster;
  /** The counters to keep. */
  readonly stats: FakeBroadcasterStats;
  /** Whether the broadcaster is closing: the fan-out stops at the next row. */
  readonly closed: () => boolean;
  /** Keeps a websocket delivery's promise until it settles. */
  readonly track: (p: Promise<void>) => void;
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

/**
 * Fans notified messages out.
 *
 * @example
 * ```ts ignore
 * const fanout = new NotifyFanout({ store, websockets, poster, stats, closed: () => false, track });
 * const subscribers = await fanout.fanOut(topic, data, sha512, new NotifyTrace(), origin);
 * ```
 */
export class NotifyFanout {
  readonly #o: NotifyFanoutOptions;

  /**
   * Creates the fan-out.
   *
   * @param options What it reads and drives.
   */
  constructor(options: NotifyFanoutOptions) {
    this.#o = options;
  }

  /**
   * Sends the message to every row it matches, one after another, in
   * lonelypss's order: the exact rows, then the glob rows, each in the order
   * they were stored. An HTTP subscription gets a receive POST and counts what
   * it confirms; an internal websocket registration hands a copy to every
   * websocket peer the topic is relevant to and counts each (so a peer
   * covered by two registrations gets two copies).
   *
   * @param topic The topic.
   * @param data The message.
   * @param sha512 Its SHA-512.
   * @param trace The notify's trace; `undefined` for a websocket notify.
   * @param origin The broadcaster's origin, for the internal registrations' url in the trace.
   * @returns The subscribers confirmed, summed.
   */
  async fanOut(
    topic: Uint8Array,
    data: Uint8Array,
    sha512: Uint8Array,
    trace: NotifyTrace | undefined,
    origin: string,
  ): Promise<number> {
    const o = this.#o;
    const targets: Target[] = o.store.match(topic);
    for (const row of o.websockets.rows(topic)) {
      targets.push({ ...row, url: undefined, recovery: "", remove: () => false });
    }
    targets.sort((a, b) => a.kind === b.kind ? a.seq - b.seq : a.kind === "exact" ? -1 : 1);
    let total = 0;
    for (const t of targets) {
      if (o.closed()) break;
      const url = t.url ?? `${origin}/v1/receive_for_websockets`;
      if (t.kind === "exact") trace?.event("exact_subscriber_found", { url });
      else trace?.event("glob_subscriber_found", { glob: t.glob!, url });
      if (t.url === undefined) {
        // lonelypss POSTs to itself; its websocket receiver answers at once with the peers it queued the copy for.
        trace?.event("sending_receive", {
          identifier_b64url: encodeBase64(crypto.getRandomValues(new Uint8Array(8)), { url: true }),
        });
        const n = o.websockets.deliver(topic, data, sha512, o.track);
        trace?.event("response_received", { status_code: 200 });
        trace?.event("receive_confirmed", { num_subscribers: n });
        total += n;
        continue;
      }
      const n = await o.poster.receive(t.url, topic, data, sha512, trace);
      if (n === "unsubscribe") {
        trace?.event("unsubscribe_immediate_requested");
        if (t.remove()) {
          o.stats.unsubscribedImmediately++;
          trace?.event("unsubscribe_immediate_success");
        } else trace?.event("unsubscribe_immediate_not_found");
      } else if (n === undefined) {
        o.stats.failedReceives++;
        trace?.event("handle_missed_start");
        if (t.recovery === "") trace?.event("handle_missed_skipped", { recovery: null, next_retry_at: null });
        else {
          const due = o.poster.scheduleMissed(t.recovery, topic);
          trace?.event("handle_missed_success", { recovery: t.recovery, next_retry_at: due / 1000 });
        }
      } else {
        o.stats.confirmed++;
        total += n;
      }
    }
    trace?.event("no_more_subscribers");
    return total;
  }
}
