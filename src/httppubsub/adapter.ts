/**
 * `HttpPubSub`: the core `PubSub` contract over an {@linkcode HttpPubSubClient}.
 *
 * @module
 */

import { ClosedError } from "../core/errors.ts";
import type {
  Capabilities,
  PublishChunk,
  PublishData,
  PublishOptions,
  PublishReceipt,
  PubSub,
  SubscribeOptions,
  WritableOptions,
} from "../core/pubsub.ts";
import { checkPublishData, publishWritable } from "../core/publish_writable.ts";
import type { StatusChannel } from "../core/status.ts";
import { OVERFLOW_POLICIES } from "../core/source.ts";
import { checkTopic, compileTopicPattern, isTopicPattern } from "../core/topic.ts";
import { HttpPubSubClient, type HttpPubSubClientOptions } from "./client.ts";
import type { HttpPubSubSubscription } from "./subscription.ts";
import { escapeGlob } from "./glob.ts";
import { RefusedError } from "./errors.ts";
import type { HttpPubSubMessage } from "./message.ts";

/** Options of {@linkcode HttpPubSub} beyond the client's. */
export interface HttpPubSubOptions {
  /** The largest payload `publish()` accepts, and the receive buffer limit. Default the client's `bufferLimit`. */
  maxPayload?: number;
  /**
   * Reject a publish that the broadcaster confirmed but no subscriber took
   * (`notified` 0) with a `RefusedError`, so that a bridge naks it and it
   * comes again, instead of acking a message that reached no one (as after a
   * broadcaster restart, before subscribers registered again). Default false:
   * such a publish resolves, with `notified: 0` on the receipt.
   */
  requireSubscriber?: boolean;
}

/**
 * The receipt of {@linkcode HttpPubSub.publish}: the broadcaster's
 * confirmation, with how many subscribers took the message.
 */
export interface HttpPubSubReceipt extends PublishReceipt {
  /** How many subscribers the broadcaster reached. */
  readonly notified: number;
}

/**
 * Translates a contract glob (`/` segments, `*` one segment, `**` any number)
 * into a SQLite glob that matches a superset of its topics: the literal
 * segments before the first wildcard, then `*`.
 *
 * @example
 * ```ts
 * import { toServerGlob } from "./adapter.ts";
 *
 * console.log(toServerGlob("logs/*\/err"), toServerGlob("a/**")); // logs/* a*
 * ```
 *
 * @param pattern The contract pattern.
 * @returns The SQLite glob.
 */
export function toServerGlob(pattern: string): string {
  const segs = pattern.split("/");
  const i = segs.findIndex((s) => s === "*" || s === "**");
  if (i < 0) return escapeGlob(pattern);
  const literal = segs.slice(0, i).map(escapeGlob).join("/");
  if (i === 0) return "*";
  return segs[i] === "**" ? `${literal}*` : `${literal}/*`;
}

/**
 * The core contract over httppubsub. `subscribe()` takes a topic or a
 * contract glob (`*` one segment, `**` any number), registered on the
 * broadcaster as a SQLite glob covering it and filtered here. `publish()` is
 * a `notify()` and resolves on the broadcaster's confirmation.
 *
 * Under the default overflow policy `"block"`, the receiver answers the
 * broadcaster once the message is buffered (the client's `hold:
 * "buffered"`). While the buffer is full, up to `highWaterMark` receives
 * wait for room holding their message, and further receives wait with
 * their bodies unread (held at the transport), until the reader makes room;
 * a broadcaster that gives up meanwhile (lonelypss: after 5 s) counts the
 * message undelivered and sends a missed notice, while the message is still
 * delivered here. The drop and error policies answer at once. Payloads are
 * limited to the receive buffer, so every message has `data`.
 *
 * @example
 * ```ts ignore
 * import { HttpPubSub } from "@x/pubsub/httppubsub";
 *
 * const ps = new HttpPubSub({ broadcasters: ["http://127.0.0.1:3003"], bind: { type: "serve" } });
 * const sub = ps.subscribe("orders/*");
 * await sub.ready;
 * await ps.publish("orders/1", "hello");
 * for await (const msg of sub) {
 *   console.log(msg.topic, msg.text()); // orders/1 hello
 *   break;
 * }
 * await ps.close();
 * ```
 */
export class HttpPubSub implements PubSub<HttpPubSubMessage> {
  /** What httppubsub can do. */
  readonly capabilities: Capabilities;
  /** The client underneath. */
  readonly client: HttpPubSubClient;
  readonly #requireSubscriber: boolean;
  #closed = false;

