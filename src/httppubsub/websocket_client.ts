/**
 * `WebsocketPubSubClient`: the same subscribe / notify API as
 * `HttpPubSubClient`, over one websocket to a broadcaster's `/v1/websocket`
 * (no receiver to expose). Compression is switched off at CONFIGURE.
 *
 * @module
 */

import { AuthError, ClosedError, ConnectionError, ProtocolError, TimeoutError } from "../core/errors.ts";
import { delay as wait, withDeadline } from "../core/async.ts";
import { toHex } from "../core/bytes.ts";
import { StatusChannel } from "../core/status.ts";
import { type AuthConfig, noneAuth } from "./auth.ts";
import type { BroadcasterConfig, NotifyOptions, NotifyResult } from "./client.ts";
import { type Broadcaster, byPriority, parseBroadcasters } from "./broadcasters.ts";
import { defaultWebSocket, openWebSocket, type WebSocketConstructor } from "../core/open_web_socket.ts";
import type { AuthDocument } from "./auth_document.ts";
import { materialize } from "./notify_body.ts";
import { checkTopicArg, type LocalSubscription, lossyUtf8 } from "./local_subscription.ts";
import { type Registration, SubscriptionRegistry } from "./registry.ts";
import type { HttpPubSubSubscribeOptions, HttpPubSubSubscription, MultiSubscription } from "./subscription.ts";
import { WebsocketNotifier } from "./websocket_notify.ts";
import { ReplyWaiters } from "./websocket_replies.ts";
import { WebsocketReceive } from "./websocket_receive.ts";
import {
  type B2SMessage,
  connectionNonce,
  decodeB2S,
  encodeS2B,
  type S2BMessage,
  websocketUrl,
} from "./websocket_codec.ts";

/** The most received frames waiting to be processed before the broadcaster is taken to break the protocol. */
const MAX_QUEUED_FRAMES = 64;

