/**
 * Reads a NATS credentials file (`NATS_CREDS`) into an authenticator.
 *
 * @module
 */

import { credsAuthenticator as fromCreds } from "@nats-io/nats-core";
import type { NatsAuthenticator } from "./options.ts";

/**
 * Reads a `.creds` file (user JWT and seed) and makes its authenticator.
 *
 * @param path The file.
 * @returns The authenticator.
 * @throws {TypeError} When the file cannot be read (the message names the file, never its content).
 */
export async function credsAuthenticator(path: string): Promise<NatsAuthenticator> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new TypeError(`Opening NATS failed: the credentials file ${path} (NATS_CREDS) cannot be read`, {
      cause: err,
    });
  }
  return fromCreds(new TextEncoder().encode(text)) as unknown as NatsAuthenticator;
}
