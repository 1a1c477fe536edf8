/**
 * The adapter interface every system implements.
 *
 * @module
 */

import type { Message } from "./message.ts";
import type { StatusChannel } from "./status.ts";
import type { OverflowPolicy, StreamOptions, Subscription } from "./subscription.ts";

/**
 * What a system can do, read by the conformance suite and by users choosing
 * how to bridge.
 *
 * @example
 * ```ts
 * import type { Capabilities } from "@x/pubsub";
 *
 * const caps: Capabilities = {
 *   settle: false,
 *   confirmedPublish: true,
 *   wildcards: "glob",
 *   maxPayload: 1024 * 1024,
 *   ordered: true,
 *   replay: false,
 *   groups: true,
 *   headers: true,
 *   overflow: ["block", "drop-oldest", "drop-newest", "error"],
 *   delivery: "at-least-once",
 * };
 * console.log(caps.wildcards, caps.overflow[0]); // glob block
 * ```
 */
export interface Capabilities {
  /** Messages have `ack()`, `nak()` and `term()`. */
  readonly settle: boolean;
  /** `publish()` resolves on the system's confirmation, else once the bytes are written. */
  readonly confirmedPublish: boolean;
  /** The wildcard syntax `subscribe()` accepts. */
  readonly wildcards: "none" | "glob" | "nats" | "prefix";
  /** The largest payload, in bytes. */
  readonly maxPayload: number;
  /** Messages of one publisher on one topic arrive in the order published. */
  readonly ordered: boolean;
  /** Subscriptions can seek or resume from a stored position. */
  readonly replay: boolean;
  /** Subscribers can share one stream of messages (queue or consumer groups). */
  readonly groups: boolean;
  /** Message headers travel end to end. */
  readonly headers: boolean;
  /**
   * The overflow policies `subscribe()` accepts, the default first. Another
   * policy is a `TypeError` at `subscribe()`. `"block"` is offered only where
   * the source can be paused at the transport (the excess then waits at the
   * server or the publisher), or where the source only pulls what the reader
   * asks for.
   */
  readonly overflow: readonly OverflowPolicy[];
  /**
   * What a live subscription is promised across faults (a lost connection, a
   * server restart): `"at-least-once"`, nothing whose publish resolved is
   * lost (a message may come twice); `"at-most-once"`, a message may be
   * lost, and every such gap is reported as a status event (`"disconnected"`,
   * `"missed"`...), never silently. Messages a drop policy drops are counted
   * in `dropped`, whatever the guarantee.
   */
  readonly delivery: DeliveryGuarantee;
}

/** What a live subscription is promised across faults; see {@linkcode Capabilities.delivery}. */
export type DeliveryGuarantee = "at-least-once" | "at-most-once";

/** Options of {@linkcode PubSub.subscribe}. */
export interface SubscribeOptions extends StreamOptions {
  /**
   * A group name: subscribers with the same group share the messages (each
   * goes to one of them). Only where `capabilities.groups` is true.
   */
  group?: string | undefined;
}

/** A payload: bytes, or a string sent as UTF-8. */
export type PublishData = Uint8Array | string;

/** Options of {@linkcode PubSub.publish}. */
export interface PublishOptions {
  /** Headers to send with the message, where the system carries them. */
  headers?: HeadersInit | undefined;
  /** Gives up waiting (for room or for the confirmation) when aborted. */
  signal?: AbortSignal | undefined;
}

/**
 * What a publish resolved with.
 *
 * @example
 * ```ts
 * import type { PublishReceipt } from "@x/pubsub";
 *
 * const r: PublishReceipt = { topic: "orders", confirmed: true, sequence: 42 };
 * console.log(r.confirmed); // true
 * ```
 */
export interface PublishReceipt {
  /** Where it went. */
  readonly topic: string;
  /**
   * `true` when the system confirmed the message, `false` when it only
   * reports the bytes written (see `capabilities.confirmedPublish`).
   */
  readonly confirmed: boolean;
  /** The identifier the system gave the message, where it does. */
  readonly id?: string | undefined;
  /** The sequence number the system gave the message, where it does. */
  readonly sequence?: number | undefined;
}

/** What `writable()` accepts: bytes, a string (as UTF-8), or a message (its headers kept). */
export type PublishChunk = Uint8Array | string | Message;

/** Options of {@linkcode PubSub.writable}. */
export interface WritableOptions {
  /**
   * How many messages may be published and not yet confirmed at once: the
   * writable's queuing highWaterMark. With 1 (the default) each `write()`
   * resolves on that message's confirmation. With more, `write()` resolves
   * once the message is sent and the window has room; a failed confirmation
   * fails the stream, and `close()` resolves after every confirmation.
   */
  maxInFlight?: number | undefined;
  /** Headers added to every message (a message chunk's own headers win). */
  headers?: HeadersInit | undefined;
  /** Called with each receipt, in the order written. */
  onReceipt?: ((receipt: PublishReceipt, chunk: PublishChunk) => void) | undefined;
}

/**
 * The contract every system's adapter implements, and what `open(url)`
 * returns.
 *
 * @example Publishing and subscribing through the in-memory broker
 * ```ts
 * import type { PubSub } from "@x/pubsub";
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const ps: PubSub = new MemoryPubSub();
 * const sub = ps.subscribe("greetings");
 * await sub.ready;
 * await ps.publish("greetings", "hello");
 * for await (const msg of sub) {
 *   console.log(msg.text()); // hello
 *   break;
 * }
 * await ps.close();
 * ```
 *
 * @typeParam M The system's message type.
 */
export interface PubSub<M extends Message = Message> {
  /** What the system can do. */
  readonly capabilities: Capabilities;
  /** Connection events. */
  readonly status: StatusChannel;
  /**
   * Subscribes to a topic (or a pattern, in the system's wildcard syntax).
   *
   * @throws {TypeError} On an invalid topic or option.
   * @throws {RangeError} On an out-of-range option.
   * @throws {ClosedError} When the client is closed.
   */
  subscribe(topic: string, options?: SubscribeOptions): Subscription<M>;
  /**
   * Publishes one message; resolves on the system's confirmation, or once
   * written where it has none.
   *
   * @throws {TypeError} On an invalid topic or payload.
   * @throws {RangeError} When the payload is larger than `capabilities.maxPayload`.
   * @throws {ClosedError} When the client is closed.
   */
  publish(topic: string, data: PublishData, options?: PublishOptions): Promise<PublishReceipt>;
  /**
   * A stream to pipe messages into. Without a topic, each chunk must be a
   * message and goes to its own topic.
   */
  writable(topic?: string, options?: WritableOptions): WritableStream<PublishChunk>;
  /** Ends every subscription and releases the connection. */
  close(): Promise<void>;
}
