/**
 * `WebsocketNotifier`: a notify over the websocket — one NOTIFY frame when
 * it fits in `maxFrameBytes`, else NOTIFY_STREAM parts each signed afresh
 * and each awaiting the broadcaster's CONTINUE_NOTIFY (one streamed notify
 * at a time) — and its verified CONFIRM_NOTIFY.
 *
 * @module
 */

import { toHex } from "../core/bytes.ts";
import { AuthError, ProtocolError } from "../core/errors.ts";
import type { AuthConfig } from "./auth.ts";
import type { AuthDocument } from "./auth_document.ts";
import type { NotifyResult } from "./client.ts";
import type { B2SMessage, S2BMessage } from "./websocket_codec.ts";
import type { ReplyWaiters } from "./websocket_replies.ts";

const EMPTY = new Uint8Array(0);

/** What notifying needs of its client. */
export interface NotifyContext {
  readonly replies: ReplyWaiters;
  readonly receiveAuth: AuthConfig;
  /** The largest frame sent. */
  readonly maxFrame: number;
  /** Signs and sends one frame (not counted: a notify's document carries no url). */
  send(
    doc: () => AuthDocument,
    message: (url: string | undefined, authorization: string | undefined) => S2BMessage,
  ): Promise<unknown>;
  /** Waits for a reply within the client's time limit. */
  within<T>(reply: Promise<T>, what: string): Promise<T>;
}

/** Sends one client's notifies. */
export class WebsocketNotifier {
  readonly #ctx: NotifyContext;
  /** Streamed notifies go one at a time (their parts must not interleave). */
  #lock: Promise<unknown> = Promise.resolve();

  /**
   * @param ctx The client's side.
   */
  constructor(ctx: NotifyContext) {
    this.#ctx = ctx;
  }

  /**
   * Sends a checked notify on the connected socket.
   *
   * @param topic The topic.
   * @param data The message.
   * @param sha512 Its SHA-512.
   * @param action The error message prefix.
   * @returns How many subscribers the broadcaster reached, and the identifier.
   * @throws {AuthError} When a reply does not verify.
   * @throws {ProtocolError} On an unexpected reply.
   * @throws {ConnectionError} When the socket goes meanwhile.
   */
  async send(topic: Uint8Array, data: Uint8Array, sha512: Uint8Array, action: string): Promise<NotifyResult> {
    const identifier = crypto.getRandomValues(new Uint8Array(16));
    const id = toHex(identifier);
    const confirmed = this.#ctx.replies.await(`notify:${id}`);
    confirmed.catch(() => {});
    const doc: AuthDocument = { type: "notify", topic, identifier, sha512 };
    if (data.length + 1024 < this.#ctx.maxFrame) {
      await this.#ctx.send(() => doc, (_u, authorization) => ({
        type: "notify",
        authorization,
        tracing: EMPTY,
        identifier,
        topic,
        sha512,
        payload: data,
      }));
    } else {
      const partSize = this.#ctx.maxFrame - 1024;
      const run = this.#lock.then(async () => {
        for (let partId = 0, at = 0; at < data.length || partId === 0; partId++, at += partSize) {
          const payload = data.subarray(at, at + partSize);
          const last = at + partSize >= data.length;
          let cont: Promise<B2SMessage> | undefined;
          if (!last) {
            cont = this.#ctx.replies.await(`continue:${id}:${partId}`);
          }
          await this.#ctx.send(() => doc, (_u, authorization) => ({
            type: "notify-stream",
            authorization,
            tracing: EMPTY,
            identifier,
            partId,
            start: partId === 0 ? { topic, length: data.length, sha512 } : undefined,
            payload,
          }));
          if (cont !== undefined) {
            const m = await this.#ctx.within(cont, `${action}: waiting for CONTINUE_NOTIFY`);
            if (m.type !== "continue-notify") continue;
            const ok = await this.#ctx.receiveAuth.verify(
              { type: "continue-notify", identifier, partId },
              m.authorization,
              m.tracing,
            );
            if (ok !== "ok") throw new AuthError(`${action} failed: CONTINUE_NOTIFY has a ${ok} authorization`);
          }
        }
      });
      this.#lock = run.catch(() => {});
      await run;
    }
    const m = await this.#ctx.within(confirmed, `${action}: waiting for CONFIRM_NOTIFY`);
    if (m.type !== "confirm-notify") throw new ProtocolError(`${action} failed: unexpected ${m.type}`);
    const ok = await this.#ctx.receiveAuth.verify(
      { type: "confirm-notify", identifier, subscribers: m.subscribers, topic, sha512 },
      m.authorization,
      m.tracing,
    );
    if (ok !== "ok") throw new AuthError(`${action} failed: CONFIRM_NOTIFY has a ${ok} authorization`);
    return { notified: m.subscribers, identifier: id };
  }
}
