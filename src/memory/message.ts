/**
 * The messages of {@linkcode MemoryPubSub}.
 *
 * @module
 */

import { BasicMessage, type MessageInit, type Settleable } from "../core/message.ts";

/** What {@linkcode MemoryMessage} takes beyond a plain message. */
export interface MemoryMessageInit extends MessageInit {
  /** The broker's sequence number of the publish. */
  sequence: number;
  /** How many times it was delivered before. */
  redelivered?: number | undefined;
}

/**
 * A message from {@linkcode MemoryPubSub}: topic, data, headers, and the
 * broker's sequence number as `id` and `sequence`.
 *
 * @example
 * ```ts
 * import { MemoryMessage } from "@x/pubsub/testing";
 *
 * const m = new MemoryMessage({ topic: "t", data: "x", sequence: 1 });
 * console.log(m.sequence, m.id); // 1 "1"
 * ```
 */
export class MemoryMessage extends BasicMessage {
  /** The broker's sequence number of the publish, from 1. */
  readonly sequence: number;
  /** How many times this message was delivered before (after `nak()`). */
  readonly redelivered: number;

  /**
   * Creates the message.
   *
   * @param init The message's fields.
   */
  constructor(init: MemoryMessageInit) {
    super({ ...init, id: init.id ?? String(init.sequence) });
    this.sequence = init.sequence;
    this.redelivered = init.redelivered ?? 0;
  }
}

/**
 * A {@linkcode MemoryMessage} with `ack()`, `nak()` and `term()`, from a
 * broker made with `settle: true`: a nak'd message is delivered again.
 */
export class SettleableMemoryMessage extends MemoryMessage implements Settleable {
  #settled = false;
  readonly #redeliver: (msg: SettleableMemoryMessage, delayMs: number) => void;

  constructor(init: MemoryMessageInit, redeliver: (msg: SettleableMemoryMessage, delayMs: number) => void) {
    super(init);
    this.#redeliver = redeliver;
  }

  ack(): Promise<void> {
    this.#settled = true;
    return Promise.resolve();
  }

  nak(delayMs = 0): Promise<void> {
    if (!this.#settled) {
      this.#settled = true;
      this.#redeliver(this, delayMs);
    }
    return Promise.resolve();
  }

  term(): Promise<void> {
    this.#settled = true;
    return Promise.resolve();
  }
}
