/**
 * `MemoryPubSub`: an in-process broker that implements the contract exactly.
 *
 * @module
 */

import { ClosedError } from "../core/errors.ts";
import { BasicMessage, type MessageInit, type Settleable } from "../core/message.ts";
import type {
  Capabilities,
  PublishChunk,
  PublishData,
  PublishOptions,
  PublishReceipt,
  PubSub,
  SubscribeOptions,
  WritableOptions,
} from "../core/pubsub.ts";
import { checkPublishData, publishWritable } from "../core/sink.ts";
import { StatusChannel } from "../core/status.ts";
import { OVERFLOW_POLICIES, type PushController, Subscription } from "../core/subscription.ts";
import { checkTopic, compileTopicPattern, isTopicPattern } from "../core/topic.ts";

/** Options of {@linkcode MemoryPubSub}. */
export interface MemoryPubSubOptions {
  /** The largest payload, in bytes. Default 8 MiB. */
  maxPayload?: number | undefined;
  /**
   * Give messages `ack()`, `nak()` and `term()`: a nak'd message is
   * delivered again to the same subscription (after `delayMs`), so bridges
   * can be tested for at-least-once. Default false.
   */
  settle?: boolean | undefined;
}

/** What {@linkcode MemoryMessage} takes beyond a plain message. */
export interface MemoryMessageInit extends MessageInit {
  /** The broker's sequence number of the publish. */
  sequence: number;
  /** How many times it was delivered before. */
  redelivered?: number | undefined;
}

/**
 * A message from {@linkcode MemoryPubSub}: topic, data, headers, and the
 * broker's sequence number as `id` and `sequence`.
 *
 * @example
 * ```ts
 * import { MemoryMessage } from "@x/pubsub/testing";
 *
 * const m = new MemoryMessage({ topic: "t", data: "x", sequence: 1 });
 * console.log(m.sequence, m.id); // 1 "1"
 * ```
 */
export class MemoryMessage extends BasicMessage {
  /** The broker's sequence number of the publish, from 1. */
  readonly sequence: number;
  /** How many times this message was delivered before (after `nak()`). */
  readonly redelivered: number;

  /**
   * Creates the message.
   *
   * @param init The message's fields.
   */
  constructor(init: MemoryMessageInit) {
    super({ ...init, id: init.id ?? String(init.sequence) });
    this.sequence = init.sequence;
    this.redelivered = init.redelivered ?? 0;
  }
}

class SettleableMemoryMessage extends MemoryMessage implements Settleable {
  #settled = false;
  readonly #redeliver: (msg: SettleableMemoryMessage, delayMs: number) => void;

  constructor(init: MemoryMessageInit, redeliver: (msg: SettleableMemoryMessage, delayMs: number) => void) {
    super(init);
    this.#redeliver = redeliver;
  }

  ack(): Promise<void> {
    this.#settled = true;
    return Promise.resolve();
  }

  nak(delayMs = 0): Promise<void> {
    if (!this.#settled) {
      this.#settled = true;
      this.#redeliver(this, delayMs);
    }
    return Promise.resolve();
  }

  term(): Promise<void> {
    this.#settled = true;
    return Promise.resolve();
  }
}

interface Member {
  readonly pattern: string;
  readonly matches: (topic: string) => boolean;
  readonly group: string | undefined;
  controller: PushController<MemoryMessage> | undefined;
  readonly callback?: ((message: MemoryMessage) => void) | undefined;
  readonly timers: Set<ReturnType<typeof setTimeout>>;
  /** Publishes waiting for room, one at a time in the subscription, the rest behind it in order. */
  waiting: number;
  tail: Promise<void>;
}

/**
 * Hands a message to a member whose buffer may be full: at once when it
 * takes it, else after the publishes already waiting, one at a time (the
 * publisher is held, in order, and the subscription holds one of them).
 */
function handTo(member: Member, c: PushController<MemoryMessage>, msg: MemoryMessage, signal?: AbortSignal) {
  if (member.waiting === 0 && c.offer(msg)) return undefined;
  member.waiting++;
  const pushed = member.tail.then(() => c.push(msg, { signal }));
  const done = () => void member.waiting--;
  member.tail = pushed.then(done, done);
  return pushed;
}

/**
 * An in-process broker: exact topics and `/`-separated globs (`*` one
 * segment, `**` any number), groups, per-subscriber bounded buffers with the
 * contract's overflow policies, and optional settlement. Use it to test code
 * written against {@linkcode PubSub} without a server.
 *
 * `publish()` resolves (`confirmed: true`) once every matching subscriber
 * took the message into its buffer; under the default overflow policy
 * `"block"`, a subscriber whose buffer is full holds the publisher until its
 * reader catches up (the held publishes wait in order, each holding its own
 * message). Messages published while no subscriber matches are discarded.
 *
 * @example
 * ```ts
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const ps = new MemoryPubSub();
 * const sub = ps.subscribe("sensors/*");
 * await ps.publish("sensors/1", "21.5");
 * const { value } = await sub.getReader().read();
 * console.log(value?.topic, value?.text()); // sensors/1 21.5
 * await ps.close();
 * ```
 */
