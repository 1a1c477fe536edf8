/**
 * `HttpPubSubClient`: subscribe without holding a connection. The
 * broadcaster POSTs each message to this process's receiver (a Hono app),
 * subscriptions are kept in sync with `set_subscriptions`, and `notify()`
 * posts to one of several broadcasters with retries.
 *
 * @module
 */

import { ClosedError, ProtocolError } from "../core/errors.ts";
import { equalBytes, toHex } from "../core/bytes.ts";
import { StatusChannel } from "../core/status.ts";
import { type AuthConfig, noneAuth } from "./auth.ts";
import { decodeNotifyResponse } from "./broadcaster_responses.ts";
import { encodeNotifyPrefix } from "./requests_to_broadcaster.ts";
import { type Broadcaster, parseBroadcasters } from "./broadcasters.ts";
import { type PostPolicy, postWithRetries, verifyAnswer } from "./broadcaster_post.ts";
import { SubscriptionSync } from "./subscription_sync.ts";
import { prefixed, prepareNotifyBody } from "./notify_body.ts";
import { checkTopicArg, lossyUtf8, matches, utf8OrUndefined } from "./local_subscription.ts";
import { handOver, SubscriptionRegistry } from "./registry.ts";
import type { HttpPubSubSubscribeOptions, HttpPubSubSubscription, MultiSubscription } from "./subscription.ts";
import type { ReceivedMessage } from "./received_body.ts";
import { createReceiverApp, type ReceiverApp } from "./receiver.ts";

/** One broadcaster. */
export interface BroadcasterConfig {
  /** Its base url, e.g. `http://127.0.0.1:3003`. */
  host: string;
  /** Lower is preferred; ties are shuffled. Default 0. */
  priority?: number;
}

/** How the receiver is exposed. */
export type BindConfig =
  /** `Deno.serve` on `hostname:port` (port 0 picks a free one). Needs Deno. */
  | { type: "serve"; hostname?: string; port?: number }
  /** The user mounts `client.app` (e.g. `app.route(prefix, client.app)`). */
  | { type: "manual" };

/** Options of {@linkcode HttpPubSubClient}. */
export interface HttpPubSubClientOptions {
  /**
   * The public base url broadcasters reach this receiver at; it may carry a
   * path prefix and a `#fragment` (which makes the registered urls unique per
   * process). Required for `bind: { type: "manual" }`; with `"serve"` it
   * defaults to `http://<hostname>:<bound port>`.
   */
  host?: string;
  /** The broadcasters, tried in priority order. */
  broadcasters: (BroadcasterConfig | string)[];
  /** Default `{ type: "manual" }`. */
  bind?: BindConfig;
  /** Signs what we send ("to-broadcaster"). Default none. */
  sendAuth?: AuthConfig;
  /** Verifies what broadcasters send us ("to-subscriber"). Default none. */
  receiveAuth?: AuthConfig;
  /** Rounds over all broadcasters before giving up. Default 2. */
  retries?: number;
  /** Retry network errors and timeouts (the request may have been acted on). Default true. */
  retryAmbiguous?: boolean;
  /** Time limit of each outgoing request, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Base of the backoff between rounds: `base * 2^(round-1) + random(base)` ms. Default 1000. */
  backoffMs?: number;
  /** Received bodies up to this size are buffered and verified before delivery; larger ones are streamed. Default 1 MiB. */
  bufferLimit?: number;
  /** Missed notices for the same topic within this many ms are reported once. Default 5000. */
  missedCoalesceMs?: number;
  /**
   * A topic matching several of our registrations (an exact topic and a
   * glob, or two globs) arrives once per registration; the extra copies of
   * the same topic and body within this many ms are confirmed with 0 and
   * not delivered again. Default 60 000.
   */
  duplicateWindowMs?: number;
  /** The fetch to use (tests route it in-process). Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** What `notify()` sends. */
export type NotifyData =
  | Uint8Array
  | string
  | Blob
  | ReadableStream<Uint8Array>
  | (() => ReadableStream<Uint8Array>);

/** Arguments of {@linkcode HttpPubSubClient.notify}. */
export interface NotifyOptions {
  /** The topic (bytes or UTF-8). */
  topic: Uint8Array | string;
  /**
   * The message: bytes, a string, a `Blob`, a function that opens the body
   * as a stream (it is called again for each attempt, and once more to hash
   * it when `sha512` is not given), or a one-shot `ReadableStream` (it needs
   * `length`; without `sha512` it is read into memory to hash it, and it
   * cannot be retried once sent).
   */
  data: NotifyData;
  /** The length; required for streams. */
  length?: number;
  /** SHA-512 of the message, when known (saves hashing it). */
  sha512?: Uint8Array;
  /** Stops retrying and waiting when aborted. */
  signal?: AbortSignal;
}

/** What `notify()` resolves with. */
export interface NotifyResult {
  /** How many subscribers confirmed receipt. */
  notified: number;
  /** The identifier sent, hex. */
  identifier: string;
}

function positive(value: number | undefined, fallback: number, what: string, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`Creating an HttpPubSubClient failed: ${what} ${String(value)} is not a positive number`);
  }
  return value;
}

