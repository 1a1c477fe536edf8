/**
 * A ZAP handler (ZeroMQ RFC 27) for this process: libzmq alone admits any
 * CURVE client that knows the server key, so every CURVE server socket of
 * the library gets a ZAP domain whose policy (allowed client keys, allowed
 * addresses) this handler enforces.
 *
 * @module
 */

import * as zmq from "zeromq";
import { delay } from "../core/async.ts";
import { receiveEach, unloading } from "./sockets.ts";

const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/** What a domain admits. */
export interface ZapPolicy {
  /** The Z85 public keys allowed (CURVE); `undefined` for a plain (NULL) socket. */
  keys: Set<string> | undefined;
  /** The client IP addresses allowed; `undefined` for any. */
  addresses: Set<string> | undefined;
}

const Z85_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/**
 * Z85-encodes bytes whose length is a multiple of 4 (a 32-byte key gives 40
 * characters).
 *
 * @param bytes The bytes.
 * @returns The text.
 * @throws {RangeError} When the length is not a multiple of 4.
 */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) {
    throw new RangeError(`Encoding Z85 failed: the length ${bytes.length} is not a multiple of 4`);
  }
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let v = ((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
    const chunk: string[] = [];
    for (let k = 0; k < 5; k++) {
      chunk.unshift(Z85_CHARS[v % 85]!);
      v = Math.floor(v / 85);
    }
    out += chunk.join("");
  }
  return out;
}

const text = new TextDecoder();

/**
 * Decides one ZAP request: `[version, requestId, domain, address, identity,
 * mechanism, ...credentials]`.
 *
 * @param frames The request's frames.
 * @param policies The policy of each domain.
 * @returns The status code and text.
 */
export function decideZap(frames: Uint8Array[], policies: ReadonlyMap<string, ZapPolicy>): [string, string] {
  if (frames.length < 6 || text.decode(frames[0]) !== "1.0") return ["400", "Malformed ZAP request"];
  const domain = text.decode(frames[2]);
  const address = text.decode(frames[3]);
  const mechanism = text.decode(frames[5]);
  const policy = policies.get(domain);
  if (policy === undefined) return ["400", "Unknown domain"];
  if (policy.addresses !== undefined && !policy.addresses.has(address)) return ["400", "Address not allowed"];
  if (policy.keys === undefined) return mechanism === "NULL" ? ["200", "OK"] : ["400", "Mechanism not allowed"];
  if (mechanism !== "CURVE" || frames.length < 7 || frames[6]!.length !== 32) return ["400", "CURVE required"];
  return policy.keys.has(z85Encode(frames[6]!)) ? ["200", "OK"] : ["400", "Client key not allowed"];
}

/**
 * The process's ZAP handler: a REP socket on `inproc://zeromq.zap.01` of
 * zeromq's default context, shared by every server socket, started on
 * first use and closed when the last domain is released.
 */
export class ZapHandler {
  static #instance: ZapHandler | undefined;
  static #starting: Promise<ZapHandler> | undefined;
  readonly #socket: zmq.Reply;
  readonly #policies = new Map<string, ZapPolicy>();
  readonly #abort = new AbortController();
  #next = 0;
  #done: Promise<void> = Promise.resolve();

  private constructor(socket: zmq.Reply) {
    this.#socket = socket;
  }

  /**
   * The handler, started if needed.
   *
   * @returns The handler.
   */
  static acquire(): Promise<ZapHandler> {
    if (ZapHandler.#instance !== undefined) return Promise.resolve(ZapHandler.#instance);
    ZapHandler.#starting ??= (async () => {
      const socket = new zmq.Reply({ linger: 0 });
      // A handler closed a moment ago may still hold the endpoint: retry briefly.
      for (let attempt = 0;; attempt++) {
        try {
          await socket.bind(ZAP_ENDPOINT);
          break;
        } catch (err) {
          if (attempt >= 20) {
            socket.close();
            ZapHandler.#starting = undefined;
            throw err;
          }
          await delay(10);
        }
      }
      const handler = new ZapHandler(socket);
      handler.#done = handler.#run();
      ZapHandler.#instance = handler;
      ZapHandler.#starting = undefined;
      return handler;
    })();
    return ZapHandler.#starting;
  }

  async #run(): Promise<void> {
    await receiveEach(this.#socket, this.#abort.signal, async (frames) => {
      const [status, reason] = decideZap(frames, this.#policies);
      try {
        await this.#socket.send([frames[0] ?? "1.0", frames[1] ?? "", status, reason, "", ""]);
      } catch {
        return false;
      }
    });
  }

  /**
   * Adds a domain.
   *
   * @param policy What it admits.
   * @returns The domain name to set as the socket's `zapDomain`.
   */
  register(policy: ZapPolicy): string {
    const domain = `posttroll-${++this.#next}`;
    this.#policies.set(domain, policy);
    return domain;
  }

  /**
   * Removes a domain; the handler closes when none is left.
   *
   * @param domain The domain.
   */
  unregister(domain: string): void {
    this.#policies.delete(domain);
    if (this.#policies.size === 0 && ZapHandler.#instance === this) {
      ZapHandler.#instance = undefined;
      this.#abort.abort();
      if (!unloading()) this.#socket.close(); // else Deno frees it (see `unloading`)
    }
  }

  /** Settles when the handler's loop has ended. */
  get done(): Promise<void> {
    return this.#done;
  }
}
