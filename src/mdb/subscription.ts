/**
 * One MDB dataset subscription: its own NATS connection authenticated with a
 * MAS-issued user JWT, and the user's durable JetStream pull consumer, read
 * through the shared JetStream pull source of `./nats` with speedracer's
 * consumer configuration.
 *
 * @module
 */

import { delay } from "../core/async.ts";
import { ClosedError } from "../core/errors.ts";
import { Subscription } from "../core/subscription.ts";
import type { StatusChannel } from "../core/status.ts";
import { DatasetSource, type MdbContext } from "./dataset_source.ts";
import type { JWTManager } from "./jwt_manager.ts";
import type { MdbMessage } from "./message.ts";
import { checkDataset, type MdbUrls, Offset } from "./codec.ts";

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
   * How many batches are requested ahead of the reader while it reads, 0 to
   * 4. Default 2. speedracer asks for the next batch only once the reader
   * took the last one (`prefetch: 0`): the server then waits on each round
   * trip. Prefetched messages are acked only when the reader reaches their
   * batch, and handed back to the server (naked) when the subscription ends
   * or when they wait for a stalled reader longer than a third of the
   * consumer's ack wait (10 s at most), so nothing more is lost or
   * duplicated than with `prefetch: 0`.
   */
  prefetch?: number | undefined;
  /**
   * Called with each message, in order; the subscription reads itself and
   * awaits the callback before the next message. A throwing callback ends the
   * subscription with its error (`closed` resolves with it).
   */
  callback?: ((msg: MdbMessage) => void | Promise<void>) | undefined;
  /**
   * `"auto"` (default, as speedracer): each batch is acked whole when the
   * reader takes its first message, before it is handed out. `"manual"`:
   * messages have `ack()`, `nak()` and `term()`, and unacked ones come back
   * after the server's ack wait (30 s).
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

/**
 * The messages of one MDB dataset: a `ReadableStream<MdbMessage>` with
 * speedracer's `seek` and `wait`. Made by {@linkcode Connection.subscribe}.
 *
 * It pulls only while the reader reads: `MSG.NEXT` requests of `batch`
 * messages (with `no_wait` while the stream has more, as nats-py), the next
 * once the reader has taken the last, plus `prefetch` (default 2) requested
 * ahead while it reads, so a slow reader holds at most `1 + prefetch`
 * batches. With `ack: "auto"` each batch is acked whole when the reader
 * takes its first message, before it is handed out. It reads through
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
  /** The batches requested ahead of the reader. */
  readonly prefetch: number;
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
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 4) {
      throw new RangeError(
        `Subscribing to dataset ${dataset} failed: prefetch ${prefetch} is not an integer from 0 to 4`,
      );
    }
    const ack = options.ack ?? "auto";
    if (ack !== "auto" && ack !== "manual") {
      throw new TypeError(`Subscribing to dataset ${dataset} failed: ack ${String(ack)} is not "auto" or "manual"`);
    }
    if (options.callback !== undefined && typeof options.callback !== "function") {
      throw new TypeError(`Subscribing to dataset ${dataset} failed: callback is not a function`);
    }
    const source = new DatasetSource(ctx, dataset, offset, ack, prefetch);
    // The room the reader gives is one batch: no pull asks for more, and at most `prefetch` more are asked ahead.
    super(source, { highWaterMark: batch, signal: options.signal });
    this.#source = source;
    this.dataset = dataset;
    this.offset = offset;
    this.batch = batch;
    this.prefetch = prefetch;
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
