/**
 * `readLeading`: how lonelypss reads a request or answer body: its fields
 * in order, whatever follows them ignored, and a body whose fields do not
 * parse refused as a whole.
 *
 * @module
 */

import { ByteReader } from "../../core/byte_reader.ts";

/**
 * Reads a body's fields as lonelypss does: in order, ignoring whatever
 * follows them.
 *
 * @example
 * ```ts ignore
 * const req = readLeading(readSubscribeRequest, body); // undefined if malformed
 * ```
 *
 * @param read The field reader.
 * @param body The body.
 * @returns The fields, or `undefined` if they do not parse.
 */
export function readLeading<T>(read: (r: ByteReader) => T, body: Uint8Array): T | undefined {
  try {
    return read(new ByteReader(body));
  } catch {
    return undefined;
  }
}
