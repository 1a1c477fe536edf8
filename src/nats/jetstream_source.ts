/**
 * The JetStream pull source: the one pull loop behind `./nats` JetStream
 * subscriptions and `./mdb` dataset subscriptions. What differs between them
 * is given to it: how the consumer is made ({@linkcode ConsumerSetup}), the
 * shape of the requests ({@linkcode PullPattern}) and the message type.
 *
 * @module
 */

import { createInbox, type Msg, type NatsConnection, type Subscription as NatsSubscription } from "@nats-io/nats-core";
import { withDeadline } from "../core/async.ts";
import { AuthError, ClosedError, ConnectionError, ProtocolError, PubSubError } from "../core/errors.ts";
import type { StatusChannel } from "../core/status.ts";
import type { PullSource, SourceContext } from "../core/source.ts";
import { type AckInfo, classifyStatus, isStatus, nakPayload, parseAckSubject } from "./codec.ts";
import { requestConsumerState } from "./consumer_info.ts";
import { mapNatsError } from "./errors.ts";

/** What a {@linkcode JetStreamPullSource} needs from the connection it reads through. */
export interface PullOwner {
  /** The connection. */
  readonly connection: NatsConnection;
  /** The JetStream API prefix (`$JS.API`, or a domain's). */
  readonly apiPrefix: string;
  /** Whether the connection is between a disconnect and a reconnect. */
  readonly reconnecting: boolean;
  /** Where status events of the subscription go (`"pull-status"`). */
  readonly status: StatusChannel;
  /** Calls `fn` after each reconnect; returns the unsubscriber. */
  onReconnect(fn: () => void): () => void;
  /** Resolves at the next reconnect, on close, or when `signal` aborts. */
  waitReconnected(signal: AbortSignal): Promise<void>;
  /** Publishes an ack payload. */
  sendAck(reply: string, payload: Uint8Array): Promise<void>;
  /**
   * How long a request the server answers at once (a `no_wait` pull, a
   * consumer-info request) may go unanswered, in ms: the JetStream timeout.
   */
  readonly apiTimeoutMs: number;
}

/** The consumer a source pulls from. */
export interface ConsumerTarget {
  /** The stream. */
  readonly stream: string;
  /** The consumer's name. */
  readonly consumer: string;
  /** The consumer's ack wait in ms, when the setup learnt it (bounds how long prefetched messages are held). */
  readonly ackWaitMs?: number | undefined;
}

/**
 * How a source gets its consumer: `./nats` finds the stream and adds or binds
 * a consumer through nats.js; `./mdb` sends speedracer's own API requests.
 */
export interface ConsumerSetup {
  /** Makes or finds the consumer, once, before the first pull. */
  setup(): Promise<ConsumerTarget>;
  /** Called once when the subscription ends, while the connection is up (e.g. to delete an ephemeral consumer). */
  release?(target: ConsumerTarget): Promise<void>;
}

/** One pull request: its body and how long the server may hold it. */
export interface PullRequestBody {
  /** The `MSG.NEXT` body. */
  readonly body: Uint8Array | string;
  /**
   * How long the server may hold the request, in ms; 0 for a `no_wait`
   * request, which the server answers at once (see
   * {@linkcode JetStreamPullSource} for the local timers of both).
   */
  readonly expiresMs: number;
}

/**
 * The shape of a source's pull requests. The bound is the same for every
 * shape: what is queued in the source plus what is still due on requests
 * never exceeds the room the subscription gives (`pull(max)`).
 */
