/**
 * `StreamSeaPubSub`: stream-sea behind the library's `PubSub` contract.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "../core/base64.ts";
import { ClosedError } from "../core/errors.ts";
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
import { checkPublishData, publishWritable } from "../core/publish_writable.ts";
import type { StatusChannel } from "../core/status.ts";
import type { Subscription } from "../core/subscription.ts";
import { makesPausable } from "../core/open_web_socket.ts";
import { streamSeaOverflow } from "./subscription.ts";
import { StreamSeaClient, type StreamSeaClientOptions } from "./client.ts";
import { checkStream } from "./http.ts";
import { StreamSeaMessage } from "./message.ts";

/**
 * How `PubSub` payloads (bytes) map to stream-sea payloads (JSON objects):
 * - `"json"`: the bytes must be a JSON object (or an array of objects, a
 *   batch) in UTF-8; they are sent as that JSON, so other stream-sea
 *   clients and schemas see an ordinary message. Headers are not carried.
 * - `"envelope"`: any bytes, sent as `{"$data": <base64>, "$headers":
 *   {...}}`, so arbitrary payloads and headers travel end to end between
 *   users of this library. A delivered payload that is not an envelope is
 *   given as its JSON text.
 */
export type StreamSeaPayloadFormat = "json" | "envelope";

/** Options of {@linkcode StreamSeaPubSub}. */
export interface StreamSeaPubSubOptions extends StreamSeaClientOptions {
  /** How payloads are mapped. Default `"json"`. */
  format?: StreamSeaPayloadFormat | undefined;
  /**
   * The largest payload accepted by `publish`, in bytes (the server's own
   * limit is not documented). Default 1 MiB.
   */
  maxPayload?: number | undefined;
}

/** ASCII whitespace, which `atob` (the envelope's reader until now) skipped and core's strict decoder refuses. */
const ASCII_SPACE = /[\t\n\f\r ]/g;

