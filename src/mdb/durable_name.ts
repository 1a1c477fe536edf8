/**
 * The durable consumer name of an MDB user.
 *
 * @module
 */

import { md5 } from "hash-wasm";
import { durableFromMd5 } from "./codec.ts";

/**
 * The durable consumer name speedracer uses for a user: the MD5 hex of the
 * gateway JWT's `CN` claim (UTF-8) with its last hex digit set to `0`. It
 * depends on the user only, so every program of one user shares one consumer
 * per dataset.
 *
 * @example
 * ```ts
 * import { durableName } from "./durable_name.ts";
 *
 * console.log(await durableName("alice")); // 6384e2b2184bcbf58eccf10ca7a65630
 * ```
 *
 * @param cn The user's common name.
 * @returns The 32-character consumer name.
 * @throws {TypeError} When `cn` is not a non-empty string.
 */
export async function durableName(cn: string): Promise<string> {
  if (typeof cn !== "string" || cn.length === 0) {
    throw new TypeError(`Naming the consumer failed: the CN ${JSON.stringify(cn)} is not a non-empty string`);
  }
  return durableFromMd5(await md5(new TextEncoder().encode(cn)));
}
