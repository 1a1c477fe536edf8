/**
 * The JetStream pull source behind JetStream subscriptions.
 *
 * @module
 */

import { createInbox, type Msg, type NatsConnection, type Subscription as NatsSubscription } from "@nats-io/nats-core";
import { AckPolicy, type ConsumerConfig, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { detachBytes } from "../core/bytes.ts";
import { ClosedError, ConnectionError, ProtocolError } from "../core/errors.ts";
import type { PullSource, SourceContext } from "../core/subscription.ts";
import {
  ACK,
  classifyStatus,
  isWildcardSubject,
  nakPayload,
  parseAckSubject,
  pullRequest,
  termPayload,
} from "./codec.ts";
import { JetStreamMessage, type NatsMessage } from "./message.ts";
import type { NatsSubscribeOptions } from "./options.ts";
import { fromNatsHeaders, isStatus, mapNatsError, nanos } from "./util.ts";

/** What a {@linkcode JetStreamPullSource} needs from the adapter that made it. */
export interface PullOwner {
  /** The connection. */
  readonly connection: NatsConnection;
  /** The JetStream API prefix. */
  readonly apiPrefix: string;
  /** Whether the connection is between a disconnect and a reconnect. */
  readonly reconnecting: boolean;
  /** Whether the server understands `+TERM <reason>`. */
  readonly termReasons: boolean;
  /** The JetStream manager. */
  jetstreamManager(): Promise<JetStreamManager>;
  /** Calls `fn` after each reconnect; returns the unsubscriber. */
  onReconnect(fn: () => void): () => void;
  /** Resolves at the next reconnect, on close, or when `signal` aborts. */
  waitReconnected(signal: AbortSignal): Promise<void>;
  /** Publishes an ack payload. */
  sendAck(reply: string, payload: Uint8Array): Promise<void>;
}

interface PullRequestState {
  readonly id: number;
  remaining: number;
  readonly done: () => void;
}

/**
 * The JetStream pull source. Requests are `no_wait` batches sized to the
 * room the reader left; several may be out at once (the server serves them
 * in order), but what is delivered and unread plus what is still due never
 * exceeds the subscription's highWaterMark. When the stream has nothing, one
 * long poll for a single message waits. No request goes out while the reader
 * does not read.
 */
export class JetStreamPullSource implements PullSource<NatsMessage> {
  readonly kind = "pull" as const;
  readonly #owner: PullOwner;
  readonly #topic: string;
  readonly #options: NatsSubscribeOptions;
  readonly #queue: NatsMessage[] = [];
  #stream = "";
  #consumer = "";
  #ephemeral = false;
  #inbox = "";
  #sub: NatsSubscription | undefined;
  /** Requests still out, oldest first: the server fills them in this order. */
  readonly #requests: PullRequestState[] = [];
  #due = 0;
  #full = false;
  #nextId = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #unlisten: (() => void) | undefined;
  #fixedSubject: string | undefined;
  readonly #send: (reply: string, payload: Uint8Array) => Promise<void>;
  #codec = { ack: ACK, nak: nakPayload, term: (_reason?: string) => termPayload() };

  /** Messages fetched and not yet handed to the subscription (counted in its `buffered`). */
  get held(): number {
    return this.#queue.length;
  }

  constructor(owner: PullOwner, topic: string, options: NatsSubscribeOptions) {
    this.#owner = owner;
    this.#topic = topic;
    this.#options = options;
    this.#send = (reply, payload) => owner.sendAck(reply, payload);
  }

  async start(): Promise<void> {
    const o = this.#options;
    const jsm = await this.#owner.jetstreamManager();
    const action = `Subscribing to ${this.#topic}`;
    try {
      this.#stream = o.stream ?? await jsm.streams.find(this.#topic);
    } catch (err) {
      throw mapNatsError(err, `${action} (finding its stream)`);
    }
    const durable = o.durable ?? o.group;
    try {
      if (o.bind === true) {
        const info = await jsm.consumers.info(this.#stream, durable!);
        this.#consumer = info.name;
      } else {
        const config: Partial<ConsumerConfig> = {
          ack_policy: AckPolicy.Explicit,
          filter_subject: this.#topic,
          ...deliverConfig(o.deliver),
        };
        if (o.ackWaitMs !== undefined) config.ack_wait = nanos(o.ackWaitMs);
        if (o.maxDeliver !== undefined) config.max_deliver = o.maxDeliver;
        if (durable !== undefined) config.durable_name = durable;
        else {
          config.inactive_threshold = nanos(5 * 60_000);
          this.#ephemeral = true;
        }
        const info = await jsm.consumers.add(this.#stream, config);
        this.#consumer = info.name;
      }
    } catch (err) {
      throw mapNatsError(err, `${action} (creating the consumer on stream ${this.#stream})`);
    }
    const nc = this.#owner.connection;
    if (o.bind !== true && !isWildcardSubject(this.#topic)) this.#fixedSubject = this.#topic;
    if (this.#owner.termReasons) this.#codec = { ack: ACK, nak: nakPayload, term: termPayload };
    this.#inbox = createInbox();
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, m) => this.#onMessage(err, m) });
    this.#unlisten = this.#owner.onReconnect(() => this.#finishRequest());
    try {
      await nc.flush();
    } catch (err) {
      throw mapNatsError(err, action);
    }
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    this.#finishRequest();
  }

  #finishRequest(): void {
    for (const r of [...this.#requests]) r.done();
  }

  #onMessage(err: Error | null, m: Msg): void {
    if (err !== null) {
      this.#fail(mapNatsError(err, `Reading ${this.#topic}`));
      return;
    }
    if (isStatus(m)) {
      const id = Number(m.subject.slice(this.#inbox.length + 1));
      const kind = classifyStatus(m.headers!.code, m.headers!.description);
      if (kind === "heartbeat") return;
      if (kind === "deleted") {
        this.#fail(new ClosedError(`Reading ${this.#topic} failed: consumer ${this.#consumer} was deleted`));
        return;
      }
      this.#requests.find((r) => r.id === id)?.done();
      return;
    }
    let msg: NatsMessage;
    try {
      msg = this.#decode(m);
    } catch (e) {
      this.#fail(e instanceof ProtocolError ? e : new ProtocolError(`Decoding a message failed`, { cause: e }));
      return;
    }
    this.#queue.push(msg);
    const r = this.#requests[0];
    if (r !== undefined) {
      r.remaining--;
      this.#due--;
      if (r.remaining <= 0) r.done();
    }
    this.#wake?.();
  }

  #decode(m: Msg): NatsMessage {
    if (typeof m.reply !== "string") {
      throw new ProtocolError(`Decoding a message on ${this.#topic} failed: it has no ack subject`);
    }
    const info = parseAckSubject(m.reply);
    return new JetStreamMessage(
      {
        // A consumer filtered on a plain subject delivers only that subject: skip decoding it.
        topic: this.#fixedSubject ?? m.subject,
        data: detachBytes(m.data),
        headers: fromNatsHeaders(m.headers),
        reply: m.reply,
        id: String(info.streamSequence),
        time: new Date(info.timestampMs),
        sequence: info.streamSequence,
        pending: info.pending,
        deliveryCount: info.deliveryCount,
        stream: info.stream,
        consumer: info.consumer,
      },
      this.#send,
      this.#codec,
    );
  }

  /**
   * Sends one pull request and waits until it ends: filled, ended by a
   * status, cut by a reconnect or `signal`, or timed out locally.
   *
   * @returns How many messages it brought.
   */
  async #pull(batch: number, noWait: boolean, signal: AbortSignal): Promise<number> {
    // With no_wait, an expiry would make the server hold the request (nats-server 2.9): leave it out.
    const expiresMs = noWait ? 0 : (this.#options.expiresMs ?? 5_000);
    const id = ++this.#nextId;
    let resolve!: () => void;
    const ended = new Promise<void>((r) => resolve = r);
    const request: PullRequestState = {
      id,
      remaining: batch,
      done: () => {
        const i = this.#requests.indexOf(request);
        if (i >= 0) {
          this.#requests.splice(i, 1);
          this.#due -= Math.max(0, request.remaining);
        }
        resolve();
      },
    };
    const nc = this.#owner.connection;
    if (nc.isClosed()) throw new ClosedError(`Reading ${this.#topic} failed: the connection is closed`);
    try {
      nc.publish(
        `${this.#owner.apiPrefix}.CONSUMER.MSG.NEXT.${this.#stream}.${this.#consumer}`,
        pullRequest({ batch, expiresMs, noWait }),
        { reply: `${this.#inbox}.${id}` },
      );
    } catch (err) {
      throw mapNatsError(err, `Reading ${this.#topic}`);
    }
    this.#requests.push(request);
    this.#due += batch;
    // Ends on its own (filled, or a status), on abort, on a reconnect (see start()), or, for a long poll, after a
    // local timeout too. A no_wait request is always answered at once, so it needs no timer.
    const timer = noWait ? undefined : setTimeout(request.done, expiresMs + 1_000);
    signal.addEventListener("abort", request.done, { once: true });
    if (signal.aborted) request.done();
    try {
      await ended;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", request.done);
      request.done();
    }
    return batch - Math.max(0, request.remaining);
  }

  /**
   * Hands out up to `max` messages (the subscription's free room), a quarter
   * of `max` at a time so that requests for more go out while the reader
   * works, as room frees up.
   */
  async pull(max: number, context: SourceContext): Promise<NatsMessage[] | null> {
    const signal = context.signal;
    const chunk = Math.max(1, Math.ceil(max / 4));
    while (true) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#queue.length > 0) {
        const out = this.#queue.splice(0, Math.min(chunk, max));
        this.#prefetch(max - out.length, chunk, signal);
        return out;
      }
      if (signal.aborted) return null;
      if (this.#requests.length === 0) {
        this.#full = true;
        this.#prefetch(max, 1, signal);
      }
      if (this.#requests.length > 0) {
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
        if (this.#queue.length > 0 || this.#failure !== undefined || this.#requests.length > 0 || this.#full) continue;
      }
      if (signal.aborted) return null;
      if (!this.#owner.connection.isClosed() && this.#owner.reconnecting) {
        await this.#owner.waitReconnected(signal);
        continue;
      }
      // Nothing there: wait for one message.
      await this.#pull(1, false, signal);
    }
  }

  /**
   * Sends a `no_wait` request for the room left (minus what is queued and
   * what is still due), when the stream had more and the batch is at least
   * `min` (fewer, larger requests).
   */
  #prefetch(room: number, min: number, signal: AbortSignal): void {
    if (!this.#full || signal.aborted) return;
    const batch = room - this.#queue.length - this.#due;
    if (batch < min || batch < 1) return;
    if (this.#owner.reconnecting || this.#owner.connection.isClosed()) return;
    this.#pull(batch, true, signal).then(
      (got) => {
        if (got < batch) this.#full = false;
      },
      (err) => {
        this.#failure ??= err instanceof Error ? err : new ConnectionError(String(err));
      },
    ).finally(() => this.#wake?.());
  }

  async cancel(): Promise<void> {
    this.#unlisten?.();
    this.#finishRequest();
    this.#queue.length = 0;
    const nc = this.#owner.connection;
    try {
      this.#sub?.unsubscribe();
    } catch { /* connection gone */ }
    if (this.#ephemeral && !nc.isClosed() && !this.#owner.reconnecting && this.#consumer !== "") {
      try {
        const jsm = await this.#owner.jetstreamManager();
        await jsm.consumers.delete(this.#stream, this.#consumer);
      } catch { /* the inactive threshold removes it */ }
    }
  }
}

function deliverConfig(deliver: NatsSubscribeOptions["deliver"]): Partial<ConsumerConfig> {
  if (deliver === undefined || deliver === "new") return { deliver_policy: DeliverPolicy.New };
  if (deliver === "all") return { deliver_policy: DeliverPolicy.All };
  if (deliver === "last") return { deliver_policy: DeliverPolicy.Last };
  if (deliver === "last-per-subject") return { deliver_policy: DeliverPolicy.LastPerSubject };
  if ("sequence" in deliver) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: deliver.sequence };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: deliver.time.toISOString() };
}
