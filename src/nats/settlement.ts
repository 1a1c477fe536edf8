/**
 * The settlement of one JetStream message: the first `ack()`, `nak()` or
 * `term()` is sent to its ack subject, later ones are ignored (unless the
 * first one failed). Shared by `./nats` (`JetStreamMessage`) and `./mdb`
 * (`SettleableMdbMessage`).
 *
 * @module
 */

import type { AckCodec } from "./codec.ts";

/**
 * How a settlement reaches the server: publishes `payload` to the ack subject
 * `reply` (or sends it as a request and waits for the server's reply).
 */
export type AckSender = (reply: string, payload: Uint8Array) => Promise<void>;

/**
 * The settlement state of one message.
 *
 * @example
 * ```ts
 * import { Settlement } from "./settlement.ts";
 * import { ACK, nakPayload, termPayload } from "./codec.ts";
 *
 * const sent: string[] = [];
 * const s = new Settlement("$JS.ACK.S.c.1.1.1.1.0", async (_r, p) => void sent.push(new TextDecoder().decode(p)), {
 *   ack: ACK,
 *   nak: nakPayload,
 *   term: termPayload,
 * });
 * await s.ack();
 * await s.nak(); // ignored: settled already
 * console.log(sent, s.settled); // [ "+ACK" ] true
 * ```
 */
export class Settlement {
  readonly #reply: string;
  readonly #send: AckSender;
  readonly #codec: AckCodec;
  #settled = false;
  #sending: Promise<void> | undefined;

  /**
   * Creates the state.
   *
   * @param reply The message's ack subject.
   * @param send Publishes a payload to it.
   * @param codec The payloads.
   */
  constructor(reply: string, send: AckSender, codec: AckCodec) {
    this.#reply = reply;
    this.#send = send;
    this.#codec = codec;
  }

  /**
   * Whether `ack()`, `nak()` or `term()` was called (and did not fail: a
   * settlement that rejects leaves the message unsettled, to be tried again).
   */
  get settled(): boolean {
    return this.#settled;
  }

  /** A later call while the first is on its way shares its outcome. */
  #settle(payload: () => Uint8Array): Promise<void> {
    if (this.#settled) return this.#sending ?? Promise.resolve();
    let bytes: Uint8Array;
    try {
      bytes = payload();
    } catch (err) {
      return Promise.reject(err);
    }
    this.#settled = true;
    const sending = this.#send(this.#reply, bytes).then(
      () => {
        this.#sending = undefined;
      },
      (err) => {
        this.#settled = false;
        this.#sending = undefined;
        throw err;
      },
    );
    this.#sending = sending;
    return sending;
  }

  /**
   * Sends the positive ack.
   *
   * @returns When it was handed to the connection (or confirmed, with a confirming sender).
   */
  ack(): Promise<void> {
    return this.#settle(() => this.#codec.ack);
  }

  /**
   * Asks for redelivery.
   *
   * @param delayMs How long the server waits before redelivering.
   * @returns When it was handed to the connection.
   * @throws {RangeError} When the delay is negative or not finite (the promise rejects).
   */
  nak(delayMs?: number): Promise<void> {
    return this.#settle(() => this.#codec.nak(delayMs));
  }

  /**
   * Tells the server never to deliver the message again.
   *
   * @param reason Why, where the server keeps it.
   * @returns When it was handed to the connection.
   */
  term(reason?: string): Promise<void> {
    return this.#settle(() => this.#codec.term(reason));
  }
}
