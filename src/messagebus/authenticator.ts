/**
 * Client authenticators: what the client writes right after connecting.
 *
 * @module
 */

import type { Credentials } from "./credentials.ts";

/** Proxy fields both authenticators carry. */
export interface AuthenticatorOptions {
  /** The user to act as, where the server allows impersonation. */
  impersonating?: string | undefined;
  /** The host the request is forwarded for, where the server allows proxying. */
  forwardedFor?: string | undefined;
  /** An application name (v4 connection strings only). */
  application?: string | undefined;
}

/** Anything that produces {@linkcode Credentials}. */
export interface Authenticator {
  /**
   * Produces what the client writes after connecting.
   *
   * @returns The credentials to write.
   */
  credentials(): Credentials;
  /** The user name, for error messages (never the secret). */
  readonly user: string;
}

function checkString(value: unknown, what: string, action: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${action} failed: the ${what} ${JSON.stringify(value)} is not a non-empty string`);
  }
  return value;
}

function extras(options: AuthenticatorOptions, action: string): AuthenticatorOptions {
  for (const key of ["impersonating", "forwardedFor", "application"] as const) {
    const v = options[key];
    if (v !== undefined && typeof v !== "string") {
      throw new TypeError(`${action} failed: ${key} ${JSON.stringify(v)} is not a string`);
    }
  }
  return { ...options };
}

/**
 * Username and password (the server's password-file and LDAP plugins).
 *
 * @example
 * ```ts
 * import { BasicAuthenticator } from "@x/pubsub/messagebus";
 *
 * const auth = new BasicAuthenticator("alice", "secret");
 * console.log(auth.credentials().kind); // basic
 * ```
 */
export class BasicAuthenticator implements Authenticator {
  /** The user name. */
  readonly user: string;
  readonly #password: string;
  readonly #extras: AuthenticatorOptions;

  /**
   * Creates the authenticator.
   *
   * @param username The user name.
   * @param password The password.
   * @param options Impersonation and proxy fields.
   * @throws {TypeError} When the username or password is not a non-empty string.
   */
  constructor(username: string, password: string, options: AuthenticatorOptions = {}) {
    const action = "Creating a BasicAuthenticator";
    this.user = checkString(username, "username", action);
    this.#password = checkString(password, "password", action);
    this.#extras = extras(options, action);
  }

  /**
   * Produces the basic credentials.
   *
   * @returns Username, password and the proxy fields.
   */
  credentials(): Credentials {
    return { kind: "basic", username: this.user, password: this.#password, ...this.#extras };
  }
}

/**
 * A JWT (the server's JWT plugin: HMAC with a shared secret, `exp` required,
 * the user is the token's `sub`). It is written as a plain string, without a
 * "Bearer" prefix.
 *
 * @example
 * ```ts
 * import { TokenAuthenticator } from "@x/pubsub/messagebus";
 *
 * const auth = new TokenAuthenticator("eyJhbGciOi...");
 * console.log(auth.credentials().kind); // token
 * ```
 */
export class TokenAuthenticator implements Authenticator {
  /** The token's `sub`, when it can be read, else `"token"`. */
  readonly user: string;
  readonly #token: string;
  readonly #extras: AuthenticatorOptions;

  /**
   * Creates the authenticator.
   *
   * @param token The JWT.
   * @param options Impersonation and proxy fields.
   * @throws {TypeError} When the token is not a non-empty string.
   */
  constructor(token: string, options: AuthenticatorOptions = {}) {
    const action = "Creating a TokenAuthenticator";
    this.#token = checkString(token, "token", action);
    this.#extras = extras(options, action);
    this.user = subjectOf(token) ?? "token";
  }

  /**
   * Produces the token credentials.
   *
   * @returns The token and the proxy fields.
   */
  credentials(): Credentials {
    return { kind: "token", token: this.#token, ...this.#extras };
  }
}

function subjectOf(token: string): string | undefined {
  const part = token.split(".")[1];
  if (part === undefined) return undefined;
  try {
    const json = atob(part.replaceAll("-", "+").replaceAll("_", "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const claims: unknown = JSON.parse(json);
    if (typeof claims === "object" && claims !== null && typeof (claims as { sub?: unknown }).sub === "string") {
      return (claims as { sub: string }).sub;
    }
  } catch { /* not a readable JWT: the server decides */ }
  return undefined;
}
