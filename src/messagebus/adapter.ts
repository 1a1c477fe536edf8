/**
 * `MessageBusPubSub`: the core `PubSub` contract over a messagebus client.
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
import type { Subscription } from "../core/subscription.ts";
import { checkTopic } from "../core/topic.ts";
import { MessageBusClient } from "./client.ts";
import type { MessageBusClientOptions } from "./options.ts";
import { busStreamsOf } from "./streams.ts";
import type { DataMessage } from "./message.ts";

/** Options of {@linkcode MessageBusPubSub}. */
export interface MessageBusPubSubOptions {
  /**
   * Map every topic into this feed (the topic is the messagebus topic).
   * Without it, the first `/`-separated segment of a topic is the feed and
   * the rest the messagebus topic: `prices/EUR/USD` is feed `prices`, topic
   * `EUR/USD`.
   */
  feed?: string | undefined;
  /** The largest payload, in bytes. Default 8 MiB. */
  maxPayload?: number | undefined;
  /** Messages are published with this content type in the contentType dialect. Default `""`. */
  contentType?: string | undefined;
}

/**
 * The contract's {@linkcode PubSub} over jetblack-messagebus. A topic maps
 * to a (feed, topic) pair (see {@linkcode MessageBusPubSubOptions.feed});
 * each publish is one packet without entitlements, published as a delta
 * (`isImage` false). The protocol has no acknowledgements and no headers:
 * receipts say `confirmed: false` (the bytes were written), and headers are
 * not carried. A subscription's `ready` resolves after a round trip through
 * the server proves the subscription is in place. The server's own notices
 * (not entitled, stale) are not delivered by this adapter; use the
 * client's native streams for them.
 *
 * @example
 * ```ts ignore
 * import { MessageBusPubSub } from "@x/pubsub/messagebus";
 *
 * const ps = await MessageBusPubSub.connect("127.0.0.1", 9091);
 * const sub = ps.subscribe("prices/EUR");
 * await sub.ready;
 * await ps.publish("prices/EUR", "1.08");
 * for await (const msg of sub) {
 *   console.log(msg.feed, msg.topicName, msg.text()); // prices EUR 1.08
 *   break;
 * }
 * await ps.close();
 * ```
 */
export class MessageBusPubSub implements PubSub<DataMessage> {
  /** What messagebus can do. */
  readonly capabilities: Capabilities;
  /** The client underneath (for the native calls). */
  readonly client: MessageBusClient;
  readonly #feed: string | undefined;
  readonly #contentType: string;
  readonly #bool: boolean;
  readonly #subs = new Set<Subscription<DataMessage>>();
  #closed = false;

  /**
   * Wraps a client (started or not; `connect()` starts it).
   *
   * @param client The client.
   * @param options Topic mapping and payload limit.
   * @param imageField The client's image field dialect. Default `"bool"`.
   * @throws {TypeError} On an invalid feed.
   * @throws {RangeError} On an invalid `maxPayload`.
   */
  constructor(
    client: MessageBusClient,
    options: MessageBusPubSubOptions = {},
    imageField: "bool" | "contentType" = "bool",
  ) {
    if (options.feed !== undefined && (typeof options.feed !== "string" || options.feed === "")) {
      throw new TypeError(`Creating a MessageBusPubSub failed: feed ${JSON.stringify(options.feed)} is empty`);
    }
    const maxPayload = options.maxPayload ?? 8 * 1024 * 1024;
    if (!Number.isInteger(maxPayload) || maxPayload < 1 || maxPayload > 0x7fffffff) {
      throw new RangeError(`Creating a MessageBusPubSub failed: maxPayload ${maxPayload} is not a positive int32`);
    }
    this.client = client;
    this.#feed = options.feed;
    this.#contentType = options.contentType ?? "";
    this.#bool = imageField === "bool";
    this.capabilities = {
      settle: false,
      confirmedPublish: false,
      wildcards: "none",
      maxPayload,
      ordered: true,
      replay: false,
      groups: false,
      headers: false,
      overflow: OVERFLOW_POLICIES,
      delivery: "at-most-once",
    };
  }

