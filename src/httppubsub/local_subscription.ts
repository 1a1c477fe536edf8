/**
 * How one subscription of either httppubsub client is tracked locally: its
 * exact topics and globs, its filter and `onMissed`, how it answers under
 * backpressure; and the argument checks of the `subscribe…` methods.
 *
 * @module
 */

import type { PushController } from "../core/source.ts";
import { toHex } from "../core/bytes.ts";
import { MAX_U16_FIELD, toBytes } from "./codec.ts";
import { compileGlob } from "./glob.ts";
import type { HttpPubSubMessage } from "./message.ts";
import type { HttpPubSubSubscribeOptions } from "./subscription.ts";

/** A live subscription's registrations and how it matches topics. */
export interface LocalSubscription {
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

export function matches(sub: LocalSubscription, key: string, text: string | undefined): boolean {
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
export function localSubscription(options: HttpPubSubSubscribeOptions): LocalSubscription {
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
export function addExact(local: LocalSubscription, topics: Uint8Array[]): Uint8Array[] {
  const added: Uint8Array[] = [];
  for (const t of topics) {
    const key = toHex(t);
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
export function addGlobs(local: LocalSubscription, globs: string[]): string[] {
  for (const g of globs) local.globs.set(g, compileGlob(g));
  return [...local.globs.keys()];
}
