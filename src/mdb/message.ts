/**
 * The message an MDB subscription yields.
 *
 * @module
 */

import { BasicMessage, type Settleable } from "../core/message.ts";
import { type AckCodec, type AckInfo, parseAckSubject } from "../nats/codec.ts";
import { type AckSender, Settlement } from "../nats/settlement.ts";

/** What {@linkcode MdbMessage} is made from. */
export interface MdbMessageInit {
  /** The dataset; default: the subject without its `EVENTS.`/`OBJECTS.` prefix. */
  dataset?: string | undefined;
  /** The NATS subject (`EVENTS.<dataset>` or `OBJECTS.<dataset>`). */
  subject: string;
  /** The payload. */
  data: Uint8Array;
  /** The publisher's headers. */
  headers?: HeadersInit | undefined;
  /** The `$JS.ACK…` reply subject. */
  reply: string;
  /** What the reply subject says (`parseAckSubject` of `./nats`' codec). */
  info: AckInfo;
}

/**
 * A message of an MDB dataset: the core message (`topic` is the dataset) plus
 * the NATS `subject` and the JetStream metadata speedracer users read from
 * `msg.metadata`. `id` is the stream sequence as a
 * string; `time` and `timestamp` are when the server stored it (a real
 * instant, not speedracer's naive local time).
 *
 * @example
 * ```ts
 * import { MdbMessage } from "@x/pubsub/mdb";
 *
 * const reply = "$JS.ACK.EVENTS_demo.c.1.7.3.1687521600000000000.0";
 * const msg = MdbMessage.fromDelivery("EVENTS.demo", new TextEncoder().encode("hi"), undefined, reply);
 * console.log(msg.topic, msg.sequence, msg.text(), msg.timestamp.toISOString()); // demo 7 hi 2023-06-23T12:00:00.000Z
 * ```
 */
export class MdbMessage extends BasicMessage {
  /** The NATS subject, `EVENTS.<dataset>` or `OBJECTS.<dataset>` (`topic` is the dataset). */
  readonly subject: string;
  /** The `$JS.ACK…` subject the message is settled on. */
  readonly reply: string;
  /** The stream sequence. */
  readonly sequence: number;
  /** The consumer sequence. */
  readonly consumerSequence: number;
  /** How many messages remained for the consumer when this one was delivered. */
  readonly pending: number;
  /** How many times it was delivered, this time included. */
  readonly delivered: number;
  /** When the server stored it. */
  readonly timestamp: Date;
  /** The stream name. */
  readonly stream: string;
  /** The consumer name. */
  readonly consumer: string;
  /** The ack subject's timestamp digits (nanoseconds), made a `bigint` when asked for. */
  readonly #timestampDigits: string;

  /**
   * Creates the message (the subscription does; users receive them).
   *
   * @internal
   * @param init Subject, payload, headers, reply subject and its metadata.
   */
  constructor(init: MdbMessageInit) {
    const timestamp = new Date(init.info.timestampMs);
    super({
      topic: init.dataset ?? init.subject.slice(init.subject.indexOf(".") + 1),
      data: init.data,
      headers: init.headers,
      id: String(init.info.streamSequence),
      time: timestamp,
    });
    this.subject = init.subject;
    this.reply = init.reply;
    this.sequence = init.info.streamSequence;
    this.consumerSequence = init.info.consumerSequence;
    this.pending = init.info.pending;
    this.delivered = init.info.deliveryCount;
    this.timestamp = timestamp;
    this.stream = init.info.stream;
    this.consumer = init.info.consumer;
    this.#timestampDigits = init.info.timestamp;
  }

  /** The server's timestamp in nanoseconds since the epoch, exactly. */
  get timestampNs(): bigint {
    return BigInt(this.#timestampDigits);
  }

  /**
   * Builds a message from what NATS delivered.
   *
   * @param subject The subject.
   * @param data The payload.
   * @param headers The headers, if any.
   * @param reply The ack subject.
   * @returns The message.
   * @throws {ProtocolError} When `reply` is not a JetStream ack subject.
   */
  static fromDelivery(subject: string, data: Uint8Array, headers: HeadersInit | undefined, reply: string): MdbMessage {
    return new MdbMessage({ subject, data, headers, reply, info: parseAckSubject(reply) });
  }
}

/**
 * A message of a subscription with `ack: "manual"`: the reader acks it (or
 * naks or terminates it). Unacked messages come back after the server's ack
 * wait (30 s). Only the first settlement counts.
 *
 * @example
 * ```ts ignore
 * for await (const msg of sub) {
 *   await handle(msg);
 *   await msg.ack();
 * }
 * ```
 */
export class SettleableMdbMessage extends MdbMessage implements Settleable {
  readonly #settlement: Settlement;

  /**
   * Creates the message (the subscription does; users receive them).
   *
   * @internal
   * @param init As {@linkcode MdbMessage}.
   * @param send Publishes a settlement payload to the reply subject.
   * @param codec The payloads (an empty ack, as nats-py sends).
   */
  constructor(init: MdbMessageInit, send: AckSender, codec: AckCodec) {
    super(init);
    this.#settlement = new Settlement(init.reply, send, codec);
  }

  /** Whether it was acked, nak'd or terminated. */
  get settled(): boolean {
    return this.#settlement.settled;
  }

  /**
   * Acks it. A second settlement is ignored.
   *
   * @returns When it was written.
   * @throws {ClosedError} When the subscription's connection is closed.
   */
  ack(): Promise<void> {
    return this.#settlement.ack();
  }

  /**
   * Asks for redelivery, after `delayMs` when given.
   *
   * @param delayMs The delay before redelivery, in ms.
   * @returns When it was written.
   * @throws {RangeError} When `delayMs` is negative or not finite.
   */
  nak(delayMs?: number): Promise<void> {
    return this.#settlement.nak(delayMs);
  }

  /**
   * Tells the server never to deliver it again.
   *
   * @param reason Recorded by the server, where supported (nats-server 2.11 and later; older ones would ignore the
   *   whole ack, so the reason is left out for them).
   * @returns When it was written.
   */
  term(reason?: string): Promise<void> {
    return this.#settlement.term(reason);
  }
}