/** An envelope's `$data`: standard-alphabet base64 as `atob` reads it (ASCII whitespace skipped), or `undefined`. */
function envelopeBytes(text: string): Uint8Array | undefined {
  return decodeBase64(text.replace(ASCII_SPACE, ""), { alphabet: "standard" });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function envelopeMessage(stream: string, payload: unknown, groupId: string | undefined): StreamSeaMessage {
  if (isRecord(payload) && typeof payload.$data === "string") {
    const data = envelopeBytes(payload.$data);
    if (data !== undefined) {
      const raw = payload.$headers;
      const headers = new Headers();
      if (isRecord(raw)) {
        for (const [k, v] of Object.entries(raw)) {
          try {
            if (typeof v === "string") headers.append(k, v);
          } catch { /* an invalid header name or value from a peer is left out */ }
        }
      }
      return new StreamSeaMessage({ stream, payload, groupId, data, headers });
    }
  }
  return new StreamSeaMessage({ stream, payload, groupId });
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * stream-sea as a {@linkcode PubSub}: topics are stream names (no
 * wildcards), `publish` is the HTTP publish (confirmed: it resolves when the
 * server accepted the message), `subscribe` a WebSocket subscription.
 * Without `group` every subscriber gets every message (fanout: a fresh
 * group per subscription); with `group`, the subscribers of that name share
 * the messages (the name maps to a stable UUID groupId).
 *
 * stream-sea keeps nothing for later (no replay), settles nothing, and
 * carries headers only in the `"envelope"` format.
 *
 * @example
 * ```ts ignore
 * import { StreamSeaPubSub } from "@x/pubsub/streamsea";
 *
 * const ps = new StreamSeaPubSub({ remoteHost: "localhost", remotePort: 3104, clientId: "abc", clientSecret: "def123" });
 * const sub = ps.subscribe("boiler_data");
 * await sub.ready;
 * await ps.publish("boiler_data", JSON.stringify({ temperature: 80 }));
 * for await (const msg of sub) {
 *   console.log(msg.json()); // { temperature: 80 }
 *   break;
 * }
 * await ps.close();
 * ```
 */
export class StreamSeaPubSub implements PubSub<StreamSeaMessage> {
  /** What stream-sea can do, as this adapter maps it. */
  readonly capabilities: Capabilities;
  /** The underlying client, for the native calls (define, describe, ...). */
  readonly client: StreamSeaClient;
  readonly #format: StreamSeaPayloadFormat;
  #closed = false;

  /**
   * Creates the adapter and its client.
   *
   * @param options The client's options, the payload `format` and `maxPayload`.
   * @throws {TypeError} On invalid connection options or format.
   * @throws {RangeError} When `maxPayload` is not a positive integer.
   */
  constructor(options: StreamSeaPubSubOptions) {
    const format = options.format ?? "json";
    if (format !== "json" && format !== "envelope") {
      throw new TypeError(
        `Creating a StreamSeaPubSub failed: format ${JSON.stringify(format)} is not json or envelope`,
      );
    }
    const maxPayload = options.maxPayload ?? 1024 * 1024;
    if (!Number.isInteger(maxPayload) || maxPayload < 1) {
      throw new RangeError(
        `Creating a StreamSeaPubSub failed: maxPayload ${String(maxPayload)} is not a positive integer`,
      );
    }
    this.client = new StreamSeaClient(options);
    this.#format = format;
    this.capabilities = {
      settle: false,
      confirmedPublish: true,
      wildcards: "none",
      maxPayload,
      ordered: true,
      replay: false,
      groups: true,
      headers: format === "envelope",
      overflow: streamSeaOverflow(makesPausable(options.webSocket)),
      delivery: "at-most-once",
    };
  }

  /** Connection events of every subscription. */
  get status(): StatusChannel {
    return this.client.status;
  }

  /**
   * Subscribes to a stream.
   *
   * @param topic The stream name.
   * @param options `group`, buffer size, overflow policy, signal.
   * @returns The subscription; `ready` resolves once the server acknowledged it.
   * @throws {TypeError} On an empty stream name or a bad option.
   * @throws {RangeError} On a bad `highWaterMark`.
   * @throws {ClosedError} When closed.
   */
  subscribe(topic: string, options: SubscribeOptions = {}): Subscription<StreamSeaMessage> {
    checkStream(topic, "Subscribing");
    if (this.#closed) throw new ClosedError(`Subscribing to ${topic} failed: the client is closed`);
    const { group, ...rest } = options;
    const grouping = group === undefined ? { fanout: true } : { group };
    return this.client.subscribeWith(
      topic,
      { ...rest, ...grouping },
      this.#format === "envelope"
        ? envelopeMessage
        : (stream, payload, groupId) => new StreamSeaMessage({ stream, payload, groupId }),
    );
  }

  /**
   * Publishes one message over HTTP; resolves when the server accepted it.
   *
   * @param topic The stream name.
   * @param data The payload (a JSON object in UTF-8 in the `"json"` format; anything in `"envelope"`).
   * @param options Headers (carried in the `"envelope"` format only) and a signal.
   * @returns The receipt (`confirmed: true`).
   * @throws {TypeError} On an empty stream name, or a payload that is not a JSON object in the `"json"` format.
   * @throws {RangeError} When the payload is over `maxPayload`.
   * @throws {ClosedError} When closed.
   */
  async publish(topic: string, data: PublishData, options: PublishOptions = {}): Promise<PublishReceipt> {
    checkStream(topic, "Publishing");
    const action = `Publishing to ${topic}`;
    const bytes = checkPublishData(data, action, this.capabilities.maxPayload);
    if (this.#closed) throw new ClosedError(`${action} failed: the client is closed`);
    let payload: unknown;
    if (this.#format === "envelope") {
      const env: Record<string, unknown> = { $data: encodeBase64(bytes) };
      if (options.headers !== undefined) {
        const h: Record<string, string> = {};
        new Headers(options.headers).forEach((v, k) => h[k] = v);
        env.$headers = h;
      }
      payload = env;
    } else {
      try {
        payload = JSON.parse(decoder.decode(bytes));
      } catch {
        throw new TypeError(
          `${action} failed: the payload is not UTF-8 JSON (use the "envelope" format for any bytes)`,
        );
      }
    }
    await this.client.publish(topic, payload, { signal: options.signal });
    return { topic, confirmed: true };
  }

  /**
   * A stream that publishes each chunk (see `publishWritable`).
   *
   * @param topic The stream; without one, chunks must be messages.
   * @param options Window, headers, receipt callback.
   * @returns The stream.
   * @throws {TypeError} On an empty stream name.
   * @throws {RangeError} When `maxInFlight` is not a positive integer.
   */
  writable(topic?: string, options?: WritableOptions): WritableStream<PublishChunk> {
    if (topic !== undefined) checkStream(topic, "Creating a writable");
    return publishWritable(this, topic, options);
  }

  /** Ends every subscription and refuses further use. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.client.close();
  }
}