  /**
   * Creates the adapter over a new client (or one given, which it then owns).
   *
   * @param client The client, or the options to make one.
   * @param options The payload limit.
   * @throws {TypeError} On invalid client options.
   * @throws {RangeError} When `maxPayload` is not a positive integer.
   */
  constructor(client: HttpPubSubClient | HttpPubSubClientOptions, options: HttpPubSubOptions = {}) {
    this.client = client instanceof HttpPubSubClient
      ? client
      : new HttpPubSubClient({ bufferLimit: options.maxPayload ?? 8 * 1024 * 1024, ...client });
    const maxPayload = options.maxPayload ?? this.client.bufferLimit;
    this.#requireSubscriber = options.requireSubscriber ?? false;
    if (!Number.isSafeInteger(maxPayload) || maxPayload < 1) {
      throw new RangeError(`Creating an HttpPubSub failed: maxPayload ${maxPayload} is not a positive integer`);
    }
    if (maxPayload > this.client.bufferLimit) {
      throw new RangeError(
        `Creating an HttpPubSub failed: maxPayload ${maxPayload} is over the client's bufferLimit ${this.client.bufferLimit}`,
      );
    }
    this.capabilities = {
      settle: false,
      confirmedPublish: true,
      wildcards: "glob",
      maxPayload,
      ordered: true,
      replay: false,
      groups: false,
      headers: false,
      overflow: OVERFLOW_POLICIES,
      delivery: "at-most-once",
    };
  }

  /** The client's status channel. */
  get status(): StatusChannel {
    return this.client.status;
  }

  /**
   * Subscribes to a topic or a contract glob.
   *
   * @param topic A topic, or a pattern with `*` / `**` segments.
   * @param options Buffer, overflow policy, signal.
   * @returns The subscription.
   * @throws {TypeError} On an empty topic, a group (not supported) or a bad option.
   * @throws {RangeError} On a bad `highWaterMark`.
   * @throws {ClosedError} When closed.
   */
  subscribe(topic: string, options: SubscribeOptions = {}): HttpPubSubSubscription {
    checkTopic(topic, "Subscribing", true);
    if (options.group !== undefined) throw new TypeError("Subscribing failed: httppubsub has no groups");
    if (this.#closed) throw new ClosedError(`Subscribing to ${topic} failed: the client is closed`);
    const { group: _, ...given } = options;
    // The contract's "block": the broadcaster gets its answer once the message is buffered; a full buffer holds it.
    const rest = { hold: "buffered" as const, ...given };
    if (!isTopicPattern(topic)) return this.client.subscribeExact(topic, rest);
    return this.client.subscribeGlob(toServerGlob(topic), { ...rest, filter: compileTopicPattern(topic) });
  }

  /**
   * Publishes (notifies) one message.
   *
   * @param topic The topic.
   * @param data Bytes or a string.
   * @param options A signal; headers are not carried.
   * @returns The receipt: confirmed, with the identifier as `id` and the subscribers reached as `notified`.
   * @throws {TypeError} On a bad topic or payload.
   * @throws {RefusedError} With `requireSubscriber`, when no subscriber took the message.
   * @throws {RangeError} When the payload is over `maxPayload`.
   * @throws {ClosedError} When closed.
   */
  publish(topic: string, data: PublishData, options: PublishOptions = {}): Promise<HttpPubSubReceipt> {
    try {
      checkTopic(topic, "Publishing");
      const bytes = checkPublishData(data, `Publishing to ${topic}`, this.capabilities.maxPayload);
      if (this.#closed) throw new ClosedError(`Publishing to ${topic} failed: the client is closed`);
      const notify = options.signal === undefined
        ? this.client.notify({ topic, data: bytes })
        : this.client.notify({ topic, data: bytes, signal: options.signal });
      return notify.then((r) => {
        if (r.notified === 0 && this.#requireSubscriber) {
          throw new RefusedError(`Publishing to ${topic} failed: no subscriber took the message`);
        }
        return { topic, confirmed: true, id: r.identifier, notified: r.notified };
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A stream that publishes each chunk (see `publishWritable`).
   *
   * @param topic The topic; without one, chunks must be messages.
   * @param options Window, receipt callback.
   * @returns The stream.
   * @throws {RangeError} When `maxInFlight` is not a positive integer.
   */
  writable(topic?: string, options?: WritableOptions): WritableStream<PublishChunk> {
    if (topic !== undefined) checkTopic(topic, "Creating a writable");
    return publishWritable(this, topic, options);
  }

  /** Closes the client: ends every subscription, unregisters, stops the receiver. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.client.close();
  }
}
