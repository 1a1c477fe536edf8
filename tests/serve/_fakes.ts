// Test doubles for the serve tests (not a test file): a settling source that records every ack and nak in order,
// and a target whose publishes the test resolves, fails or holds, recording what it was given.
import { TimeoutError } from "../../src/core/errors.ts";
import { BasicMessage, type Message, type MessageInit } from "../../src/core/message.ts";
import type {
  Capabilities,
  PublishChunk,
  PublishData,
  PublishOptions,
  PublishReceipt,
  PubSub,
  SubscribeOptions,
} from "../../src/core/pubsub.ts";
import { publishWritable } from "../../src/core/publish_writable.ts";
import { StatusChannel } from "../../src/core/status.ts";
import type { PushController } from "../../src/core/source.ts";
import { Subscription } from "../../src/core/subscription.ts";
import type { Opener } from "../../src/cli/context.ts";

const CAPS: Capabilities = {
  settle: true,
  confirmedPublish: true,
  wildcards: "none",
  maxPayload: 1 << 20,
  ordered: true,
  replay: false,
  groups: true,
  headers: true,
  overflow: ["block", "drop-oldest", "drop-newest", "error"],
  delivery: "at-least-once",
};

/** A source message that records how it was settled. */
export class FakeMessage extends BasicMessage {
  readonly deliveryCount: number;
  readonly #source: FakeSource;
  settled: "ack" | "nak" | undefined;

  constructor(init: MessageInit, source: FakeSource, deliveryCount: number) {
    super(init);
    this.#source = source;
    this.deliveryCount = deliveryCount;
  }

  get redelivered(): boolean {
    return this.deliveryCount > 1;
  }

  ack(): Promise<void> {
    return this.#settle("ack", 0);
  }

  nak(delayMs = 0): Promise<void> {
    return this.#settle("nak", delayMs);
  }

  term(): Promise<void> {
    return this.#settle("ack", 0);
  }

  #settle(how: "ack" | "nak", delayMs: number): Promise<void> {
    if (this.settled !== undefined) throw new Error(`message ${this.text()} settled twice`);
    const gate = this.#source.confirmGate;
    if (gate !== undefined) {
      // As a confirmed settlement: it resolves when the source says so.
      return gate.then(() => {
        this.#source.confirmGate = undefined;
        return this.#settle(how, delayMs);
      });
    }
    if (this.#source.unconfirmed > 0) {
      // As a JetStream settlement with confirmAcks that no server confirmed: rejected, the message still unsettled.
      this.#source.unconfirmed--;
      this.#source.unconfirmedSeen++;
      return Promise.reject(new TimeoutError("Settling a message failed: the server did not confirm it"));
    }
    this.settled = how;
    this.#source.record(this, how, delayMs);
    return Promise.resolve();
  }
}

/** A source of settleable messages (or not, with `settle: false`), one subscription at a time. */
export class FakeSource implements PubSub<Message> {
  readonly capabilities: Capabilities;
  readonly status: StatusChannel = new StatusChannel();
  /** Every settlement, in order: [payload, "ack" | "nak", nak delay]. */
  readonly log: [string, "ack" | "nak", number][] = [];
  /** Subscribe options seen. */
  readonly subscribed: SubscribeOptions[] = [];
  /** Delivered and not yet settled. */
  readonly unsettled = new Set<FakeMessage>();
  #controller: PushController<Message> | undefined;
  readonly #backlog: FakeMessage[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #seq = 0;
  readonly #settle: boolean;
  onSettle: (() => void) | undefined;
  /** How many of the next settlements reject, unconfirmed (then they can be made again). */
  unconfirmed = 0;
  /** How many settlements were rejected that way. */
  unconfirmedSeen = 0;
  /** While set, settlements wait for it (as confirmations that take their time), then go through. */
  confirmGate: Promise<void> | undefined;
  /** What `consumerInfo()` reports (as `./nats` does for a JetStream consumer); it rejects while unset. */
  state: { pending: number; ackPending: number; redelivered: number } | undefined;
  /** The arguments of each `consumerInfo()` call. */
  readonly infoAsked: [string, { stream: string } | { topic: string }][] = [];

  constructor(options: { settle?: boolean; headers?: boolean } = {}) {
    this.#settle = options.settle ?? true;
    this.capabilities = { ...CAPS, settle: this.#settle, headers: options.headers ?? true };
  }

  /** Makes a message and delivers it (or keeps it until a subscription exists). */
  emit(data: string, headers?: HeadersInit): void {
    this.#deliver(this.#make({ topic: "in/a", data, headers, id: String(++this.#seq) }, 1));
  }

  #make(init: MessageInit, count: number): FakeMessage {
    // Without settlement, a plain message: no ack/nak/term.
    return this.#settle ? new FakeMessage(init, this, count) : new BasicMessage(init) as FakeMessage;
  }

