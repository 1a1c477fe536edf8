/**
 * The strong etag of a subscription set: the set sorted, encoded as lonelypsp
 * does, and hashed; both sides compare it to tell whether they agree.
 *
 * @module
 */

import { ByteWriter } from "../core/byte_writer.ts";
import { field, utf8 } from "./codec.ts";

/** One subscription in a set: an exact topic or a glob, with its recovery url ("" for none). */
export interface SubscriptionEntry<T = Uint8Array> {
  /** The exact topic (bytes) or glob (string). */
  key: T;
  /** The recovery url, "" for none. */
  recovery: string;
}

/** The subscriptions of one url, as `set_subscriptions` carries them. */
export interface SubscriptionSet {
  /** Exact topics. */
  exact: SubscriptionEntry<Uint8Array>[];
  /** Globs. */
  glob: SubscriptionEntry<string>[];
}

/**
 * Compares byte arrays lexicographically.
 *
 * @example
 * ```ts
 * import { compareBytes } from "./strong_etag.ts";
 *
 * console.log(compareBytes(new Uint8Array([1]), new Uint8Array([1, 0]))); // -1
 * ```
 *
 * @param a One.
 * @param b The other.
 * @returns Negative, zero or positive.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Sorts a subscription set ascending bytewise and checks it has no duplicates.
 *
 * @example
 * ```ts
 * import { sortSubscriptionSet } from "@x/pubsub/httppubsub/wire";
 * import { toBytes } from "./codec.ts";
 *
 * const s = sortSubscriptionSet({ exact: [{ key: toBytes("b"), recovery: "" }, { key: toBytes("a"), recovery: "" }], glob: [] });
 * console.log(s.exact[0]?.key); // Uint8Array(1) [ 97 ]
 * ```
 *
 * @param set The set.
 * @returns A sorted copy.
 * @throws {TypeError} When a topic or glob appears twice.
 */
export function sortSubscriptionSet(set: SubscriptionSet): SubscriptionSet {
  const exact = [...set.exact].sort((a, b) => compareBytes(a.key, b.key));
  const glob = [...set.glob].map((g) => ({ ...g, bytes: utf8.encode(g.key) })).sort((a, b) =>
    compareBytes(a.bytes, b.bytes)
  );
  for (let i = 1; i < exact.length; i++) {
    if (compareBytes(exact[i - 1]!.key, exact[i]!.key) === 0) {
      throw new TypeError("Sorting subscriptions failed: an exact topic appears twice");
    }
  }
  for (let i = 1; i < glob.length; i++) {
    if (compareBytes(glob[i - 1]!.bytes, glob[i]!.bytes) === 0) {
      throw new TypeError(`Sorting subscriptions failed: glob ${JSON.stringify(glob[i]!.key)} appears twice`);
    }
  }
  return { exact, glob: glob.map(({ key, recovery }) => ({ key, recovery })) };
}

/**
 * Builds the document whose SHA-512 is the strong etag of a url's
 * subscriptions: `"URL" lp16(url) "\nEXACT" {lp16(topic) lp16(recovery)}*
 * "\nGLOB" {lp16(glob) lp16(recovery)}* "\n"`, entries sorted bytewise.
 *
 * @example
 * ```ts
 * import { encodeEtagDocument } from "@x/pubsub/httppubsub/wire";
 *
 * console.log(encodeEtagDocument("u", { exact: [], glob: [] }).length); // 18
 * ```
 *
 * @param url The subscriber url as registered, with its fragment.
 * @param set The subscriptions (sorted here).
 * @returns The document.
 * @throws {TypeError} On duplicates.
 * @throws {RangeError} When a field is too long.
 */
export function encodeEtagDocument(url: string, set: SubscriptionSet): Uint8Array<ArrayBuffer> {
  const sorted = sortSubscriptionSet(set);
  const w = new ByteWriter(256);
  w.bytes(utf8.encode("URL"));
  field(w, url, 2, "the url");
  w.bytes(utf8.encode("\nEXACT"));
  for (const e of sorted.exact) {
    field(w, e.key, 2, "a topic");
    field(w, e.recovery, 2, "a recovery url");
  }
  w.bytes(utf8.encode("\nGLOB"));
  for (const e of sorted.glob) {
    field(w, e.key, 2, "a glob");
    field(w, e.recovery, 2, "a recovery url");
  }
  w.bytes(utf8.encode("\n"));
  return w.finish() as Uint8Array<ArrayBuffer>;
}

/**
 * Computes the strong etag (SHA-512 of {@linkcode encodeEtagDocument}) with WebCrypto.
 *
 * @example
 * ```ts
 * import { strongEtag } from "@x/pubsub/httppubsub/wire";
 *
 * const etag = await strongEtag("http://127.0.0.1:3002/v1/receive#1", { exact: [], glob: [] });
 * console.log(etag.length); // 64
 * ```
 *
 * @param url The subscriber url, with fragment.
 * @param set The subscriptions.
 * @returns The 64-byte etag.
 * @throws {TypeError} On duplicates.
 */
export async function strongEtag(url: string, set: SubscriptionSet): Promise<Uint8Array> {
  const doc = encodeEtagDocument(url, set);
  return new Uint8Array(await crypto.subtle.digest("SHA-512", doc as Uint8Array<ArrayBuffer>));
}
