/**
 * Authorization for one direction of httppubsub: none, token (`Bearer`) or
 * HMAC-SHA512 (`X-HMAC ts:nonce:code` over the typed documents of the
 * protocol, with a 120 s window and single-use codes). HMAC and hashes are
 * computed in WASM in the calling thread (sha512.ts).
 *
 * @module
 */

import { type AuthDocument, encodeAuthDocument } from "./auth_document.ts";
import { encodeBase64 } from "../core/base64.ts";
import { base64Decode, formatHmacAuthorization, parseHmacAuthorization } from "./authorization_header.ts";
import { hmacSha512 } from "./sha512.ts";

/** What verifying an authorization found. */
export type AuthResult = "ok" | "unauthorized" | "forbidden" | "unavailable";

/**
 * The authorization of one direction: what the sender calls to sign, what
 * the receiver calls to verify. Subscriber→broadcaster requests and the
 * subscriber's confirmations use the "to-broadcaster" config; the
 * broadcaster's requests and every response it sends use "to-subscriber".
 */
export interface AuthConfig {
  /** The scheme. */
  readonly type: "none" | "token" | "hmac";
  /**
   * Produces the `Authorization` value for a document.
   *
   * @param doc What is signed.
   * @param tracing The tracing blob sent with it.
   * @returns The value, or `undefined` for none.
   */
  authorize(doc: AuthDocument, tracing?: Uint8Array): Promise<string | undefined>;
  /**
   * Checks an `Authorization` value against a document.
   *
   * @param doc What should have been signed.
   * @param authorization The value received; `null`/`undefined`/"" for none.
   * @param tracing The tracing blob received with it.
   * @returns `"ok"`, `"unauthorized"` (missing), `"forbidden"` (wrong, stale or replayed) or `"unavailable"`.
   */
  verify(doc: AuthDocument, authorization: string | null | undefined, tracing?: Uint8Array): Promise<AuthResult>;
}

const EMPTY = new Uint8Array(0);

/**
 * No authorization: nothing is sent, everything is accepted.
 *
 * @example
 * ```ts
 * import { noneAuth } from "@x/pubsub/httppubsub";
 *
 * const auth = noneAuth();
 * console.log(await auth.authorize({ type: "check-subscriptions", url: "u" })); // undefined
 * ```
 *
 * @returns The config.
 */
export function noneAuth(): AuthConfig {
  return {
    type: "none",
    authorize: () => Promise.resolve(undefined),
    verify: () => Promise.resolve("ok"),
  };
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Token authorization: `Authorization: Bearer <secret>` on every message,
 * compared in constant time.
 *
 * @example
 * ```ts
 * import { tokenAuth } from "@x/pubsub/httppubsub";
 *
 * const auth = tokenAuth("s3cret");
 * const doc = { type: "check-subscriptions", url: "u" } as const;
 * console.log(await auth.verify(doc, await auth.authorize(doc))); // "ok"
 * ```
 *
 * @param secret The shared token.
 * @returns The config.
 * @throws {TypeError} When the secret is empty.
 */
export function tokenAuth(secret: string): AuthConfig {
  if (typeof secret !== "string" || secret === "") {
    throw new TypeError("Creating a token auth failed: the secret is empty");
  }
  const expected = new TextEncoder().encode(`Bearer ${secret}`);
  const header = `Bearer ${secret}`;
  return {
    type: "token",
    authorize: () => Promise.resolve(header),
    verify: (_doc, authorization) => {
      if (authorization === null || authorization === undefined || authorization === "") {
        return Promise.resolve("unauthorized");
      }
      const ok = constantTimeEqual(new TextEncoder().encode(authorization), expected);
      return Promise.resolve(ok ? "ok" : "forbidden");
    },
  };
}

/** Options of {@linkcode hmacAuth}. */
export interface HmacAuthOptions {
  /** How far a timestamp may be from now, in seconds. Default 120. */
  tokenLifetime?: number;
  /** How long a code is remembered to refuse replays, in seconds. Default 180. */
  replayWindow?: number;
  /** The most codes remembered; past it verification answers `"unavailable"`. Default 1 000 000. */
  maxRemembered?: number;
  /** The clock, in seconds (fractions allowed). Default `Date.now() / 1000`. */
  now?: () => number;
  /** Makes nonces (no `:`). Default 6 base64url characters from 4 random bytes. */
  nonce?: () => string;
}

/**
 * Decodes an HMAC secret as the secrets file holds it (base64url of 64 bytes).
 *
 * @example
 * ```ts
 * import { decodeHmacSecret } from "./auth.ts";
 *
 * console.log(decodeHmacSecret("A".repeat(86)).length); // 64
 * ```
 *
 * @param secret The text.
 * @returns The 64-byte key.
 * @throws {TypeError} When it is not base64 of exactly 64 bytes.
 */
export function decodeHmacSecret(secret: string): Uint8Array {
  const key = typeof secret === "string" ? base64Decode(secret) : undefined;
  if (key === undefined || key.length !== 64) {
    throw new TypeError(
      `Creating an HMAC auth failed: the secret is not base64url of 64 bytes (${
        key === undefined ? "not base64" : `${key.length} bytes`
      })`,
    );
  }
  return key;
}

/**
 * A new random secret: 64 random bytes as base64url without padding (86
 * characters), like `secrets.token_urlsafe(64)`.
 *
 * @example
 * ```ts
 * import { generateSecret } from "@x/pubsub/httppubsub";
 *
 * console.log(generateSecret().length); // 86
 * ```
 *
 * @returns The secret.
 */
export function generateSecret(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(64)), { url: true, pad: false });
}