  #deliver(m: FakeMessage): void {
    if (this.#settle) this.unsettled.add(m);
    const c = this.#controller;
    if (c === undefined || c.signal.aborted) {
      this.#backlog.push(m);
      return;
    }
    // One push waits for room at a time (a subscription lets at most highWaterMark wait); the rest queue behind it.
    this.#pushing = this.#pushing.then(() => c.push(m)).catch(() => void this.#backlog.push(m));
  }

  #pushing: Promise<void> = Promise.resolve();

  record(m: FakeMessage, how: "ack" | "nak", delayMs: number): void {
    this.unsettled.delete(m);
    this.log.push([m.text(), how, delayMs]);
    if (how === "nak") {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#deliver(this.#make({ topic: m.topic, data: m.data, headers: m.headers, id: m.id }, m.deliveryCount + 1));
      }, delayMs);
      this.#timers.add(t);
    }
    this.onSettle?.();
  }

  acked(): string[] {
    return this.log.filter(([, how]) => how === "ack").map(([d]) => d);
  }

  subscribe(_topic: string, options: SubscribeOptions = {}): Subscription<Message> {
    this.subscribed.push(options);
    return new Subscription<Message>({
      kind: "push",
      start: (controller) => {
        this.#controller = controller;
        for (const m of this.#backlog.splice(0)) this.#deliver(m);
      },
      cancel: () => {
        this.#controller = undefined;
      },
    }, options);
  }

  /** As `consumerInfo()` of `./nats`, for a JetStream source. */
  consumerInfo(consumer: string, where: { stream: string } | { topic: string }) {
    this.infoAsked.push([consumer, where]);
    const s = this.state;
    if (s === undefined) return Promise.reject(new Error("no such consumer"));
    return Promise.resolve({ stream: "SRC", name: consumer, waiting: 0, maxAckPending: 1000, leader: "n1", ...s });
  }

  /** Fails the live subscription (as a lost connection would). */
  fail(err: Error): void {
    this.#controller?.error(err);
  }

  publish(): Promise<PublishReceipt> {
    return Promise.reject(new Error("not a target"));
  }

  writable(topic?: string): WritableStream<PublishChunk> {
    return publishWritable(this, topic);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

/** One publish the target was given. */
export interface Published {
  topic: string;
  data: string;
  headers: Headers | undefined;
}

/** A target whose `behaviour` decides each publish; it records the publishes it confirmed. */
export class FakeTarget implements PubSub<Message> {
  readonly capabilities: Capabilities;
  readonly status: StatusChannel = new StatusChannel();
  /** Confirmed publishes, in the order confirmed. */
  readonly confirmed: Published[] = [];
  /** Every attempt. */
  attempts = 0;
  /** Publishes started and not settled. */
  current = 0;
  /** The most at once. */
  most = 0;
  closed = 0;
  behaviour: (p: Published, attempt: number, signal: AbortSignal | undefined) => Promise<void> = () =>
    Promise.resolve();
  readonly #tries = new Map<string, number>();

  constructor(options: { confirmed?: boolean; headers?: boolean } = {}) {
    this.capabilities = {
      ...CAPS,
      settle: false,
      confirmedPublish: options.confirmed ?? true,
      headers: options.headers ?? true,
    };
  }

  async publish(topic: string, data: PublishData, options: PublishOptions = {}): Promise<PublishReceipt> {
    const p: Published = {
      topic,
      data: typeof data === "string" ? data : new TextDecoder().decode(data),
      headers: options.headers === undefined ? undefined : new Headers(options.headers),
    };
    this.attempts++;
    const attempt = (this.#tries.get(p.data) ?? 0) + 1;
    this.#tries.set(p.data, attempt);
    this.current++;
    this.most = Math.max(this.most, this.current);
    try {
      await this.behaviour(p, attempt, options.signal);
    } finally {
      this.current--;
    }
    this.confirmed.push(p);
    return { topic, confirmed: this.capabilities.confirmedPublish };
  }

  subscribe(): Subscription<Message> {
    throw new Error("not a source");
  }

  writable(topic?: string): WritableStream<PublishChunk> {
    return publishWritable(this, topic);
  }

  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

/** An opener giving each URL its double. */
export function opener(map: Record<string, PubSub>): Opener & { opened: string[] } {
  const opened: string[] = [];
  const fn = (url: string) => {
    opened.push(url);
    const ps = map[url];
    return ps === undefined ? Promise.reject(new TypeError(`no double for ${url}`)) : Promise.resolve(ps);
  };
  return Object.assign(fn, { opened });
}

/** Resolves when `cond()` holds, checked after each settlement/publish tick; fails after `ms`. */
export async function until(cond: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Waiting for ${what} timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A promise with its resolvers. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
