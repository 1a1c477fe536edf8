/**
 * The API gateway token: fetched over mutual TLS, cached, refetched near expiry.
 *
 * @module
 */

import { ClosedError, ProtocolError } from "../core/errors.ts";
import { decodeJwtClaims, isExpiring, type JwtClaims } from "./codec.ts";
import {
  checkStatus,
  checkTimeout,
  type ClientCert,
  httpGet,
  loadCaCerts,
  loadClientCert,
  type TlsOptions,
} from "./tls.ts";

/** How close to its `exp` a gateway token is fetched again: 5 minutes. */
export const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

/** Options of {@linkcode JWTManager}. */
export interface JWTManagerOptions extends TlsOptions {
  /** The clock, in ms since the epoch (tests). Default `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * Fetches the user's JWT from the Autobahn API gateway over mutual TLS (the
 * client certificate is the credential), caches it and fetches it again when
 * its `exp` is less than 5 minutes away. A token without `exp` is kept for
 * good. When a refresh fails while the cached token is still valid, the cached
 * one is returned; the first fetch failing throws.
 *
 * @example
 * ```ts ignore
 * import { JWTManager } from "@x/pubsub/mdb";
 *
 * const jwt = new JWTManager("https://api-gateway.example/getjwt", {
 *   cert: ["/home/me/.ssh/cert.crt", "/home/me/.ssh/cert.key"],
 * });
 * console.log(await jwt.getCn());
 * const headers = await jwt.getHeaders(); // { Authorization: "Bearer …" }
 * await jwt.close();
 * ```
 */
export class JWTManager {
  /** The gateway URL. */
  readonly url: string;
  /** The client certificate given, or `undefined` for the defaults. */
  readonly cert: ClientCert | undefined;
  /** The CA bundle given, or `undefined` for `SSL_CA_BUNDLE` or the system roots. */
  readonly caBundle: string | undefined;
  #token: string | undefined;
  #claims: JwtClaims | undefined;
  #client: Promise<Deno.HttpClient> | undefined;
  #inflight: Promise<string> | undefined;
  #closed = false;
  readonly #now: () => number;
  readonly #timeoutMs: number;

  /**
   * Creates the manager; nothing is fetched or read until {@linkcode JWTManager.get}.
   *
   * @param url The API gateway URL (the config's `api_gateway_url`).
   * @param options The client certificate, the CA bundle.
   * @throws {TypeError} When `url` is not an absolute https URL.
   * @throws {RangeError} When `timeoutMs` is not positive.
   */
  constructor(url: string, options: JWTManagerOptions = {}) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new TypeError(`Creating a JWTManager failed: ${JSON.stringify(url)} is not an absolute URL`);
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") {
      throw new TypeError(`Creating a JWTManager failed: ${url} is not an https: URL`);
    }
    this.url = url;
    this.cert = options.cert;
    this.caBundle = options.caBundle;
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = checkTimeout(options.timeoutMs, "Creating a JWTManager");
  }

  /** The cached token, or `undefined` before the first fetch. */
  get token(): string | undefined {
    return this.#token;
  }

  #httpClient(): Promise<Deno.HttpClient> {
    this.#client ??= (async () => {
      const [caCerts, pair] = await Promise.all([loadCaCerts(this.caBundle), loadClientCert(this.cert)]);
      return Deno.createHttpClient({ ...(caCerts === undefined ? {} : { caCerts }), cert: pair.cert, key: pair.key });
    })();
    const made = this.#client;
    made.catch(() => {
      if (this.#client === made) this.#client = undefined;
    });
    return made;
  }

  /**
   * The gateway token, fetched when none is cached or the cached one expires
   * within 5 minutes.
   *
   * @returns The token.
   * @throws {AuthError} When the gateway refuses (naming the URL and status, or the TLS alert by which it refused the
   *   client certificate) and no valid token is cached.
   * @throws {ConnectionError} When the certificate files cannot be read or the TLS connection fails.
   * @throws {ProtocolError} When the gateway's answer is not a JWT.
   * @throws {TimeoutError} When the gateway does not answer in time.
   * @throws {ClosedError} After {@linkcode JWTManager.close}.
   */
  get(): Promise<string> {
    if (this.#closed) return Promise.reject(new ClosedError("Getting the gateway JWT failed: the manager is closed"));
    const claims = this.#claims;
    if (this.#token !== undefined && claims !== undefined && !isExpiring(claims, this.#now(), EXPIRY_MARGIN_MS)) {
      return Promise.resolve(this.#token);
    }
    this.#inflight ??= this.#fetch().finally(() => this.#inflight = undefined);
    return this.#inflight;
  }

  async #fetch(): Promise<string> {
    try {
      const client = await this.#httpClient();
      const result = await httpGet(this.url, "the gateway JWT", {
        client,
        timeoutMs: this.#timeoutMs,
        clientCert: true,
      });
      checkStatus(result, this.url, "the gateway JWT", true);
      const token = result.text.trim();
      const claims = decodeJwtClaims(token, `gateway JWT from ${this.url}`);
      this.#token = token;
      this.#claims = claims;
      return token;
    } catch (err) {
      const old = this.#claims;
      if (this.#token !== undefined && old !== undefined && !isExpiring(old, this.#now(), 0)) return this.#token;
      throw err;
    }
  }

  /**
   * The Authorization header the registry and the MAS expect.
   *
   * @returns `{ Authorization: "Bearer <token>" }`.
   * @throws {AuthError} As {@linkcode JWTManager.get}.
   */
  async getHeaders(): Promise<{ Authorization: string }> {
    return { Authorization: `Bearer ${await this.get()}` };
  }

  /**
   * The user's common name, the token's `CN` claim.
   *
   * @returns The CN.
   * @throws {ProtocolError} When the token has no string `CN` claim.
   * @throws {AuthError} As {@linkcode JWTManager.get}.
   */
  async getCn(): Promise<string> {
    await this.get();
    const cn = this.#claims?.CN;
    if (typeof cn !== "string" || cn === "") {
      throw new ProtocolError(`Reading the gateway JWT from ${this.url} failed: it has no CN claim`);
    }
    return cn;
  }

  /**
   * Releases the HTTPS client. Later calls to `get()` reject with {@linkcode ClosedError}.
   *
   * @returns A promise that settles once the client is released.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    await this.#inflight?.catch(() => {});
    try {
      (await client)?.close();
    } catch { /* never created */ }
  }
}
