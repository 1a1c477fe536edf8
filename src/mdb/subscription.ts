/**
 * One MDB dataset subscription: its own NATS connection authenticated with a
 * MAS-issued user JWT, and the user's durable JetStream pull consumer, read
 * through the shared JetStream pull source of `./nats` with speedracer's
 * consumer configuration.
 *
 * @module
 */

import { delay } from "../core/async.ts";
import { detachBytes } from "../core/bytes.ts";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { AuthError, ClosedError } from "../core/errors.ts";
import { StatusChannel, type StatusEvent } from "../core/status.ts";
import type { PullSource, SourceContext } from "../core/source.ts";
import { Subscription } from "../core/subscription.ts";
import { NatsPubSub } from "../nats/adapter.ts";
import { type AckCodec, ackCodec, type AckInfo } from "../nats/codec.ts";
import { JetStreamPullSource } from "../nats/jetstream_source.ts";
import { mapNatsError } from "../nats/errors.ts";
import { fromNatsHeaders } from "../nats/headers.ts";
import type { WebSocketConstructor } from "../core/open_web_socket.ts";
import { durableName } from "./durable_name.ts";
import type { JWTManager } from "./jwt_manager.ts";
import { MasJwt } from "./mas_jwt.ts";
import { MdbMessage, SettleableMdbMessage } from "./message.ts";
import { connectMdbNats, mdbNatsUrl } from "./nats_connect.ts";
import { checkDataset, datasetSubject, type MdbUrls, Offset, parseRegistryEntry, registryUrl } from "./codec.ts";
import { SpeedracerConsumer, speedracerPattern } from "./speedracer_consumer.ts";
import { checkStatus, httpGet } from "./tls.ts";
import { UnknownDatasetError } from "./errors.ts";

export { UnknownDatasetError } from "./errors.ts";

/** How a subscription settles messages. */
export type AckMode = "auto" | "manual";

/** Options of {@linkcode Connection.subscribe}. */
export interface MdbSubscribeOptions {
  /**
   * Where a new consumer starts: {@linkcode Offset.NOW} (default) or
   * {@linkcode Offset.BEGIN}. Ignored when the user's durable consumer for this
   * dataset exists: the subscription resumes where it left off.
   */
  offset?: Offset | undefined;
  /** How many messages one pull asks for. Default 10. */
  batch?: number | undefined;
  /**
   * Called with each message, in order; the subscription reads itself and
   * awaits the callback before the next message. A throwing callback ends the
   * subscription with its error (`closed` resolves with it).
   */
  callback?: ((msg: MdbMessage) => void | Promise<void>) | undefined;
  /**
   * `"auto"` (default, as speedracer): each message is acked as it arrives,
   * before it is handed out. `"manual"`: messages have `ack()`, `nak()` and
   * `term()`, and unacked ones come back after the server's ack wait (30 s).
   */
  ack?: AckMode | undefined;
  /** Closes the subscription when aborted. */
  signal?: AbortSignal | undefined;
}

/** Options of {@linkcode MdbSubscription.wait}. */
export interface WaitOptions {
  /** First wait until this many more data messages were handed to the reader (0: skip). */
  messages?: number | undefined;
  /** Then wait this many milliseconds, or until this time (0: skip). */
  timeout?: number | Date | undefined;
}

/** What a subscription needs from its connection. */
export interface MdbContext {
  readonly urls: MdbUrls;
  readonly jwtManager: JWTManager;
  /** The client for config, registry and MAS (server-verified only). */
  readonly httpClient: Deno.HttpClient | undefined;
  readonly caCerts: string[] | undefined;
  readonly websocket: boolean;
  /** The WebSocket constructor given, or `undefined` for the default (`NoDelayWebSocket` under Deno). */
  readonly webSocket: WebSocketConstructor | undefined;
  readonly unknownDataset: "error" | "events";
  readonly timeoutMs: number;
  readonly subjects: "registry" | "slug";
  readonly maxReconnectAttempts: number;
  readonly reconnectTimeWaitMs: number;
}

/** nats-py acks with an empty payload. */
const EMPTY_ACK = new Uint8Array(0);

