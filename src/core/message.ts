/**
 * The message every subscription yields.
 *
 * @module
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * A message as every system delivers it. A system's own message type extends
 * this with its native fields.
 *
 * @example Reading a message
 * ```ts
 * import { createMessage, type Message } from "@x/pubsub";
 *
 * const msg: Message = createMessage("orders/new", '{"id":1}');
 * console.log(msg.topic, msg.json()); // orders/new { id: 1 }
 * ```
 */
export interface Message {
  /** Where it was published: a subject, topic or stream name. */
  readonly topic: string;
  /** The payload. */
  readonly data: Uint8Array;
  /** Metadata carried with the payload; empty where the system has none. */
  readonly headers: Headers;
  /** An identifier the system gives the message, where it has one. */
  readonly id?: string | undefined;
  /** When the message was published, where the system says. */
  readonly time?: Date | undefined;
  /**
   * Decodes the payload as UTF-8 (invalid bytes become U+FFFD).
   *
   * @returns The text.
   */
  text(): string;
  /**
   * Parses the payload as JSON.
   *
   * @returns The payload parsed as JSON.
   * @throws {SyntaxError} When the payload is not JSON.
   */
  json<T = unknown>(): T;
}

/**
 * The settlement methods of messages from systems whose
 * `capabilities.settle` is true (JetStream, MDB with manual acks).
 *
 * @example
 * ```ts
 * import { isSettleable, type Message } from "@x/pubsub";
 *
 * async function handled(msg: Message) {
 *   if (isSettleable(msg)) await msg.ack();
 * }
 * ```
 */
export interface Settleable {
  /** Tells the system the message was processed. */
  ack(): Promise<void>;
  /**
   * Tells the system the message was not processed, so it is delivered again.
   *
   * @param delayMs How long to wait before redelivery, where supported.
   */
  nak(delayMs?: number): Promise<void>;
  /** Tells the system never to deliver the message again. */
  term(reason?: string): Promise<void>;
}

/** A {@linkcode Message} that can be settled. */
export type SettleableMessage = Message & Settleable;

/**
 * Tells whether a message has `ack()`, `nak()` and `term()`.
 *
 * @example
 * ```ts
 * import { createMessage, isSettleable } from "@x/pubsub";
 *
 * console.log(isSettleable(createMessage("t", "x"))); // false
 * ```
 *
 * @param msg Any message.
 * @returns Whether it can be settled.
 */
export function isSettleable(msg: Message): msg is SettleableMessage {
  const m = msg as Partial<Settleable>;
  return typeof m.ack === "function" && typeof m.nak === "function" &&
    typeof m.term === "function";
}

/** What {@linkcode createMessage} and {@linkcode BasicMessage} take. */
export interface MessageInit {
  /** The topic. */
  topic: string;
  /** The payload: bytes are kept as they are, a string is encoded as UTF-8. */
  data: Uint8Array | string;
  /** Metadata. */
  headers?: HeadersInit | undefined;
  /** The system's identifier. */
  id?: string | undefined;
  /** When it was published. */
  time?: Date | undefined;
}

/**
 * A plain {@linkcode Message}. Systems extend it with their native fields.
 * `headers` is made on first use, so messages without headers cost no
 * `Headers` object.
 *
 * @example
 * ```ts
 * import { BasicMessage } from "@x/pubsub";
 *
 * const msg = new BasicMessage({ topic: "a/b", data: "hi", headers: { "x-trace": "1" } });
 * console.log(msg.text(), msg.headers.get("x-trace")); // hi 1
 * ```
 */
export class BasicMessage implements Message {
  /** The topic. */
  readonly topic: string;
  /** The payload. */
  readonly data: Uint8Array;
  /** The system's identifier, where it has one. */
  readonly id: string | undefined;
  /** When it was published, where known. */
  readonly time: Date | undefined;
  #headers: Headers | HeadersInit | undefined;

  /**
   * Creates the message.
   *
   * @param init Topic, payload and optional metadata.
   */
  constructor(init: MessageInit) {
    this.topic = init.topic;
    this.data = typeof init.data === "string" ? encoder.encode(init.data) : init.data;
    this.id = init.id;
    this.time = init.time;
    this.#headers = init.headers;
  }

  /** Metadata; empty where the system has none. */
  get headers(): Headers {
    const h = this.#headers;
    if (h instanceof Headers) return h;
    const made = new Headers(h);
    this.#headers = made;
    return made;
  }

  /**
   * Decodes the payload as UTF-8 (invalid bytes become U+FFFD).
   *
   * @returns The text.
   */
  text(): string {
    return decoder.decode(this.data);
  }

  /**
   * Parses the payload as JSON.
   *
   * @returns The value.
   * @throws {SyntaxError} When the payload is not JSON.
   */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

/**
 * Makes a plain message.
 *
 * @example
 * ```ts
 * import { createMessage } from "@x/pubsub";
 *
 * const msg = createMessage("sensors/1", new Uint8Array([1, 2]), { "content-type": "application/octet-stream" });
 * console.log(msg.data.length); // 2
 * ```
 *
 * @param topic The topic.
 * @param data The payload; a string is encoded as UTF-8.
 * @param headers Metadata.
 * @returns The message.
 */
export function createMessage(
  topic: string,
  data: Uint8Array | string,
  headers?: HeadersInit,
): BasicMessage {
  return new BasicMessage({ topic, data, headers });
}

/**
 * Tells whether a value looks like a {@linkcode Message} (what
 * `writable()` accepts beside bytes and strings).
 *
 * @example
 * ```ts
 * import { createMessage, isMessage } from "@x/pubsub";
 *
 * console.log(isMessage(createMessage("t", "x")), isMessage("x")); // true false
 * ```
 *
 * @param value Anything.
 * @returns Whether it has a string `topic` and `Uint8Array` `data`.
 */
export function isMessage(value: unknown): value is Message {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { topic?: unknown; data?: unknown };
  return typeof v.topic === "string" && v.data instanceof Uint8Array;
}
