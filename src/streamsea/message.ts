/**
 * The message a stream-sea subscription yields.
 *
 * @module
 */

import type { Message } from "../core/message.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What {@linkcode StreamSeaMessage} takes. */
export interface StreamSeaMessageInit {
  /** The stream it was delivered on. */
  stream: string;
  /** The user message: parsed JSON, as the server delivered it. */
  payload: unknown;
  /** The consumer group the subscription used, if any. */
  groupId?: string | undefined;
  /** The bytes to expose as `data`; default the payload as JSON text. */
  data?: Uint8Array | undefined;
  /** Headers to expose; default none. */
  headers?: HeadersInit | undefined;
}

/**
 * One delivery of a stream-sea subscription. `payload` is the user message
 * as parsed JSON; `data` is that payload as UTF-8 JSON text (computed on
 * first use), so `json()` gives the payload back. `topic` is the stream.
 * stream-sea has no message ids, times or headers.
 *
 * @example
 * ```ts
 * import { StreamSeaMessage } from "@x/pubsub/streamsea";
 *
 * const msg = new StreamSeaMessage({ stream: "boiler_data", payload: { temperature: 80 } });
 * console.log(msg.topic, msg.text()); // boiler_data {"temperature":80}
 * ```
 */
export class StreamSeaMessage implements Message {
  /** The stream name. */
  readonly topic: string;
  /** The stream name (same as `topic`). */
  readonly stream: string;
  /** The user message, parsed. */
  readonly payload: unknown;
  /** The consumer group of the subscription, where there was one. */
  readonly groupId: string | undefined;
  /** stream-sea gives messages no id. */
  readonly id: undefined = undefined;
  /** stream-sea gives messages no time. */
  readonly time: undefined = undefined;
  #data: Uint8Array | undefined;
  #headers: Headers | HeadersInit | undefined;

  /**
   * Creates the message.
   *
   * @param init The stream, payload, and optional bytes and headers.
   */
  constructor(init: StreamSeaMessageInit) {
    this.topic = init.stream;
    this.stream = init.stream;
    this.payload = init.payload;
    this.groupId = init.groupId;
    this.#data = init.data;
    this.#headers = init.headers;
  }

  /** The payload as UTF-8 JSON text (or the bytes given at construction). */
  get data(): Uint8Array {
    this.#data ??= encoder.encode(JSON.stringify(this.payload) ?? "null");
    return this.#data;
  }

  /** Headers; empty unless the adapter's envelope format carried some. */
  get headers(): Headers {
    const h = this.#headers;
    if (h instanceof Headers) return h;
    const made = new Headers(h);
    this.#headers = made;
    return made;
  }

  /**
   * Decodes `data` as UTF-8.
   *
   * @returns The text.
   */
  text(): string {
    return decoder.decode(this.data);
  }

  /**
   * Parses `data` as JSON: the payload, unless the adapter's envelope format replaced `data`.
   *
   * @returns The parsed value.
   * @throws {SyntaxError} When `data` is not JSON.
   */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}