export class MemoryPubSub implements PubSub<MemoryMessage> {
  /** What this broker can do. */
  readonly capabilities: Capabilities;
  /** Emits `"connected"` at once and `"closed"` on `close()`. */
  readonly status: StatusChannel = new StatusChannel();
  readonly #members = new Set<Member>();
  readonly #exact = new Map<string, Set<Member>>();
  readonly #patterns = new Set<Member>();
  readonly #rr = new Map<string, number>();
  readonly #subs = new Set<Subscription<MemoryMessage>>();
  readonly #settle: boolean;
  #sequence = 0;
  #closed = false;

  /**
   * Creates a broker.
   *
   * @param options Payload limit and settlement.
   * @throws {RangeError} When `maxPayload` is not a positive integer.
   */
  constructor(options: MemoryPubSubOptions = {}) {
    const maxPayload = options.maxPayload ?? 8 * 1024 * 1024;
    if (!Number.isInteger(maxPayload) || maxPayload < 1) {
      throw new RangeError(`Creating a MemoryPubSub failed: maxPayload ${maxPayload} is not a positive integer`);
    }
    this.#settle = options.settle ?? false;
    this.capabilities = {
      settle: this.#settle,
      confirmedPublish: true,
      wildcards: "glob",
      maxPayload,
      ordered: true,
      replay: false,
      groups: true,
      headers: true,
      overflow: OVERFLOW_POLICIES,
      delivery: "at-least-once",
    };
    this.status.emit("connected");
  }

  /** The number of live subscriptions. */
  get subscriptionCount(): number {
    return this.#members.size;
  }

  /**
   * Subscribes to a topic or glob pattern.
   *
   * @param topic A topic, or a pattern with `*` and `**` segments.
   * @param options Buffer, overflow policy, group, signal.
   * @returns The subscription, active at once (`ready` resolves immediately).
   * @throws {TypeError} On an empty topic or an invalid option.
   * @throws {RangeError} On an invalid `highWaterMark`.
   * @throws {ClosedError} When the broker is closed.
   */
  subscribe(topic: string, options: SubscribeOptions = {}): Subscription<MemoryMessage> {
    checkTopic(topic, "Subscribing", true);
    if (options.group !== undefined && (typeof options.group !== "string" || options.group === "")) {
      throw new TypeError("Subscribing failed: group must be a non-empty string");
    }
    if (this.#closed) throw new ClosedError(`Subscribing to ${topic} failed: the broker is closed`);
    const member: Member = {
      pattern: topic,
      matches: compileTopicPattern(topic),
      group: options.group,
      controller: undefined,
      timers: new Set(),
      waiting: 0,
      tail: Promise.resolve(),
    };
    const sub = new Subscription<MemoryMessage>({
      kind: "push",
      start: (controller) => {
        member.controller = controller;
        this.#add(member);
      },
      cancel: () => {
        this.#remove(member);
        for (const t of member.timers) clearTimeout(t);
        member.timers.clear();
        this.#subs.delete(sub);
      },
    }, options);
    this.#subs.add(sub);
    return sub;
  }

  /**
   * Calls `callback` with each matching message, synchronously inside
   * `publish()`: no stream, no buffer, no backpressure. This is the baseline
   * the benchmarks compare streams with; prefer {@linkcode MemoryPubSub.subscribe}.
   *
   * @example
   * ```ts
   * import { MemoryPubSub } from "@x/pubsub/testing";
   *
   * const ps = new MemoryPubSub();
   * const stop = ps.listen("t", (msg) => console.log(msg.text())); // x
   * await ps.publish("t", "x");
   * stop();
   * await ps.close();
   * ```
   *
   * @param topic A topic or glob pattern.
   * @param callback Called with each message; what it throws propagates out of `publish()`.
   * @param options A group to share messages with.
   * @returns A function that stops the listening.
   * @throws {TypeError} On an invalid topic or callback.
   * @throws {ClosedError} When the broker is closed.
   */
  listen(topic: string, callback: (message: MemoryMessage) => void, options: { group?: string } = {}): () => void {
    checkTopic(topic, "Listening", true);
    if (typeof callback !== "function") throw new TypeError("Listening failed: callback is not a function");
    if (this.#closed) throw new ClosedError(`Listening to ${topic} failed: the broker is closed`);
    const member: Member = {
      pattern: topic,
      matches: compileTopicPattern(topic),
      group: options.group,
      controller: undefined,
      callback,
      timers: new Set(),
      waiting: 0,
      tail: Promise.resolve(),
    };
    this.#add(member);
    return () => this.#remove(member);
  }

  #add(member: Member): void {
    this.#members.add(member);
    if (isTopicPattern(member.pattern)) this.#patterns.add(member);
    else {
      let set = this.#exact.get(member.pattern);
      if (set === undefined) this.#exact.set(member.pattern, set = new Set());
      set.add(member);
    }
  }

  #remove(member: Member): void {
    this.#members.delete(member);
    this.#patterns.delete(member);
    const set = this.#exact.get(member.pattern);
    if (set !== undefined) {
      set.delete(member);
      if (set.size === 0) this.#exact.delete(member.pattern);
    }
  }