export interface PullPattern {
  /**
   * `true`: messages are handed out a quarter of the room at a time and new
   * `no_wait` requests go out for the room freed while the reader works
   * (`./nats`). `false`: one message per read, and a new request only once
   * everything requested was handed out (speedracer's one batch at a time).
   */
  readonly readAhead: boolean;
  /**
   * How many requests of a whole room (`max`) are kept out ahead of the
   * reader while it takes what arrived, when the stream had more (0: none).
   * What such a request brings is held unsettled until the reader takes its
   * first message (then auto-ack acks its whole batch), handed back (naked)
   * if it is held past a third of the consumer's ack wait (10 s at most) or
   * when the subscription ends, so that reading ahead neither loses nor
   * duplicates anything. Used with `readAhead: false`.
   */
  readonly prefetch?: number | undefined;
  /** Whether a request for `batch` messages, sent while the stream may have more, is a `no_wait` one. */
  noWait(batch: number): boolean;
  /** How many messages a long poll asks for when `room` is free. */
  longPollBatch(room: number): number;
  /** Encodes a request. */
  request(batch: number, noWait: boolean): PullRequestBody;
}

/** What {@linkcode JetStreamPullSource} is made from. */
export interface JetStreamPullInit<M> {
  /** The connection side. */
  readonly owner: PullOwner;
  /** Names the subscription in errors: `"Reading orders.>"`, `"Pulling from dataset ds"`. */
  readonly what: string;
  /** Fields added to every status event (`{ topic }`, `{ dataset }`). */
  readonly detail: Readonly<Record<string, unknown>>;
  /** Makes the consumer. */
  readonly consumer: ConsumerSetup;
  /** The request shape. */
  readonly pattern: PullPattern;
  /** Makes the message handed out from a delivery and its parsed ack subject. */
  message(msg: Msg, info: AckInfo): M;
  /**
   * Acks every message with this payload before it is handed out: a whole
   * batch (what one request brought) when the reader takes its first message,
   * later messages of a batch already taken as they arrive (speedracer's "ack
   * the whole batch, then yield"); a redelivery of a stream sequence already
   * received (its ack lost in a reconnect, or a restarted server that kept an
   * older consumer state and delivers it again as new) is then acked and
   * skipped. Without it the reader settles.
   */
  readonly autoAck?: Uint8Array | undefined;
}

/** How long past its expiry a held request is given before it is taken as lost. */
const GRACE_MS = 1_500;
/** How many delivered stream sequences auto-ack remembers to skip redeliveries. */
const DEDUPE_WINDOW = 4096;
/** The first and the longest wait before retrying after an interrupted request. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

interface OpenRequest {
  readonly id: number;
  readonly batch: number;
  remaining: number;
  /** Ends the request (idempotent); `normal` when the server ended it or it was filled. */
  end(normal: boolean): void;
}

/** A message received and not handed out yet, with its ack subject (to hand it back on close). */
interface Held<M> {
  readonly msg: M;
  readonly reply: string;
  /** The request that brought it (0: none was open). */
  readonly batch: number;
  /** Whether auto-ack acked it already. */
  acked: boolean;
  /** Its stream sequence (to forget it when it is handed back). */
  readonly sequence: number;
  /** When it arrived (`performance.now()`). */
  readonly at: number;
}

/** The longest a prefetched message is held unsettled before it is handed back to the server. */
const HOLD_MAX_MS = 10_000;

/**
 * Pulls from a JetStream consumer only as the reader reads. A request goes
 * out only for room the reader left; a stalled reader stalls the consumer.
 *
 * Server statuses on a pull: 404 and 408 end a request normally; 100 is a
 * heartbeat; `409 Consumer Deleted` ends the subscription (`ClosedError`), as
 * do a `400` and `409 Consumer is push based` (`PubSubError`: no request of
 * this kind can be served). Every other status (`409 Server Shutdown` of a
 * graceful restart, `Leadership Change`, `Exceeded …`, `503` while JetStream
 * comes back) ends only the request: a `"pull-status"` event reports it and
 * the pull is retried after a backoff (250 ms doubling to 5 s). Requests out
 * when the connection drops are taken as lost and sent again after the
 * reconnect. The subscription ends with a mapped error when the connection
 * closes for good.
 *
 * A request the server never answers is taken as lost too (a `"pull-status"`
 * event with `code` 0, then the same backoff and retry): a long poll once
 * its expiry plus a grace has passed; a `no_wait` request once nothing
 * arrived for `apiTimeoutMs`. The server leaves a `no_wait` pull unanswered
 * when no server serves the consumer (a new clustered consumer whose leader
 * is not elected yet, a deleted consumer): `$JS.API.>` takes the request and
 * nothing answers it. It also holds one, legitimately, while the consumer's
 * `max_ack_pending` is reached; so before giving up on a `no_wait` request
 * the source asks for the consumer's info, and waits on while the server
 * reports a leader and a full ack window.
 *
 * When the subscription ends (`close()`, a cancel), the messages received
 * and not handed out are naked at once (unless auto-ack acked them: the
 * reader had reached their batch), and so is every delivery still on its
 * way: the inbox is drained (unsubscribed, then a round trip) rather than
 * dropped. The server delivers them again at once, to the consumer's other
 * readers, instead of after the ack wait.
 */