/** Options of {@linkcode WebsocketPubSubClient}. */
export interface WebsocketPubSubClientOptions {
  /** The broadcasters (http(s) base urls); the first reachable in priority order is used. */
  broadcasters: (BroadcasterConfig | string)[];
  /** Signs what we send ("to-broadcaster"). Default none. */
  sendAuth?: AuthConfig;
  /** Verifies what the broadcaster sends ("to-subscriber"). Default none. */
  receiveAuth?: AuthConfig;
  /** The largest frame we send; bigger notifies go as NOTIFY_STREAM parts. Default 3.5 MiB. */
  maxFrameBytes?: number;
  /**
   * Messages up to this size are buffered and verified before delivery;
   * larger ones are streamed to the reader (`msg.body`), each part
   * acknowledged only once the reader has room, never buffered whole. Default 1 MiB.
   */
  bufferLimit?: number;
  /** Send minimal headers (default) or expanded ones. */
  minimalHeaders?: boolean;
  /** Time allowed to connect and configure, and for each confirmation, in ms. Default 10 000. */
  timeoutMs?: number;
  /**
   * The WebSocket constructor (any WHATWG-compatible one). Default:
   * `NoDelayWebSocket` under Deno (Nagle off), the platform `WebSocket`
   * elsewhere. Deno's own `WebSocket` leaves Nagle on: ≈ 43 ms per notify →
   * confirm round trip.
   */
  webSocket?: WebSocketConstructor;
  /**
   * When an established socket is lost (not refused, not a protocol
   * violation): connect again, with backoff from 100 ms to 5 s, for up to
   * `reconnectTimeoutMs`, then subscribe again to every topic and glob and
   * report each as missed (messages sent in the gap did not reach us).
   * Subscriptions stay open meanwhile; notifies wait for the new socket, and
   * those in flight when the socket went fail with `ConnectionError` (the
   * broadcaster may or may not have taken them). Default true; false ends
   * every subscription with `ConnectionError` at once.
   */
  reconnect?: boolean;
  /** How long to keep trying to reconnect before ending the subscriptions, in ms. Default 60 000. */
  reconnectTimeoutMs?: number;
  /**
   * lonelypss sends a websocket client one copy of a message per internal
   * registration the topic matches: one per distinct exact topic and glob
   * across all of that broadcaster's websocket clients, so overlapping
   * subscriptions (ours, or another client's) bring the same message more
   * than once, each with its own identifier. A message with the topic and
   * SHA-512 of one that arrived less than this many ms earlier (or less
   * than this many ms after we confirmed it) is taken for such a copy:
   * acknowledged with 0 and not delivered again. Identical messages sent
   * to one topic closer together than this are therefore delivered once.
   * 0 delivers every copy, as lonelypsc does. Default 1000.
   */
  duplicateWindowMs?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * The httppubsub websocket client. One socket carries subscriptions (each
 * sent once, reference-counted locally: the broadcaster closes the socket on
 * a duplicate), messages (RECEIVE_STREAM parts, each acknowledged, the final
 * confirmation sent once the readers took the message) and notifies (one
 * frame, or NOTIFY_STREAM parts each signed afresh). Both HMAC counters are
 * tracked. A lost socket is reconnected (to any of the broadcasters, with
 * backoff, for up to `reconnectTimeoutMs`); every topic and glob is
 * subscribed again and reported as missed; when reconnecting fails, or with
 * `reconnect: false`, every subscription ends with a `ConnectionError`.
 *
 * @example
 * ```ts ignore
 * import { WebsocketPubSubClient } from "@x/pubsub/httppubsub";
 *
 * const client = new WebsocketPubSubClient({ broadcasters: ["http://127.0.0.1:3003"] });
 * const sub = client.subscribeExact("orders");
 * await sub.ready;
 * const { notified } = await client.notify({ topic: "orders", data: "hi" });
 * for await (const msg of sub) {
 *   console.log(msg.text(), notified); // hi 1
 *   break;
 * }
 * await client.close();
 * ```
 */
export class WebsocketPubSubClient {
  /** `"connected"`, `"missed"` (with `detail.topic`), `"disconnected"`, `"closed"`. */
  readonly status: StatusChannel = new StatusChannel();
  readonly #broadcasters: Broadcaster[];
  readonly #sendAuth: AuthConfig;
  readonly #receiveAuth: AuthConfig;
  readonly #maxFrame: number;
  readonly #bufferLimit: number;
  readonly #minimal: boolean;
  readonly #timeoutMs: number;
  readonly #WebSocket: WebSocketConstructor;
  readonly #reconnect: boolean;
  readonly #reconnectTimeoutMs: number;
  readonly #duplicateWindowMs: number;
  /** Aborts a reconnection's backoff wait when the client closes. */
  readonly #stop = new AbortController();
  /** The subscriptions made on the current socket (`exact:<hex>`, `glob:<glob>`). */
  readonly #wired = new Set<string>();
  /** Counts sockets: work queued for an earlier one is dropped. */
  #generation = 0;
  readonly #registry: SubscriptionRegistry;
  readonly #replies = new ReplyWaiters();
  #ws: WebSocket | undefined;
  #connecting: Promise<void> | undefined;
  #nonce = "";
  #subCounter = -1;
  #bcCounter = 1;
  #sendChain: Promise<unknown> = Promise.resolve();
  #recvChain: Promise<unknown> = Promise.resolve();
  /** Frames in `#recvChain` not yet processed: bounded, as the broadcaster must wait for our acknowledgements. */
  #recvQueued = 0;
  #opChain: Promise<unknown> = Promise.resolve();
  readonly #receive: WebsocketReceive;
  readonly #notifier: WebsocketNotifier;
  #failure: Error | undefined;
  #closed = false;
  #closedSocket: Promise<void> | undefined;