/** The status events of the dataset's NATS connection passed on to the subscription's own. */
const FORWARDED = ["disconnected", "reconnecting", "reconnected", "error", "pull-status"] as const;

/**
 * The source behind one {@linkcode MdbSubscription}: speedracer's start
 * sequence (registry, CN, MAS JWT, NATS connection, durable consumer), then
 * the shared JetStream pull source.
 */
class DatasetSource implements PullSource<MdbMessage> {
  readonly kind = "pull" as const;
  readonly ctx: MdbContext;
  readonly dataset: string;
  readonly offset: Offset;
  readonly ackMode: AckMode;
  readonly status = new StatusChannel();
  subject: string | undefined;
  durable: string | undefined;
  cn: string | undefined;
  nc: NatsConnection | undefined;
  #mas: MasJwt | undefined;
  #nats: NatsPubSub | undefined;
  #consumer: SpeedracerConsumer | undefined;
  #source: JetStreamPullSource<MdbMessage> | undefined;
  #codec: AckCodec | undefined;
  #starting: Promise<void> | undefined;
  #signal: AbortSignal | undefined;
  #handed = 0;
  readonly #handedWaiters = new Set<() => void>();

  constructor(ctx: MdbContext, dataset: string, offset: Offset, ackMode: AckMode) {
    this.ctx = ctx;
    this.dataset = dataset;
    this.offset = offset;
    this.ackMode = ackMode;
  }

