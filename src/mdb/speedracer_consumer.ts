/**
 * Speedracer's consumer, as a consumer setup of the shared JetStream pull
 * source: the stream found with `STREAM.NAMES`, the user's durable looked up
 * with `CONSUMER.INFO` and made with `DURABLE.CREATE` (speedracer's exact
 * config), re-made at a position by `seek`; and speedracer's pull shape.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { ProtocolError } from "../core/errors.ts";
import { requestApi } from "../nats/api_request.ts";
import { ackWaitMsOf } from "../nats/consumer_info.ts";
import { type ApiReply, CONSUMER_NOT_FOUND, streamNamesOf } from "../nats/codec.ts";
import type { ConsumerSetup, ConsumerTarget, PullPattern } from "../nats/jetstream_source.ts";
import { api, consumerConfig, createConsumerBody, PULL_EXPIRES_MS, pullBody, type StartPosition } from "./codec.ts";
import { UnknownDatasetError } from "./errors.ts";

/** speedracer's JetStream API timeout (nats-py's default). */
const API_TIMEOUT_MS = 5_000;

/**
 * speedracer's pull shape: requests of one batch,
 * `{"batch": N, "expires": 9999900000, "no_wait": true}` for N > 1 while the
 * stream has more, else the long poll `{"batch": N, "expires": 9999900000}`
 * (nats-py 2.3.1's bodies, byte for byte); messages handed out one per read.
 * speedracer sends the next request only once the reader took the whole
 * batch (`prefetch` 0); with `prefetch` N, up to N more `no_wait` requests
 * go out while the reader takes what arrived, and what they bring is acked
 * only when the reader reaches it (see `PullPattern.prefetch`).
 *
 * @param prefetch The batches requested ahead of the reader.
 * @returns The pattern.
 */
export function speedracerPattern(prefetch: number): PullPattern {
  return {
    readAhead: false,
    prefetch,
    noWait: (batch) => batch > 1,
    longPollBatch: (room) => room,
    request: (batch, noWait) => ({ body: pullBody(batch, noWait), expiresMs: PULL_EXPIRES_MS }),
  };
}

/** The durable consumer of one user on one dataset, made as speedracer makes it. */
export class SpeedracerConsumer implements ConsumerSetup {
  readonly #nc: NatsConnection;
  readonly #dataset: string;
  readonly #subject: string;
  readonly #durable: string;
  readonly #start: StartPosition;
  /** The stream, once found. */
  stream: string | undefined;

  /**
   * Describes the consumer; nothing is sent before `setup()`.
   *
   * @param nc The dataset's NATS connection.
   * @param dataset The dataset, for messages.
   * @param subject Its subject (the consumer's filter).
   * @param durable The durable name (`durableName(CN)`).
   * @param start Where a new consumer starts.
   */
  constructor(nc: NatsConnection, dataset: string, subject: string, durable: string, start: StartPosition) {
    this.#nc = nc;
    this.#dataset = dataset;
    this.#subject = subject;
    this.#durable = durable;
    this.#start = start;
  }

  #api(subject: string, body: string, what: string): Promise<ApiReply> {
    return requestApi(this.#nc, subject, body, `${what} for dataset ${this.#dataset}`, API_TIMEOUT_MS);
  }

  /**
   * Finds the stream, then reuses the durable as it is (resuming where it was
   * left) or creates it at the start position.
   *
   * @returns The stream and the durable.
   * @throws {UnknownDatasetError} When no stream holds the subject.
   * @throws {ProtocolError} When JetStream answers an error.
   * @throws {AuthError} When the MAS user JWT does not allow a request.
   */
  async setup(): Promise<ConsumerTarget> {
    const stream = await this.#lookupStream();
    this.stream = stream;
    const info = await this.#api(api.consumerInfo(stream, this.#durable), "", "the consumer info");
    if (!info.ok) {
      if (info.error.err_code !== CONSUMER_NOT_FOUND && info.error.code !== 404) {
        throw new ProtocolError(
          `Reading consumer ${this.#durable} of ${stream} failed: ${info.error.code} ${info.error.description}`,
        );
      }
      return { stream, consumer: this.#durable, ackWaitMs: await this.#create(stream, this.#start) };
    }
    return { stream, consumer: this.#durable, ackWaitMs: ackWaitMsOf(info.doc) };
  }

  /**
   * Deletes the durable and creates it again at `position` (speedracer's `seek`).
   *
   * @param position A stream sequence or a time.
   * @returns The stream and the durable.
   * @throws {ProtocolError} When JetStream answers an error.
   */
  async seek(position: number | Date): Promise<ConsumerTarget> {
    const stream = this.stream!;
    const del = await this.#api(api.consumerDelete(stream, this.#durable), "", "the consumer deletion");
    if (!del.ok && del.error.err_code !== CONSUMER_NOT_FOUND && del.error.code !== 404) {
      throw new ProtocolError(
        `Deleting consumer ${this.#durable} of ${stream} failed: ${del.error.code} ${del.error.description}`,
      );
    }
    return { stream, consumer: this.#durable, ackWaitMs: await this.#create(stream, position) };
  }

  async #lookupStream(): Promise<string> {
    const reply = await this.#api(api.streamNames, JSON.stringify({ subject: this.#subject }), "the stream names");
    if (!reply.ok) {
      throw new ProtocolError(
        `Looking up the stream of ${this.#subject} failed: ${reply.error.code} ${reply.error.description}`,
      );
    }
    const name = streamNamesOf(reply.doc)[0];
    if (name === undefined) {
      throw new UnknownDatasetError(
        `Subscribing to dataset ${this.#dataset} failed: no stream holds ${this.#subject}`,
        {
          dataset: this.#dataset,
        },
      );
    }
    return name;
  }

  async #create(stream: string, start: StartPosition): Promise<number | undefined> {
    const body = createConsumerBody(stream, consumerConfig(this.#durable, this.#subject, start));
    const created = await this.#api(api.durableCreate(stream, this.#durable), body, "the consumer creation");
    if (!created.ok) {
      throw new ProtocolError(
        `Creating consumer ${this.#durable} on ${stream} failed: ${created.error.code} ${created.error.description}`,
      );
    }
    return ackWaitMsOf(created.doc);
  }
}
