/**
 * `StreamSeaClient`: the connection options given once, the HTTP calls, and
 * WebSocket subscriptions.
 *
 * @module
 */

import { ClosedError } from "../core/errors.ts";
import { StatusChannel } from "../core/status.ts";
import { checkOverflow, Subscription, UNPAUSABLE_HIGH_WATER_MARK } from "../core/subscription.ts";
import { resolveReconnectOptions } from "./backoff.ts";
import {
  baseUrl,
  checkStream,
  defineStream,
  describeStream,
  getSchemaVersionsVector,
  publish,
  type PublishRequestOptions,
  type RequestOptions,
  setJwtPublicKey,
  type StreamSeaConnectionOptions,
} from "./http.ts";
import { makesPausable, type WebSocketConstructor } from "../core/open_web_socket.ts";
import type { StreamSeaMessage } from "./message.ts";
import { type CredentialOptions, isUuid, STREAMS_PATH } from "./protocol.ts";
import type { SchemaDefinition } from "./schema.ts";
import {
  DEFAULT_SUBSCRIBE,
  plainMessage,
  streamSeaOverflow,
  StreamSeaSource,
  type StreamSeaSubscribeOptions,
} from "./subscription.ts";

/** Options of {@linkcode StreamSeaClient}. */
export interface StreamSeaClientOptions extends Omit<StreamSeaConnectionOptions, "clientSecret"> {
  /** The client secret; needed for HTTP calls and for Basic WebSocket auth. */
  clientSecret?: string | undefined;
  /**
   * How subscriptions authenticate; default Basic with `clientId` and
   * `clientSecret`. A front end without the secret gives JWT credentials.
   */
  credentials?: CredentialOptions | undefined;
  /** Defaults for every subscription's options (each `subscribe` call may override them). */
  subscribe?: Omit<StreamSeaSubscribeOptions, "signal" | "groupId" | "group"> | undefined;
  /**
   * The WebSocket constructor of subscriptions (any WHATWG-compatible one).
   * Default: `NoDelayWebSocket` under Deno (Nagle off), the platform
   * `WebSocket` elsewhere. Deno's own `WebSocket` leaves Nagle on (≈ 43 ms
   * per request/reply on the socket, e.g. each ack).
   */
  webSocket?: WebSocketConstructor | undefined;
}

/** An internal hook: how payloads become messages (the adapter's envelope format). */
export type MessageFactory = (stream: string, payload: unknown, groupId: string | undefined) => StreamSeaMessage;

function checkCredentialOptions(c: CredentialOptions, action: string): CredentialOptions {
  if (typeof c !== "object" || c === null) throw new TypeError(`${action} failed: credentials is not an object`);
  if (typeof c.clientId !== "string" || c.clientId === "") {
    throw new TypeError(
      `${action} failed: credentials.clientId ${JSON.stringify(c.clientId)} is not a non-empty string`,
    );
  }
  if (c.type === "basic") {
    if (typeof c.clientSecret !== "string") {
      throw new TypeError(`${action} failed: credentials.clientSecret is not a string`);
    }
  } else if (c.type === "jwt") {
    if (typeof c.jwt !== "string" && typeof c.jwt !== "function") {
      throw new TypeError(`${action} failed: credentials.jwt is neither a string nor a function`);
    }
  } else {
    throw new TypeError(
      `${action} failed: credentials.type ${JSON.stringify((c as { type: unknown }).type)} is neither basic nor jwt`,
    );
  }
  return c;
}

/**
 * A stream-sea client: the seed's four HTTP calls and WebSocket
 * subscriptions, with the connection options given once.
 *
 * Each subscription has its own WebSocket (the protocol's only way to
 * unsubscribe is to close the connection). It authenticates first (ids
 * restart at 1 on every connection), subscribes, and yields
 * {@linkcode StreamSeaMessage}s. When the socket drops it reconnects with
 * backoff and jitter, authenticates and subscribes again (same group; a
 * fresh one in fanout mode), reporting `"disconnected"`, `"reconnecting"`
 * and `"reconnected"` on {@linkcode StreamSeaClient.status}. Refused
 * credentials end the subscription with `AuthError`, never retried.
 *
 * @example
 * ```ts ignore
 * import { StreamSeaClient } from "@x/pubsub/streamsea";
 *
 * const client = new StreamSeaClient({ remoteHost: "localhost", remotePort: 3104, clientId: "abc", clientSecret: "def123" });
 * const sub = client.subscribe("boiler_data", { fanout: true });
 * await sub.ready;
 * await client.publish("boiler_data", { temperature: 80 });
 * for await (const msg of sub) {
 *   console.log(msg.payload); // { temperature: 80 }
 *   break;
 * }
 * await client.close();
 * ```
 */