export class JetStreamPullSource<M> implements PullSource<M> {
  readonly kind = "pull" as const;
  readonly #init: JetStreamPullInit<M>;
  readonly #queue: Held<M>[] = [];
  readonly #requests: OpenRequest[] = [];
  #target: ConsumerTarget | undefined;
  #inbox = "";
  #sub: NatsSubscription | undefined;
  #due = 0;
  /** Whether the stream may hold more than was asked for: the last request was filled. */
  #more = true;
  #nextId = 0;
  #retries = 0;
  #retryAt = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #unlisten: (() => void) | undefined;
  #lost: Promise<Error> | undefined;
  #signal: AbortSignal | undefined;
  #restarting: Promise<void> | undefined;
  /** Set by `cancel()`: deliveries are handed back as they arrive. */
  #ending = false;
  /** When the last delivery or status arrived (`performance.now()`): the server is serving the requests. */
  #answeredAt = 0;
  /** The consumer-info check shared by the unanswered requests of the moment. */
  #holdCheck: Promise<string | undefined> | undefined;
  /** The newest request whose batch the reader has started taking (auto-ack acks its later messages on arrival). */
  #takenThrough = 0;
  /** Hands back unsettled held messages held too long (see `PullPattern.prefetch`). */
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #seen = new Set<number>();
  /**
   * The remembered sequences in arrival order, a ring of `DEDUPE_WINDOW` (the
   * oldest at `#seenNext` once full; -1 where one was forgotten): `#seen`
   * holds exactly the sequences in it.
   */
  readonly #seenOrder = new Float64Array(DEDUPE_WINDOW);
  #seenNext = 0;
  #seenCount = 0;
  /** `MSG.NEXT` requests sent. */
  requests = 0;

  /**
   * Creates the source; nothing is sent before `start()`.
   *
   * @param init The owner, the consumer setup, the request shape and the message factory.
   */
  constructor(init: JetStreamPullInit<M>) {
    this.#init = init;
  }

  /** Messages received and not yet handed to the subscription (held beyond the subscription's own buffer). */
  get held(): number {
    return this.#queue.length;
  }

