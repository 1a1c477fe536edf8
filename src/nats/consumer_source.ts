/**
 * `./nats` JetStream subscriptions: the subscribe options turned into a
 * consumer (found or made through nats.js), a request shape with read-ahead,
 * and {@linkcode JetStreamMessage}s, on the shared {@linkcode JetStreamPullSource}.
 *
 * @module
 */

import { detachBytes } from "../core/bytes.ts";
import { AckPolicy, type ConsumerConfig, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { type AckCodec, ackCodec, isWildcardSubject, nanos, pullRequest } from "./codec.ts";
import { type ConsumerTarget, JetStreamPullSource, type PullOwner, type PullPattern } from "./jetstream_source.ts";
import { JetStreamMessage, type NatsMessage } from "./message.ts";
import type { NatsSubscribeOptions } from "./options.ts";
import { mapNatsError } from "./errors.ts";
import { fromNatsHeaders } from "./headers.ts";

/** What a `./nats` JetStream subscription needs beyond {@linkcode PullOwner}. */
export interface NatsPullOwner extends PullOwner {
  /** Whether the server understands `+TERM <reason>`. */
  readonly termReasons: boolean;
  /** Sends an ack payload as a request; resolves on the server's reply. */
  confirmAck(reply: string, payload: Uint8Array): Promise<void>;
  /** The JetStream manager. */
  jetstreamManager(): Promise<JetStreamManager>;
}

/**
 * The request shape of `./nats`: `no_wait` batches sized to the room, read
 * ahead while the reader works, and one long poll of a single message
 * (`expiresMs`) when the stream is empty. `no_wait` requests carry no
 * `expires`: nats-server 2.9 holds a `no_wait` request that has one.
 *
 * @param expiresMs The long poll's expiry.
 * @returns The pattern.
 */
export function readAheadPattern(expiresMs: number): PullPattern {
  return {
    readAhead: true,
    noWait: () => true,
    longPollBatch: () => 1,
    request: (batch, noWait) => {
      const held = noWait ? 0 : expiresMs;
      return { body: pullRequest({ batch, expiresMs: held, noWait }), expiresMs: held };
    },
  };
}

/**
 * The source of one `./nats` JetStream subscription.
 *
 * @param owner The adapter.
 * @param topic The subject or pattern.
 * @param options The consumer options.
 * @returns The source.
 */
export function consumerSource(
  owner: NatsPullOwner,
  topic: string,
  options: NatsSubscribeOptions,
): JetStreamPullSource<NatsMessage> {
  const action = `Subscribing to ${topic}`;
  let ephemeral = false;
  // A consumer filtered on a plain subject delivers only that subject: its messages need no subject decoding.
  const fixedSubject = options.bind !== true && !isWildcardSubject(topic) ? topic : undefined;
  let codec: AckCodec | undefined;
  const send = options.confirmAcks === true
    ? (reply: string, payload: Uint8Array) => owner.confirmAck(reply, payload)
    : (reply: string, payload: Uint8Array) => owner.sendAck(reply, payload);
  return new JetStreamPullSource<NatsMessage>({
    owner,
    what: `Reading ${topic}`,
    detail: { topic },
    pattern: readAheadPattern(options.expiresMs ?? 5_000),
    consumer: {
      async setup(): Promise<ConsumerTarget> {
        const jsm = await owner.jetstreamManager();
        let stream: string;
        try {
          stream = options.stream ?? await jsm.streams.find(topic);
        } catch (err) {
          throw mapNatsError(err, `${action} (finding its stream)`);
        }
        const durable = options.durable ?? options.group;
        try {
          if (options.bind === true) return { stream, consumer: (await jsm.consumers.info(stream, durable!)).name };
          const config: Partial<ConsumerConfig> = {
            ack_policy: AckPolicy.Explicit,
            filter_subject: topic,
            ...deliverConfig(options.deliver),
          };
          if (options.ackWaitMs !== undefined) config.ack_wait = nanos(options.ackWaitMs);
          if (options.maxDeliver !== undefined) config.max_deliver = options.maxDeliver;
          if (durable !== undefined) config.durable_name = durable;
          else {
            config.inactive_threshold = nanos(5 * 60_000);
            ephemeral = true;
          }
          return { stream, consumer: (await jsm.consumers.add(stream, config)).name };
        } catch (err) {
          throw mapNatsError(err, `${action} (creating the consumer on stream ${stream})`);
        }
      },
      async release(target: ConsumerTarget): Promise<void> {
        if (!ephemeral) return;
        const jsm = await owner.jetstreamManager();
        await jsm.consumers.delete(target.stream, target.consumer);
      },
    },
    message(m, info) {
      codec ??= ackCodec(owner.termReasons);
      return new JetStreamMessage(
        {
          topic: fixedSubject ?? m.subject,
          data: detachBytes(m.data),
          headers: fromNatsHeaders(m.headers),
          reply: m.reply!,
          id: String(info.streamSequence),
          time: new Date(info.timestampMs),
          sequence: info.streamSequence,
          pending: info.pending,
          deliveryCount: info.deliveryCount,
          stream: info.stream,
          consumer: info.consumer,
        },
        send,
        codec,
      );
    },
  });
}

function deliverConfig(deliver: NatsSubscribeOptions["deliver"]): Partial<ConsumerConfig> {
  if (deliver === undefined || deliver === "new") return { deliver_policy: DeliverPolicy.New };
  if (deliver === "all") return { deliver_policy: DeliverPolicy.All };
  if (deliver === "last") return { deliver_policy: DeliverPolicy.Last };
  if (deliver === "last-per-subject") return { deliver_policy: DeliverPolicy.LastPerSubject };
  if ("sequence" in deliver) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: deliver.sequence };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: deliver.time.toISOString() };
}
