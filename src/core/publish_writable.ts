/**
 * The publish side: turning a `publish()` into a `WritableStream`.
 *
 * @module
 */

import { isMessage, type Message } from "./message.ts";
import type { PublishChunk, PublishData, PublishOptions, PublishReceipt, WritableOptions } from "./pubsub.ts";

/** Anything with the contract's `publish()`. */
export interface Publisher {
  /** Publishes one message. */
  publish(topic: string, data: PublishData, options?: PublishOptions): Promise<PublishReceipt>;
}

/**
 * Checks a payload argument.
 *
 * @example
 * ```ts
 * import { checkPublishData } from "./publish_writable.ts";
 *
 * checkPublishData("hello", "Publishing to a", 1024); // fine
 * ```
 *
 * @param data The value given.
 * @param action The action, for the message.
 * @param maxPayload The largest size allowed, in bytes.
 * @returns The payload as bytes.
 * @throws {TypeError} When it is neither a `Uint8Array` nor a string.
 * @throws {RangeError} When it is larger than `maxPayload`.
 */
export function checkPublishData(data: unknown, action: string, maxPayload: number): Uint8Array {
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) bytes = data;
  else if (typeof data === "string") bytes = new TextEncoder().encode(data);
  else {
    throw new TypeError(
      `${action} failed: the payload is ${data === null ? "null" : typeof data}, not a Uint8Array or string`,
    );
  }
  if (bytes.length > maxPayload) {
    throw new RangeError(`${action} failed: the payload of ${bytes.length} bytes is larger than ${maxPayload}`);
  }
  return bytes;
}

function mergeHeaders(base: HeadersInit | undefined, own: Headers | undefined): HeadersInit | undefined {
  if (base === undefined) return own;
  if (own === undefined) return base;
  const h = new Headers(base);
  own.forEach((v, k) => h.set(k, v));
  return h;
}

/**
 * Makes a `WritableStream` that publishes each chunk with `target.publish`.
 * Adapters return it from their `writable()`.
 *
 * Each chunk is a `Uint8Array`, a string, or a {@linkcode Message} (its
 * headers are kept). With `maxInFlight` 1 (the default) each `write()`
 * resolves on that chunk's receipt, so a pipe settles its source only after
 * the target took the message. With `maxInFlight` n > 1, up to n publishes
 * are unconfirmed at once: `write()` resolves when the chunk is sent and
 * the window has room, a failed publish fails the stream, and `close()`
 * resolves after every receipt.
 *
 * @example Piping strings into the memory broker
 * ```ts
 * import { publishWritable } from "@x/pubsub";
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const ps = new MemoryPubSub();
 * const receipts: number[] = [];
 * await ReadableStream.from(["a", "b"]).pipeTo(
 *   publishWritable(ps, "letters", { onReceipt: (r) => receipts.push(r.sequence ?? 0) }),
 * );
 * console.log(receipts.length); // 2
 * await ps.close();
 * ```
 *
 * @param target What publishes.
 * @param topic The topic; without one, each chunk must be a message, sent to its own topic.
 * @param options The window, extra headers and a receipt callback.
 * @returns The stream.
 * @throws {RangeError} When `maxInFlight` is not a positive integer.
 */
export function publishWritable(
  target: Publisher,
  topic?: string,
  options: WritableOptions = {},
): WritableStream<PublishChunk> {
  const max = options.maxInFlight ?? 1;
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`Creating a writable failed: maxInFlight ${String(max)} is not a positive integer`);
  }
  const window: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;

  const send = (chunk: PublishChunk): Promise<PublishReceipt> => {
    let data: PublishData;
    let to = topic;
    let own: Headers | undefined;
    if (chunk instanceof Uint8Array || typeof chunk === "string") data = chunk;
    else if (isMessage(chunk)) {
      data = (chunk as Message).data;
      own = (chunk as Message).headers;
      to ??= chunk.topic;
    } else {
      throw new TypeError(`Writing a chunk failed: ${typeof chunk} is not a Uint8Array, string or Message`);
    }
    if (to === undefined) {
      throw new TypeError("Writing a chunk failed: the writable has no topic and the chunk is not a Message");
    }
    const headers = mergeHeaders(options.headers, own);
    return target.publish(to, data, headers === undefined ? {} : { headers });
  };

  return new WritableStream<PublishChunk>({
    async write(chunk, controller) {
      if (failure !== undefined) throw failure.error;
      const receipt = send(chunk);
      if (max === 1) {
        const confirmed = await receipt;
        options.onReceipt?.(confirmed, chunk);
        return;
      }
      const previous = window.at(-1) ?? Promise.resolve();
      const settled = receipt.then(
        async (r) => {
          await previous;
          options.onReceipt?.(r, chunk);
        },
        (error) => {
          if (failure === undefined) {
            failure = { error };
            controller.error(error);
          }
        },
      );
      window.push(settled);
      if (window.length >= max) await window.shift();
      const failed = failure as { error: unknown } | undefined;
      if (failed !== undefined) throw failed.error;
    },
    async close() {
      await Promise.all(window.splice(0));
      if (failure !== undefined) throw failure.error;
    },
    async abort() {
      await Promise.all(window.splice(0));
    },
  }, new CountQueuingStrategy({ highWaterMark: max }));
}
