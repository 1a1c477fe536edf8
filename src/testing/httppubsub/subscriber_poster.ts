/**
 * `SubscriberPoster`: the requests the fake broadcaster sends to
 * subscribers, receive POSTs and missed notices, each signed
 * "to-subscriber", bounded by the receive timeout and cut short by close,
 * with the answers judged as lonelypss judges them.
 *
 * @module
 */

import { withDeadline } from "../../core/async.ts";
import { encodeBase64 } from "../../core/base64.ts";
import { concatBytes } from "../../core/bytes.ts";
import type { AuthConfig } from "../../httppubsub/auth.ts";
import type { AuthDocument } from "../../httppubsub/auth_document.ts";
import { formatReprDigest } from "../../httppubsub/authorization_header.ts";
import { readCapped } from "../../httppubsub/body.ts";
import {
  encodeMissedRequest,
  encodeReceivePrefix,
  readSubscriberResponse,
  type SubscriberResponse,
} from "../../httppubsub/requests_to_subscriber.ts";
import type { FakeBroadcasterStats } from "./fake_broadcaster_stats.ts";
import type { NotifyTrace, TraceExtra } from "./notify_trace.ts";
import { readLeading } from "./read_leading.ts";

/** What a {@linkcode SubscriberPoster} needs of its broadcaster. */
export interface SubscriberPosterOptions {
  /** Verifies the subscribers' confirmations. */
  readonly toBroadcaster: AuthConfig;
  /** Signs the receives and missed notices. */
  readonly toSubscriber: AuthConfig;
  /** How long a subscriber may take to answer, in ms. */
  readonly receiveTimeoutMs: number;
  /** Delay before a missed notice, in ms. */
  readonly missedDelayMs: number;
  /** How many missed notices per failure. */
  readonly missedBurst: number;
  /** Reaches the subscribers. */
  readonly fetch: typeof fetch;
  /** The counters to keep. */
  readonly stats: FakeBroadcasterStats;
  /** Aborts every request under way when the broadcaster closes. */
  readonly signal: AbortSignal;
  /** Keeps a missed notice's promise until it settles. */
  readonly track: (p: Promise<void>) => void;
}

/** What a receive came to: the subscribers it confirmed, "unsubscribe immediately", or a failure. */
export type ReceiveOutcome = number | "unsubscribe" | undefined;

const EMPTY = new Uint8Array(0);
const OCTET = "application/octet-stream";

function stripFragment(url: string): string {
  const i = url.indexOf("#");
  return i < 0 ? url : url.slice(0, i);
}

/**
 * Sends receives and missed notices and judges the answers.
 *
 * @example
 * ```ts ignore
 * const poster = new SubscriberPoster({ ...auth, receiveTimeoutMs: 5000, missedDelayMs: 0, missedBurst: 1,
 *   fetch, stats: zeroStats(), signal: abort.signal, track: () => {} });
 * const n = await poster.receive(url, topic, data, sha512, undefined);
 * ```
 */
export class SubscriberPoster {
  readonly #o: SubscriberPosterOptions;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  /**
   * Creates the poster.
   *
   * @param options Auth, timeouts, fetch, counters and the close signal.
   */
  constructor(options: SubscriberPosterOptions) {
    this.#o = options;
  }

  /** Stops the missed notices not sent yet. */
  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  /**
   * POSTs one receive and judges the answer as lonelypss does: the status is
   * ignored; the body's fields are read in order (what follows is ignored);
   * the confirmation is verified for the identifier it echoes.
   *
   * @param url The subscriber url, with fragment (signed with it, sent without).
   * @param topic The topic.
   * @param data The message.
   * @param sha512 Its SHA-512.
   * @param trace The notify's trace, if it has one.
   * @returns How many subscribers it confirmed, `"unsubscribe"`, or `undefined` on failure.
   */
  async receive(
    url: string,
    topic: Uint8Array,
    data: Uint8Array,
    sha512: Uint8Array,
    trace: NotifyTrace | undefined,
  ): Promise<ReceiveOutcome> {
    const o = this.#o;
    const identifier = crypto.getRandomValues(new Uint8Array(8));
    trace?.event("sending_receive", { identifier_b64url: encodeBase64(identifier, { url: true }) });
    const prefix = encodeReceivePrefix({ tracing: EMPTY, topic, identifier, length: data.length });
    const headers: Record<string, string> = { "content-type": OCTET, "repr-digest": formatReprDigest(sha512) };
    const authorization = await this.#sign({ type: "receive", url, topic, identifier, sha512 });
    if (authorization !== undefined) headers.authorization = authorization;
    o.stats.receives++;
    let status: number | undefined;
    let answer: Uint8Array | undefined;
    try {
      answer = await withDeadline(o.receiveTimeoutMs, async (signal) => {
        const res = await o.fetch(stripFragment(url), {
          method: "POST",
          headers,
          body: concatBytes([prefix, data]),
          signal,
        });
        status = res.status;
        trace?.event("response_received", { status_code: res.status });
        // The status is ignored, as lonelypss does: only the body counts.
        return await readCapped(res, 4 * 0xffff);
      }, { signal: o.signal });
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
    const ok = await o.toBroadcaster.verify(
      { type: "confirm-receive", identifier: res.identifier, numSubscribers: res.numSubscribers, url },
      res.authorization,
      res.tracing,
    );
    if (ok !== "ok") return outcome({ result: ok.toUpperCase() }, "bad_auth_result");
    trace?.event("receive_confirmed", { num_subscribers: res.numSubscribers });
    return res.numSubscribers;
  }

  /**
   * Sends the missed notices of one failure after the missed delay.
   *
   * @param recovery The recovery url.
   * @param topic The topic.
   * @returns When they are due, in ms since the epoch.
   */
  scheduleMissed(recovery: string, topic: Uint8Array): number {
    const o = this.#o;
    const due = Date.now() + o.missedDelayMs;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      for (let i = 0; i < o.missedBurst; i++) o.track(this.#sendMissed(recovery, topic));
    }, o.missedDelayMs);
    this.#timers.add(timer);
    return due;
  }

  async #sign(doc: AuthDocument): Promise<string | undefined> {
    return await this.#o.toSubscriber.authorize(doc, EMPTY);
  }

  async #sendMissed(recovery: string, topic: Uint8Array): Promise<void> {
    const o = this.#o;
    const headers: Record<string, string> = { "content-type": OCTET };
    const authorization = await this.#sign({ type: "missed", recovery, topic });
    if (authorization !== undefined) headers.authorization = authorization;
    o.stats.missedSent++;
    try {
      const answer = await withDeadline(o.receiveTimeoutMs, async (signal) => {
        const res = await o.fetch(stripFragment(recovery), {
          method: "POST",
          headers,
          body: encodeMissedRequest({ tracing: EMPTY, topic }),
          signal,
        });
        return await readCapped(res, 4 * 0xffff);
      }, { signal: o.signal });
      if (answer === undefined) return;
      const res = readLeading(readSubscriberResponse, answer);
      if (res?.type !== "confirm-missed") return;
      const ok = await o.toBroadcaster.verify(
        { type: "confirm-missed", topic, url: recovery },
        res.authorization,
        res.tracing,
      );
      if (ok === "ok") o.stats.missedConfirmed++;
    } catch { /* a failed missed notice is dropped */ }
  }
}
