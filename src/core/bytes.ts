/**
 * Small helpers over byte arrays: joining, comparing in constant time, hex,
 * and detaching a short view from a large buffer.
 *
 * @module
 */

/** How many bytes beyond twice its own size a kept view may hold alive in its buffer. */
const DETACH_SLACK = 16 * 1024;

/**
 * The bytes of a view that owns little of its buffer, copied: a message kept
 * for a reader must not keep alive the whole read chunk it was cut from (a
 * buffer of `highWaterMark` messages would otherwise hold as many chunks).
 * A view is kept as it is when its buffer is at most twice its size plus
 * 16 KiB: a message then holds at most 16 KiB beyond twice its own bytes,
 * and the small frames a WebSocket delivers (a pull's batch of small
 * messages) are not copied a second time.
 *
 * @internal
 * @param view Bytes, possibly a window into a larger buffer.
 * @returns `view` itself when its buffer is not much larger, else a copy.
 */
export function detachBytes(view: Uint8Array): Uint8Array {
  return view.buffer.byteLength > view.byteLength * 2 + DETACH_SLACK ? view.slice() : view;
}

/**
 * Joins byte arrays into one new array.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 *
 * console.log(concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])])); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 *
 * @param chunks The parts, in order.
 * @param total Their total length, when the caller knows it already.
 * @returns A new array holding every part.
 */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Compares two byte arrays in time that depends only on their length, not
 * on where they differ: for secrets, codes and digests.
 *
 * @example
 * ```ts
 * import { equalBytes } from "./bytes.ts";
 *
 * console.log(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))); // true
 * console.log(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))); // false
 * ```
 *
 * @param a One array.
 * @param b The other.
 * @returns Whether they hold the same bytes (`false` at once for different lengths).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

const HEX: string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * Formats bytes as lower-case hex, two digits a byte.
 *
 * @example
 * ```ts
 * import { toHex } from "./bytes.ts";
 *
 * console.log(toHex(new Uint8Array([0, 171, 255]))); // 00abff
 * ```
 *
 * @param bytes The bytes.
 * @returns The hex text.
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!]!;
  return s;
}
