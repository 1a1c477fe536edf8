/**
 * Reading HTTP bodies: whole up to a limit (`readCapped`), or cancelled
 * without caring about the error (`cancelQuietly`).
 *
 * @module
 */

import { concatBytes } from "../core/bytes.ts";

/**
 * Cancels a reader, ignoring errors.
 *
 * @param reader The reader, if any.
 */
export async function cancelQuietly(
  reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStream<Uint8Array> | undefined | null,
): Promise<void> {
  if (reader === undefined || reader === null) return;
  try {
    await reader.cancel();
  } catch { /* gone either way */ }
}

/**
 * Reads a whole body of at most `max` bytes.
 *
 * Given a `Request` or `Response` that declares a `Content-Length` of at most
 * `max` (and no `Content-Encoding`, which would make the decoded body longer),
 * the body is taken in one piece with `arrayBuffer()`: the HTTP layer holds it
 * to that length, and under Deno this skips making a `ReadableStream` of it,
 * which costs ≈ 40 µs per small body.
 *
 * @param message The request or response, or its body.
 * @param max The limit.
 * @returns The bytes, or `undefined` when there are more than `max` (the rest is cancelled).
 */
export async function readCapped(
  message: Request | Response | ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  let body: ReadableStream<Uint8Array> | null;
  if (message instanceof Request || message instanceof Response) {
    const declared = message.headers.get("content-length");
    if (declared !== null && /^\d{1,15}$/.test(declared) && !message.headers.has("content-encoding")) {
      if (Number(declared) > max) {
        await cancelQuietly(message.body);
        return undefined;
      }
      return new Uint8Array(await message.arrayBuffer());
    }
    body = message.body;
  } else body = message;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await cancelQuietly(reader);
      return undefined;
    }
    chunks.push(value);
  }
  return concatBytes(chunks, n);
}