  /**
   * Creates the client; it connects on first use (or `connect()`).
   *
   * @param options Broadcasters, auth, limits.
   * @throws {TypeError} When no broadcaster is given or one is not a url.
   * @throws {RangeError} When a limit is out of range.
   */
  constructor(options: WebsocketPubSubClientOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Creating a WebsocketPubSubClient failed: options is not an object");
    }
    this.#broadcasters = parseBroadcasters(options.broadcasters, "Creating a WebsocketPubSubClient");
    this.#sendAuth = options.sendAuth ?? noneAuth();
    this.#receiveAuth = options.receiveAuth ?? noneAuth();
    this.#maxFrame = options.maxFrameBytes ?? 3.5 * 1024 * 1024;
    this.#bufferLimit = options.bufferLimit ?? 1024 * 1024;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#reconnect = options.reconnect ?? true;
    this.#reconnectTimeoutMs = options.reconnectTimeoutMs ?? 60_000;
    this.#duplicateWindowMs = options.duplicateWindowMs ?? 1000;
    for (
      const [name, v, min] of [
        ["maxFrameBytes", this.#maxFrame, 2048],
        ["bufferLimit", this.#bufferLimit, 0],
        [
          "timeoutMs",
          this.#timeoutMs,
          1,
        ],
        ["reconnectTimeoutMs", this.#reconnectTimeoutMs, 0],
        ["duplicateWindowMs", this.#duplicateWindowMs, 0],
      ] as const
    ) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
        throw new RangeError(`Creating a WebsocketPubSubClient failed: ${name} ${String(v)} is below ${min}`);
      }
    }
    this.#minimal = options.minimalHeaders ?? true;
    const WS = options.webSocket ?? defaultWebSocket();
    if (typeof WS !== "function") {
      throw new TypeError("Creating a WebsocketPubSubClient failed: webSocket is not a constructor");
    }
    this.#WebSocket = WS;
    this.#registry = new SubscriptionRegistry({
      isClosed: () => this.#closed,
      hasFailed: () => this.#failure !== undefined,
      prepare: () => this.connect(),
      apply: (change) => {
        // One frame per registration that appeared or went, in order on the operations queue.
        const run = this.#opChain.catch(() => {}).then(async () => {
          for (const r of change.added) await this.#wire(r, true);
          for (const r of change.removed) await this.#wire(r, false);
        });
        this.#opChain = run.catch(() => {});
        return run;
      },
    });
    this.#receive = new WebsocketReceive({
      registry: this.#registry,
      receiveAuth: this.#receiveAuth,
      status: this.status,
      bufferLimit: this.#bufferLimit,
      duplicateWindowMs: this.#duplicateWindowMs,
      failed: () => this.#failure !== undefined,
      send: (doc, message) => this.#send(doc, message),
    });
    this.#notifier = new WebsocketNotifier({
      replies: this.#replies,
      receiveAuth: this.#receiveAuth,
      maxFrame: this.#maxFrame,
      send: (doc, message) => this.#send(doc, message, false),
      within: (reply, what) => this.#withTimeout(reply, what),
    });
  }

  /** The connection nonce, once connected (standard base64). */
  get nonce(): string {
    return this.#nonce;
  }

  /**
   * Connects and configures (compression off). Called by the first
   * subscribe or notify; idempotent.
   *
   * @returns Resolves when configured.
   * @throws {ConnectionError} When no broadcaster could be reached.
   * @throws {AuthError} When the configuration was refused or its confirmation does not verify.
   * @throws {ClosedError} When the client is closed.
   */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError("Connecting failed: the client is closed"));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return this.#connecting ??= this.#connect();
  }

  async #connect(): Promise<void> {
    const order = byPriority(this.#broadcasters);
    let last: unknown;
    for (const b of order) {
      const url = `${b.host.replace(/^http/, "ws")}/v1/websocket`;
      try {
        await this.#dial(url);
        this.status.emit("connected", { url });
        return;
      } catch (err) {
        last = err;
        if (err instanceof AuthError || err instanceof ProtocolError || this.#closed) throw err;
      }
    }
    throw new ConnectionError(`Connecting failed: no broadcaster answered on /v1/websocket`, { cause: last });
  }

  #dial(url: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = openWebSocket(url, { webSocket: this.#WebSocket });
      } catch (err) {
        reject(new ConnectionError(`Connecting to ${url} failed`, { cause: err, url }));
        return;
      }
      ws.binaryType = "arraybuffer";
      let settled = false;
      const timer = setTimeout(() => fail(new TimeoutError(`Connecting to ${url} timed out`)), this.#timeoutMs);
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // This attempt's wait for CONFIRM_CONFIGURE must not take the next attempt's.
        this.#replies.forget("confirm-configure");
        try {
          ws.close();
        } catch { /* already closed */ }
        reject(err);
      };
      let closedResolve!: () => void;
      this.#closedSocket = new Promise((r) => closedResolve = r);
      ws.onclose = () => {
        closedResolve();
        fail(new ConnectionError(`Connecting to ${url} failed: the socket closed`, { url }));
        if (this.#ws === ws) this.#lost(new ConnectionError(`The websocket to ${url} closed`, { url }));
      };
      ws.onerror = () => fail(new ConnectionError(`Connecting to ${url} failed`, { url }));
      ws.onopen = async () => {
        const subscriberNonce = crypto.getRandomValues(new Uint8Array(32));
        this.#replies.expect("confirm-configure", undefined).then(async (m) => {
          if (m.type !== "confirm-configure") return;
          const ok = await this.#receiveAuth.verify(
            { type: "confirm-configure", broadcasterNonce: m.broadcasterNonce },
            m.authorization,
            m.tracing,
          );
          if (ok !== "ok") throw new AuthError(`Configuring ${url} failed: the confirmation has a ${ok} authorization`);
          const nonce = await connectionNonce(subscriberNonce, m.broadcasterNonce);
          if (settled) return;
          settled = true;
          this.#nonce = nonce;
          clearTimeout(timer);
          // A new socket: its own HMAC counters, nothing subscribed on it yet.
          this.#generation++;
          this.#subCounter = -1;
          this.#bcCounter = 1;
          this.#wired.clear();
          this.#receive.reset();
          this.#ws = ws;
          resolve();
        }).catch((err) => fail(err as Error));
        try {
          const doc: AuthDocument = {
            type: "configure",
            subscriberNonce,
            enableZstd: false,
            enableTraining: false,
            initialDict: 0,
          };
          const authorization = await this.#sendAuth.authorize(doc, EMPTY);
          ws.send(encodeS2B({ ...doc, authorization, tracing: EMPTY }, this.#minimal));
        } catch (err) {
          fail(err as Error);
        }
      };
      ws.onmessage = (ev) => {
        // Frames of a socket that is not (or no longer) ours, other than its configuration, are dropped.
        if (this.#ws === ws || !settled) this.#onFrame(ev.data);
      };
    });
  }

  /**
   * The socket is gone: fail everything waiting on it; then reconnect, or
   * (closed, a violation, `reconnect: false`) end every subscription.
   */
  #lost(err: Error): void {
    if (this.#failure !== undefined) return;
    const retry = this.#reconnect && !this.#closed && err instanceof ConnectionError;
    const failure = this.#closed ? new ClosedError("The client was closed", { cause: err }) : err;
    if (!retry) this.#failure = failure;
    this.#ws = undefined;
    this.#generation++;
    const held = new Set(this.#wired);
    this.#wired.clear();
    this.#receive.fail(failure);
    this.#replies.rejectAll(failure);
    if (this.#closed) return;
    this.status.emit("disconnected", {}, err);
    if (retry) this.#reconnectAfter(err, held);
    else this.#registry.endAll(err);
  }

  /** Connects again with backoff, then subscribes again to everything, and reports what the lost socket held as missed. */
  #reconnectAfter(cause: Error, held: ReadonlySet<string>): void {
    const deadline = performance.now() + this.#reconnectTimeoutMs;
    const attempt = async (): Promise<void> => {
      let delay = 100;
      for (;;) {
        // A close() ends the wait at once (the check below then stops).
        await wait(delay * (0.5 + Math.random() / 2), this.#stop.signal);
        if (this.#closed) throw new ClosedError("Reconnecting failed: the client is closed");
        try {
          await this.#connect();
          return;
        } catch (err) {
          if (this.#closed || err instanceof AuthError || err instanceof ProtocolError) throw err;
          if (performance.now() + delay >= deadline) {
            throw new ConnectionError(
              `Reconnecting failed: no broadcaster answered within ${this.#reconnectTimeoutMs} ms`,
              { cause: err },
            );
          }
          delay = Math.min(delay * 2, 5000);
        }
      }
    };
    const connecting = attempt();
    this.#connecting = connecting;
    connecting.then(() => this.#resubscribe(held), (err) => {
      if (this.#closed) return;
      // Refused credentials or a protocol violation end the subscriptions as such; else a ConnectionError.
      const failure = err instanceof Error ? err : new ConnectionError("Reconnecting failed", { cause: cause });
      this.#failure = failure;
      this.#registry.endAll(failure);
    });
  }

  /**
   * After a reconnection: every topic and glob again (in the order of the
   * operations queue), then a missed notice for each the lost socket held.
   */
  #resubscribe(held: ReadonlySet<string>): void {
    const run = this.#opChain.catch(() => {}).then(async () => {
      for (const [key, e] of [...this.#registry.exact]) await this.#wire({ kind: "exact", key, bytes: e.bytes }, true);
      for (const glob of [...this.#registry.globs.keys()]) await this.#wire({ kind: "glob", key: glob, glob }, true);
    });
    this.#opChain = run.catch(() => {});
    run.then(() => {
      for (const [key, e] of this.#registry.exact) {
        if (held.has(`exact:${key}`)) this.#missedAfterGap(lossyUtf8.decode(e.bytes), (s) => s.exact.has(key));
      }
      for (const glob of this.#registry.globs.keys()) {
        if (held.has(`glob:${glob}`)) this.#missedAfterGap(glob, (s) => s.globs.has(glob));
      }
    }, () => {
      // The new socket failed too: its loss starts another reconnection (or ends everything).
    });
  }

  #missedAfterGap(topic: string, wanted: (s: LocalSubscription) => boolean): void {
    this.status.emit("missed", { topic });
    this.#registry.missed(topic, wanted);
  }

  /** A broadcaster broke the protocol: close the socket and fail. */
  #violation(err: Error): void {
    const ws = this.#ws;
    this.#lost(
      err instanceof ProtocolError || err instanceof AuthError ? err : new ProtocolError(err.message, { cause: err }),
    );
    try {
      ws?.close(1002, "protocol error");
    } catch { /* closed */ }
  }

  #onFrame(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      this.#violation(new ProtocolError("Receiving a frame failed: it is not binary"));
      return;
    }
    let m: B2SMessage;
    try {
      m = decodeB2S(new Uint8Array(data));
    } catch (err) {
      this.#violation(err as Error);
      return;
    }
    switch (m.type) {
      case "confirm-configure": {
        const p = this.#replies.take("confirm-configure");
        if (p === undefined) this.#violation(new ProtocolError("Receiving failed: an unexpected CONFIRM_CONFIGURE"));
        else p.resolve(m);
        return;
      }
      case "confirm-subscribe-exact":
      case "confirm-unsubscribe-exact":
      case "confirm-subscribe-glob":
      case "confirm-unsubscribe-glob": {
        const key = `${m.type}:${"topic" in m ? toHex(m.topic) : m.glob}`;
        const p = this.#replies.take(key);
        if (p === undefined) {
          this.#violation(new ProtocolError(`Receiving failed: an unexpected ${m.type}`));
          return;
        }
        const doc: AuthDocument = "topic" in m
          ? { type: "confirm-subscribe-exact", url: p.url!, recovery: "", topic: m.topic }
          : { type: "confirm-subscribe-glob", url: p.url!, recovery: "", glob: m.glob };
        this.#receiveAuth.verify(doc, m.authorization, m.tracing).then((ok) => {
          if (ok === "ok") p.resolve(m);
          else p.reject(new AuthError(`Receiving ${m.type} failed: the authorization was ${ok}`));
        }, p.reject);
        return;
      }
      case "confirm-notify": {
        const p = this.#replies.claim(`notify:${toHex(m.identifier)}`);
        if (p === undefined) {
          this.#violation(new ProtocolError("Receiving failed: a CONFIRM_NOTIFY for no notify"));
          return;
        }
        p.resolve(m);
        return;
      }
      case "continue-notify": {
        const p = this.#replies.claim(`continue:${toHex(m.identifier)}:${m.partId}`);
        if (p === undefined) {
          this.#violation(new ProtocolError("Receiving failed: a CONTINUE_NOTIFY for no notify stream"));
          return;
        }
        p.resolve(m);
        return;
      }
      case "receive-stream":
      case "missed": {
        // The broadcaster counter follows arrival order.
        const url = websocketUrl(this.#nonce, this.#bcCounter++);
        const generation = this.#generation;
        // A broadcaster keeps a few receive parts unacknowledged (lonelypss: 3) and missed notices are quick, so
        // frames wait here only briefly; one that floods us while the reader is slow breaks the protocol.
        if (this.#recvQueued >= MAX_QUEUED_FRAMES) {
          this.#violation(
            new ProtocolError(`Receiving failed: more than ${MAX_QUEUED_FRAMES} frames arrived unacknowledged`),
          );
          return;
        }
        this.#recvQueued++;
        const arrived = performance.now();
        this.#recvChain = this.#recvChain.then(() =>
          generation === this.#generation ? this.#receive.process(m, url, arrived) : undefined
        )
          .catch((err) => generation === this.#generation && this.#violation(err as Error))
          .finally(() => this.#recvQueued--);
        return;
      }
    }
  }

  /**
   * Signs and sends one frame, in order. `counted` frames take the next
   * subscriber counter url; the document and the message are built with it.
   */
  #send(
    doc: ((url: string | undefined) => AuthDocument) | undefined,
    message: (url: string | undefined, authorization: string | undefined) => S2BMessage,
    counted = true,
  ): Promise<string | undefined> {
    const run = this.#sendChain.then(async () => {
      const ws = this.#ws;
      if (ws === undefined || this.#failure !== undefined) {
        throw this.#failure ?? new ConnectionError("Sending failed: the socket was lost");
      }
      const url = counted ? websocketUrl(this.#nonce, this.#subCounter--) : undefined;
      const authorization = doc === undefined ? undefined : await this.#sendAuth.authorize(doc(url), EMPTY);
      ws.send(encodeS2B(message(url, authorization), this.#minimal));
      return url;
    });
    this.#sendChain = run.catch(() => {});
    return run;
  }

  #withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    return withDeadline(this.#timeoutMs, p, { error: `${what} timed out after ${this.#timeoutMs} ms` });
  }

  // -------------------------------------------------------------------------
  // Subscriptions
  // -------------------------------------------------------------------------

  /** Sends one (un)subscribe and waits for its verified confirmation. */
  async #wire(r: Registration, on: boolean): Promise<void> {
    const { kind, key } = r;
    const value = r.kind === "exact" ? r.bytes : r.glob;
    await this.connect();
    // Once per socket: a reconnection subscribes to everything again, and the broadcaster closes on a duplicate.
    const wired = `${kind}:${key}`;
    if (this.#wired.has(wired) === on) return;
    if (on) this.#wired.add(wired);
    else this.#wired.delete(wired);
    const type = `${on ? "subscribe" : "unsubscribe"}-${kind}` as const;
    let confirmed!: Promise<B2SMessage>;
    const url = await this.#send(
      (u) => {
        confirmed = this.#replies.expect(`confirm-${type}:${key}`, u);
        return kind === "exact"
          ? { type: "subscribe-exact", url: u!, recovery: "", topic: value as Uint8Array }
          : { type: "subscribe-glob", url: u!, recovery: "", glob: value as string };
      },
      (_u, authorization) =>
        kind === "exact"
          ? { type: type as "subscribe-exact", authorization, tracing: EMPTY, topic: value as Uint8Array }
          : { type: type as "subscribe-glob", authorization, tracing: EMPTY, glob: value as string },
    );
    void url;
    await this.#withTimeout(confirmed, `Waiting for the broadcaster to confirm ${type}`);
  }

  /**
   * Subscribes to one or more exact topics.
   *
   * @param topic The topic, or several.
   * @param options Buffer, overflow, signal, `onMissed`, `filter`, `hold`.
   * @returns The subscription; `ready` resolves once the broadcaster confirmed.
   * @throws {TypeError} On a bad topic.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeExact(
    topic: Uint8Array | string | (Uint8Array | string)[],
    options: HttpPubSubSubscribeOptions = {},
  ): HttpPubSubSubscription {
    return this.#registry.subscribeExact(topic, options);
  }

  /**
   * Subscribes to one or more globs.
   *
   * @param glob The glob, or several.
   * @param options Buffer, overflow, signal, `onMissed`, `filter`, `hold`.
   * @returns The subscription.
   * @throws {TypeError} On a bad glob.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeGlob(glob: string | string[], options: HttpPubSubSubscribeOptions = {}): HttpPubSubSubscription {
    return this.#registry.subscribeGlob(glob, options);
  }

  /**
   * A subscription that starts empty; add and remove topics and globs on it.
   *
   * @param options Buffer, overflow, signal, `onMissed`, `filter`, `hold`.
   * @returns The subscription.
   * @throws {ClosedError} When the client is closed.
   */
  subscribeMulti(options: HttpPubSubSubscribeOptions = {}): MultiSubscription {
    return this.#registry.subscribeMulti(options);
  }

  // -------------------------------------------------------------------------
  // Notify
  // -------------------------------------------------------------------------

  /**
   * Notifies the subscribers of a topic: one NOTIFY frame when it fits in
   * `maxFrameBytes`, else NOTIFY_STREAM parts, each signed afresh, waiting
   * for the broadcaster's CONTINUE_NOTIFY after each.
   *
   * @param options Topic, data (bytes, string, Blob, stream or stream factory), length, sha512.
   * @returns How many subscribers the broadcaster reached (lonelypss counts every websocket copy), and the identifier.
   * @throws {TypeError} On bad arguments.
   * @throws {AuthError} When the confirmation does not verify.
   * @throws {ConnectionError} When the socket is lost.
   * @throws {ClosedError} When the client is closed.
   */
  async notify(options: NotifyOptions): Promise<NotifyResult> {
    if (this.#closed) throw new ClosedError("Notifying failed: the client is closed");
    const topic = checkTopicArg(options?.topic, "Notifying");
    const action = `Notifying ${lossyUtf8.decode(topic)}`;
    const data = await materialize(options.data, options.length, action);
    const sha512 = options.sha512 ??
      new Uint8Array(await crypto.subtle.digest("SHA-512", data as Uint8Array<ArrayBuffer>));
    await this.connect();
    return await this.#notifier.send(topic, data, sha512, action);
  }

  /**
   * Ends every subscription and closes the socket.
   *
   * @returns Resolves when the socket is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    await this.#registry.closeAll();
    await this.#connecting?.catch(() => {});
    const ws = this.#ws;
    this.#lost(new ClosedError("The client was closed"));
    if (ws !== undefined && ws.readyState !== ws.CLOSED) {
      ws.close(1000);
      await this.#closedSocket;
    }
    this.status.close();
  }

  /** Calls {@linkcode WebsocketPubSubClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
