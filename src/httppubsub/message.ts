/**
 * The message an httppubsub subscription yields.
 *
 * @module
 */

import type { Message } from "../core/message.ts";
import { toHex as hex } from "../core/bytes.ts";

const lossy = new TextDecoder();

/** What {@linkcode HttpPubSubMessage} is made from. */
export interface HttpPubSubMessageInit {
  /** The topic, as bytes (topics are arbitrary bytes on the wire). */
  topic: Uint8Array;
  /** SHA-512 of the message. */
  sha512: Uint8Array;
  /** The broadcaster's identifier of this delivery. */
  identifier: Uint8Array;
  /** The length in bytes. */
  length: number;
  /** The whole body, when it was buffered. */
  data?: Uint8Array | undefined;
  /** The body as a stream, when it is too large to buffer (read it once). */
  stream?: ReadableStream<Uint8Array> | undefined;
}

/**
 * A message received from a broadcaster: `topic`, `sha512`, `length`, and the
 * body. Bodies up to the client's `bufferLimit` are buffered and verified
 * before delivery (`data`, `text()`, `json()` work); larger ones are
 * `streamed`: read them once through `body` (or `bytes()`), which hashes
 * while reading and errors with a `ProtocolError` when the length or SHA-512
 * turns out wrong. The broadcaster's request is answered when the reader has
 * taken the message and, for a streamed body, read or cancelled it.
 *
 * @example
 * ```ts
 * import { HttpPubSubMessage } from "@x/pubsub/httppubsub";
 * import { toBytes } from "./codec.ts";
 *
 * const data = toBytes("hi");
 * const sha512 = new Uint8Array(await crypto.subtle.digest("SHA-512", new Uint8Array(data)));
 * const msg = new HttpPubSubMessage({ topic: toBytes("a/b"), sha512, identifier: new Uint8Array(8), length: 2, data });
 * console.log(msg.topic, msg.text(), await msg.bytes()); // a/b hi Uint8Array(2) [ 104, 105 ]
 * ```
 */
export class HttpPubSubMessage implements Message {
  /** The topic decoded as UTF-8 (invalid bytes become U+FFFD; see `topicBytes`). */
  readonly topic: string;
  /** The topic as sent. */
  readonly topicBytes: Uint8Array;
  /** SHA-512 of the body, as the broadcaster announced and the receiver verified. */
  readonly sha512: Uint8Array;
  /** The broadcaster's identifier of the delivery. */
  readonly identifier: Uint8Array;
  /** The identifier as hex. */
  readonly id: string;
  /** The body length in bytes. */
  readonly length: number;
  /** Always undefined: the protocol carries no publish time. */
  readonly time: undefined = undefined;
  /** Whether the body is streamed rather than buffered. */
  readonly streamed: boolean;
  #data: Uint8Array | undefined;
  #stream: ReadableStream<Uint8Array> | undefined;
  #headers: Headers | undefined;

  /**
   * Creates the message (the clients do; users receive messages, they do not build them).
   *
   * @internal
   * @param init Its fields and either `data` or `stream`.
   * @throws {TypeError} When neither or both of `data` and `stream` are given.
   */
  constructor(init: HttpPubSubMessageInit) {
    if ((init.data === undefined) === (init.stream === undefined)) {
      throw new TypeError("Creating a message failed: give exactly one of data and stream");
    }
    this.topicBytes = init.topic;
    this.topic = lossy.decode(init.topic);
    this.sha512 = init.sha512;
    this.identifier = init.identifier;
    this.id = hex(init.identifier);
    this.length = init.length;
    this.#data = init.data;
    this.#stream = init.stream;
    this.streamed = init.stream !== undefined;
  }

  /** Always empty: the protocol carries no headers. */
  get headers(): Headers {
    return this.#headers ??= new Headers();
  }

  /**
   * The buffered body.
   *
   * @throws {TypeError} When the body is streamed (use `body` or `bytes()`).
   */
  get data(): Uint8Array {
    if (this.#data === undefined) {
      throw new TypeError(
        `Reading the data of a message on ${this.topic} failed: its ${this.length} bytes are streamed; use body or bytes()`,
      );
    }
    return this.#data;
  }

  /**
   * The body as a stream. For a streamed body it can be taken once.
   *
   * @throws {TypeError} When a streamed body was already taken.
   */
  get body(): ReadableStream<Uint8Array> {
    if (this.#data !== undefined) {
      const data = this.#data;
      return new ReadableStream({
        start(c) {
          if (data.length > 0) c.enqueue(data);
          c.close();
        },
      });
    }
    const s = this.#stream;
    if (s === undefined) throw new TypeError(`Reading the body of a message on ${this.topic} failed: it was taken`);
    this.#stream = undefined;
    return s;
  }

  /**
   * Reads the whole body.
   *
   * @returns The bytes.
   * @throws {ProtocolError} When a streamed body's length or SHA-512 is wrong.
   */
  async bytes(): Promise<Uint8Array> {
    if (this.#data !== undefined) return this.#data;
    const out = new Uint8Array(this.length);
    let at = 0;
    for await (const chunk of this.body) {
      out.set(chunk, at);
      at += chunk.length;
    }
    this.#data = out;
    return out;
  }

  /**
   * Decodes the buffered body as UTF-8.
   *
   * @returns The text.
   * @throws {TypeError} When the body is streamed.
   */
  text(): string {
    return lossy.decode(this.data);
  }

  /**
   * Parses the buffered body as JSON.
   *
   * @returns The value.
   * @throws {TypeError} When the body is streamed.
   * @throws {SyntaxError} When it is not JSON.
   */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}