function defaultNonce(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(4)), { url: true, pad: false });
}

/**
 * HMAC-SHA512 authorization: `X-HMAC <ts>:<nonce>:<base64 code>` over the
 * typed document of each message. A verifier refuses timestamps more than
 * `tokenLifetime` seconds away and any code it has already accepted within
 * `replayWindow` seconds (so every retry must be signed again).
 *
 * @example
 * ```ts
 * import { generateSecret, hmacAuth } from "@x/pubsub/httppubsub";
 *
 * const secret = generateSecret();
 * const signer = hmacAuth(secret);
 * const verifier = hmacAuth(secret);
 * const doc = { type: "check-subscriptions", url: "http://127.0.0.1/v1/receive" } as const;
 * const header = await signer.authorize(doc);
 * console.log(await verifier.verify(doc, header)); // "ok"
 * console.log(await verifier.verify(doc, header)); // "forbidden" (replayed)
 * ```
 *
 * @param secret base64url of 64 bytes, or the 64 key bytes.
 * @param options Window, replay memory, clock and nonce source.
 * @returns The config.
 * @throws {TypeError} When the secret is not 64 bytes.
 * @throws {RangeError} When an option is out of range.
 */
export function hmacAuth(secret: string | Uint8Array, options: HmacAuthOptions = {}): AuthConfig {
  const raw = typeof secret === "string" ? decodeHmacSecret(secret) : secret;
  if (!(raw instanceof Uint8Array) || raw.length !== 64) {
    throw new TypeError("Creating an HMAC auth failed: the key is not 64 bytes");
  }
  const lifetime = options.tokenLifetime ?? 120;
  const window = options.replayWindow ?? 180;
  const maxRemembered = options.maxRemembered ?? 1_000_000;
  for (const [name, v] of [["tokenLifetime", lifetime], ["replayWindow", window], ["maxRemembered", maxRemembered]]) {
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
      throw new RangeError(`Creating an HMAC auth failed: ${name} ${String(v)} is not a positive number`);
    }
  }
  const now = options.now ?? (() => Date.now() / 1000);
  const nonce = options.nonce ?? defaultNonce;
  const keyBytes = raw.slice();
  // Computed in this thread: a crypto.subtle call costs ≈ 40 µs of thread hand-over per document (sha512.ts).
  let signer: Promise<(message: Uint8Array) => Uint8Array> | undefined;
  const getSigner = () => signer ??= hmacSha512(keyBytes);
  // code (base64) -> expiry (seconds); insertion order is roughly expiry order.
  const seen = new Map<string, number>();

  const prune = (t: number) => {
    for (const [code, expiry] of seen) {
      if (expiry > t) break;
      seen.delete(code);
    }
  };

  return {
    type: "hmac",
    async authorize(doc, tracing = EMPTY) {
      const ts = Math.floor(now());
      const n = nonce();
      const bytes = encodeAuthDocument(ts, n, tracing, doc);
      const code = (await getSigner())(bytes);
      return formatHmacAuthorization({ timestamp: ts, nonce: n, code });
    },
    async verify(doc, authorization, tracing = EMPTY) {
      if (authorization === null || authorization === undefined || authorization === "") return "unauthorized";
      const parsed = parseHmacAuthorization(authorization);
      if (parsed === undefined) return "forbidden";
      const t = now();
      if (Math.abs(t - parsed.timestamp) > lifetime) return "forbidden";
      let bytes: Uint8Array;
      try {
        bytes = encodeAuthDocument(parsed.timestamp, parsed.nonce, tracing, doc);
      } catch {
        return "forbidden";
      }
      if (!constantTimeEqual((await getSigner())(bytes), parsed.code)) return "forbidden";
      prune(t);
      const id = encodeBase64(parsed.code);
      if (seen.has(id)) return "forbidden";
      if (seen.size >= maxRemembered) return "unavailable";
      seen.set(id, t + window);
      return "ok";
    },
  };
}