  /** The JWT the connection authenticates with (read by `#connect`'s authenticator at each attempt). */
  get #masJwt(): string {
    return this.#mas?.jwt ?? "";
  }

  get stream(): string | undefined {
    return this.#consumer?.stream;
  }

  /** Messages pulled and not yet handed out, at most one batch (counted in the subscription's `buffered`). */
  get held(): number {
    return this.#source?.held ?? 0;
  }

  get pullRequests(): number {
    return this.#source?.requests ?? 0;
  }

  get handed(): number {
    return this.#handed;
  }

  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  start(context: SourceContext): Promise<void> {
    this.#starting = this.#start(context);
    return this.#starting;
  }

  async #start(context: SourceContext): Promise<void> {
    const signal = context.signal;
    this.#signal = signal;
    const { jwtManager } = this.ctx;
    this.status.emit("connecting", { dataset: this.dataset });
    // 1. gateway JWT and 2. registry: the subject; 3. CN for the connection name; 4. MAS JWT; 5. CN for the consumer.
    const subject = this.ctx.subjects === "slug" ? this.dataset.toLowerCase() : await this.#resolveSubject(signal);
    this.subject = subject;
    this.#stillWanted(signal);
    this.cn = await jwtManager.getCn();
    this.#stillWanted(signal);
    this.#mas = new MasJwt(
      { masUrl: this.ctx.urls.mas_url, jwtManager, httpClient: this.ctx.httpClient, timeoutMs: this.ctx.timeoutMs },
      this.dataset,
      signal,
      (err, why) => this.status.emit("error", { dataset: this.dataset, why }, err),
    );
    await this.#mas.fetch();
    this.#stillWanted(signal);
    this.nc = await this.#connect();
    const nats = NatsPubSub.fromConnection(this.nc, { jetstream: true, owns: true });
    this.#nats = nats;
    for (const type of FORWARDED) nats.status.addEventListener(type, (ev) => this.#onStatus(ev as StatusEvent));
    this.#stillWanted(signal);
    this.durable = await durableName(this.cn);
    this.#consumer = new SpeedracerConsumer(this.nc, this.dataset, subject, this.durable, this.offset);
    this.#source = new JetStreamPullSource<MdbMessage>({
      owner: nats,
      what: `Pulling from dataset ${this.dataset}`,
      detail: { dataset: this.dataset },
      consumer: this.#consumer,
      pattern: speedracerPattern,
      message: (m, info) => this.#message(m, info),
      autoAck: this.ackMode === "auto" ? EMPTY_ACK : undefined,
    });
    await this.#source.start(context);
    this.#stillWanted(signal);
    this.status.emit("connected", { dataset: this.dataset, subject, stream: this.stream });
  }

  #stillWanted(signal: AbortSignal): void {
    if (signal.aborted) {
      throw new ClosedError(`Subscribing to dataset ${this.dataset} failed: the subscription was closed`);
    }
  }

  /** 1. gateway JWT, 2. registry: the subject of the dataset. */
  async #resolveSubject(signal: AbortSignal): Promise<string> {
    const { urls, jwtManager } = this.ctx;
    const regUrl = registryUrl(urls.registry_url, this.dataset);
    const headers = { ...(await jwtManager.getHeaders()), Accept: "application/vnd.pgrst.object+json" };
    const reg = await httpGet(regUrl, `the registry entry of dataset ${this.dataset}`, {
      headers,
      client: this.ctx.httpClient,
      signal,
      timeoutMs: this.ctx.timeoutMs,
    });
    if (reg.status === 406 || reg.status === 404) {
      if (this.ctx.unknownDataset === "error") {
        throw new UnknownDatasetError(
          `Subscribing to dataset ${this.dataset} failed: the registry at ${regUrl} does not know it (status ${reg.status})`,
          { dataset: this.dataset },
        );
      }
      return `EVENTS.${this.dataset}`;
    }
    checkStatus(reg, regUrl, `the registry entry of dataset ${this.dataset}`);
    return datasetSubject(this.dataset, parseRegistryEntry(reg.text));
  }

  async #connect(): Promise<NatsConnection> {
    const o = { ...this.ctx, name: `${this.cn} (${this.dataset})`, dataset: this.dataset };
    try {
      return await connectMdbNats({ ...o, authenticator: () => ({ jwt: this.#masJwt, sig: "" }) });
    } catch (err) {
      throw mapNatsError(err, `Connecting to NATS for dataset ${this.dataset}`, mdbNatsUrl(o));
    }
  }

  /** Passes the NATS connection's events on, and refreshes the MAS JWT whenever the connection drops or retries. */
  #onStatus(ev: StatusEvent): void {
    if (ev.type === "disconnected") this.#mas?.refresh("the NATS connection dropped");
    else if (ev.type === "reconnecting") this.#mas?.refresh("the NATS connection is retrying");
    else if (ev.type === "error" && ev.error instanceof AuthError) this.#mas?.refresh("NATS refused the user JWT");
    this.status.emit(ev.type, { ...ev.detail, dataset: this.dataset }, ev.error);
  }

  #message(m: Msg, info: AckInfo): MdbMessage {
    const init = {
      dataset: this.dataset,
      subject: m.subject,
      // A message kept for the reader must not keep the whole read chunk it was cut from alive.
      data: detachBytes(m.data),
      headers: fromNatsHeaders(m.headers),
      reply: m.reply!,
      info,
    };
    if (this.ackMode === "auto") return new MdbMessage(init);
    this.#codec ??= ackCodec(this.#nats!.termReasons, EMPTY_ACK);
    return new SettleableMdbMessage(init, (reply, payload) => this.#nats!.sendAck(reply, payload), this.#codec);
  }

  async pull(max: number, context: SourceContext): Promise<MdbMessage[] | null> {
    const out = await this.#source!.pull(max, context);
    if (out !== null && out.length > 0) {
      this.#handed += out.length;
      for (const w of this.#handedWaiters) w();
    }
    return out;
  }

  /** Resolves once `count` more messages were handed out; rejects if the subscription ends first. */
  waitHanded(count: number): Promise<void> {
    const target = this.#handed + count;
    const signal = this.#signal;
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.#handed >= target) finish();
      };
      const aborted = () => {
        this.#handedWaiters.delete(check);
        reject(new ClosedError(`Waiting for messages of dataset ${this.dataset} failed: the subscription ended`));
      };
      const finish = () => {
        this.#handedWaiters.delete(check);
        signal?.removeEventListener("abort", aborted);
        resolve();
      };
      if (signal?.aborted) return aborted();
      this.#handedWaiters.add(check);
      signal?.addEventListener("abort", aborted, { once: true });
      check();
    });
  }

  /** Deletes the durable and creates it again at `position`; what was received and not read is dropped. */
  async seek(position: number | Date): Promise<void> {
    const consumer = this.#consumer!;
    await this.#source!.restart(() => consumer.seek(position));
  }

  async cancel(reason: unknown): Promise<void> {
    await this.#starting?.catch(() => {}); // a close during start waits for its connection, then releases it
    for (const w of this.#handedWaiters) w();
    await this.#source?.cancel();
    if (this.#nats !== undefined) await this.#nats.close();
    else await this.nc?.close().catch(() => {});
    await this.#mas?.close();
    void reason;
    this.status.close();
  }
}

/**
 * The messages of one MDB dataset: a `ReadableStream<MdbMessage>` with
 * speedracer's `seek` and `wait`. Made by {@linkcode Connection.subscribe}.
 *
 * It pulls only while the reader reads: one `MSG.NEXT` request of `batch`
 * messages at a time (the first of a cycle with `no_wait`, as nats-py), the
 * next only once the reader has taken the last, so a slow reader holds at
 * most one batch (`highWaterMark` is the batch). With `ack: "auto"` each
 * message is acked as it arrives, before it is handed out. It reads through
 * the JetStream pull source of `./nats`: a server restart, graceful or not,
 * ends no subscription (`status` reports it); a deleted consumer does.
 *
 * @example
 * ```ts ignore
 * import { Connection, Offset } from "@x/pubsub/mdb";
 *
 * const conn = await Connection.connect("https://mdb.example");
 * const sub = await conn.subscribe("my-dataset", { offset: Offset.BEGIN });
 * for await (const msg of sub) console.log(msg.sequence, msg.text());
 * ```
 */
export class MdbSubscription extends Subscription<MdbMessage> {
  readonly #source: DatasetSource;
  /** The dataset. */
  readonly dataset: string;
  /** The offset asked for (used only when the consumer is created). */
  readonly offset: Offset;
  /** The pull batch size. */
  readonly batch: number;
  /** The callback, if any. */
  readonly callback: ((msg: MdbMessage) => void | Promise<void>) | undefined;
  /** How messages are settled. */
  readonly ack: AckMode;
  /** The config document of the connection. */
  readonly urls: MdbUrls;
  /** The gateway token manager of the connection. */
  readonly jwtManager: JWTManager;
  /** Connection events of this subscription's NATS link. */
  readonly status: StatusChannel;
  #callbackLoop: Promise<void> | undefined;

  /**
   * Creates the subscription; it starts at once (see `ready`).
   *
   * @param ctx The connection's context.
   * @param dataset The dataset.
   * @param options Offset, batch, callback, ack mode, signal.
   * @throws {TypeError} On an invalid dataset or option.
   * @throws {RangeError} On an invalid batch.
   */
  constructor(ctx: MdbContext, dataset: string, options: MdbSubscribeOptions = {}) {
    checkDataset(dataset, "Subscribing");
    const offset = options.offset ?? Offset.NOW;
    if (offset !== Offset.BEGIN && offset !== Offset.NOW) {
      throw new TypeError(`Subscribing to dataset ${dataset} failed: offset ${String(offset)} is not "begin" or "now"`);
    }
    const batch = options.batch ?? 10;
    if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) {
      throw new RangeError(
        `Subscribing to dataset ${dataset} failed: batch ${batch} is not an integer from 1 to 10000`,
      );
    }
    const ack = options.ack ?? "auto";
    if (ack !== "auto" && ack !== "manual") {
      throw new TypeError(`Subscribing to dataset ${dataset} failed: ack ${String(ack)} is not "auto" or "manual"`);
    }
    if (options.callback !== undefined && typeof options.callback !== "function") {
      throw new TypeError(`Subscribing to dataset ${dataset} failed: callback is not a function`);
    }
    const source = new DatasetSource(ctx, dataset, offset, ack);
    // The room the reader gives is one batch: no pull asks for more than what the reader has taken.
    super(source, { highWaterMark: batch, signal: options.signal });
    this.#source = source;
    this.dataset = dataset;
    this.offset = offset;
    this.batch = batch;
    this.callback = options.callback;
    this.ack = ack;
    this.urls = ctx.urls;
    this.jwtManager = ctx.jwtManager;
    this.status = source.status;
    const callback = options.callback;
    if (callback !== undefined) {
      this.#callbackLoop = this.ready.then(async () => {
        const reader = this.getReader();
        try {
          while (true) {
            const { done, value } = await reader.read();
            if (done) return;
            await callback(value);
          }
        } catch (err) {
          void this.close(err); // not awaited: close() waits for this loop to end
        } finally {
          reader.releaseLock();
        }
      }, () => {});
    }
  }

  /** The subject, once started: `EVENTS.<dataset>` or `OBJECTS.<dataset>`. */
  get subject(): string | undefined {
    return this.#source.subject;
  }

  /** The stream name, once started. */
  get stream(): string | undefined {
    return this.#source.stream;
  }

  /** The durable consumer name, once started. */
  get durable(): string | undefined {
    return this.#source.durable;
  }

  /** How many `MSG.NEXT` pull requests were sent. */
  get pullRequests(): number {
    return this.#source.pullRequests;
  }

  /** How many messages were handed to the reader. */
  get handed(): number {
    return this.#source.handed;
  }

  /**
   * Restarts the consumer at a stream sequence or a time: deletes the durable
   * consumer and creates it again from there. Messages buffered and not yet
   * read are discarded.
   *
   * @param position A stream sequence (from 1) or a time.
   * @returns When the new consumer is in place.
   * @throws {TypeError} When `position` is neither an integer nor a valid Date.
   * @throws {RangeError} When the sequence is not positive.
   * @throws {ClosedError} When the subscription has ended.
   */
  async seek(position: number | Date): Promise<void> {
    if (typeof position === "number") {
      if (!Number.isSafeInteger(position) || position < 1) {
        throw new RangeError(`Seeking dataset ${this.dataset} failed: ${position} is not a positive integer sequence`);
      }
    } else if (!(position instanceof Date) || Number.isNaN(position.getTime())) {
      throw new TypeError(`Seeking dataset ${this.dataset} failed: ${String(position)} is not a sequence or a Date`);
    }
    await this.ready;
    if (this.#source.signal?.aborted) {
      throw new ClosedError(`Seeking dataset ${this.dataset} failed: the subscription has ended`);
    }
    await this.#source.seek(position);
  }

  /**
   * Waits as speedracer's `wait()`: first until `messages` more data messages
   * were handed to the reader (or callback), then for `timeout` ms (or until
   * the `timeout` Date). With neither, it resolves at once.
   *
   * @param options The count and the time.
   * @returns When both waits are over; the time wait ends early if the subscription ends.
   * @throws {RangeError} When `messages` or `timeout` is negative or not finite.
   * @throws {ClosedError} When the subscription ends before `messages` arrived.
   */
  async wait(options: WaitOptions = {}): Promise<void> {
    const { messages, timeout } = options;
    if (messages !== undefined && (!Number.isInteger(messages) || messages < 0)) {
      throw new RangeError(
        `Waiting on dataset ${this.dataset} failed: messages ${messages} is not an integer of 0 or more`,
      );
    }
    let ms = 0;
    if (timeout instanceof Date) ms = timeout.getTime() - Date.now();
    else if (timeout !== undefined) {
      if (!Number.isFinite(timeout) || timeout < 0) {
        throw new RangeError(`Waiting on dataset ${this.dataset} failed: timeout ${timeout} is not 0 or more`);
      }
      ms = timeout;
    }
    if (messages) {
      await this.ready;
      await this.#source.waitHanded(messages);
    }
    if (ms > 0) {
      await delay(ms, this.#source.signal);
    }
  }

  /**
   * Ends the subscription: stops the callback, closes its NATS connection. The
   * durable consumer stays (for 7 days unused), so a later subscription resumes.
   *
   * @param reason Why; `closed` resolves with it.
   * @returns When everything is released.
   */
  override async close(reason?: unknown): Promise<void> {
    await super.close(reason);
    await this.#callbackLoop;
  }
}
