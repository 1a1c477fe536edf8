/**
 * The subscription classes shared by the HTTP and websocket clients, and how
 * a subscription matches topics.
 *
 * @module
 */

import { type PushController, type StreamOptions, Subscription } from "../core/subscription.ts";
import { hex, MAX_U16_FIELD, toBytes } from "./codec.ts";
import { compileGlob } from "./glob.ts";
import type { HttpPubSubMessage } from "./message.ts";

/** Changes the reference counts of registrations by `delta`, resolving once the broadcaster agrees. */
export type ChangeRegistrations = (change: { exact: Uint8Array[]; glob: string[] }, delta: 1 | -1) => Promise<void>;

/** Options of the `subscribe…` methods. */
export interface HttpPubSubSubscribeOptions extends StreamOptions {
  /**
   * Called when a missed notice arrives for a topic this subscription
   * covers: messages may have been lost, re-read your state (lonelypsc's
   * `on_receiving`).
   */
  onMissed?: ((topic: string) => void) | undefined;
  /** A further local filter on the topics delivered (the broadcaster still sends what the glob matches). */
  filter?: ((topic: string) => boolean) | undefined;
  /**
   * Under overflow `"block"`: when the broadcaster gets its answer.
   * `"taken"` (default): once the reader took the message, so `notified`
   * counts messages read and an idle reader holds the broadcaster (up to its
   * timeout). `"buffered"`: once the message is in this subscription's
   * buffer (up to `highWaterMark`). The other overflow policies always
   * answer once the message is buffered or dropped.
   */
  hold?: "taken" | "buffered" | undefined;
}

/** A live subscription's registrations and how it matches topics. */
export interface LocalSub {
  readonly exact: Set<string>;
  readonly globs: Map<string, (topic: string) => boolean>;
  readonly filter: ((topic: string) => boolean) | undefined;
  readonly onMissed: ((topic: string) => void) | undefined;
  /** Whether the answer waits until the reader took the message. */
  readonly untilTaken: boolean;
  /**
   * Under `"block"`, how many deliveries may be unanswered at once before
   * new ones wait, their bodies unread (buffered or waiting for room, as the
   * subscription allows); otherwise `Infinity`.
   */
  readonly limit: number;
  /** Deliveries handed over and not yet answered. */
  waiting: number;
  controller: PushController<HttpPubSubMessage> | undefined;
}

export const strictUtf8: TextDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
export const lossyUtf8: TextDecoder = new TextDecoder();

export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function matches(sub: LocalSub, key: string, text: string | undefined): boolean {
  let hit = sub.exact.has(key);
  if (!hit && text !== undefined) {
    for (const m of sub.globs.values()) {
      if (m(text)) {
        hit = true;
        break;
      }
    }
  }
  if (!hit) return false;
  return sub.filter === undefined || (text !== undefined && sub.filter(text));
}

export function checkTopicArg(topic: unknown, action: string): Uint8Array {
  if (typeof topic !== "string" && !(topic instanceof Uint8Array)) {
    throw new TypeError(`${action} failed: the topic is ${typeof topic}, not a string or Uint8Array`);
  }
  const bytes = toBytes(topic);
  if (bytes.length > MAX_U16_FIELD) {
    throw new RangeError(`${action} failed: the topic has ${bytes.length} bytes, more than ${MAX_U16_FIELD}`);
  }
  return bytes;
}

export function checkGlobArg(glob: unknown, action: string): string {
  if (typeof glob !== "string") throw new TypeError(`${action} failed: the glob is ${typeof glob}, not a string`);
  if (toBytes(glob).length > MAX_U16_FIELD) {
    throw new RangeError(`${action} failed: the glob is longer than ${MAX_U16_FIELD} bytes`);
  }
  return glob;
}

