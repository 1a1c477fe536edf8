/**
 * `bridge()`: pipes one system into another, settling each source message
 * only after the target took it.
 *
 * @module
 */

import { ClosedError } from "./errors.ts";
import { isSettleable, type Message } from "./message.ts";
import type { PublishData, PublishOptions, PublishReceipt } from "./pubsub.ts";

/** What a bridge publishes into: any adapter, or anything with the contract's `publish()`. */
export interface BridgeTarget {
  /** Publishes one message. */
  publish(topic: string, data: PublishData, options?: PublishOptions): Promise<PublishReceipt>;
}

/** What a transform may return: a message to forward, or `null` to skip (and settle) it. */
export type BridgeTransformResult = Message | null;

/** Options of {@linkcode bridge}. */
export interface BridgeOptions<M extends Message> {
  /** The target topic; default each message's own topic. */
  topic?: string | undefined;
  /** Rewrites or filters each message before it is published. */
  transform?: ((message: M) => BridgeTransformResult | Promise<BridgeTransformResult>) | undefined;
  /** Stops the bridge: the source is cancelled (what was not yet published is not settled). */
  signal?: AbortSignal | undefined;
  /**
   * What a failed publish does: `"nak"` (default) naks the source message
   * (where it settles) and goes on; `"stop"` ends the bridge with the error.
   */
  onError?: "nak" | "stop" | undefined;
  /** Delay asked of the source before it redelivers a nak'd message, in ms. */
  nakDelayMs?: number | undefined;
}

/**
 * Counters of a bridge. `confirmed` counts what the target confirmed (where
 * `capabilities.confirmedPublish` is true: at-least-once when the source
 * settles), `written` what it only reports written (at-most-once on a crash
 * of the target).
 */
export interface BridgeStats {
  /** Messages read from the source. */
  received: number;
  /** Published and confirmed by the target. */
  confirmed: number;
  /** Published, the target reporting only that the bytes were written. */
  written: number;
  /** Dropped by the transform (and settled). */
  skipped: number;
  /** Publishes that failed. */
  failed: number;
  /** Source messages acked after their publish. */
  acked: number;
  /** Source messages nak'd after a failed publish (they come again). */
  naked: number;
}

/** A running bridge. */
export interface Bridge {
  /** Live counters. */
  readonly stats: Readonly<BridgeStats>;
  /** Settles when the source ends, the bridge is stopped, or (with `onError: "stop"`) a publish fails. */
  readonly done: Promise<BridgeStats>;
  /** Stops the bridge; resolves when it has stopped. */
  stop(reason?: unknown): Promise<BridgeStats>;
}

/**
 * Pipes `source` into `target`, one message at a time: each message is
 * published (after `transform`), and only once the target resolved the
 * publish is the source message acked; a failed publish naks it. With a
 * source that settles (JetStream, MDB with manual acks) and a target that
 * confirms (JetStream PubAck, httppubsub `notified`, stream-sea), that is
 * at-least-once delivery: nothing is lost, and a crash between publish and
 * ack gives a duplicate. Where the target only reports "written" (PostTroll,
 * messagebus), `stats.written` counts those.
 *
 * @example Forwarding with a transform
 * ```ts
 * import { bridge, createMessage } from "@x/pubsub";
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const from = new MemoryPubSub({ settle: true });
 * const to = new MemoryPubSub();
 * const out = to.subscribe("copied");
 * const b = bridge(from.subscribe("orders"), to, {
 *   topic: "copied",
 *   transform: (m) => createMessage(m.topic, m.text().toUpperCase()),
 * });
 * await from.publish("orders", "kettle");
 * console.log((await out.getReader().read()).value?.text()); // KETTLE
 * console.log((await b.stop()).acked); // 1
 * await Promise.all([from.close(), to.close()]);
 * ```
 *
 * @param source Any stream of messages, typically a `Subscription`.
 * @param target Where to publish.
 * @param options Target topic, transform, signal, error handling.
 * @returns The running bridge.
 * @throws {TypeError} When the source is locked or the target has no `publish()`.
 */
export function bridge<M extends Message>(
  source: ReadableStream<M>,
  target: BridgeTarget,
  options: BridgeOptions<M> = {},
): Bridge {
  if (!(source instanceof ReadableStream)) throw new TypeError("Bridging failed: the source is not a ReadableStream");
  if (source.locked) throw new TypeError("Bridging failed: the source stream is locked");
  if (typeof target?.publish !== "function") throw new TypeError("Bridging failed: the target has no publish()");
  const onError = options.onError ?? "nak";
  if (onError !== "nak" && onError !== "stop") {
    throw new TypeError(`Bridging failed: onError ${JSON.stringify(onError)} is neither "nak" nor "stop"`);
  }
  const stats: BridgeStats = { received: 0, confirmed: 0, written: 0, skipped: 0, failed: 0, acked: 0, naked: 0 };
  const reader = source.getReader();
  let stopping = false;

  const stop = async (reason?: unknown): Promise<BridgeStats> => {
    if (!stopping) {
      stopping = true;
      await reader.cancel(reason).catch(() => {});
    }
    return done;
  };
  const onAbort = () => void stop(options.signal?.reason);

  const run = async (): Promise<BridgeStats> => {
    try {
      while (!stopping) {
        const r = await reader.read();
        if (r.done) break;
        const msg = r.value;
        stats.received++;
        let out: BridgeTransformResult = msg;
        try {
          if (options.transform !== undefined) out = await options.transform(msg);
          if (out === null) {
            stats.skipped++;
            if (isSettleable(msg)) await msg.ack();
            continue;
          }
          const headers = out.headers;
          let hasHeaders = false;
          headers.forEach(() => hasHeaders = true);
          const receipt = await target.publish(options.topic ?? out.topic, out.data, hasHeaders ? { headers } : {});
          if (receipt.confirmed) stats.confirmed++;
          else stats.written++;
        } catch (err) {
          stats.failed++;
          if (isSettleable(msg)) {
            await msg.nak(options.nakDelayMs).catch(() => {});
            stats.naked++;
          }
          if (onError === "stop" || err instanceof ClosedError) throw err;
          continue;
        }
        if (isSettleable(msg)) {
          await msg.ack();
          stats.acked++;
        }
      }
      return stats;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      if (!stopping) {
        stopping = true;
        await reader.cancel().catch(() => {});
      }
    }
  };

  if (options.signal?.aborted) stopping = true;
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  const done = run();
  done.catch(() => {});
  return { stats, done, stop };
}
