/**
 * The server's view of a JetStream consumer (`$JS.API.CONSUMER.INFO`):
 * what `NatsPubSub.consumerInfo()` returns, and what the pull source asks
 * when a pull goes unanswered.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { ProtocolError, PubSubError } from "../core/errors.ts";
import { requestApi } from "./api_request.ts";
import type { ApiReply } from "./codec.ts";

/**
 * What the server says about a JetStream consumer: its counters (every member
 * of a shared consumer together) and, in a cluster, which server leads it.
 */
export interface ConsumerState {
  /** The stream. */
  readonly stream: string;
  /** The consumer's name. */
  readonly name: string;
  /** Messages the consumer has not delivered yet (`num_pending`). */
  readonly pending: number;
  /** Messages delivered and not acknowledged yet (`num_ack_pending`). */
  readonly ackPending: number;
  /** Pull requests the server holds for the consumer (`num_waiting`). */
  readonly waiting: number;
  /** Messages delivered more than once and not acknowledged yet (`num_redelivered`). */
  readonly redelivered: number;
  /**
   * The most messages the server leaves unacknowledged (`max_ack_pending`;
   * -1 for no limit). While `ackPending` is at it, the server holds pull
   * requests without answering them.
   */
  readonly maxAckPending: number;
  /**
   * The server (`server_name`) that leads the consumer in a JetStream
   * cluster; `""` while none is elected; `undefined` on a server that is not
   * clustered.
   */
  readonly leader: string | undefined;
}

function count(doc: Record<string, unknown>, key: string, what: string): number {
  const v = doc[key] ?? 0;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ProtocolError(`Reading the ${what} reply failed: ${key} is not a number`);
  }
  return v;
}

/**
 * Reads a `CONSUMER.INFO` reply document.
 *
 * @param doc The reply (not an error).
 * @param what The request, for messages.
 * @returns The state.
 * @throws {ProtocolError} When a field has the wrong type.
 */
export function consumerStateOf(doc: Record<string, unknown>, what = "consumer info"): ConsumerState {
  const stream = doc.stream_name;
  const name = doc.name;
  if (typeof stream !== "string" || typeof name !== "string") {
    throw new ProtocolError(`Reading the ${what} reply failed: it names no stream or consumer`);
  }
  const config = doc.config;
  const maxAckPending = typeof config === "object" && config !== null
    ? count(config as Record<string, unknown>, "max_ack_pending", what)
    : 0;
  const cluster = doc.cluster;
  let leader: string | undefined;
  if (typeof cluster === "object" && cluster !== null) {
    const l = (cluster as Record<string, unknown>).leader;
    leader = typeof l === "string" ? l : "";
  }
  return {
    stream,
    name,
    pending: count(doc, "num_pending", what),
    ackPending: count(doc, "num_ack_pending", what),
    waiting: count(doc, "num_waiting", what),
    redelivered: count(doc, "num_redelivered", what),
    maxAckPending: maxAckPending === 0 ? -1 : maxAckPending,
    leader,
  };
}

/**
 * The ack wait of a consumer, from a `CONSUMER.INFO` or consumer creation
 * reply (`config.ack_wait`, in nanoseconds).
 *
 * @param doc The reply (not an error).
 * @returns Milliseconds, or `undefined` when the reply has none.
 */
export function ackWaitMsOf(doc: Record<string, unknown>): number | undefined {
  const config = doc.config;
  const ns = typeof config === "object" && config !== null ? (config as Record<string, unknown>).ack_wait : undefined;
  return typeof ns === "number" && Number.isFinite(ns) && ns > 0 ? ns / 1e6 : undefined;
}

/**
 * Asks the server about a consumer.
 *
 * @param nc The connection.
 * @param apiPrefix The JetStream API prefix (`$JS.API`).
 * @param stream The stream.
 * @param consumer The consumer.
 * @param timeoutMs How long to wait for the answer.
 * @returns The reply: the state, or the API error.
 * @throws {TimeoutError} When nothing answers within `timeoutMs` (in a cluster: no leader for the consumer yet).
 * @throws {ProtocolError} When the reply is malformed.
 * @throws {AuthError} When the connection may not ask.
 * @throws {ConnectionError} When the connection fails.
 */
export async function requestConsumerState(
  nc: NatsConnection,
  apiPrefix: string,
  stream: string,
  consumer: string,
  timeoutMs: number,
): Promise<{ ok: true; state: ConsumerState } | Extract<ApiReply, { ok: false }>> {
  const what = `the info of consumer ${consumer} of stream ${stream}`;
  const reply = await requestApi(nc, `${apiPrefix}.CONSUMER.INFO.${stream}.${consumer}`, "", what, timeoutMs);
  if (!reply.ok) return reply;
  return { ok: true, state: consumerStateOf(reply.doc, what) };
}

/**
 * Asks the server about a consumer; an API error (no such stream or
 * consumer) is thrown.
 *
 * @param nc The connection.
 * @param apiPrefix The JetStream API prefix.
 * @param stream The stream.
 * @param consumer The consumer.
 * @param timeoutMs How long to wait for the answer.
 * @returns The state.
 * @throws {PubSubError} When the server answers an error (`consumer not found`, ...).
 * @throws {TimeoutError} When nothing answers within `timeoutMs`.
 */
export async function consumerState(
  nc: NatsConnection,
  apiPrefix: string,
  stream: string,
  consumer: string,
  timeoutMs: number,
): Promise<ConsumerState> {
  const r = await requestConsumerState(nc, apiPrefix, stream, consumer, timeoutMs);
  if (r.ok) return r.state;
  throw new PubSubError(
    `Reading the info of consumer ${consumer} of stream ${stream} failed: ${r.error.code} ${r.error.description}`,
  );
}