/**
 * The httppubsub (lonelypsp) HTTP client: a receiver the broadcasters POST
 * messages to, subscriptions kept on the broadcaster with
 * `set_subscriptions`, and `notify()`.
 *
 * Subscriptions are reference-counted: overlapping subscriptions to the same
 * topic share one registration, removed when the last one ends. Each
 * subscription is a stream; the receiver answers the broadcaster only when
 * the reader has taken the message, so `notify().notified` counts messages
 * really handed over, and a slow reader slows the broadcaster (which gives up
 * after its timeout; the message is still delivered here). While a
 * subscription under `"block"` holds as many messages as it may (its buffer,
 * and as many waiting for room), further receives wait with their bodies
 * unread, so memory stays bounded however many the broadcaster sends.
 *
 * Missed notices (`/v1/recover`) emit a `"missed"` status event with
 * `detail.topic`, and call `onMissed` on the subscriptions covering it.
 *
 * @example
 * ```ts ignore
 * import { HttpPubSubClient, authConfigFromFile } from "@x/pubsub/httppubsub";
 *
 * const client = new HttpPubSubClient({
 *   broadcasters: ["http://127.0.0.1:3003"],
 *   bind: { type: "serve", hostname: "127.0.0.1", port: 3002 },
 *   host: "http://127.0.0.1:3002#worker-1",
 *   ...(await authConfigFromFile("subscriber-secrets.json")),
 * });
 * const sub = client.subscribeExact("orders");
 * await sub.ready;
 * const { notified } = await client.notify({ topic: "orders", data: "hello" });
 * for await (const msg of sub) {
 *   console.log(msg.text(), notified); // hello 1
 *   break;
 * }
 * await client.close();
 * ```
 */
export class HttpPubSubClient {
  /** Connection events: `"connected"` after the first sync, `"missed"`, `"error"` (rejected receiver requests), `"closed"`. */
  readonly status: StatusChannel = new StatusChannel();
  readonly #options: HttpPubSubClientOptions;
  readonly #broadcasters: Broadcaster[];
  readonly #sendAuth: AuthConfig;
  readonly #receiveAuth: AuthConfig;
  readonly #postPolicy: PostPolicy;
  readonly #bufferLimit: number;
  readonly #missedCoalesceMs: number;
  readonly #abort = new AbortController();
  readonly #registry: SubscriptionRegistry;
  /** Receives are admitted one after another (see `#admit`): the tail of that line. */
  #admission: Promise<void> = Promise.resolve();
  /** Called when a delivery is answered, so that waiting admissions look again. */
  readonly #answered = new Set<() => void>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #lastMissed = new Map<string, number>();
  readonly #copies = new Map<string, { remaining: number; expires: number }>();
  readonly #duplicateWindowMs: number;
  #receiveUrl: string | undefined;
  #recoverUrl: string | undefined;
  #app: ReceiverApp | undefined;
  #server: { shutdown(): Promise<void>; addr: { port: number } } | undefined;
  #starting: Promise<void> | undefined;
  readonly #sync: SubscriptionSync;
  #closed = false;

