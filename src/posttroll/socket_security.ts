/**
 * The options of PostTroll's zeromq sockets from the settings: TCP
 * keepalive and linger for every socket, and the `secure_zmq` backend's
 * CURVE keys (server sockets checked by this process's ZAP handler, client
 * sockets with their key pair and the server's public key).
 *
 * @module
 */

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { AuthError } from "../core/errors.ts";
import { parseCertificate } from "./certificate.ts";
import type { PosttrollConfig } from "./config.ts";
import { ZapHandler } from "./zap.ts";

/** Options every socket gets: keepalive from the settings, linger. */
export function baseOptions(config: PosttrollConfig): Record<string, number> {
  const o: Record<string, number> = { linger: 0 };
  if (config.tcpKeepalive !== undefined) o.tcpKeepalive = config.tcpKeepalive;
  if (config.tcpKeepaliveCnt !== undefined) o.tcpKeepaliveCount = config.tcpKeepaliveCnt;
  if (config.tcpKeepaliveIdle !== undefined) o.tcpKeepaliveIdle = config.tcpKeepaliveIdle;
  if (config.tcpKeepaliveIntvl !== undefined) o.tcpKeepaliveInterval = config.tcpKeepaliveIntvl;
  return o;
}

async function readCert(path: string, what: string) {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new AuthError(`Reading the ${what} ${path} failed`, { cause: err });
  }
  try {
    return parseCertificate(text, path);
  } catch (err) {
    throw new AuthError(`Reading the ${what} ${path} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** {@linkcode readCert} of a key pair: a certificate without its secret key is an `AuthError`. */
async function readKeyPair(path: string, what: string): Promise<{ publicKey: string; secretKey: string }> {
  const cert = await readCert(path, what);
  if (cert.secretKey === undefined) throw new AuthError(`Reading the ${what} ${path} failed: it has no secret-key`);
  return { publicKey: cert.publicKey, secretKey: cert.secretKey };
}

/**
 * The public keys of every `*.key` file in a directory, as posttroll's
 * authenticator loads them.
 *
 * @param dir The directory.
 * @returns The Z85 keys.
 * @throws {AuthError} When the directory or a file cannot be read.
 */
export async function loadPublicKeys(dir: string): Promise<Set<string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new AuthError(`Reading the clients' public keys directory ${dir} failed`, { cause: err });
  }
  const keys = new Set<string>();
  for (const name of names.sort()) {
    if (!name.endsWith(".key")) continue;
    keys.add((await readCert(join(dir, name), "client public key file")).publicKey);
  }
  return keys;
}

/** A socket's security: what to add to its options, and what to release after. */
export interface SocketSecurity {
  /** Options for the zeromq socket constructor. */
  options: Record<string, string | number | boolean>;
  /** Releases the ZAP registration (servers only). */
  release(): void;
}

/**
 * The options of a binding (server) socket: under `secure_zmq` a CURVE
 * server whose clients are checked by this process's ZAP handler against
 * the clients directory (and the address allow-list); under `unsecure_zmq`
 * plain, with the allow-list enforced by ZAP where set.
 *
 * @param config The settings.
 * @returns The options and a release function.
 * @throws {AuthError} When the key files cannot be read.
 */
export async function serverSecurity(config: PosttrollConfig): Promise<SocketSecurity> {
  const options: Record<string, string | number | boolean> = baseOptions(config);
  const addresses = config.authorizedClientAddresses;
  if (config.backend !== "secure_zmq") {
    if (addresses === undefined) return { options, release: () => {} };
    const zap = await ZapHandler.acquire();
    const domain = zap.register({ keys: undefined, addresses: new Set(addresses) });
    options.zapDomain = domain;
    return { options, release: () => zap.unregister(domain) };
  }
  if (config.serverSecretKeyFile === undefined || config.clientsPublicKeysDirectory === undefined) {
    throw new AuthError(
      "Creating a CURVE server socket failed: serverSecretKeyFile and clientsPublicKeysDirectory must both be set",
    );
  }
  const cert = await readKeyPair(config.serverSecretKeyFile, "server secret key file");
  const keys = await loadPublicKeys(config.clientsPublicKeysDirectory);
  const zap = await ZapHandler.acquire();
  const domain = zap.register({ keys, addresses: addresses === undefined ? undefined : new Set(addresses) });
  options.curveServer = true;
  options.curveSecretKey = cert.secretKey;
  options.curvePublicKey = cert.publicKey;
  options.zapDomain = domain;
  return { options, release: () => zap.unregister(domain) };
}

/**
 * The options of a connecting (client) socket: under `secure_zmq` (or when
 * `backend` says so) a CURVE client with this client's key pair and the
 * servers' public key.
 *
 * @param config The settings.
 * @param backend The backend of the peer; default the configured one.
 * @returns The options.
 * @throws {AuthError} When the key files cannot be read.
 */
export async function clientSecurity(
  config: PosttrollConfig,
  backend: string = config.backend,
): Promise<Record<string, string | number | boolean>> {
  const options: Record<string, string | number | boolean> = baseOptions(config);
  if (backend !== "secure_zmq") return options;
  if (config.clientSecretKeyFile === undefined || config.serverPublicKeyFile === undefined) {
    throw new AuthError(
      "Creating a CURVE client socket failed: clientSecretKeyFile and serverPublicKeyFile must both be set",
    );
  }
  const own = await readKeyPair(config.clientSecretKeyFile, "client secret key file");
  const server = await readCert(config.serverPublicKeyFile, "server public key file");
  options.curveServerKey = server.publicKey;
  options.curvePublicKey = own.publicKey;
  options.curveSecretKey = own.secretKey;
  return options;
}
