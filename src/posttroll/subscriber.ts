/**
 * Subscribing: a `ReadableStream` of PostTroll messages from publishers
 * found through a nameserver (and followed with `addrListener`), or at
 * direct addresses.
 *
 * @module
 */

import type { StatusChannel } from "../core/status.ts";
import { checkOverflow, type OverflowPolicy, type StreamOptions, UNPAUSABLE_HIGH_WATER_MARK } from "../core/source.ts";
import { Subscription } from "../core/subscription.ts";
import type { PosttrollConfigInit } from "./config.ts";
import type { PosttrollMessage } from "./message.ts";
import { type AddressedSource, type SubscriberHooks, SubscriberSource } from "./subscriber_source.ts";

/** Options of {@linkcode subscribe}. */
export interface PosttrollSubscribeOptions extends StreamOptions {
  /**
   * The services to find through the nameserver: `""` (default) for all,
   * a name or a list of names, `null` for none (only `addresses`).
   */
  services?: string | readonly string[] | null | undefined;
  /** Topic prefixes (`a/b` and `/a/b` mean `pytroll://a/b`); default `pytroll:/`, everything. */
  topics?: string | readonly string[] | undefined;
  /** Publisher URIs to connect to directly, e.g. `tcp://127.0.0.1:40000`. */
  addresses?: readonly string[] | undefined;
  /**
   * The nameserver host (or URL) to ask; default `localhost`. `false`: no
   * nameserver, only `addresses`.
   */
  nameserver?: string | false | undefined;
  /**
   * Follow the nameserver's address feed (port `addressPublishPort`):
   * connect publishers of the wanted services that appear later, disconnect
   * those that are removed. Default false.
   */
  addrListener?: boolean | undefined;
  /** How long to wait for the nameserver, in ms. Default 10 000. */
  timeout?: number | undefined;
  /**
   * What a malformed frame does: `"error"` (default) fails the stream with
   * a `ProtocolError`; `"drop"` skips it, as Python's subscriber does, counts
   * it ({@linkcode PosttrollSubscription.malformed}) and emits a
   * `"malformed"` status event with the `ProtocolError`.
   */
  malformed?: "error" | "drop" | undefined;
  /**
   * The largest frame accepted, in bytes, so a peer cannot make the
   * subscriber hold unbounded memory. libzmq drops the connection of a
   * publisher that sends more (the frame is lost) and would leave it down;
   * the subscription reports it (an `"error"` status event with a
   * `ProtocolError`) and connects that publisher again, while the others
   * keep flowing. Default 64 MiB; -1 for no limit.
   */
  maxMessageSize?: number | undefined;
  /** Settings in code, over the `POSTTROLL_*` environment. */
  config?: PosttrollConfigInit | undefined;
}

/**
 * Builds a subscription with adapter hooks (used by `PosttrollPubSub`).
 *
 * @param options The subscribe options.
 * @param hooks Extra topics, a frame filter, a readiness check.
 * @returns The subscription.
 */
export function createSubscription(
  options: PosttrollSubscribeOptions,
  hooks: SubscriberHooks,
): PosttrollSubscription {
  const overflow = checkOverflow(options.overflow, "Subscribing", POSTTROLL_OVERFLOW);
  const highWaterMark = options.highWaterMark ?? UNPAUSABLE_HIGH_WATER_MARK;
  return new PosttrollSubscription(new SubscriberSource(options, hooks), { ...options, overflow, highWaterMark });
}

/**
 * The overflow policies of a PostTroll subscription, the default first.
 * ZeroMQ SUB has no flow control: a receive loop that stopped would only
 * move the queue into ZeroMQ (up to its receive high-water mark), so
 * `"block"` is not offered; as ZeroMQ itself does at its high-water mark,
 * the default drops the newest.
 */
export const POSTTROLL_OVERFLOW: readonly OverflowPolicy[] = ["drop-newest", "drop-oldest", "error"];

/**
 * A PostTroll subscription: a `Subscription` of {@linkcode PosttrollMessage}s
 * that also tells which publishers it is connected to.
 *
 * @example
 * ```ts ignore
 * import { subscribe } from "@x/pubsub/posttroll";
 *
 * const sub = subscribe({ services: "", addrListener: true, nameserver: "127.0.0.1" });
 * await sub.ready;
 * console.log(sub.addresses); // [ "tcp://127.0.0.1:40000", ... ]
 * ```
 */
export class PosttrollSubscription extends Subscription<PosttrollMessage> {
  readonly #source: AddressedSource;

  /**
   * Wraps a source; use {@linkcode subscribe}.
   *
   * @param source The source.
   * @param options Buffer, overflow policy, signal.
   */
  constructor(source: AddressedSource, options: StreamOptions) {
    super(source, options);
    this.#source = source;
  }

  /** The publisher URIs connected now (from the nameserver, the address feed and `addresses`). */
  get addresses(): string[] {
    return this.#source.addresses;
  }

  /**
   * What happens to the publishers' connections, from libzmq's socket
   * events: `"connected"`, `"disconnected"` and `"reconnected"` (detail
   * `uri`; `downMs` on `"reconnected"`: what the publisher sent meanwhile is
   * lost, PUB/SUB keeps nothing); `"error"` (detail `uri`) with an
   * `AuthError` when a publisher refused this client or, under CURVE, closed
   * the handshake (most likely a wrong server key; nothing is delivered from
   * it), or a `ProtocolError` when a connection broke on a protocol error
   * (most likely a frame above `maxMessageSize`: the frame is lost and the
   * publisher connected again); `"malformed"` (detail `dropped`, the count)
   * with the `ProtocolError` of each frame dropped under `malformed: "drop"`;
   * `"closed"` when the subscription ends.
   */
  get status(): StatusChannel {
    return this.#source.status;
  }

  /** How many malformed frames were dropped so far (`malformed: "drop"`). */
  get malformed(): number {
    return this.#source.malformed;
  }
}

/**
 * Subscribes to PostTroll publishers (Python's `Subscribe`): asks the
 * nameserver for the publishers of `services` (default all) and connects
 * to them, plus any direct `addresses`; with `addrListener`, follows the
 * nameserver's feed to connect publishers that start later and disconnect
 * those removed. Messages whose frame starts with one of the `topics`
 * prefixes arrive on the stream, decoded.
 *
 * The stream is push-driven (ZeroMQ SUB has no flow control), so it offers
 * no `"block"`: by default (`"drop-newest"`, `highWaterMark` 1024) messages
 * the reader has not made room for are dropped and counted in `dropped`;
 * ZeroMQ itself queues up to 10 000 frames per socket while the receive
 * loop is behind, beyond which the publisher drops them. `ready` resolves once the nameserver answered and
 * the sockets are connecting; it rejects with `TimeoutError` when no
 * nameserver answered within `timeout`.
 *
 * @example
 * ```ts ignore
 * import { subscribe } from "@x/pubsub/posttroll";
 *
 * const sub = subscribe({ services: "alias1", topics: "counter", nameserver: "127.0.0.1", timeout: 10_000 });
 * for await (const msg of sub) {
 *   console.log(msg.subject, msg.type, msg.payload);
 *   break;
 * }
 * ```
 *
 * @param options Services, topics, addresses, nameserver, addrListener, timeout, buffer.
 * @returns The subscription.
 * @throws {TypeError} On an invalid topic, address or stream option.
 * @throws {RangeError} On an invalid timeout or highWaterMark.
 */
export function subscribe(options: PosttrollSubscribeOptions = {}): PosttrollSubscription {
  return createSubscription(options, {});
}