export class StreamSeaClient {
  /** Connection events of every subscription (`detail.stream` says which). */
  readonly status: StatusChannel = new StatusChannel();
  readonly #options: StreamSeaClientOptions;
  readonly #subs = new Set<Subscription<StreamSeaMessage>>();
  #closed = false;

  /**
   * Creates a client; nothing is connected until a call or subscription.
   *
   * @param options Where the server is, and the credentials.
   * @throws {TypeError} When the host, client id or credentials are invalid.
   * @throws {RangeError} When the port is out of range.
   */
  constructor(options: StreamSeaClientOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Creating a StreamSeaClient failed: options is not an object");
    }
    baseUrl(options, "http");
    if (typeof options.clientId !== "string" || options.clientId === "") {
      throw new TypeError(
        `Creating a StreamSeaClient failed: clientId ${JSON.stringify(options.clientId)} is not a non-empty string`,
      );
    }
    if (options.credentials !== undefined) checkCredentialOptions(options.credentials, "Creating a StreamSeaClient");
    this.#options = { ...options };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #http(action: string): StreamSeaConnectionOptions {
    if (this.#closed) throw new ClosedError(`${action} failed: the client is closed`);
    return this.#options as StreamSeaConnectionOptions;
  }

  /**
   * Publishes a message (an object) or a batch (an array of objects).
   *
   * @param stream The stream.
   * @param payload The message or batch.
   * @param options Validate first, and an abort signal.
   * @returns Once the server accepted it.
   * @throws {TypeError} On a bad stream name or payload ({@linkcode SchemaValidationError} when validation fails).
   * @throws {ClosedError} When the client is closed.
   * @throws {AuthError} When the credentials are refused.
   * @throws {StreamSeaError} When the server refuses the payload.
   */
  async publish(stream: string, payload: unknown, options: PublishRequestOptions = {}): Promise<void> {
    await publish({ ...this.#http(`Publishing to ${stream}`), ...options, stream, payload });
  }

  /**
   * Fetches a stream's schema.
   *
   * @param stream The stream.
   * @param options An abort signal.
   * @returns The schema, or `null` when the stream has none.
   * @throws {ClosedError} When the client is closed.
   * @throws {AuthError} When the credentials are refused.
   */
  describeStream(stream: string, options: RequestOptions = {}): Promise<SchemaDefinition | null> {
    try {
      return describeStream({ ...this.#http(`Describing stream ${stream}`), ...options, stream });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Defines or upgrades a stream's schema (its `name` is the stream).
   *
   * @param schema The schema.
   * @param options An abort signal.
   * @returns Once the server accepted it.
   * @throws {TypeError} When the schema is malformed.
   * @throws {ClosedError} When the client is closed.
   * @throws {StreamSeaError} When the server refuses it (a lower version, or the same version with other fields).
   */
  defineStream(schema: SchemaDefinition, options: RequestOptions = {}): Promise<void> {
    try {
      return defineStream({ ...this.#http("Defining a stream"), ...options, schema });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Fetches the current schema versions of several streams.
   *
   * @param streams The stream names.
   * @param options An abort signal.
   * @returns The versions in the same order, `null` for streams without a schema.
   * @throws {ClosedError} When the client is closed.
   */
  getSchemaVersionsVector(streams: readonly string[], options: RequestOptions = {}): Promise<(number | null)[]> {
    try {
      return getSchemaVersionsVector({ ...this.#http("Fetching the schema versions vector"), ...options, streams });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Registers (or clears, with `null`) the RSA public key that verifies this
   * client's JWTs (see `createStreamSeaJwt`).
   *
   * @param jwtPublicKey An SPKI or PKCS#1 PEM, or `null`.
   * @param options An abort signal.
   * @returns Once the server stored it.
   * @throws {ClosedError} When the client is closed.
   * @throws {StreamSeaError} When the server refuses the key.
   */
  setJwtPublicKey(jwtPublicKey: string | null, options: RequestOptions = {}): Promise<void> {
    try {
      return setJwtPublicKey({ ...this.#http("Registering the JWT public key"), ...options, jwtPublicKey });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Subscribes to a stream over its own WebSocket. `ready` resolves once the
   * server acknowledged the subscription; only messages published after that
   * are delivered.
   *
   * @param stream The stream.
   * @param options Group (`groupId`, `group` or `fanout`), `debatch`, credentials, reconnection, buffer.
   * @returns The subscription.
   * @throws {TypeError} On a bad stream name, a groupId that is not a UUID, or conflicting group options.
   * @throws {RangeError} On a bad buffer or reconnect setting.
   * @throws {ClosedError} When the client is closed.
   */
  subscribe(stream: string, options: StreamSeaSubscribeOptions = {}): Subscription<StreamSeaMessage> {
    return this.subscribeWith(stream, options, plainMessage);
  }

  /**
   * {@linkcode StreamSeaClient.subscribe} with a custom payload-to-message
   * mapping (the adapter's envelope format uses it).
   *
   * @param stream The stream.
   * @param options As for `subscribe`.
   * @param toMessage Makes a message of each delivered payload.
   * @returns The subscription.
   * @throws {TypeError} As `subscribe`.
   * @throws {RangeError} As `subscribe`.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeWith(
    stream: string,
    options: StreamSeaSubscribeOptions,
    toMessage: MessageFactory,
  ): Subscription<StreamSeaMessage> {
    const action = `Subscribing to ${String(stream)}`;
    checkStream(stream, "Subscribing");
    const defaults = { ...this.#options.subscribe };
    if (options.groupId !== undefined || options.group !== undefined || options.fanout !== undefined) {
      delete defaults.fanout;
    }
    const o: StreamSeaSubscribeOptions = { ...defaults, ...options };
    const { groupId, group, fanout } = o;
    if (groupId !== undefined && (typeof groupId !== "string" || !isUuid(groupId))) {
      throw new TypeError(`${action} failed: groupId ${JSON.stringify(groupId)} is not an RFC 4122 UUID`);
    }
    if (group !== undefined && (typeof group !== "string" || group === "")) {
      throw new TypeError(`${action} failed: group ${JSON.stringify(group)} is not a non-empty string`);
    }
    if ([groupId !== undefined, group !== undefined, fanout === true].filter(Boolean).length > 1) {
      throw new TypeError(`${action} failed: groupId, group and fanout exclude each other`);
    }
    const credentials = o.credentials ?? this.#options.credentials ?? {
      type: "basic",
      clientId: this.#options.clientId,
      clientSecret: this.#options.clientSecret ?? "",
    };
    if (credentials.type === "basic" && o.credentials === undefined && this.#options.clientSecret === undefined) {
      throw new TypeError(`${action} failed: the client has neither clientSecret nor credentials`);
    }
    checkCredentialOptions(credentials, action);
    const positive = (name: string, v: number | undefined, fallback: number) => {
      const value = v ?? fallback;
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`${action} failed: ${name} ${String(value)} is not a positive integer`);
      }
      return value;
    };
    const overflow = checkOverflow(o.overflow, action, streamSeaOverflow(makesPausable(this.#options.webSocket)));
    const replyTimeoutMs = positive("replyTimeoutMs", o.replyTimeoutMs, DEFAULT_SUBSCRIBE.replyTimeoutMs);
    const maxFrameLength = positive("maxFrameLength", o.maxFrameLength, DEFAULT_SUBSCRIBE.maxFrameLength);
    const reconnect = o.reconnect === false ? false : resolveReconnectOptions(o.reconnect);
    const url = `${baseUrl(this.#options, "ws")}${STREAMS_PATH.slice("/api/v1".length)}`;
    if (this.#closed) throw new ClosedError(`${action} failed: the client is closed`);
    const source = new StreamSeaSource({
      url,
      webSocket: this.#options.webSocket,
      stream,
      credentials,
      groupId,
      groupName: group,
      fanout: fanout === true,
      debatch: o.debatch ?? DEFAULT_SUBSCRIBE.debatch,
      reconnect,
      replyTimeoutMs,
      maxFrameLength,
      status: this.status,
      toMessage,
      onEnd: () => this.#subs.delete(sub),
    });
    const highWaterMark = o.highWaterMark ?? (overflow === "block" ? undefined : UNPAUSABLE_HIGH_WATER_MARK);
    const sub: Subscription<StreamSeaMessage> = new Subscription(source, { ...o, overflow, highWaterMark });
    this.#subs.add(sub);
    return sub;
  }

  /**
   * Ends every subscription (closing their sockets) and refuses further use.
   *
   * @returns Once every socket is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subs].map((s) => s.close()));
    this.status.close();
  }

  /** Calls {@linkcode StreamSeaClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