/**
 * Checks the topic argument of `subscribeExact` (one or several).
 *
 * @param topic What the caller gave.
 * @returns The topics as bytes.
 * @throws {TypeError} On a bad topic or none.
 * @throws {RangeError} On a topic longer than a u16 field.
 */
export function topicArgs(topic: Uint8Array | string | (Uint8Array | string)[]): Uint8Array[] {
  const topics = (Array.isArray(topic) ? topic : [topic]).map((t) => checkTopicArg(t, "Subscribing"));
  if (topics.length === 0) throw new TypeError("Subscribing failed: no topic given");
  return topics;
}

/**
 * Checks the glob argument of `subscribeGlob` (one or several).
 *
 * @param glob What the caller gave.
 * @returns The globs.
 * @throws {TypeError} On a bad glob or none.
 * @throws {RangeError} On a glob longer than a u16 field.
 */
export function globArgs(glob: string | string[]): string[] {
  const globs = (Array.isArray(glob) ? glob : [glob]).map((g) => checkGlobArg(g, "Subscribing"));
  if (globs.length === 0) throw new TypeError("Subscribing failed: no glob given");
  return globs;
}

/**
 * Checks the subscribe options both clients share and makes the local
 * subscription they are tracked by.
 *
 * @param options The subscribe options.
 * @returns An empty local subscription.
 * @throws {TypeError} When `filter` or `onMissed` is not a function, or `hold` is neither taken nor buffered.
 */
export function localSub(options: HttpPubSubSubscribeOptions): LocalSub {
  if (options.filter !== undefined && typeof options.filter !== "function") {
    throw new TypeError("Subscribing failed: filter is not a function");
  }
  if (options.onMissed !== undefined && typeof options.onMissed !== "function") {
    throw new TypeError("Subscribing failed: onMissed is not a function");
  }
  if (options.hold !== undefined && options.hold !== "taken" && options.hold !== "buffered") {
    throw new TypeError(`Subscribing failed: hold ${JSON.stringify(options.hold)} is not taken or buffered`);
  }
  const block = options.overflow === undefined || options.overflow === "block";
  const untilTaken = block && options.hold !== "buffered";
  // The subscription lets max(1, highWaterMark) pushes wait for room; "taken" also holds what is buffered.
  const hwm = typeof options.highWaterMark === "number" && options.highWaterMark >= 0 ? options.highWaterMark : 16;
  const room = Math.max(1, hwm);
  return {
    exact: new Set(),
    globs: new Map(),
    filter: options.filter,
    onMissed: options.onMissed,
    untilTaken,
    limit: !block ? Infinity : untilTaken ? hwm + room : room,
    waiting: 0,
    controller: undefined,
  };
}

/**
 * Adds exact topics to a local subscription.
 *
 * @param local The subscription.
 * @param topics The topics.
 * @returns The topics it did not hold yet, each once.
 */
export function addExact(local: LocalSub, topics: Uint8Array[]): Uint8Array[] {
  const added: Uint8Array[] = [];
  for (const t of topics) {
    const key = hex(t);
    if (!local.exact.has(key)) {
      local.exact.add(key);
      added.push(t);
    }
  }
  return added;
}

/**
 * Adds globs to a local subscription.
 *
 * @param local The subscription.
 * @param globs The globs.
 * @returns Every glob the subscription now holds.
 */
export function addGlobs(local: LocalSub, globs: string[]): string[] {
  for (const g of globs) local.globs.set(g, compileGlob(g));
  return [...local.globs.keys()];
}

/**
 * A subscription of an {@linkcode HttpPubSubClient}: a stream of
 * {@linkcode HttpPubSubMessage}s, plus `withTimeout(ms)`.
 *
 * @example
 * ```ts ignore
 * const sub = client.subscribeExact("orders");
 * for await (const msg of sub.withTimeout(5000)) {
 *   if (msg === null) console.log("nothing for 5 s");
 *   else console.log(msg.topic, msg.text());
 * }
 * ```
 */
