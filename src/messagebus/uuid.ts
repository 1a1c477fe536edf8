/**
 * Client ids on the wire: UUIDs in .NET `Guid.ToByteArray()` order.
 *
 * @module
 */

const HEX = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Encodes a UUID string in .NET `Guid.ToByteArray()` order: the first three
 * groups little-endian, the last eight bytes as written.
 *
 * @example
 * ```ts
 * import { uuidToBytes } from "@x/pubsub/messagebus/wire";
 *
 * console.log(uuidToBytes("00112233-4455-6677-8899-aabbccddeeff")[0]); // 51 (0x33)
 * ```
 *
 * @param uuid A UUID such as `00112233-4455-6677-8899-aabbccddeeff` (any case).
 * @returns The 16 bytes.
 * @throws {TypeError} When the string is not a UUID.
 */
export function uuidToBytes(uuid: string): Uint8Array {
  const s = typeof uuid === "string" ? uuid.toLowerCase() : "";
  if (!HEX.test(s)) throw new TypeError(`Encoding a client id failed: ${JSON.stringify(uuid)} is not a UUID`);
  const hex = s.replaceAll("-", "");
  const rfc = new Uint8Array(16);
  for (let i = 0; i < 16; i++) rfc[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const out = rfc.slice();
  out[0] = rfc[3]!;
  out[1] = rfc[2]!;
  out[2] = rfc[1]!;
  out[3] = rfc[0]!;
  out[4] = rfc[5]!;
  out[5] = rfc[4]!;
  out[6] = rfc[7]!;
  out[7] = rfc[6]!;
  return out;
}

/**
 * Decodes 16 bytes in .NET `Guid.ToByteArray()` order into a lower-case UUID string.
 *
 * @example
 * ```ts
 * import { bytesToUuid, uuidToBytes } from "@x/pubsub/messagebus/wire";
 *
 * const id = "00112233-4455-6677-8899-aabbccddeeff";
 * console.log(bytesToUuid(uuidToBytes(id)) === id); // true
 * ```
 *
 * @param bytes 16 bytes.
 * @returns The UUID string.
 * @throws {RangeError} When there are not exactly 16 bytes.
 */
export function bytesToUuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`Decoding a client id failed: ${bytes.length} bytes is not 16`);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  let hex = "";
  for (let i = 0; i < 16; i++) {
    hex += bytes[order[i]!]!.toString(16).padStart(2, "0");
    if (i === 3 || i === 5 || i === 7 || i === 9) hex += "-";
  }
  return hex;
}
