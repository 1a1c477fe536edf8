/**
 * `SubscriptionSync`: how `HttpPubSubClient` keeps the broadcasters' copy of
 * its subscriptions right. Every change of the registry's set is one more
 * version; versions are sent one after another with `set_subscriptions`
 * (the whole set and its strong etag), the newest only;
 * `check_subscriptions` compares etags and sends the set again on a
 * mismatch.
 *
 * @module
 */

import { equalBytes } from "../core/bytes.ts";
import { ProtocolError } from "../core/errors.ts";
import type { AuthConfig } from "./auth.ts";
import { type PostPolicy, postWithRetries, verifyAnswer } from "./broadcaster_post.ts";
import {
  decodeCheckSubscriptionsResponse,
  decodeGenericResponse,
  type GenericResponse,
} from "./broadcaster_responses.ts";
import type { RegistrationChange, SubscriptionRegistry } from "./registry.ts";
import { encodeCheckSubscriptionsRequest, encodeSetSubscriptionsRequest } from "./requests_to_broadcaster.ts";
import { strongEtag, type SubscriptionSet } from "./strong_etag.ts";

/** What the sync needs of its client. */
export interface SyncContext {
  readonly registry: SubscriptionRegistry;
  readonly policy: PostPolicy;
  readonly sendAuth: AuthConfig;
  readonly receiveAuth: AuthConfig;
  /** The registered receive url (known once the receiver started). */
  receiveUrl(): string;
  /** The recovery url sent with every registration. */
  recoverUrl(): string;
  /** Tracks work that `close()` waits for. */
  track<T>(p: Promise<T>): Promise<T>;
  /** Told once, after the first set was accepted. */
  synced(url: string): void;
}

/** Keeps the broadcasters' copy of one client's subscription set in sync. */
export class SubscriptionSync {
  readonly #ctx: SyncContext;
  #version = 0;
  #synced = 0;
  #chain: Promise<void> = Promise.resolve();
  #everSynced = false;

  /**
   * @param ctx The client's side.
   */
  constructor(ctx: SyncContext) {
    this.#ctx = ctx;
  }

  /**
   * The registry's `RegistryTransport.apply`: any change is one more version
   * to send; an empty one waits for the sync in flight.
   *
   * @param change What appeared or went.
   * @returns Resolves once the broadcaster holds a set at least as new.
   */
  apply(change: RegistrationChange): Promise<void> {
    if (change.added.length === 0 && change.removed.length === 0) return this.#ctx.track(this.#chain);
    this.#version++;
    return this.#run();
  }

  #run(): Promise<void> {
    const want = this.#version;
    const run = this.#chain.catch(() => {}).then(async () => {
      if (this.#synced >= want) return;
      const version = this.#version;
      await this.#setSubscriptions();
      this.#synced = version;
    });
    this.#chain = run.catch(() => {});
    return this.#ctx.track(run);
  }

  /** The set the broadcaster should hold for our receive url. */
  #currentSet(): SubscriptionSet {
    const recovery = this.#ctx.recoverUrl();
    return {
      exact: [...this.#ctx.registry.exact.values()].map((e) => ({ key: e.bytes, recovery })),
      glob: [...this.#ctx.registry.globs.keys()].map((key) => ({ key, recovery })),
    };
  }

  /**
   * Compares the broadcaster's strong etag of our set with ours; sends the
   * whole set again when they differ.
   *
   * @returns Whether the broadcaster was in sync before the call.
   * @throws {AuthError} When our credentials or the answer's signature are refused.
   * @throws {RetriesExhaustedError} When no broadcaster answered.
   */
  async check(): Promise<boolean> {
    const action = "Checking the subscriptions";
    const url = this.#ctx.receiveUrl();
    const tracing = new Uint8Array(0);
    const body = encodeCheckSubscriptionsRequest({ tracing, url });
    const theirs = await this.#ctx.track(postWithRetries(
      this.#ctx.policy,
      action,
      "/v1/check_subscriptions",
      async () => ({
        body,
        authorization: await this.#ctx.sendAuth.authorize({ type: "check-subscriptions", url }, tracing),
      }),
      async (bytes, from) => {
        let res;
        try {
          res = decodeCheckSubscriptionsResponse(bytes);
        } catch (cause) {
          throw new ProtocolError(`${action} failed: ${(cause as Error).message}`, { cause });
        }
        await verifyAnswer(this.#ctx.receiveAuth, action, from, res, {
          type: "check-subscriptions-response",
          etag: res.etag,
        });
        return res.etag;
      },
      undefined,
      undefined,
    ));
    await this.#chain;
    const ours = await strongEtag(url, this.#currentSet());
    if (equalBytes(ours, theirs)) return true;
    this.#synced = -1;
    await this.#run();
    return false;
  }

  async #setSubscriptions(): Promise<void> {
    const action = "Setting the subscriptions";
    const url = this.#ctx.receiveUrl();
    const set = this.#currentSet();
    const etag = await strongEtag(url, set);
    const tracing = new Uint8Array(0);
    const body = encodeSetSubscriptionsRequest({ tracing, url, etag, ...set });
    await postWithRetries(
      this.#ctx.policy,
      action,
      "/v1/set_subscriptions",
      async () => ({
        body,
        authorization: await this.#ctx.sendAuth.authorize({ type: "set-subscriptions", url, etag }, tracing),
      }),
      async (bytes, from) => {
        let res: GenericResponse;
        try {
          res = decodeGenericResponse(bytes);
        } catch (cause) {
          throw new ProtocolError(`${action} failed: ${(cause as Error).message}`, { cause });
        }
        await verifyAnswer(this.#ctx.receiveAuth, action, from, res, { type: "set-subscriptions-response", etag });
      },
      undefined,
      undefined,
    );
    if (!this.#everSynced) {
      this.#everSynced = true;
      this.#ctx.synced(url);
    }
  }
}
