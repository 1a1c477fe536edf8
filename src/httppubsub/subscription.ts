/**
 * The subscription classes both httppubsub clients return:
 * `HttpPubSubSubscription` and `MultiSubscription`.
 *
 * @module
 */

import type { StreamOptions } from "../core/source.ts";
import { Subscription } from "../core/subscription.ts";
import { toHex } from "../core/bytes.ts";
import { compileGlob } from "./glob.ts";
import { checkGlobArg, checkTopicArg, type LocalSubscription } from "./local_subscription.ts";
import type { HttpPubSubMessage } from "./message.ts";

/** Changes the reference counts of registrations by `delta`, resolving once the broadcaster agrees. */
export type ChangeRegistrations = (change: { exact: Uint8Array[]; glob: string[] }, delta: 1 | -1) => Promise<void>;

/** Options of the `subscribe…` methods. */
export interface HttpPubSubSubscribeOptions extends StreamOptions {
  /**
   * Called when a missed notice arrives for a topic this subscription
   * covers: messages may have been lost, re-read your state (lonelypsc's
   * `on_receiving`).
   */
  onMissed?: ((topic: string) => void) | undefined;
  /** A further local filter on the topics delivered (the broadcaster still sends what the glob matches). */
  filter?: ((topic: string) => boolean) | undefined;
  /**
   * Under overflow `"block"`: when the broadcaster gets its answer.
   * `"taken"` (default): once the reader took the message, so `notified`
   * counts messages read and an idle reader holds the broadcaster (up to its
   * timeout). `"buffered"`: once the message is in this subscription's
   * buffer (up to `highWaterMark`). The other overflow policies always
   * answer once the message is buffered or dropped.
   */
  hold?: "taken" | "buffered" | undefined;
}

/**
 * A subscription of an {@linkcode HttpPubSubClient}: a stream of
 * {@linkcode HttpPubSubMessage}s, plus `withTimeout(ms)`.
 *
 * @example
 * ```ts ignore
 * const sub = client.subscribeExact("orders");
 * for await (const msg of sub.withTimeout(5000)) {
 *   if (msg === null) console.log("nothing for 5 s");
 *   else console.log(msg.topic, msg.text());
 * }
 * ```
 */
export class HttpPubSubSubscription extends Subscription<HttpPubSubMessage> {
  /**
   * Iterates the messages, yielding `null` whenever none arrives within `ms`
   * of asking for the next one (lonelypsc's `with_timeout`). Locks the
   * stream; ending the loop ends the subscription.
   *
   * @param ms The wait per step, in ms.
   * @returns The iterator.
   * @throws {RangeError} When `ms` is not a positive number.
   */
  async *withTimeout(ms: number): AsyncGenerator<HttpPubSubMessage | null, void, undefined> {
    if (typeof ms !== "number" || !(ms > 0) || !Number.isFinite(ms)) {
      throw new RangeError(`Iterating with a timeout failed: ${String(ms)} is not a positive number of ms`);
    }
    const reader = this.getReader();
    let pending: Promise<ReadableStreamReadResult<HttpPubSubMessage>> | undefined;
    try {
      while (true) {
        pending ??= reader.read();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), ms));
        const r = await Promise.race([pending, timeout]);
        clearTimeout(timer);
        if (r === "timeout") {
          yield null;
          continue;
        }
        pending = undefined;
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
  }
}

/**
 * A subscription whose topics and globs change over time
 * (lonelypsc's `subscribe_multi`). Each change resolves once the
 * broadcaster has the new set.
 *
 * @example
 * ```ts ignore
 * const multi = client.subscribeMulti();
 * await multi.subscribeExact("a");
 * await multi.subscribeGlob("logs/*");
 * await multi.unsubscribeExact("a");
 * ```
 */
export class MultiSubscription extends HttpPubSubSubscription {
  #change!: ChangeRegistrations;
  #local!: LocalSubscription;

  /** @internal */
  static create(
    change: ChangeRegistrations,
    local: LocalSubscription,
    source: ConstructorParameters<typeof Subscription<HttpPubSubMessage>>[0],
    options: StreamOptions,
  ): MultiSubscription {
    const s = new MultiSubscription(source, options);
    s.#change = change;
    s.#local = local;
    return s;
  }

  /**
   * Adds an exact topic.
   *
   * @param topic The topic.
   * @returns Resolves when the broadcaster has it.
   * @throws {TypeError} On a bad topic.
   */
  subscribeExact(topic: Uint8Array | string): Promise<void> {
    const bytes = checkTopicArg(topic, "Subscribing");
    const key = toHex(bytes);
    if (this.#local.exact.has(key)) return Promise.resolve();
    this.#local.exact.add(key);
    return this.#change({ exact: [bytes], glob: [] }, 1);
  }

  /**
   * Adds a glob (SQLite GLOB: `*` crosses `/`).
   *
   * @param glob The glob.
   * @returns Resolves when the broadcaster has it.
   * @throws {TypeError} On a bad glob.
   */
  subscribeGlob(glob: string): Promise<void> {
    checkGlobArg(glob, "Subscribing");
    if (this.#local.globs.has(glob)) return Promise.resolve();
    this.#local.globs.set(glob, compileGlob(glob));
    return this.#change({ exact: [], glob: [glob] }, 1);
  }

  /**
   * Removes an exact topic.
   *
   * @param topic The topic.
   * @returns Resolves when the broadcaster has the new set.
   */
  unsubscribeExact(topic: Uint8Array | string): Promise<void> {
    const bytes = checkTopicArg(topic, "Unsubscribing");
    if (!this.#local.exact.delete(toHex(bytes))) return Promise.resolve();
    return this.#change({ exact: [bytes], glob: [] }, -1);
  }

  /**
   * Removes a glob.
   *
   * @param glob The glob.
   * @returns Resolves when the broadcaster has the new set.
   */
  unsubscribeGlob(glob: string): Promise<void> {
    checkGlobArg(glob, "Unsubscribing");
    if (!this.#local.globs.delete(glob)) return Promise.resolve();
    return this.#change({ exact: [], glob: [glob] }, -1);
  }
}