  /**
   * Creates the client. Nothing is sent until the first subscription or
   * notify (or `start()`).
   *
   * @param options Broadcasters, host, bind, auth, retries, limits.
   * @throws {TypeError} When no broadcaster is given, a url is invalid, or `host` is missing for a manual bind.
   * @throws {RangeError} When a number option is out of range.
   */
  constructor(options: HttpPubSubClientOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Creating an HttpPubSubClient failed: options is not an object");
    }
    this.#options = options;
    this.#broadcasters = parseBroadcasters(options.broadcasters, "Creating an HttpPubSubClient");
    const bind = options.bind ?? { type: "manual" };
    if (bind.type !== "serve" && bind.type !== "manual") {
      throw new TypeError(
        `Creating an HttpPubSubClient failed: bind type ${JSON.stringify(bind)} is not serve or manual`,
      );
    }
    if (options.host !== undefined && (typeof options.host !== "string" || !URL.canParse(options.host))) {
      throw new TypeError(`Creating an HttpPubSubClient failed: host ${JSON.stringify(options.host)} is not a url`);
    }
    if (bind.type === "manual" && options.host === undefined) {
      throw new TypeError("Creating an HttpPubSubClient failed: a manual bind needs host");
    }
    this.#sendAuth = options.sendAuth ?? noneAuth();
    this.#receiveAuth = options.receiveAuth ?? noneAuth();
    this.#postPolicy = {
      broadcasters: this.#broadcasters,
      retries: Math.floor(positive(options.retries, 2, "retries")),
      retryAmbiguous: options.retryAmbiguous ?? true,
      timeoutMs: positive(options.timeoutMs, 30_000, "timeoutMs"),
      backoffMs: positive(options.backoffMs, 1000, "backoffMs", true),
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      closing: this.#abort.signal,
    };
    this.#bufferLimit = positive(options.bufferLimit, 1024 * 1024, "bufferLimit", true);
    this.#missedCoalesceMs = positive(options.missedCoalesceMs, 5000, "missedCoalesceMs", true);
    this.#duplicateWindowMs = positive(options.duplicateWindowMs, 60_000, "duplicateWindowMs", true);
    if (options.host !== undefined) this.#setHost(options.host);
    this.#registry = new SubscriptionRegistry({
      isClosed: () => this.#closed,
      hasFailed: () => false,
      prepare: () => this.start(),
      apply: (change) => this.#sync.apply(change),
    });
    this.#sync = new SubscriptionSync({
      registry: this.#registry,
      policy: this.#postPolicy,
      sendAuth: this.#sendAuth,
      receiveAuth: this.#receiveAuth,
      receiveUrl: () => this.#receiveUrl!,
      recoverUrl: () => this.#recoverUrl ?? "",
      track: (p) => this.#track(p),
      synced: (url) => this.status.emit("connected", { url }),
    });
  }

  #setHost(host: string): void {
    const u = new URL(host);
    const fragment = u.hash;
    u.hash = "";
    const base = u.href.replace(/\/+$/, "");
    this.#receiveUrl = `${base}/v1/receive${fragment}`;
    this.#recoverUrl = `${base}/v1/recover${fragment}`;
  }

  /** Received bodies up to this size are buffered; larger ones are streamed. */
  get bufferLimit(): number {
    return this.#bufferLimit;
  }

  /** The url registered for messages, with its fragment (known after `start()` for a serve bind without host). */
  get receiveUrl(): string | undefined {
    return this.#receiveUrl;
  }

  /** The url registered for missed notices, with its fragment. */
  get recoverUrl(): string | undefined {
    return this.#recoverUrl;
  }

  /**
   * The receiver: a Hono app serving `POST /v1/receive` and `POST /v1/recover`.
   * Mount it at the path of `host`: `parent.mount("/prefix", client.app.fetch)` in a Hono app
   * (or `parent.route("/prefix", client.app as unknown as Hono)`), or serve `client.app.fetch`.
   */
  get app(): ReceiverApp {
    return this.#app ??= this.#makeApp("");
  }

  #makeApp(basePath: string): ReceiverApp {
    const receiveUrl = () => this.#receiveUrl ?? "";
    const recoverUrl = () => this.#recoverUrl ?? "";
    return createReceiverApp({
      get receiveUrl() {
        return receiveUrl();
      },
      get recoverUrl() {
        return recoverUrl();
      },
      receiveAuth: this.#receiveAuth,
      sendAuth: this.#sendAuth,
      bufferLimit: this.#bufferLimit,
      deliver: (r) => this.#deliver(r),
      admit: () => this.#admit(),
      missed: (topic) => this.#missed(topic),
      rejected: (error, status) => this.status.emit("error", { status }, error),
    }, basePath);
  }

  /**
   * Starts the receiver (for a serve bind). Called by the first subscribe or
   * notify; idempotent.
   *
   * @returns Resolves when listening.
   * @throws {ClosedError} When the client is closed.
   * @throws {TypeError} When a serve bind is asked for outside Deno.
   */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError("Starting the client failed: it is closed"));
    return this.#starting ??= Promise.resolve().then(() => this.#start());
  }

  #start(): void {
    const bind = this.#options.bind ?? { type: "manual" };
    if (bind.type !== "serve") return;
    type Serve = (
      options: { hostname?: string; port?: number; onListen?: () => void },
      handler: (req: Request) => Response | Promise<Response>,
    ) => { shutdown(): Promise<void>; addr: { port: number } };
    const deno = (globalThis as { Deno?: { serve?: Serve } }).Deno;
    if (typeof deno?.serve !== "function") {
      throw new TypeError("Starting the receiver failed: bind type serve needs Deno.serve");
    }
    const hostname = bind.hostname ?? "127.0.0.1";
    const path = this.#options.host === undefined ? "" : new URL(this.#options.host).pathname.replace(/\/+$/, "");
    const root = path === "" ? this.app : this.#makeApp(path);
    const server = deno.serve({ hostname, port: bind.port ?? 0, onListen: () => {} }, root.fetch);
    this.#server = server;
    if (this.#options.host === undefined) {
      const h = hostname.includes(":") ? `[${hostname}]` : hostname;
      this.#setHost(`http://${h}:${server.addr.port}`);
    }
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    const done = () => this.#pending.delete(p);
    p.then(done, done);
    return p;
  }

  // -------------------------------------------------------------------------
  // Subscriptions
  // -------------------------------------------------------------------------

  /**
   * Asks a broadcaster for the strong etag of what it holds for our receive
   * url (`/v1/check_subscriptions`, answer verified) and compares it with
   * the local set; when they differ (a broadcaster lost its state, or an
   * "unsubscribe immediately" raced a change), sends the whole set again.
   *
   * @returns Whether the broadcaster was in sync before the call.
   * @throws {AuthError} When our credentials or the answer's signature are refused.
   * @throws {RetriesExhaustedError} When no broadcaster answered.
   * @throws {ClosedError} When the client is closed.
   */
  async checkSubscriptions(): Promise<boolean> {
    if (this.#closed) throw new ClosedError("Checking the subscriptions failed: the client is closed");
    await this.start();
    return await this.#sync.check();
  }

  /**
   * Subscribes to one or more exact topics.
   *
   * @param topic The topic (bytes or UTF-8), or several.
   * @param options Buffer, overflow, signal, `onMissed`, `filter`.
   * @returns The subscription; `ready` resolves once the broadcaster has it.
   * @throws {TypeError} On a bad topic or option.
   * @throws {RangeError} On a too-long topic or bad buffer option.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeExact(
    topic: Uint8Array | string | (Uint8Array | string)[],
    options: HttpPubSubSubscribeOptions = {},
  ): HttpPubSubSubscription {
    return this.#registry.subscribeExact(topic, options);
  }

  /**
   * Subscribes to one or more globs, matched as SQLite GLOB (`*` crosses `/`,
   * `?` one character, `[...]` a class).
   *
   * @param glob The glob, or several.
   * @param options Buffer, overflow, signal, `onMissed`, `filter`.
   * @returns The subscription.
   * @throws {TypeError} On a bad glob or option.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeGlob(glob: string | string[], options: HttpPubSubSubscribeOptions = {}): HttpPubSubSubscription {
    return this.#registry.subscribeGlob(glob, options);
  }

  /**
   * A subscription that starts empty; add and remove topics and globs on it.
   *
   * @param options Buffer, overflow, signal, `onMissed`, `filter`.
   * @returns The subscription.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeMulti(options: HttpPubSubSubscribeOptions = {}): MultiSubscription {
    return this.#registry.subscribeMulti(options);
  }

  /** The topics and globs currently registered, with their reference counts. */
  get registrations(): { exact: Map<string, number>; glob: Map<string, number> } {
    return this.#registry.registrations;
  }

  // -------------------------------------------------------------------------
  // Receiving
  // -------------------------------------------------------------------------

  /**
   * Admits one receive at a time, and only while no subscription under
   * `"block"` already has as many deliveries unanswered as it may hold
   * (its `limit`): the rest wait with their bodies unread, holding the
   * broadcaster at the transport instead of in memory. The admission ends
   * once the message is handed over (or the receive ends otherwise).
   */
  #admit(): Promise<() => void> {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => end = resolve);
    const turn = this.#admission;
    this.#admission = turn.then(() => ended);
    return turn.then(async () => {
      while (!this.#closed && [...this.#registry.subs].some((s) => s.waiting >= s.limit)) {
        await new Promise<void>((resolve) => this.#answered.add(resolve));
      }
      return end;
    });
  }

  async #deliver(received: ReceivedMessage): Promise<number | "unsubscribe-immediate"> {
    const topic = received.prefix.topic;
    const key = toHex(topic);
    const text = utf8OrUndefined(topic);
    const rows = this.#registry.rows(key, text);
    if (rows === 0) return "unsubscribe-immediate";
    if (rows > 1 && this.#isDuplicateCopy(`${key}:${toHex(received.sha512)}`, rows)) return 0;
    const targets = this.#registry.targets(key, text);
    const messages = received.messages(targets.length);
    const handed = targets.map((s, i) => {
      s.waiting++;
      const p = handOver(s, messages[i]!);
      const answered = () => {
        s.waiting--;
        const wakes = [...this.#answered];
        this.#answered.clear();
        for (const wake of wakes) wake();
      };
      p.then(answered, answered);
      return p;
    });
    received.admitted?.();
    const results = await Promise.allSettled(handed);
    return results.filter((r) => r.status === "fulfilled").length;
  }

  /**
   * The broadcaster sends one copy per matching registration (an exact topic
   * and a glob, or two globs). The first copy goes to every local
   * subscription that matches; the next `rows - 1` copies of the same topic
   * and body within `duplicateWindowMs` are confirmed with 0 and not
   * delivered again.
   */
  #isDuplicateCopy(id: string, rows: number): boolean {
    const now = Date.now();
    const seen = this.#copies.get(id);
    if (seen !== undefined && seen.expires > now && seen.remaining > 0) {
      if (--seen.remaining === 0) this.#copies.delete(id);
      return true;
    }
    this.#copies.set(id, { remaining: rows - 1, expires: now + this.#duplicateWindowMs });
    if (this.#copies.size > 10_000) {
      for (const [k, v] of this.#copies) if (v.expires <= now) this.#copies.delete(k);
    }
    return false;
  }

  #missed(topic: Uint8Array): void {
    const key = toHex(topic);
    const now = Date.now();
    const last = this.#lastMissed.get(key);
    if (last !== undefined && now - last < this.#missedCoalesceMs) return;
    this.#lastMissed.set(key, now);
    if (this.#lastMissed.size > 10_000) {
      for (const [k, t] of this.#lastMissed) if (now - t >= this.#missedCoalesceMs) this.#lastMissed.delete(k);
    }
    const text = lossyUtf8.decode(topic);
    this.status.emit("missed", { topic: text });
    const strict = utf8OrUndefined(topic);
    this.#registry.missed(text, (s) => matches(s, key, strict));
  }

  // -------------------------------------------------------------------------
  // Notify
  // -------------------------------------------------------------------------

  /**
   * Sends a message to every subscriber of its topic through one of the
   * broadcasters, retrying (and re-signing) across them.
   *
   * @param options Topic, data (bytes, string, Blob, stream or stream factory), length, sha512, signal.
   * @returns How many subscribers confirmed, and the identifier used.
   * @throws {TypeError} On a bad topic or data, or a stream without length.
   * @throws {RangeError} On a length that does not match the data.
   * @throws {RefusedError} When a broadcaster refused the request.
   * @throws {AuthError} When our credentials were refused or the answer's signature is wrong.
   * @throws {AmbiguousError} On a network error with `retryAmbiguous: false`.
   * @throws {RetriesExhaustedError} When every attempt failed.
   * @throws {ClosedError} When the client is closed.
   */
  async notify(options: NotifyOptions): Promise<NotifyResult> {
    if (this.#closed) throw new ClosedError("Notifying failed: the client is closed");
    const topic = checkTopicArg(options?.topic, "Notifying");
    const action = `Notifying ${lossyUtf8.decode(topic)}`;
    const { length, open, sha512: digest } = await prepareNotifyBody(options, action);
    await this.start();
    const tracing = new Uint8Array(0);
    const identifier = crypto.getRandomValues(new Uint8Array(16));
    const prefix = encodeNotifyPrefix({ topic, sha512: digest, tracing, identifier, length });
    const body = (): BodyInit => prefixed(prefix, open(), length, action);
    return await this.#track(postWithRetries(
      this.#postPolicy,
      action,
      "/v1/notify",
      async () => ({
        body: body(),
        authorization: await this.#sendAuth.authorize({ type: "notify", topic, identifier, sha512: digest }, tracing),
      }),
      async (bytes, from) => {
        let res;
        try {
          res = decodeNotifyResponse(bytes);
        } catch (cause) {
          throw new ProtocolError(`${action} failed: ${(cause as Error).message}`, { cause });
        }
        if (!equalBytes(res.identifier, identifier)) {
          throw new ProtocolError(`${action} failed: the answer of ${from} echoes another identifier`);
        }
        await verifyAnswer(this.#receiveAuth, action, from, res, {
          type: "confirm-notify",
          identifier,
          subscribers: res.subscribers,
          topic,
          sha512: digest,
        });
        return { notified: res.subscribers, identifier: toHex(identifier) };
      },
      undefined,
      options.signal,
    ));
  }

  /**
   * Ends every subscription, tells the broadcasters we subscribe to nothing
   * any more (best effort), and stops the receiver.
   *
   * @returns Resolves when everything is released.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#registry.closeAll();
    await Promise.allSettled([...this.#pending]);
    this.#abort.abort(new ClosedError("The client was closed"));
    await this.#starting?.catch(() => {});
    await this.#server?.shutdown();
    this.status.close();
  }

  /** Calls {@linkcode HttpPubSubClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
