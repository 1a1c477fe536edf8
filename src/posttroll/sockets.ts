/**
 * ZeroMQ plumbing shared by the PostTroll clients: socket options from the
 * settings (TCP keepalive, CURVE), receives raced against an `AbortSignal`
 * (zeromq's `receiveTimeout` crashes Deno 2.9.6), and a serialised sender.
 *
 * @module
 */

import * as zmq from "zeromq";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setImmediate } from "node:timers";
import { AuthError, ConnectionError, TimeoutError } from "../core/errors.ts";
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
  const cert = await readCert(config.serverSecretKeyFile, "server secret key file");
  if (cert.secretKey === undefined) {
    throw new AuthError(
      `Reading the server secret key file ${config.serverSecretKeyFile} failed: it has no secret-key`,
    );
  }
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
  const own = await readCert(config.clientSecretKeyFile, "client secret key file");
  if (own.secretKey === undefined) {
    throw new AuthError(
      `Reading the client secret key file ${config.clientSecretKeyFile} failed: it has no secret-key`,
    );
  }
  const server = await readCert(config.serverPublicKeyFile, "server public key file");
  options.curveServerKey = server.publicKey;
  options.curvePublicKey = own.publicKey;
  options.curveSecretKey = own.secretKey;
  return options;
}

/** The longest pause between two readability checks of an idle socket, in ms. */
const MAX_POLL_DELAY = 4;
/** How long a wait spins on `setImmediate` before it sleeps on timers, in ms. */
const SPIN_MS = 2;

/**
 * Receives the next message, or rejects with the signal's reason when it is
 * aborted first. Under Deno 2.9.6 a `receive()` left pending on an empty
 * socket is not always woken when a message arrives (and `receiveTimeout`
 * crashes the process), so this never leaves one pending: it checks
 * `socket.readable` yielding with `setImmediate` for 2 ms, then sleeping 1
 * to 4 ms between checks, and calls `receive()` only when a message is there,
 * which then completes at once.
 *
 * The cause: Deno's `uv_poll_start` shim stops watching after its first
 * callback (denoland/deno#36317), while zeromq.js starts the poll once per
 * waiting operation and expects further callbacks after a spurious one (the
 * ZeroMQ descriptor signals any event, not only an incoming message). A
 * REQ waiting for its reply in the same process as the REP that answers
 * hangs every time. Once Deno polls as libuv does, a pending `receive()`
 * raced against the signal can replace this loop.
 *
 * @param socket The socket.
 * @param signal Aborts the wait.
 * @returns The frames.
 */
export async function receive(socket: zmq.Readable & zmq.Socket, signal: AbortSignal): Promise<Buffer[]> {
  const spinUntil = performance.now() + SPIN_MS;
  let polls = 0;
  for (;;) {
    signal.throwIfAborted();
    if (socket.closed) throw new ConnectionError("Receiving failed: the socket is closed");
    if (socket.readable) return await socket.receive();
    if (performance.now() < spinUntil) {
      // A stream rarely pauses long: yield to the event loop without a timer's delay.
      await new Promise<void>((resolve) => setImmediate(resolve));
      continue;
    }
    const delay = Math.min(2 ** polls++, MAX_POLL_DELAY);
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, delay);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

/**
 * One request and its reply on a fresh REQ socket, with a timeout; the
 * socket is always closed afterwards.
 *
 * @param url Where to connect.
 * @param frame The request.
 * @param options The socket options.
 * @param timeoutMs How long to wait for the reply.
 * @param signal Aborts the wait.
 * @returns The first frame of the reply.
 * @throws {TimeoutError} When no reply came in time.
 */
export async function request(
  url: string,
  frame: string,
  options: Record<string, string | number | boolean>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const socket = new zmq.Request(options);
  const timeout = AbortSignal.timeout(timeoutMs);
  const stop = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
  try {
    socket.connect(url);
    await socket.send(frame);
    const [reply] = await receive(socket, stop);
    return reply ?? new Uint8Array(0);
  } catch (err) {
    if (timeout.aborted && (signal === undefined || !signal.aborted)) {
      throw new TimeoutError(`Waiting for a reply from ${url} timed out after ${timeoutMs} ms`, {
        timeoutMs,
        cause: err,
      });
    }
    throw err;
  } finally {
    socket.close();
  }
}

/** What {@linkcode SerialSender} sends on: a socket, or a function sending on one. */
export interface FrameSink {
  /** Sends one frame; resolves once zeromq took it. */
  send(frame: string | Uint8Array): Promise<void>;
}

/**
 * Sends frames on one socket one at a time (zeromq allows a single send in
 * progress), in the order given.
 */
export class SerialSender {
  readonly #socket: FrameSink;
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;

  /** @param socket The socket to send on (or anything that sends on one). */
  constructor(socket: FrameSink) {
    this.#socket = socket;
  }

  /**
   * Sends one frame.
   *
   * @param frame The frame.
   * @returns A promise that resolves when zeromq took it.
   */
  send(frame: string | Uint8Array): Promise<void> {
    this.#queued++;
    const p = this.#queued === 1 ? this.#socket.send(frame) : this.#tail.then(() => this.#socket.send(frame));
    // One derived promise per send: it settles (never rejects) once the send did, and keeps the order.
    this.#tail = p.then(this.#done, this.#done);
    return p;
  }

  readonly #done = (): void => {
    this.#queued--;
  };

  /** @returns A promise that resolves when every send so far is done. */
  idle(): Promise<void> {
    return this.#tail;
  }
}
