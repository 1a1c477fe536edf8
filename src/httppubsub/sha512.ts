/**
 * SHA-512 and HMAC-SHA512 for the hot paths of httppubsub, computed in the
 * calling thread (WASM, `npm:hash-wasm`).
 *
 * `crypto.subtle.digest` and `crypto.subtle.sign` are asynchronous operations:
 * under Deno each one costs ≈ 40 µs of hand-over to a worker thread and back,
 * whatever the size, against ≈ 4 µs to hash 1 KiB here. A notify → receive
 * round trip hashes the message three times and, with HMAC, signs or verifies
 * five documents, so at 1 KiB those hand-overs were a third of the round trip.
 * Above 1 MiB the worker thread is no slower and leaves the event loop free,
 * so one-shot digests of large bodies stay on `crypto.subtle`.
 *
 * Hashers are pooled: an incremental hash taken with {@linkcode takeSha512}
 * keeps its WASM instance across awaits and gives it back with
 * {@linkcode Sha512.digest}.
 *
 * @module
 */

import { createSHA512, type IHasher } from "hash-wasm";

/** Above this many bytes a one-shot digest goes to `crypto.subtle` (another thread). */
const SUBTLE_ABOVE = 1024 * 1024;

const pool: IHasher[] = [];

/** An incremental SHA-512; `digest()` returns the hasher to the pool. */
export interface Sha512 {
  /**
   * Adds bytes.
   *
   * @param bytes The next bytes.
   */
  update(bytes: Uint8Array): void;
  /**
   * The digest of everything added; the hash cannot be used afterwards.
   *
   * @returns 64 bytes.
   */
  digest(): Uint8Array;
}

/**
 * Takes an incremental SHA-512 from the pool (making one the first time).
 *
 * @returns The hash, initialised.
 */
export function takeSha512(): Sha512 | Promise<Sha512> {
  const h = pool.pop();
  if (h !== undefined) return wrap(h);
  return createSHA512().then(wrap);
}

function wrap(h: IHasher): Sha512 {
  h.init();
  let done = false;
  return {
    update(bytes) {
      if (done) throw new TypeError("Hashing failed: the digest was already taken");
      h.update(bytes);
    },
    digest() {
      if (done) throw new TypeError("Hashing failed: the digest was already taken");
      done = true;
      const out = h.digest("binary");
      if (pool.length < 16) pool.push(h);
      return out;
    },
  };
}

/**
 * SHA-512 of some bytes: in this thread up to 1 MiB, on `crypto.subtle`
 * above.
 *
 * @param bytes The bytes.
 * @returns The 64-byte digest.
 */
export async function sha512(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.length > SUBTLE_ABOVE) {
    return new Uint8Array(await crypto.subtle.digest("SHA-512", bytes as Uint8Array<ArrayBuffer>));
  }
  const h = await takeSha512();
  h.update(bytes);
  return h.digest();
}

/**
 * An HMAC-SHA512 signer for one key (RFC 2104), synchronous once made: the
 * hash states after the key's inner and outer pads are kept, so a code costs
 * only the message's blocks and the outer block.
 *
 * @param key The key bytes.
 * @returns A function giving the 64-byte code of a message.
 */
export async function hmacSha512(key: Uint8Array): Promise<(message: Uint8Array) => Uint8Array> {
  const h = await createSHA512();
  const block = new Uint8Array(128);
  if (key.length > 128) block.set(h.init().update(key).digest("binary"));
  else block.set(key);
  const pad = (byte: number) => block.map((b) => b ^ byte);
  const inner = h.init().update(pad(0x36)).save();
  const outer = h.init().update(pad(0x5c)).save();
  block.fill(0);
  return (message) => {
    const digest = h.load(inner).update(message).digest("binary");
    return h.load(outer).update(digest).digest("binary");
  };
}
