/**
 * The body of a notify, as both httppubsub clients take it: the argument
 * checks, reading a stream to its declared length, hashing, and (for the
 * HTTP client) the request body with the notify prefix in front.
 *
 * @module
 */

import { concatBytes } from "../core/bytes.ts";
import type { NotifyOptions } from "./client.ts";
import { toBytes } from "./codec.ts";
import { cancelQuietly } from "./body.ts";
import { sha512 as digestSha512, takeSha512 } from "./sha512.ts";

/** One attempt's message bytes, before the prefix. */
export type NotifyPayload = Uint8Array | Blob | ReadableStream<Uint8Array>;

/** A notify body ready to send, once or again on a retry. */
export interface PreparedNotifyBody {
  /** The message length. */
  length: number;
  /** Its SHA-512 (given or computed). */
  sha512: Uint8Array;
  /** Opens the message for one attempt. */
  open: () => NotifyPayload;
}

/**
 * Checks a notify's data, length and sha512 and readies its body for
 * retries: bytes and Blobs are sent again as they are, a stream factory is
 * called again, a one-shot stream is sent once (and read into memory first
 * when its SHA-512 is not given).
 *
 * @param options The notify options.
 * @param action The error message prefix, e.g. `Notifying orders`.
 * @returns The length, SHA-512 and opener.
 * @throws {TypeError} On bad data or sha512, or a stream without length.
 * @throws {RangeError} On a length that does not match the data.
 */
export async function prepareNotifyBody(options: NotifyOptions, action: string): Promise<PreparedNotifyBody> {
  let data = options.data;
  if (typeof data === "string") data = toBytes(data);
  let length: number;
  let open: () => NotifyPayload;
  let sha512 = options.sha512;
  if (sha512 !== undefined && (!(sha512 instanceof Uint8Array) || sha512.length !== 64)) {
    throw new TypeError(`${action} failed: sha512 is not 64 bytes`);
  }
  if (options.length !== undefined && (!Number.isSafeInteger(options.length) || options.length < 0)) {
    throw new RangeError(`${action} failed: length ${options.length} is not an integer of 0 or more`);
  }
  if (data instanceof ReadableStream && sha512 === undefined) {
    // A one-shot stream must be read to hash it before the prefix can be sent.
    data = await readExactly(data, options.length, action);
  }
  if (data instanceof Uint8Array) {
    const bytes = data;
    length = bytes.length;
    if (options.length !== undefined && options.length !== length) {
      throw new RangeError(`${action} failed: length ${options.length} is not the ${length} bytes given`);
    }
    sha512 ??= await digestSha512(bytes);
    open = () => bytes;
  } else if (data instanceof Blob) {
    const blob = data;
    length = blob.size;
    if (options.length !== undefined && options.length !== length) {
      throw new RangeError(`${action} failed: length ${options.length} is not the ${length} bytes of the Blob`);
    }
    sha512 ??= await hashStream(blob.stream());
    open = () => blob;
  } else if (typeof data === "function" || data instanceof ReadableStream) {
    if (options.length === undefined) throw new TypeError(`${action} failed: a stream needs length`);
    length = options.length;
    if (typeof data === "function") {
      const factory = data;
      sha512 ??= await hashStream(factory(), length, action);
      open = () => factory();
    } else {
      let once: ReadableStream<Uint8Array> | undefined = data;
      open = () => {
        const s = once;
        if (s === undefined) throw new TypeError(`${action} failed: a one-shot stream cannot be sent again (retry)`);
        once = undefined;
        return s;
      };
    }
  } else {
    throw new TypeError(`${action} failed: data is ${typeof data}, not bytes, a string, a Blob or a stream`);
  }
  return { length, sha512: sha512!, open };
}

/**
 * Reads a stream that must hold exactly `length` bytes.
 *
 * @param stream The stream.
 * @param length The length it must have; `undefined` is refused.
 * @param action The error message prefix.
 * @returns The bytes.
 * @throws {TypeError} When `length` is undefined.
 * @throws {RangeError} When the stream is longer or shorter.
 */
export async function readExactly(
  stream: ReadableStream<Uint8Array>,
  length: number | undefined,
  action: string,
): Promise<Uint8Array> {
  if (length === undefined) throw new TypeError(`${action} failed: a stream needs length`);
  const out = new Uint8Array(length);
  let at = 0;
  for await (const chunk of stream) {
    if (at + chunk.length > length) throw new RangeError(`${action} failed: the stream is longer than ${length} bytes`);
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== length) throw new RangeError(`${action} failed: the stream ended after ${at} of ${length} bytes`);
  return out;
}

/**
 * Reads a notify's data whole (the websocket client sends bytes).
 *
 * @param data The data.
 * @param length The declared length, required for streams.
 * @param action The error message prefix.
 * @returns The bytes.
 * @throws {TypeError} On bad data or a stream without length.
 * @throws {RangeError} On a length that does not match the data.
 */
export async function materialize(
  data: NotifyOptions["data"],
  length: number | undefined,
  action: string,
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (typeof data === "string") bytes = toBytes(data);
  else if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof Blob) bytes = new Uint8Array(await data.arrayBuffer());
  else if (data instanceof ReadableStream || typeof data === "function") {
    bytes = await readExactly(typeof data === "function" ? data() : data, length, action);
  } else {
    throw new TypeError(`${action} failed: data is ${typeof data}, not bytes, a string, a Blob or a stream`);
  }
  if (length !== undefined && length !== bytes.length) {
    throw new RangeError(`${action} failed: length ${length} is not the ${bytes.length} bytes given`);
  }
  return bytes;
}

/**
 * The request body of one attempt: the notify prefix, then the message.
 *
 * @param prefix The encoded notify prefix.
 * @param payload The message for this attempt.
 * @param length The declared length (a stream is checked against it).
 * @param action The error message prefix.
 * @returns The body.
 */
export function prefixed(prefix: Uint8Array, payload: NotifyPayload, length: number, action: string): BodyInit {
  if (payload instanceof Uint8Array) return concatBytes([prefix, payload]);
  if (payload instanceof Blob) return new Blob([prefix as Uint8Array<ArrayBuffer>, payload]);
  return withPrefix(prefix, payload, length, action);
}

async function hashStream(stream: ReadableStream<Uint8Array>, length?: number, action?: string): Promise<Uint8Array> {
  const h = await takeSha512();
  let n = 0;
  for await (const chunk of stream) {
    n += chunk.length;
    h.update(chunk);
  }
  if (length !== undefined && n !== length) {
    throw new RangeError(`${action} failed: the stream has ${n} bytes, not the ${length} given`);
  }
  return h.digest();
}

function withPrefix(
  prefix: Uint8Array,
  payload: ReadableStream<Uint8Array>,
  length: number,
  action: string,
): ReadableStream<Uint8Array> {
  const reader = payload.getReader();
  let sentPrefix = false;
  let n = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (!sentPrefix) {
        sentPrefix = true;
        c.enqueue(prefix);
        return;
      }
      const r = await reader.read();
      if (r.done) {
        if (n !== length) c.error(new RangeError(`${action} failed: the stream ended after ${n} of ${length} bytes`));
        else c.close();
        return;
      }
      n += r.value.length;
      if (n > length) {
        c.error(new RangeError(`${action} failed: the stream is longer than ${length} bytes`));
        await cancelQuietly(reader);
        return;
      }
      c.enqueue(r.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
