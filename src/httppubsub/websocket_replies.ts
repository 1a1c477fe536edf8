/**
 * `ReplyWaiters`: what a websocket client waits for from its broadcaster —
 * the confirmation of each CONFIGURE, SUBSCRIBE and UNSUBSCRIBE (in order
 * per key), and the CONFIRM_NOTIFY / CONTINUE_NOTIFY of each notify — and
 * failing them all when the socket goes.
 *
 * @module
 */

import type { B2SMessage } from "./websocket_codec.ts";

/** One awaited reply. */
export interface ReplyWaiter {
  resolve(m: B2SMessage): void;
  reject(err: unknown): void;
  /** The subscriber counter url the request was signed with (confirmations are verified against it). */
  url: string | undefined;
}

/** The replies a websocket client waits for on its current socket. */
export class ReplyWaiters {
  /** Confirmations, first in first out per key (`confirm-configure`, `confirm-subscribe-exact:<hex>` …). */
  readonly #queued = new Map<string, ReplyWaiter[]>();
  /** Replies with a unique key (`notify:<id>`, `continue:<id>:<part>`). */
  readonly #keyed = new Map<string, ReplyWaiter>();

  /**
   * Waits for the next confirmation under `key`, after those already awaited.
   *
   * @param key The confirmation's key.
   * @param url The counter url the request was signed with.
   * @returns The confirmation, or a rejection when the socket goes.
   */
  expect(key: string, url: string | undefined): Promise<B2SMessage> {
    return new Promise((resolve, reject) => {
      let list = this.#queued.get(key);
      if (list === undefined) this.#queued.set(key, list = []);
      list.push({ resolve, reject, url });
    });
  }

  /**
   * Takes the oldest waiter of a confirmation.
   *
   * @param key The confirmation's key.
   * @returns The waiter, or `undefined` when none waits (an unexpected confirmation).
   */
  take(key: string): ReplyWaiter | undefined {
    const list = this.#queued.get(key);
    const p = list?.shift();
    if (list?.length === 0) this.#queued.delete(key);
    return p;
  }

  /**
   * Forgets every waiter of a confirmation (an attempt given up).
   *
   * @param key The confirmation's key.
   */
  forget(key: string): void {
    this.#queued.delete(key);
  }

  /**
   * Waits for the one reply under a unique key.
   *
   * @param key The key.
   * @returns The reply, or a rejection when the socket goes.
   */
  await(key: string): Promise<B2SMessage> {
    return new Promise((resolve, reject) => this.#keyed.set(key, { resolve, reject, url: undefined }));
  }

  /**
   * Takes the waiter of a unique key.
   *
   * @param key The key.
   * @returns The waiter, or `undefined` when none waits.
   */
  claim(key: string): ReplyWaiter | undefined {
    const p = this.#keyed.get(key);
    if (p !== undefined) this.#keyed.delete(key);
    return p;
  }

  /**
   * Fails every waiter (the socket is gone).
   *
   * @param err The reason.
   */
  rejectAll(err: unknown): void {
    for (const list of this.#queued.values()) for (const p of list) p.reject(err);
    this.#queued.clear();
    for (const p of this.#keyed.values()) p.reject(err);
    this.#keyed.clear();
  }
}