  #targets(topic: string): Member[] {
    const all: Member[] = [];
    const exact = this.#exact.get(topic);
    if (exact !== undefined) { for (const m of exact) all.push(m); }
    for (const m of this.#patterns) if (m.matches(topic)) all.push(m);
    if (!all.some((m) => m.group !== undefined)) return all;
    const out: Member[] = [];
    const groups = new Map<string, Member[]>();
    for (const m of all) {
      if (m.group === undefined) out.push(m);
      else {
        let g = groups.get(m.group);
        if (g === undefined) groups.set(m.group, g = []);
        g.push(m);
      }
    }
    for (const [name, members] of groups) {
      const n = this.#rr.get(name) ?? 0;
      this.#rr.set(name, n + 1);
      out.push(members[n % members.length]!);
    }
    return out;
  }

  #message(
    topic: string,
    data: Uint8Array,
    headers: HeadersInit | undefined,
    sequence: number,
    member: Member,
  ): MemoryMessage {
    const init: MemoryMessageInit = { topic, data, headers, sequence };
    if (!this.#settle) return new MemoryMessage(init);
    const redeliver = (msg: SettleableMemoryMessage, delayMs: number) => {
      const again = () => {
        const next = new SettleableMemoryMessage(
          {
            topic: msg.topic,
            data: msg.data,
            headers: msg.headers,
            sequence: msg.sequence,
            redelivered: msg.redelivered + 1,
          },
          redeliver,
        );
        const c = member.controller;
        if (c !== undefined) handTo(member, c, next)?.catch(() => {});
      };
      if (delayMs <= 0) {
        again();
        return;
      }
      const t = setTimeout(() => {
        member.timers.delete(t);
        again();
      }, delayMs);
      member.timers.add(t);
    };
    return new SettleableMemoryMessage(init, redeliver);
  }

  /**
   * Publishes to every matching subscriber (one per group).
   *
   * @param topic A concrete topic (no wildcards).
   * @param data Bytes (copied) or a string.
   * @param options Headers and a signal that stops waiting for room.
   * @returns The receipt, with the broker's sequence number.
   * @throws {TypeError} On an invalid topic or payload.
   * @throws {RangeError} When the payload is over `maxPayload`.
   * @throws {ClosedError} When the broker is closed.
   */
  publish(topic: string, data: PublishData, options: PublishOptions = {}): Promise<PublishReceipt> {
    try {
      checkTopic(topic, "Publishing");
      const action = `Publishing to ${topic}`;
      const bytes = checkPublishData(data, action, this.capabilities.maxPayload);
      if (this.#closed) throw new ClosedError(`${action} failed: the broker is closed`);
      options.signal?.throwIfAborted();
      const copy = bytes.slice();
      const sequence = ++this.#sequence;
      const receipt: PublishReceipt = { topic, confirmed: true, id: String(sequence), sequence };
      const targets = this.#targets(topic);
      const waits: Promise<void>[] = [];
      for (const member of targets) {
        if (member.callback !== undefined) {
          member.callback(this.#message(topic, copy, options.headers, sequence, member));
          continue;
        }
        const c = member.controller;
        if (c === undefined) continue;
        const msg = this.#message(topic, copy, options.headers, sequence, member);
        // A subscription that ends meanwhile no longer wants it.
        const waiting = handTo(member, c, msg, options.signal);
        if (waiting !== undefined) waits.push(waiting.catch(() => {}));
      }
      if (waits.length === 0) return Promise.resolve(receipt);
      const all = Promise.all(waits).then(() => receipt);
      const signal = options.signal;
      if (signal === undefined) return all;
      return new Promise((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        all.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A stream that publishes each chunk (see {@linkcode publishWritable}).
   *
   * @param topic The topic; without one, chunks must be messages.
   * @param options Window, headers, receipt callback.
   * @returns The stream.
   * @throws {RangeError} When `maxInFlight` is not a positive integer.
   */
  writable(topic?: string, options?: WritableOptions): WritableStream<PublishChunk> {
    if (topic !== undefined) checkTopic(topic, "Creating a writable");
    return publishWritable(this, topic, options);
  }

  /** Closes every subscription and refuses further use. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of this.#members) if (m.callback !== undefined) this.#remove(m);
    await Promise.all([...this.#subs].map((s) => s.close()));
    this.status.close();
  }
}