/** One direction of a secrets file: `{ type, secret }`, absent for none. */
export interface SecretEntry {
  /** The scheme. */
  type: "hmac" | "token";
  /** The secret: base64url of 64 bytes for hmac, the token itself for token. */
  secret: string;
}

/** The contents of `subscriber-secrets.json` / `broadcaster-secrets.json`. */
export interface SecretsFile {
  /** Always "2". */
  version: "2";
  /** Subscriber→broadcaster auth; absent for none. */
  "to-broadcaster"?: SecretEntry;
  /** Broadcaster→subscriber auth; absent for none. */
  "to-subscriber"?: SecretEntry;
}

/** The two directions of auth, as the subscriber sees them. */
export interface AuthPair {
  /** Verifies what the broadcaster sends us ("to-subscriber"). */
  receiveAuth: AuthConfig;
  /** Signs what we send the broadcaster ("to-broadcaster"). */
  sendAuth: AuthConfig;
}

function entryAuth(entry: unknown, what: string, options: HmacAuthOptions): AuthConfig {
  if (entry === undefined) return noneAuth();
  if (typeof entry !== "object" || entry === null) {
    throw new TypeError(`Reading the secrets failed: "${what}" is not an object`);
  }
  const e = entry as { type?: unknown; secret?: unknown };
  if (e.type === "none") return noneAuth();
  if (typeof e.secret !== "string") throw new TypeError(`Reading the secrets failed: "${what}".secret is not a string`);
  if (e.type === "token") return tokenAuth(e.secret);
  if (e.type === "hmac") return hmacAuth(e.secret, options);
  throw new TypeError(
    `Reading the secrets failed: "${what}".type ${JSON.stringify(e.type)} is not hmac, token or none`,
  );
}

/**
 * Builds both directions of auth from a parsed secrets file.
 *
 * @example
 * ```ts
 * import { authConfigFromSecrets } from "@x/pubsub/httppubsub";
 *
 * const { sendAuth, receiveAuth } = authConfigFromSecrets({ version: "2", "to-broadcaster": { type: "token", secret: "t" } });
 * console.log(sendAuth.type, receiveAuth.type); // token none
 * ```
 *
 * @param secrets The JSON value.
 * @param options Options for HMAC configs.
 * @returns `receiveAuth` (to-subscriber) and `sendAuth` (to-broadcaster).
 * @throws {TypeError} On an unknown version or a malformed entry.
 */
export function authConfigFromSecrets(secrets: unknown, options: HmacAuthOptions = {}): AuthPair {
  if (typeof secrets !== "object" || secrets === null) {
    throw new TypeError("Reading the secrets failed: the value is not an object");
  }
  const s = secrets as Record<string, unknown>;
  if (s.version !== "2") {
    throw new TypeError(`Reading the secrets failed: version ${JSON.stringify(s.version)} is not "2"`);
  }
  return {
    receiveAuth: entryAuth(s["to-subscriber"], "to-subscriber", options),
    sendAuth: entryAuth(s["to-broadcaster"], "to-broadcaster", options),
  };
}

interface FileSystem {
  readTextFile(path: string): Promise<string>;
  writeTextFile(path: string, data: string, options?: { mode?: number }): Promise<void>;
}

