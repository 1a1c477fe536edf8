/**
 * CURVE key files: generating a pair as `posttroll-generate-keys` does, and
 * reading certificates.
 *
 * @module
 */

import * as zmq from "zeromq";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type CurveCertificate, formatCertificate, parseCertificate } from "./certificate.ts";

/** What {@linkcode generateKeys} wrote. */
export interface GeneratedKeys {
  /** The path of `<name>.key` (public key only). */
  publicFile: string;
  /** The path of `<name>.key_secret` (public and secret key). */
  secretFile: string;
  /** The public key, Z85. */
  publicKey: string;
  /** The secret key, Z85. */
  secretKey: string;
}

/**
 * Creates a CURVE key pair and writes `<dir>/<name>.key` (public) and
 * `<dir>/<name>.key_secret` (public and secret, mode 0600), in the
 * certificate format Python posttroll reads (`posttroll-generate-keys NAME
 * -d DIR`).
 *
 * @example
 * ```ts ignore
 * import { generateKeys } from "@x/pubsub/posttroll";
 *
 * const keys = await generateKeys("server", "./keys");
 * console.log(keys.publicFile); // keys/server.key
 * ```
 *
 * @param name The file name stem.
 * @param dir The directory (created if missing). Default `.`.
 * @returns The paths and the keys.
 * @throws {TypeError} When the name is empty or contains a path separator.
 */
export async function generateKeys(name: string, dir = "."): Promise<GeneratedKeys> {
  if (typeof name !== "string" || name === "" || /[\\/]/.test(name)) {
    throw new TypeError(`Generating keys failed: name ${JSON.stringify(name)} is not a plain file name`);
  }
  const { publicKey, secretKey } = zmq.curveKeyPair();
  await mkdir(dir, { recursive: true });
  const publicFile = join(dir, `${name}.key`);
  const secretFile = join(dir, `${name}.key_secret`);
  const now = new Date();
  await writeFile(publicFile, formatCertificate({ publicKey }, now));
  await writeFile(secretFile, formatCertificate({ publicKey, secretKey }, now), { mode: 0o600 });
  return { publicFile, secretFile, publicKey, secretKey };
}

/**
 * Reads a certificate file.
 *
 * @example
 * ```ts ignore
 * import { loadCertificate } from "@x/pubsub/posttroll";
 *
 * const cert = await loadCertificate("keys/server.key_secret");
 * console.log(cert.secretKey !== undefined); // true
 * ```
 *
 * @param path The file.
 * @returns The keys in it.
 * @throws {SyntaxError} When it holds no valid public key.
 */
export async function loadCertificate(path: string): Promise<CurveCertificate> {
  return parseCertificate(await readFile(path, "utf8"), path);
}
