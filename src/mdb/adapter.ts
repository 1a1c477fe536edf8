/**
 * `MdbPubSub`: the MDB connection behind the contract's {@linkcode PubSub}.
 *
 * @module
 */

import { ClosedError, PubSubError } from "../core/errors.ts";
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
import { StatusChannel } from "../core/status.ts";
import { checkHighWaterMark, checkOverflow } from "../core/source.ts";
import type { Connection } from "./client.ts";
import type { MdbMessage } from "./message.ts";
import { checkDataset, type Offset } from "./codec.ts";
import type { AckMode, MdbSubscription } from "./subscription.ts";

/**
 * Publishes into a dataset through a path MDB clients do not have (an
 * operator's NATS credentials, say). Resolves with the receipt.
 */
export type MdbPublisher = (
  dataset: string,
  data: Uint8Array,
  options: { headers?: Headers | undefined; signal?: AbortSignal | undefined },
) => Promise<PublishReceipt>;

/** Options of {@linkcode MdbPubSub}. */
export interface MdbPubSubOptions {
  /** The offset of new consumers. Default NOW. */
  offset?: Offset | undefined;
  /** The pull batch. Default 10. */
  batch?: number | undefined;
  /** The batches requested ahead of the reader (`MdbSubscribeOptions.prefetch`). Default 2. */
  prefetch?: number | undefined;
  /** `"auto"` (default) acks before handing out; `"manual"` gives messages `ack()/nak()/term()`. */
  ack?: AckMode | undefined;
  /**
   * How to publish. MDB clients only subscribe; without a publisher,
   * `publish()` rejects with a {@linkcode PubSubError} saying so.
   */
  publisher?: MdbPublisher | undefined;
  /** The largest payload, in bytes. Default 1 MiB (nats-server's default). */
  maxPayload?: number | undefined;
}

/**
 * An MDB {@linkcode Connection} as a {@linkcode PubSub}: topics are dataset
 * slugs (no wildcards). MDB is subscribe-only for its users, so `publish()`
 * works only with a `publisher` (an operator's path); `capabilities` says
 * which.
 *
 * @example
 * ```ts ignore
 * import { Connection, MdbPubSub } from "@x/pubsub/mdb";
 *
 * const ps = new MdbPubSub(await Connection.connect("https://mdb.example"));
 * for await (const msg of ps.subscribe("my-dataset")) console.log(msg.text());
 * await ps.close();
 * ```
 */
export class MdbPubSub implements PubSub<MdbMessage> {
  /** What this adapter can do. */
  readonly capabilities: Capabilities;
  /** Emits `"connected"` at once and `"closed"` on `close()`; each subscription has its own `status` too. */
  readonly status: StatusChannel = new StatusChannel();
  /** The connection. */
  readonly connection: Connection;
  readonly #options: MdbPubSubOptions;
  #closed = false;

  /**
   * Wraps a connection.
   *
   * @param connection An MDB connection; closed by {@linkcode MdbPubSub.close}.
   * @param options Subscription defaults and the publisher.
   * @throws {RangeError} When `maxPayload` is not a positive integer.
   */
  constructor(connection: Connection, options: MdbPubSubOptions = {}) {
    const maxPayload = options.maxPayload ?? 1024 * 1024;
    if (!Number.isInteger(maxPayload) || maxPayload < 1) {
      throw new RangeError(`Creating an MdbPubSub failed: maxPayload ${maxPayload} is not a positive integer`);
    }
    this.connection = connection;
    this.#options = options;
    this.capabilities = {
      settle: options.ack === "manual",
      confirmedPublish: options.publisher !== undefined,
      wildcards: "none",
      maxPayload,
      ordered: true,
      replay: true,
      groups: false,
      headers: true,
      overflow: ["block"],
      delivery: "at-least-once",
    };
    this.status.emit("connected");
  }

  /**
   * Subscribes to a dataset.
   *
   * @param topic The dataset slug.
   * @param options Signal; `highWaterMark` is checked but not needed, and `overflow` can only be
   *   `"block"`: the subscription pulls only while the reader reads (at most `1 + prefetch` batches
   *   held), so it never overflows (the stream holds the rest).
   * @returns The subscription; `ready` resolves once the consumer is in place.
   * @throws {TypeError} When the topic is not a slug, `group` is given, or `overflow` is not `"block"`.
   * @throws {RangeError} When `highWaterMark` is not an integer of 0 or more.
   * @throws {ClosedError} When closed.
   */
  subscribe(topic: string, options: SubscribeOptions = {}): MdbSubscription {
    checkDataset(topic, "Subscribing");
    if (options.group !== undefined) {
      throw new TypeError(`Subscribing to ${topic} failed: MDB has no groups (group ${options.group})`);
    }
    checkHighWaterMark(options.highWaterMark, 1, `Subscribing to ${topic}`);
    checkOverflow(options.overflow, `Subscribing to ${topic}`, this.capabilities.overflow);
    if (this.#closed) throw new ClosedError(`Subscribing to ${topic} failed: the client is closed`);
    return this.connection.open(topic, {
      offset: this.#options.offset,
      batch: this.#options.batch,
      prefetch: this.#options.prefetch,
      ack: this.#options.ack,
      signal: options.signal,
    });
  }

  /**
   * Publishes through the configured publisher.
   *
   * @param topic The dataset.
   * @param data The payload.
   * @param options Headers and a signal.
   * @returns The publisher's receipt.
   * @throws {PubSubError} When no publisher was configured (MDB clients cannot publish).
   * @throws {TypeError} On an invalid topic or payload.
   * @throws {RangeError} When the payload is too large.
   * @throws {ClosedError} When closed.
   */
  publish(topic: string, data: PublishData, options: PublishOptions = {}): Promise<PublishReceipt> {
    try {
      checkDataset(topic, `Publishing to ${topic}`);
      const bytes = checkPublishData(data, `Publishing to ${topic}`, this.capabilities.maxPayload);
      if (this.#closed) throw new ClosedError(`Publishing to ${topic} failed: the client is closed`);
      const publisher = this.#options.publisher;
      if (publisher === undefined) {
        throw new PubSubError(
          `Publishing to ${topic} failed: MDB datasets are read-only for clients (give MdbPubSub a publisher)`,
        );
      }
      const headers = options.headers === undefined ? undefined : new Headers(options.headers);
      return publisher(topic, bytes, { headers, signal: options.signal });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A stream that publishes each chunk (see {@linkcode MdbPubSub.publish}).
   *
   * @param topic The dataset; without it, each chunk must be a message.
   * @param options Window, headers, receipt callback.
   * @returns The stream.
   * @throws {RangeError} When `maxInFlight` is not a positive integer.
   */
  writable(topic?: string, options?: WritableOptions): WritableStream<PublishChunk> {
    return publishWritable(this, topic, options);
  }

  /**
   * Closes every subscription and the connection.
   *
   * @returns When everything is released.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.connection.close();
    this.status.close();
  }
}