export class HttpPubSubSubscription extends Subscription<HttpPubSubMessage> {
  /**
   * Iterates the messages, yielding `null` whenever none arrives within `ms`
   * of asking for the next one (lonelypsc's `with_timeout`). Locks the
   * stream; ending the loop ends the subscription.
   *
   * @param ms The wait per step, in ms.
   * @returns The iterator.
   * @throws {RangeError} When `ms` is not a positive number.
   */
  async *withTimeout(ms: number): AsyncGenerator<HttpPubSubMessage | null, void, undefined> {
    if (typeof ms !== "number" || !(ms > 0) || !Number.isFinite(ms)) {
      throw new RangeError(`Iterating with a timeout failed: ${String(ms)} is not a positive number of ms`);
    }
    const reader = this.getReader();
    let pending: Promise<ReadableStreamReadResult<HttpPubSubMessage>> | undefined;
    try {
      while (true) {
        pending ??= reader.read();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), ms));
        const r = await Promise.race([pending, timeout]);
        clearTimeout(timer);
        if (r === "timeout") {
          yield null;
          continue;
        }
        pending = undefined;
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
  }
}

/**
 * A subscription whose topics and globs change over time
 * (lonelypsc's `subscribe_multi`). Each change resolves once the
 * broadcaster has the new set.
 *
 * @example
 * ```ts ignore
 * const multi = client.subscribeMulti();
 * await multi.subscribeExact("a");
 * await multi.subscribeGlob("logs/*");
 * await multi.unsubscribeExact("a");
 * ```
 */
export class MultiSubscription extends HttpPubSubSubscription {
  #change!: ChangeRegistrations;
  #local!: LocalSub;

  /** @internal */
  static create(
    change: ChangeRegistrations,
    local: LocalSub,
    source: ConstructorParameters<typeof Subscription<HttpPubSubMessage>>[0],
    options: StreamOptions,
  ): MultiSubscription {
    const s = new MultiSubscription(source, options);
    s.#change = change;
    s.#local = local;
    return s;
  }

  /**
   * Adds an exact topic.
   *
   * @param topic The topic.
   * @returns Resolves when the broadcaster has it.
   * @throws {TypeError} On a bad topic.
   */
  subscribeExact(topic: Uint8Array | string): Promise<void> {
    const bytes = checkTopicArg(topic, "Subscribing");
    const key = hex(bytes);
    if (this.#local.exact.has(key)) return Promise.resolve();
    this.#local.exact.add(key);
    return this.#change({ exact: [bytes], glob: [] }, 1);
  }

  /**
   * Adds a glob (SQLite GLOB: `*` crosses `/`).
   *
   * @param glob The glob.
   * @returns Resolves when the broadcaster has it.
   * @throws {TypeError} On a bad glob.
   */
  subscribeGlob(glob: string): Promise<void> {
    checkGlobArg(glob, "Subscribing");
    if (this.#local.globs.has(glob)) return Promise.resolve();
    this.#local.globs.set(glob, compileGlob(glob));
    return this.#change({ exact: [], glob: [glob] }, 1);
  }

  /**
   * Removes an exact topic.
   *
   * @param topic The topic.
   * @returns Resolves when the broadcaster has the new set.
   */
  unsubscribeExact(topic: Uint8Array | string): Promise<void> {
    const bytes = checkTopicArg(topic, "Unsubscribing");
    if (!this.#local.exact.delete(hex(bytes))) return Promise.resolve();
    return this.#change({ exact: [bytes], glob: [] }, -1);
  }

  /**
   * Removes a glob.
   *
   * @param glob The glob.
   * @returns Resolves when the broadcaster has the new set.
   */
  unsubscribeGlob(glob: string): Promise<void> {
    checkGlobArg(glob, "Unsubscribing");
    if (!this.#local.globs.delete(glob)) return Promise.resolve();
    return this.#change({ exact: [], glob: [glob] }, -1);
  }
}