  async start(context: SourceContext): Promise<void> {
    this.#signal = context.signal;
    // One listener for every request: an abort ends whatever is open.
    context.signal.addEventListener("abort", () => this.#endAll(false), { once: true });
    const owner = this.#init.owner;
    const nc = owner.connection;
    this.#lost = nc.closed().then((err) => lostError(err, this.#init.what));
    void this.#lost.then((err) => {
      if (!context.signal.aborted) this.#fail(err);
    });
    this.#target = await this.#init.consumer.setup();
    this.#openInbox();
    this.#unlisten = owner.onReconnect(() => {
      this.#endAll(false);
      this.#retries = 0;
      this.#retryAt = 0;
    });
    try {
      await nc.flush();
    } catch (err) {
      throw mapNatsError(err, this.#init.what);
    }
  }

  #openInbox(): void {
    this.#inbox = createInbox();
    this.#sub = this.#init.owner.connection.subscribe(`${this.#inbox}.*`, {
      callback: (err, m) => this.#onMessage(err, m),
    });
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    this.#endAll(false);
    this.#poke();
  }

  #endAll(normal: boolean): void {
    for (const r of [...this.#requests]) r.end(normal);
  }

  #onMessage(err: Error | null, m: Msg): void {
    if (err !== null) {
      this.#fail(mapNatsError(err, this.#init.what));
      return;
    }
    this.#answeredAt = performance.now();
    if (isStatus(m)) {
      this.#onStatus(m);
      return;
    }
    if (this.#ending) {
      // The subscription ended while this was on its way: the reader will never get it, nor was it acked. Hand it back.
      if (typeof m.reply === "string") this.#handBack(m.reply);
      return;
    }
    let msg: M;
    let info: AckInfo;
    try {
      if (typeof m.reply !== "string") {
        throw new ProtocolError(`${this.#init.what} failed: a delivery has no ack subject`);
      }
      info = parseAckSubject(m.reply);
      msg = this.#init.message(m, info);
    } catch (e) {
      this.#fail(
        e instanceof ProtocolError
          ? e
          : new ProtocolError(`${this.#init.what} failed: a delivery is malformed`, { cause: e }),
      );
      return;
    }
    const r = this.#requests[0];
    const batch = r?.id ?? 0;
    if (r !== undefined) {
      r.remaining--;
      this.#due--;
      if (r.remaining <= 0) r.end(true);
    }
    this.#retries = 0;
    const autoAck = this.#init.autoAck;
    let acked = false;
    if (autoAck !== undefined) {
      const seen = this.#seen.has(info.streamSequence);
      // Acked now: a redelivery of what was received already, or a batch the reader has started taking.
      if (seen || batch === 0 || batch <= this.#takenThrough) {
        void this.#init.owner.sendAck(m.reply!, autoAck).catch(() => {});
        acked = true;
      }
      if (seen) {
        this.#poke();
        return; // received already: its ack was lost, or the server restarted from an older consumer state
      }
      this.#remember(info.streamSequence);
    }
    this.#queue.push({ msg, reply: m.reply!, batch, acked, sequence: info.streamSequence, at: performance.now() });
    if (!acked && this.#holdTimer === undefined && (this.#init.pattern.prefetch ?? 0) > 0) this.#handBackIfStale();
    this.#poke();
  }

  /** Naks a delivery the reader never got, so that the server delivers it again at once. */
  #handBack(reply: string): void {
    void this.#init.owner.sendAck(reply, nakPayload()).catch(() => {});
  }

  #onStatus(m: Msg): void {
    const code = m.headers!.code;
    const description = m.headers!.description;
    const kind = classifyStatus(code, description);
    if (kind === "heartbeat") return;
    const target = this.#target;
    if (kind === "deleted") {
      this.#fail(
        new ClosedError(
          `${this.#init.what} failed: consumer ${target?.consumer} of stream ${target?.stream} was deleted`,
        ),
      );
      return;
    }
    if (kind === "refused") {
      this.#fail(new PubSubError(`${this.#init.what} failed: the server refused the pull: ${code} ${description}`));
      return;
    }
    const id = Number(m.subject.slice(this.#inbox.length + 1));
    const request = this.#requests.find((r) => r.id === id);
    if (request === undefined) return; // a request that already ended (stale)
    if (kind === "no-messages" || kind === "timeout") {
      request.end(true);
      return;
    }
    // Interrupted: the server ended this request without ending the consumer. Retry after a backoff.
    this.#interrupted(request, code, description);
  }

  /** Ends a request the server interrupted (or never answered), reports it, and sets the backoff before the retry. */
  #interrupted(request: OpenRequest, code: number, description: string): void {
    const retryInMs = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.#retries);
    this.#retries = Math.min(this.#retries + 1, 10);
    this.#retryAt = Date.now() + retryInMs;
    this.#init.owner.status.emit("pull-status", { ...this.#init.detail, code, description, retryInMs });
    request.end(false);
  }

  /**
   * A `no_wait` request with no answer for `apiTimeoutMs`: lost, unless the
   * server holds it while the consumer's ack window is full (asked through
   * the consumer's info), in which case it is waited on.
   */
  async #unanswered(request: OpenRequest, isOpen: () => boolean, rearm: (ms: number) => void): Promise<void> {
    this.#holdCheck ??= this.#checkHold().finally(() => this.#holdCheck = undefined);
    const why = await this.#holdCheck;
    if (!isOpen()) return;
    if (why === undefined) rearm(this.#init.owner.apiTimeoutMs); // held until acks free the window
    else this.#interrupted(request, 0, why);
  }

  /** Asks for the consumer's info: `undefined` when the server holds pulls for a full ack window, else why not. */
  async #checkHold(): Promise<string | undefined> {
    const owner = this.#init.owner;
    const target = this.#target!;
    const waitMs = owner.apiTimeoutMs;
    const why = `no answer within ${waitMs} ms`;
    try {
      const r = await requestConsumerState(owner.connection, owner.apiPrefix, target.stream, target.consumer, waitMs);
      if (!r.ok) return `${why}; consumer info: ${r.error.code} ${r.error.description}`;
      const s = r.state;
      if (s.leader === "") return `${why}; the consumer has no leader`;
      if (s.waiting > 0 && s.maxAckPending > 0 && s.ackPending >= s.maxAckPending) return undefined;
      return why;
    } catch (err) {
      return `${why}; consumer info: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  #remember(seq: number): void {
    if (this.#seen.has(seq)) return;
    if (this.#seenCount === DEDUPE_WINDOW) this.#seen.delete(this.#seenOrder[this.#seenNext]!);
    else this.#seenCount++;
    this.#seen.add(seq);
    this.#seenOrder[this.#seenNext] = seq;
    this.#seenNext = (this.#seenNext + 1) % DEDUPE_WINDOW;
  }

  /** Forgets a remembered sequence (handed back: its redelivery is not a duplicate). */
  #forget(seq: number): void {
    if (!this.#seen.delete(seq)) return;
    const i = this.#seenOrder.indexOf(seq);
    if (i >= 0) this.#seenOrder[i] = -1;
  }

  /** Sends one request; it ends when filled, by a status, a reconnect, its local timer or the end of the subscription. */
  #request(batch: number, noWait: boolean): void {
    const owner = this.#init.owner;
    const target = this.#target!;
    const { body, expiresMs } = this.#init.pattern.request(batch, noWait);
    const id = ++this.#nextId;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let open = true;
    const sentAt = performance.now();
    const request: OpenRequest = {
      id,
      batch,
      remaining: batch,
      end: (normal) => {
        if (!open) return;
        open = false;
        clearTimeout(timer);
        const i = this.#requests.indexOf(request);
        if (i >= 0) this.#requests.splice(i, 1);
        this.#due -= Math.max(0, request.remaining);
        if (normal) this.#more = request.remaining <= 0;
        this.#poke();
      },
    };
    try {
      owner.connection.publish(`${owner.apiPrefix}.CONSUMER.MSG.NEXT.${target.stream}.${target.consumer}`, body, {
        reply: `${this.#inbox}.${id}`,
      });
    } catch (err) {
      this.#fail(mapNatsError(err, this.#init.what));
      return;
    }
    this.requests++;
    this.#requests.push(request);
    this.#due += batch;
    if (expiresMs > 0) {
      // A long poll: the server ends it at its expiry; past that and a grace, its end status was lost.
      const lostAfter = expiresMs + GRACE_MS;
      timer = setTimeout(() => {
        if (open) this.#interrupted(request, 0, `no answer within ${lostAfter} ms (the request expired)`);
      }, lostAfter);
    } else {
      // A no_wait request: answered at once, or lost (see the class). Any delivery or status shows the server at work.
      const waitMs = owner.apiTimeoutMs;
      const check = () => {
        if (!open) return;
        const quietFor = performance.now() - Math.max(sentAt, this.#answeredAt);
        if (quietFor < waitMs) {
          timer = setTimeout(check, waitMs - quietFor);
          return;
        }
        void this.#unanswered(request, () => open, (ms) => timer = setTimeout(check, ms));
      };
      timer = setTimeout(check, waitMs);
    }
  }

  /** Resolves on the next event (a message, a request's end, a failure, a reconnect) or after `ms`. */
  #idle(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.#poke(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Hands out what arrived: one message per read, or (with read-ahead) up to
   * a quarter of `max` while asking for the room freed. With nothing queued
   * and nothing requested, asks: a `no_wait` batch for the room while the
   * stream had more, else a long poll.
   */
  async pull(max: number, context: SourceContext): Promise<M[] | null> {
    const signal = context.signal;
    const { pattern, owner } = this.#init;
    const chunk = pattern.readAhead ? Math.max(1, Math.ceil(max / 4)) : 1;
    while (true) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#restarting !== undefined) {
        await this.#restarting.catch(() => {});
        continue;
      }
      if (this.#queue.length > 0) {
        const n = Math.min(chunk, max, this.#queue.length);
        if (this.#init.autoAck !== undefined) {
          const last = this.#queue[n - 1]!;
          if (last.batch > this.#takenThrough) this.#takeThrough(last.batch);
        }
        const out = this.#queue.splice(0, n).map((h) => h.msg);
        if (pattern.readAhead) this.#askAhead(max - out.length, chunk);
        else if ((pattern.prefetch ?? 0) > 0 && pattern.noWait(max)) this.#prefetch(max, pattern.prefetch!);
        return out;
      }
      if (signal.aborted) return null;
      if (this.#requests.length > 0) {
        await this.#idle();
        continue;
      }
      const nc = owner.connection;
      if (nc.isClosed()) throw await this.#lost!;
      if (owner.reconnecting) {
        await owner.waitReconnected(signal);
        continue;
      }
      const wait = this.#retryAt - Date.now();
      if (wait > 0) {
        await this.#idle(wait);
        continue;
      }
      if (this.#more && pattern.noWait(max)) this.#request(max, true);
      else this.#request(Math.max(1, Math.min(max, pattern.longPollBatch(max))), false);
    }
  }

  /** The reader starts taking the batch of request `batch`: auto-ack acks it, and every earlier one, whole. */
  #takeThrough(batch: number): void {
    this.#takenThrough = batch;
    const owner = this.#init.owner;
    const payload = this.#init.autoAck!;
    for (const h of this.#queue) {
      if (h.acked || h.batch > batch) continue;
      h.acked = true;
      void owner.sendAck(h.reply, payload).catch(() => {});
    }
  }

  /** Keeps up to `depth` `no_wait` requests of `max` out ahead of the reader, while the stream had more. */
  #prefetch(max: number, depth: number): void {
    if (!this.#mayAskAhead()) return;
    while (this.#requests.length < depth && this.#queue.length + this.#due + max <= max * (depth + 1)) {
      this.#request(max, true);
    }
  }

  /** How long a prefetched message may wait unsettled: a third of the consumer's ack wait, at most 10 s. */
  #holdLimitMs(): number {
    const ackWait = this.#target?.ackWaitMs;
    return ackWait !== undefined && ackWait > 0 ? Math.min(HOLD_MAX_MS, ackWait / 3) : HOLD_MAX_MS;
  }

  /**
   * Hands back (naks) the unsettled held messages once the oldest waited past
   * the hold limit, else sets the timer for when it will (none held: no
   * timer). The reader stalled, and the server would otherwise deliver them
   * again after its ack wait, maybe to another reader of the consumer, while
   * they wait here. Reading ahead stops until the reader catches up (they
   * come again on its next pull).
   */
  #handBackIfStale(): void {
    const oldest = this.#queue.find((h) => !h.acked);
    if (oldest === undefined) return;
    const wait = oldest.at + this.#holdLimitMs() - performance.now();
    if (wait > 0) {
      this.#holdTimer = setTimeout(() => {
        this.#holdTimer = undefined;
        this.#handBackIfStale();
      }, wait);
      return;
    }
    const kept: Held<M>[] = [];
    for (const h of this.#queue) {
      if (h.acked) kept.push(h);
      else {
        this.#handBack(h.reply);
        this.#forget(h.sequence); // it comes again: not a duplicate then
      }
    }
    this.#queue.splice(0, this.#queue.length, ...kept);
    this.#more = true;
    this.#poke();
  }

  /** Whether a `no_wait` request may go out ahead of the reader: the stream had more, and nothing stands in the way. */
  #mayAskAhead(): boolean {
    const owner = this.#init.owner;
    return this.#more && !this.#signal?.aborted && this.#failure === undefined && !owner.reconnecting &&
      !owner.connection.isClosed() && Date.now() >= this.#retryAt;
  }

  /** With read-ahead: a `no_wait` request for the room left, when the stream had more and it is worth one. */
  #askAhead(room: number, min: number): void {
    const batch = room - this.#queue.length - this.#due;
    if (batch < min || batch < 1 || !this.#mayAskAhead()) return;
    this.#request(batch, true);
  }

  /**
   * Drops what is queued and requested, makes the consumer again with
   * `setup` (MDB's seek deletes and recreates it) and pulls from it on a new
   * inbox. Reads wait meanwhile. A failure ends the subscription.
   *
   * @param setup Makes the new consumer.
   * @returns When the new consumer is in place.
   * @throws {Error} What `setup` threw.
   */
  async restart(setup: () => Promise<ConsumerTarget>): Promise<void> {
    const previous = this.#restarting;
    const run = (async () => {
      await previous?.catch(() => {});
      try {
        this.#sub?.unsubscribe(); // first, so that the deletion's 409 never reaches us
      } catch { /* the connection is gone */ }
      this.#sub = undefined;
      this.#endAll(false);
      this.#queue.length = 0;
      clearTimeout(this.#holdTimer);
      this.#holdTimer = undefined;
      this.#seen.clear();
      this.#seenNext = 0;
      this.#seenCount = 0;
      this.#more = true;
      this.#target = await setup();
      this.#openInbox();
    })();
    this.#restarting = run;
    this.#poke();
    try {
      await run;
    } catch (err) {
      this.#fail(err instanceof Error ? err : new ConnectionError(String(err)));
      throw err;
    } finally {
      if (this.#restarting === run) this.#restarting = undefined;
      this.#poke();
    }
  }

  /**
   * Ends the source: what was received and not handed out is naked (manual
   * settlement), the inbox is drained so that deliveries on their way are
   * naked too, and the consumer is released (an ephemeral one deleted).
   */
  async cancel(): Promise<void> {
    this.#unlisten?.();
    this.#ending = true;
    this.#endAll(false);
    const held = this.#queue.splice(0);
    this.#poke();
    await this.#restarting?.catch(() => {});
    const owner = this.#init.owner;
    const nc = owner.connection;
    const live = () => !nc.isClosed() && !owner.reconnecting;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    for (const h of held) if (!h.acked) this.#handBack(h.reply);
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub !== undefined) {
      if (live()) {
        // UNSUB then a round trip: what the server sent before it took the UNSUB reaches #onMessage (and is naked).
        await bounded(sub.drain(), owner.apiTimeoutMs);
      } else {
        try {
          sub.unsubscribe();
        } catch { /* the connection is gone */ }
      }
    }
    if (live()) await bounded(nc.flush(), owner.apiTimeoutMs); // the naks are on the wire before a close
    const target = this.#target;
    const release = this.#init.consumer.release;
    if (release !== undefined && target !== undefined && live()) {
      try {
        await release(target);
      } catch { /* what release could not do, the server's own expiry does */ }
    }
  }
}

/** Waits for `p` (its failure ignored) for at most `ms`. */
async function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  await withDeadline(ms, p).catch(() => {});
}

/** Why a subscription ends when its connection closed for good: refused credentials, a lost link, or a close. */
function lostError(err: Error | void, what: string): Error {
  if (!(err instanceof Error)) return new ClosedError(`${what} failed: the connection was closed`);
  const mapped = mapNatsError(err, what);
  if (mapped instanceof AuthError) return mapped;
  return new ConnectionError(`${what} failed: the connection was lost and did not come back (${err.message})`, {
    cause: err,
  });
}
