/**
 * The NATS user JWT the MAS issues for one dataset: fetched before the first
 * connect, refreshed ahead of its `exp` and whenever the connection drops or
 * retries, so each reconnect carries a fresh one (spec mdb §3, §11).
 *
 * @module
 */

import { checkStatus, httpGet } from "./tls.ts";
import type { JWTManager } from "./jwt_manager.ts";
import { decodeJwtClaims, userJwtUrl } from "./codec.ts";

/** What {@linkcode MasJwt} needs from the MDB connection. */
export interface MasJwtContext {
  /** The MAS base URL. */
  readonly masUrl: string;
  /** The gateway token manager (the MAS wants its Bearer token). */
  readonly jwtManager: JWTManager;
  /** The HTTPS client (server-verified only), or the default. */
  readonly httpClient: Deno.HttpClient | undefined;
  /** How long one HTTPS call may take. */
  readonly timeoutMs: number;
}

/**
 * Holds the MAS user JWT of one dataset subscription.
 *
 * - {@linkcode MasJwt.fetch} gets the first one (its failure fails the subscription).
 * - A timer refreshes it ahead of its `exp` (a quarter of its lifetime
 *   before, between 0.5 and 60 s).
 * - {@linkcode MasJwt.refresh} fetches a new one now unless a fetch is under
 *   way; the subscription calls it on every `disconnected` and `reconnecting`
 *   event and when NATS refuses the credentials, so a refresh that failed is
 *   tried again at the next reconnect attempt instead of never.
 *
 * A failed refresh keeps the JWT held and reports the error through `onError`.
 */
export class MasJwt {
  readonly #ctx: MasJwtContext;
  readonly #dataset: string;
  readonly #signal: AbortSignal;
  readonly #onError: (err: unknown, why: string) => void;
  #jwt = "";
  #expMs: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inflight: Promise<void> | undefined;
  #closed = false;
  /** How many fetches succeeded. */
  fetched = 0;

  /**
   * Creates the holder; nothing is fetched before `fetch()`.
   *
   * @param ctx The MAS URL, the gateway token manager, the HTTPS client.
   * @param dataset The dataset.
   * @param signal Aborted when the subscription ends: pending fetches give up, no refresh starts.
   * @param onError Told about each failed refresh.
   */
  constructor(
    ctx: MasJwtContext,
    dataset: string,
    signal: AbortSignal,
    onError: (err: unknown, why: string) => void,
  ) {
    this.#ctx = ctx;
    this.#dataset = dataset;
    this.#signal = signal;
    this.#onError = onError;
  }

  /** The JWT held (`""` before the first fetch). */
  get jwt(): string {
    return this.#jwt;
  }

  /**
   * Fetches a JWT from the MAS and schedules its refresh.
   *
   * @returns When the new JWT is held.
   * @throws {AuthError} When the MAS refuses (naming the URL and status).
   * @throws {ProtocolError} When the answer is not a JWT.
   * @throws {ConnectionError} When the MAS cannot be reached.
   * @throws {TimeoutError} When the MAS does not answer in time.
   */
  async fetch(): Promise<void> {
    const url = userJwtUrl(this.#ctx.masUrl, this.#dataset);
    const what = `the NATS user JWT for dataset ${this.#dataset}`;
    const headers = await this.#ctx.jwtManager.getHeaders();
    const res = await httpGet(url, what, {
      headers,
      client: this.#ctx.httpClient,
      signal: this.#signal,
      timeoutMs: this.#ctx.timeoutMs,
    });
    checkStatus(res, url, what, true);
    const claims = decodeJwtClaims(res.text.trim(), `NATS user JWT from ${url}`);
    this.#jwt = res.text;
    this.#expMs = typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
    this.fetched++;
    this.#schedule();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const exp = this.#expMs;
    if (exp === undefined || this.#closed || this.#signal.aborted) return;
    const left = exp - Date.now();
    const lead = Math.min(60_000, Math.max(500, left / 4));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.refresh("the MAS user JWT expires soon");
    }, Math.max(0, left - lead));
  }

  /**
   * Fetches a new JWT in the background, unless one is being fetched.
   *
   * @param why Why, for the error report.
   */
  refresh(why: string): void {
    if (this.#inflight !== undefined || this.#closed || this.#signal.aborted) return;
    this.#inflight = this.fetch().catch((err) => {
      if (!this.#closed && !this.#signal.aborted) this.#onError(err, why);
    }).finally(() => this.#inflight = undefined);
  }

  /**
   * Stops refreshing; waits for a fetch under way.
   *
   * @returns When nothing is left running.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inflight;
  }
}
