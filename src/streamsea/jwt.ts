/**
 * Minting stream-sea JWTs (RS512) for front ends, with `jose`.
 *
 * @module
 */

import { importPKCS8, SignJWT } from "jose";
import type { FilterExpression } from "./filter.ts";

/** The claims of a stream-sea JWT. */
export interface StreamSeaJwtClaims {
  /**
   * When the token expires: a `Date`, or UNIX seconds. The server closes the
   * connection then and refuses the token afterwards.
   */
  exp: Date | number;
  /** Force the bearer into fanout mode (its own group). Browsers sharing a backend's client id need it. */
  mustFanout: boolean;
  /** Only messages passing this filter are forwarded; without it, every stream of the jail. */
  filter?: FilterExpression | undefined;
}

/**
 * Signs a stream-sea JWT with the client's RSA private key (RS512, header
 * `{"alg":"RS512","typ":"JWT"}`). Register the matching public key with the
 * server first (`PUT /api/v1/client/{id}/jwt-public-key`).
 *
 * @example
 * ```ts
 * import { createStreamSeaJwt } from "@x/pubsub/streamsea";
 *
 * const { privateKey } = await crypto.subtle.generateKey(
 *   { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-512" },
 *   true,
 *   ["sign", "verify"],
 * );
 * const jwt = await createStreamSeaJwt(privateKey, { exp: 1893456000, mustFanout: true });
 * console.log(jwt.split(".").length); // 3
 * ```
 *
 * @param privateKey An RSASSA-PKCS1-v1_5 SHA-512 `CryptoKey`, or a PKCS#8 PEM (`BEGIN PRIVATE KEY`).
 * @param claims `exp`, `mustFanout` and an optional `filter`.
 * @returns The compact JWS.
 * @throws {TypeError} When `exp` or `mustFanout` is invalid, or the key cannot be used.
 */
export async function createStreamSeaJwt(privateKey: CryptoKey | string, claims: StreamSeaJwtClaims): Promise<string> {
  const exp = claims.exp instanceof Date ? Math.floor(claims.exp.getTime() / 1000) : claims.exp;
  if (typeof exp !== "number" || !Number.isSafeInteger(exp) || exp <= 0) {
    throw new TypeError(`Creating a JWT failed: exp ${String(claims.exp)} is not a valid time`);
  }
  if (typeof claims.mustFanout !== "boolean") {
    throw new TypeError(`Creating a JWT failed: mustFanout ${String(claims.mustFanout)} is not a boolean`);
  }
  let key: CryptoKey;
  try {
    key = typeof privateKey === "string" ? await importPKCS8(privateKey, "RS512") : privateKey;
  } catch (err) {
    throw new TypeError("Creating a JWT failed: the private key is not a PKCS#8 RSA PEM", { cause: err });
  }
  const payload: Record<string, unknown> = { mustFanout: claims.mustFanout };
  if (claims.filter !== undefined) payload.filter = claims.filter;
  try {
    return await new SignJWT(payload).setProtectedHeader({ alg: "RS512", typ: "JWT" }).setExpirationTime(exp).sign(
      key,
    );
  } catch (err) {
    throw new TypeError("Creating a JWT failed: the key cannot sign RS512", { cause: err });
  }
}