  /**
   * Connects a client, starts it and wraps it.
   *
   * @param host The server's host.
   * @param port The server's port.
   * @param options Client options plus the topic mapping.
   * @returns The adapter.
   * @throws {ConnectionError} When the connection fails.
   * @throws {AuthError} When the login probe gets no answer.
   */
  static async connect(
    host: string,
    port: number,
    options: MessageBusClientOptions & MessageBusPubSubOptions = {},
  ): Promise<MessageBusPubSub> {
    const client = await MessageBusClient.create(host, port, options);
    await client.start();
    return new MessageBusPubSub(client, options, options.imageField ?? "bool");
  }

  /** Connection events of the client. */
  get status(): StatusChannel {
    return this.client.status;
  }

  #map(topic: string, action: string): [string, string] {
    checkTopic(topic, action, true);
    if (this.#feed !== undefined) return [this.#feed, topic];
    const slash = topic.indexOf("/");
    if (slash <= 0 || slash === topic.length - 1) {
      throw new TypeError(`${action} failed: the topic ${JSON.stringify(topic)} is not "feed/topic"`);
    }
    return [topic.slice(0, slash), topic.slice(slash + 1)];
  }

  /**
   * Subscribes to a topic (exact match; messagebus has no wildcards).
   *
   * @param topic `feed/topic`, or the topic within the configured feed.
   * @param options Buffer, overflow policy, signal. Groups are not supported.
   * @returns The subscription.
   * @throws {TypeError} On an invalid topic, a group, or an invalid option.
   * @throws {ClosedError} When closed.
   */
  subscribe(topic: string, options: SubscribeOptions = {}): Subscription<DataMessage> {
    const action = `Subscribing to ${topic}`;
    const [feed, name] = this.#map(topic, action);
    if (options.group !== undefined) {
      throw new TypeError(`${action} failed: messagebus has no groups (group ${JSON.stringify(options.group)})`);
    }
    if (this.#closed) throw new ClosedError(`${action} failed: the client is closed`);
    const sub = busStreamsOf(this.client).data(feed, name, topic, { ...options, sync: true });
    void sub.closed.then(() => this.#subs.delete(sub));
    this.#subs.add(sub);
    return sub;
  }

  /**
   * Publishes one message: one packet, no entitlements, `isImage` false.
   *
   * @param topic `feed/topic`, or the topic within the configured feed.
   * @param data Bytes or a string.
   * @param options Headers (ignored: the protocol has none) and a signal.
   * @returns The receipt (`confirmed: false`) once written.
   * @throws {TypeError} On an invalid topic or payload.
   * @throws {RangeError} When the payload is over `maxPayload`.
   * @throws {ClosedError} When closed.
   */
  async publish(topic: string, data: PublishData, options: PublishOptions = {}): Promise<PublishReceipt> {
    const action = `Publishing to ${topic}`;
    const [feed, name] = this.#map(topic, action);
    const bytes = checkPublishData(data, action, this.capabilities.maxPayload);
    if (this.#closed) throw new ClosedError(`${action} failed: the client is closed`);
    options.signal?.throwIfAborted();
    await this.client.publish(feed, name, this.#bool ? false : this.#contentType, [{
      entitlements: null,
      data: bytes.slice(),
    }]);
    return { topic, confirmed: false };
  }

  /**
   * A stream that publishes each chunk (see `publishWritable` in the core).
   *
   * @param topic The topic; without one, chunks must be messages.
   * @param options Window, headers, receipt callback.
   * @returns The stream.
   * @throws {TypeError} On an invalid topic.
   * @throws {RangeError} When `maxInFlight` is not a positive integer.
   */
  writable(topic?: string, options?: WritableOptions): WritableStream<PublishChunk> {
    if (topic !== undefined) this.#map(topic, "Creating a writable");
    return publishWritable(this, topic, options);
  }

  /** Ends every subscription and stops the client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subs].map((s) => s.close()));
    await this.client.stop();
  }
}
