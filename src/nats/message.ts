/**
 * The messages `./nats` subscriptions yield.
 *
 * @module
 */

import { BasicMessage, type MessageInit, type Settleable } from "../core/message.ts";
import type { AckCodec } from "./codec.ts";
import { type AckSender, Settlement } from "./settlement.ts";

export type { AckSender } from "./settlement.ts";

/** What {@linkcode NatsMessage} takes beyond a plain message. */
export interface NatsMessageInit extends MessageInit {
  /** The reply subject, where there is one (for JetStream, the ack subject). */
  reply?: string | undefined;
  /** The stream sequence (JetStream only). */
  sequence?: number | undefined;
  /** Messages still pending for the consumer after this one (JetStream only). */
  pending?: number | undefined;
  /** How many times it was delivered, this time included (JetStream only; 1 for core). */
  deliveryCount?: number | undefined;
  /** The stream (JetStream only). */
  stream?: string | undefined;
  /** The consumer (JetStream only). */
  consumer?: string | undefined;
}

/**
 * A message from NATS: the contract's fields plus NATS's own. `topic` is the
 * subject. Core NATS messages have no sequence, pending count or timestamp;
 * JetStream messages ({@linkcode JetStreamMessage}) have them and can be
 * settled.
 *
 * @example
 * ```ts
 * import { NatsMessage } from "@x/pubsub/nats";
 *
 * const m = new NatsMessage({ topic: "orders.new", data: "{}" });
 * console.log(m.subject, m.sequence, m.redelivered); // orders.new undefined false
 * ```
 */
export class NatsMessage extends BasicMessage {
  /** The subject it was published to (the same as `topic`). */
  readonly subject: string;
  /** Where replies go; for JetStream, the ack subject. */
  readonly reply: string | undefined;
  /** Its sequence in the stream (JetStream only). */
  readonly sequence: number | undefined;
  /** How many messages were pending for the consumer after this one (JetStream only). */
  readonly pending: number | undefined;
  /** How many times it was delivered, this time included. */
  readonly deliveryCount: number;
  /** The stream that holds it (JetStream only). */
  readonly stream: string | undefined;
  /** The consumer that delivered it (JetStream only). */
  readonly consumer: string | undefined;

  /**
   * Creates the message (the adapter does; users receive them).
   *
   * @internal
   * @param init Its fields.
   */
  constructor(init: NatsMessageInit) {
    super(init);
    this.subject = init.topic;
    this.reply = init.reply;
    this.sequence = init.sequence;
    this.pending = init.pending;
    this.deliveryCount = init.deliveryCount ?? 1;
    this.stream = init.stream;
    this.consumer = init.consumer;
  }

  /** When the stream stored it (JetStream only); the same as `time`. */
  get timestamp(): Date | undefined {
    return this.time;
  }

  /** Whether it was delivered before (after a nak or an expired ack wait). */
  get redelivered(): boolean {
    return this.deliveryCount > 1;
  }
}

/**
 * A message delivered by a JetStream consumer: it has `ack()`, `nak()` and
 * `term()`. Only the first settlement counts; later calls do nothing (a call
 * made while the first is on its way shares its outcome). A settlement that
 * rejects leaves the message unsettled, so it can be tried again. With the
 * subscribe option `confirmAcks`, each settlement resolves only once the
 * server confirmed it.
 *
 * @example
 * ```ts ignore
 * import { NatsPubSub } from "@x/pubsub/nats";
 *
 * const ps = await NatsPubSub.connect({ servers: "ws://127.0.0.1:8080", jetstream: true });
 * for await (const msg of ps.consume("orders.>")) {
 *   if (msg.redelivered) await msg.term("seen before");
 *   else await msg.ack();
 * }
 * ```
 */
export class JetStreamMessage extends NatsMessage implements Settleable {
  readonly #settlement: Settlement;

  /**
   * Creates the message (the adapter does; users receive them).
   *
   * @internal
   * @param init Its fields; `reply` is the ack subject.
   * @param send Publishes an ack payload to the ack subject.
   * @param codec The ack payloads.
   */
  constructor(init: NatsMessageInit & { reply: string }, send: AckSender, codec: AckCodec) {
    super(init);
    this.#settlement = new Settlement(init.reply, send, codec);
  }

  /** Whether `ack()`, `nak()` or `term()` was called and has not failed. */
  get settled(): boolean {
    return this.#settlement.settled;
  }

  /**
   * Tells the server the message was processed.
   *
   * @returns When the ack was handed to the connection; with `confirmAcks`, when the server confirmed it.
   * @throws {ClosedError} When the connection is closed.
   * @throws {TimeoutError} With `confirmAcks`, when the server did not confirm it in time.
   */
  ack(): Promise<void> {
    return this.#settlement.ack();
  }

  /**
   * Asks the server to deliver the message again.
   *
   * @param delayMs How long the server waits before redelivering it.
   * @returns When the nak was handed to the connection; with `confirmAcks`, when the server confirmed it.
   * @throws {RangeError} When the delay is negative.
   * @throws {ClosedError} When the connection is closed.
   * @throws {TimeoutError} With `confirmAcks`, when the server did not confirm it in time.
   */
  nak(delayMs?: number): Promise<void> {
    return this.#settlement.nak(delayMs);
  }

  /**
   * Tells the server never to deliver the message again.
   *
   * @param reason Why (kept in the server's advisory; left out for servers before 2.11, which would ignore the ack).
   * @returns When the term was handed to the connection; with `confirmAcks`, when the server confirmed it.
   * @throws {ClosedError} When the connection is closed.
   * @throws {TimeoutError} With `confirmAcks`, when the server did not confirm it in time.
   */
  term(reason?: string): Promise<void> {
    return this.#settlement.term(reason);
  }
}