function fileSystem(action: string): FileSystem {
  const deno = (globalThis as { Deno?: FileSystem }).Deno;
  if (deno === undefined || typeof deno.readTextFile !== "function") {
    throw new TypeError(`${action} failed: this runtime has no file system (Deno is needed)`);
  }
  return deno;
}

/**
 * Reads `subscriber-secrets.json` (as `lonelypss --setup` or
 * {@linkcode setupSecrets} writes it) into both directions of auth, like
 * lonelypsc's `get_auth_config_from_file`. Needs Deno's file system.
 *
 * @example
 * ```ts ignore
 * import { authConfigFromFile } from "@x/pubsub/httppubsub";
 *
 * const { sendAuth, receiveAuth } = await authConfigFromFile("subscriber-secrets.json");
 * ```
 *
 * @param path The file.
 * @param options Options for HMAC configs.
 * @returns `receiveAuth` and `sendAuth`.
 * @throws {TypeError} When the file is malformed or there is no file system.
 * @throws {SyntaxError} When it is not JSON.
 */
export async function authConfigFromFile(path: string, options: HmacAuthOptions = {}): Promise<AuthPair> {
  const fs = fileSystem(`Reading ${path}`);
  return authConfigFromSecrets(JSON.parse(await fs.readTextFile(path)), options);
}

/** The auth scheme of one direction in {@linkcode generateSecrets}. */
export type AuthScheme = "none" | "token" | "hmac";

/**
 * Makes matching secrets for both sides, like `lonelypss --setup`: the
 * subscriber's and the broadcaster's files are identical.
 *
 * @example
 * ```ts
 * import { generateSecrets } from "@x/pubsub/httppubsub";
 *
 * const s = generateSecrets({ toBroadcaster: "hmac", toSubscriber: "none" });
 * console.log(s["to-broadcaster"]?.type, s["to-subscriber"]); // hmac undefined
 * ```
 *
 * @param schemes The scheme of each direction; default hmac both ways.
 * @returns The file contents.
 * @throws {TypeError} On an unknown scheme.
 */
export function generateSecrets(
  schemes: { toBroadcaster?: AuthScheme; toSubscriber?: AuthScheme } = {},
): SecretsFile {
  const out: SecretsFile = { version: "2" };
  const make = (scheme: AuthScheme | undefined, what: string): SecretEntry | undefined => {
    const s = scheme ?? "hmac";
    if (s === "none") return undefined;
    if (s !== "hmac" && s !== "token") {
      throw new TypeError(`Generating secrets failed: ${what} scheme ${JSON.stringify(s)} is not none, token or hmac`);
    }
    return { type: s, secret: generateSecret() };
  };
  const tb = make(schemes.toBroadcaster, "to-broadcaster");
  const ts = make(schemes.toSubscriber, "to-subscriber");
  if (tb !== undefined) out["to-broadcaster"] = tb;
  if (ts !== undefined) out["to-subscriber"] = ts;
  return out;
}

/**
 * Writes `subscriber-secrets.json` and `broadcaster-secrets.json` with fresh
 * matching secrets into a directory (mode 0600). Needs Deno's file system.
 *
 * @example
 * ```ts ignore
 * import { setupSecrets } from "@x/pubsub/httppubsub";
 *
 * const paths = await setupSecrets(".", { toBroadcaster: "hmac", toSubscriber: "token" });
 * console.log(paths.subscriber); // ./subscriber-secrets.json
 * ```
 *
 * @param dir The directory.
 * @param schemes The scheme of each direction; default hmac both ways.
 * @returns The paths written.
 * @throws {TypeError} On an unknown scheme or when there is no file system.
 */
export async function setupSecrets(
  dir: string,
  schemes: { toBroadcaster?: AuthScheme; toSubscriber?: AuthScheme } = {},
): Promise<{ subscriber: string; broadcaster: string }> {
  const fs = fileSystem(`Writing secrets into ${dir}`);
  const text = JSON.stringify(generateSecrets(schemes), null, 2) + "\n";
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  const subscriber = `${base}subscriber-secrets.json`;
  const broadcaster = `${base}broadcaster-secrets.json`;
  await fs.writeTextFile(subscriber, text, { mode: 0o600 });
  await fs.writeTextFile(broadcaster, text, { mode: 0o600 });
  return { subscriber, broadcaster };
}
