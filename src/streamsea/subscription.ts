/**
 * One stream-sea subscription on its own WebSocket: authenticate, subscribe,
 * deliver, reconnect. The protocol has no unsubscribe, so ending the
 * subscription closes its socket.
 *
 * @module
 */

import { delay, withDeadline } from "../core/async.ts";
import { AuthError, ConnectionError, ProtocolError, TimeoutError } from "../core/errors.ts";
import { isPausable, openWebSocket, type WebSocketConstructor } from "../core/open_web_socket.ts";
import type { StatusChannel } from "../core/status.ts";
import type { OverflowPolicy, PushController, PushSource, StreamOptions } from "../core/source.ts";
import { reconnectDelay, type ReconnectOptions, type ResolvedReconnectOptions } from "../core/backoff.ts";
import { StreamSeaError } from "./errors.ts";
import { StreamSeaMessage } from "./message.ts";
import {
  type CredentialOptions,
  decodeServerFrame,
  DEFAULT_MAX_FRAME,
  encodeAuthenticate,
  encodeSubscribe,
  groupIdFromName,
  type ServerFrame,
} from "./codec.ts";

/**
 * Options of `StreamSeaClient.subscribe`.
 *
 * @example
 * ```ts
 * import type { StreamSeaSubscribeOptions } from "@x/pubsub/streamsea";
 *
 * const options: StreamSeaSubscribeOptions = {
 *   group: "workers",
 *   highWaterMark: 256,
 *   overflow: "drop-oldest",
 *   reconnect: { delayMs: 1000, maxDelayMs: 10_000 },
 * };
 * console.log(options.group); // workers
 * ```
 */
export interface StreamSeaSubscribeOptions extends StreamOptions {
  /**
   * Join this consumer group (an RFC 4122 UUID): the subscriptions of one
   * group share the stream's messages, each message going to one of them.
   */
  groupId?: string | undefined;
  /** Join the group with this name (mapped to a stable UUID by `groupIdFromName`). */
  group?: string | undefined;
  /**
   * Get every message: a fresh random groupId for this subscription, new on
   * each connection. Without `groupId`, `group` or `fanout`, the server's
   * default group applies (assumed: one per client id, so the instances of
   * one backend share the messages).
   */
  fanout?: boolean | undefined;
  /** Deliver each element of a batch (an array payload) as its own message. Default true. */
  debatch?: boolean | undefined;
  /** How this subscription authenticates; default the client's. */
  credentials?: CredentialOptions | undefined;
  /** Reconnection after the socket drops, or `false` to end the stream with a `ConnectionError` instead. */
  reconnect?: ReconnectOptions | false | undefined;
  /** Time allowed for each reply of the handshake, in milliseconds. Default 10 000. */
  replyTimeoutMs?: number | undefined;
  /** The largest frame accepted from the server, in UTF-16 code units. Default 64 Mi. */
  maxFrameLength?: number | undefined;
}

/** Everything a source needs, resolved by the client. */
export interface SourceSettings {
  readonly url: string;
  readonly webSocket: WebSocketConstructor | undefined;
  readonly stream: string;
  readonly credentials: CredentialOptions;
  readonly groupId: string | undefined;
  readonly groupName: string | undefined;
  readonly fanout: boolean;
  readonly debatch: boolean;
  readonly reconnect: ResolvedReconnectOptions | false;
  readonly replyTimeoutMs: number;
  readonly maxFrameLength: number;
  readonly status: StatusChannel;
  readonly toMessage: (stream: string, payload: unknown, groupId: string | undefined) => StreamSeaMessage;
  readonly onEnd: () => void;
}

/**
 * The overflow policies of a stream-sea subscription, the default first.
 * Where the sockets can be paused (`NoDelayWebSocket`, the default under
 * Deno), `"block"` stops reading the socket while the buffer is full, so TCP
 * holds the server; it is the default. Where they cannot (the platform's
 * `WebSocket` in browsers), `"block"` would have to queue what keeps
 * arriving, so it is not offered, and the default fails the subscription, as
 * the original clients do when their queue overflows.
 *
 * @param pausable Whether the sockets can be paused.
 * @returns The policies.
 */
export function streamSeaOverflow(pausable: boolean): readonly OverflowPolicy[] {
  return pausable ? ["block", "error", "drop-oldest", "drop-newest"] : ["error", "drop-oldest", "drop-newest"];
}

/** The default way to turn a delivered payload into a message. */
export function plainMessage(stream: string, payload: unknown, groupId: string | undefined): StreamSeaMessage {
  return new StreamSeaMessage({ stream, payload, groupId });
}

function retriable(err: unknown): boolean {
  return err instanceof ConnectionError || err instanceof TimeoutError;
}

/** Sends on an open socket; on a closing one the text is dropped and the close event tells the rest. */
function send(ws: WebSocket, text: string): void {
  if (ws.readyState !== 1 /* OPEN */) return;
  try {
    ws.send(text);
  } catch { /* closing under us: the close event follows */ }
}

/** How long closing a socket waits for its close event. */
const CLOSE_WAIT_MS = 2000;

/**
 * Closes a WebSocket and waits for its close event, at most 2 s; never
 * rejects. (The fake server closes its side with it too.)
 *
 * @param ws The socket; nothing is done when it is closed already.
 * @param code The close code. Default 1000.
 * @param reason The close reason, if any.
 * @returns Once the socket closed or the wait ended.
 */
export async function closeSocket(ws: WebSocket, code = 1000, reason?: string): Promise<void> {
  if (ws.readyState === 3 /* CLOSED */) return;
  const closed = (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      ws.addEventListener("close", () => resolve(), { once: true, signal });
      try {
        ws.close(code, reason);
      } catch {
        resolve();
      }
    });
  await withDeadline(CLOSE_WAIT_MS, closed).catch(() => {});
}

/** The push source behind a stream-sea subscription. */
export class StreamSeaSource implements PushSource<StreamSeaMessage> {
  readonly kind = "push" as const;
  readonly #s: SourceSettings;
  #ctl!: PushController<StreamSeaMessage>;
  #ws: WebSocket | undefined;
  #groupId: string | undefined;
  /** Under "block": whether the buffer asked for a pause (a new socket pauses once subscribed then). */
  #paused = false;
  /** The socket past its handshake, the one to pause. */
  #live: WebSocket | undefined;
  /** Messages taken off a paused socket's last frame (one batch), waiting for room in order. */
  #waiting = 0;
  #tail: Promise<void> = Promise.resolve();
  #connects = 0;
  readonly #closing = new Set<Promise<void>>();

  constructor(settings: SourceSettings) {
    this.#s = settings;
    this.#groupId = settings.groupId;
  }

  /** The groupId of the current connection, if any. */
  get groupId(): string | undefined {
    return this.#groupId;
  }

  async start(controller: PushController<StreamSeaMessage>): Promise<void> {
    this.#ctl = controller;
    if (this.#s.groupName !== undefined) this.#groupId = await groupIdFromName(this.#s.groupName);
    controller.signal.throwIfAborted();
    this.#s.status.emit("connecting", { stream: this.#s.stream, url: this.#s.url });
    await this.#connect();
    this.#s.status.emit("connected", { stream: this.#s.stream, url: this.#s.url, groupId: this.#groupId });
  }

  async cancel(): Promise<void> {
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws !== undefined) await closeSocket(ws);
    await Promise.all(this.#closing);
    this.#s.onEnd();
  }

  /** Messages of a batch frame that wait for room (counted in the subscription's `buffered`). */
  get held(): number {
    return this.#waiting;
  }

  /** Under "block": the buffer is full; stop reading the socket (TCP then holds the server). */
  pause(): void {
    this.#paused = true;
    const ws = this.#live;
    if (ws !== undefined && isPausable(ws)) ws.pause();
  }

  /** Under "block": there is room again. */
  resume(): void {
    this.#paused = false;
    const ws = this.#live;
    if (ws !== undefined && isPausable(ws)) ws.resume();
  }

  /**
   * Hands a message to the buffer. Under a drop or error policy the policy
   * decides when it is full. Under "block" (offered only where the socket
   * can pause) a full buffer has paused the socket: the rest of the frame
   * being handled (a batch) waits for room, in order.
   */
  #emit(message: StreamSeaMessage): void {
    const c = this.#ctl;
    if (this.#waiting === 0 && c.offer(message)) return;
    if (c.signal.aborted) return;
    this.#waiting++;
    this.#tail = this.#tail.then(() => c.push(message)).then(
      () => void this.#waiting--,
      () => void this.#waiting--,
    );
  }

  #fail(err: unknown): void {
    if (this.#ctl.signal.aborted) return;
    this.#s.status.emit("error", { stream: this.#s.stream }, err);
    this.#ctl.error(err);
  }

  /** Opens a socket and runs the handshake; resolves once the subscription is acknowledged. */
  #connect(): Promise<void> {
    const s = this.#s;
    const n = ++this.#connects;
    if (s.fanout) this.#groupId = crypto.randomUUID();
    const groupId = this.#groupId;
    return new Promise<void>((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = openWebSocket(s.url, { webSocket: s.webSocket });
      } catch (err) {
        reject(
          new ConnectionError(`Subscribing to ${s.stream} failed: ${s.url} is not a WebSocket URL`, {
            url: s.url,
            cause: err,
          }),
        );
        return;
      }
      this.#ws = ws;
      let phase: "open" | "auth" | "subscribe" | "live" = "open";
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = (what: string) => {
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            handshakeFail(
              new TimeoutError(`Subscribing to ${s.stream} failed: ${what} timed out after ${s.replyTimeoutMs} ms`, {
                timeoutMs: s.replyTimeoutMs,
              }),
            ),
          s.replyTimeoutMs,
        );
      };
      const handshakeFail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.#ws === ws) this.#ws = undefined;
        void closeSocket(ws).then(() => reject(err));
      };
      const fatal = (err: unknown) => {
        if (!settled) {
          handshakeFail(err);
          return;
        }
        if (this.#ws === ws) this.#ws = undefined;
        this.#closing.add(closeSocket(ws));
        this.#fail(err);
      };
      arm("opening the WebSocket");
      ws.onopen = async () => {
        phase = "auth";
        arm("the authenticate reply");
        const c = s.credentials;
        try {
          const jwt = c.type === "jwt" ? (typeof c.jwt === "string" ? c.jwt : await c.jwt()) : "";
          if (c.type === "jwt" && typeof jwt !== "string") throw new TypeError("the jwt function returned no string");
          if (!settled) {
            send(ws, encodeAuthenticate(1, c.type === "basic" ? c : { type: "jwt", clientId: c.clientId, jwt }));
          }
        } catch (err) {
          handshakeFail(new AuthError(`Subscribing to ${s.stream} failed: no JWT could be obtained`, { cause: err }));
        }
      };
      ws.onmessage = (ev: MessageEvent) => {
        if (this.#ws !== ws) return;
        let frame: ServerFrame;
        try {
          frame = decodeServerFrame(ev.data, s.maxFrameLength);
        } catch (err) {
          fatal(err);
          return;
        }
        if (phase === "auth") {
          if (frame.id !== 1) return this.#ignored(frame);
          if (frame.action !== "authenticate") {
            return fatal(new ProtocolError(`Authenticating failed: the reply to request 1 has action ${frame.action}`));
          }
          if (frame.success === undefined) {
            return fatal(new ProtocolError("Authenticating failed: the reply to request 1 has no success field"));
          }
          if (!frame.success) {
            return fatal(
              new AuthError(
                `Subscribing to ${s.stream} failed: authentication refused: ${frame.error ?? "no reason"}`,
                {
                  url: s.url,
                },
              ),
            );
          }
          phase = "subscribe";
          arm("the subscribe reply");
          send(ws, encodeSubscribe(2, s.stream, groupId));
          return;
        }
        if (phase === "subscribe" || phase === "live") {
          if (frame.id !== 2) return this.#ignored(frame);
          if (frame.action !== "subscription" && frame.action !== "subscribe") {
            return fatal(
              new ProtocolError(`Subscribing to ${s.stream} failed: a reply to request 2 has action ${frame.action}`),
            );
          }
          if (frame.streamName !== undefined && frame.streamName !== s.stream) {
            return fatal(
              new ProtocolError(`Subscribing to ${s.stream} failed: a reply names stream ${frame.streamName}`),
            );
          }
          if (frame.success === false) {
            return fatal(
              new StreamSeaError(`Subscribing to ${s.stream} was refused: ${frame.error ?? "no reason"}`),
            );
          }
          if (phase === "subscribe") {
            if (frame.success !== true) {
              return fatal(
                new ProtocolError(`Subscribing to ${s.stream} failed: the first reply has no success field`),
              );
            }
            phase = "live";
            this.#live = ws;
            if (this.#paused && isPausable(ws)) ws.pause();
            settled = true;
            clearTimeout(timer);
            resolve();
            return;
          }
          if (!frame.hasPayload) {
            return fatal(new ProtocolError(`Receiving from ${s.stream} failed: a delivery has no payload`));
          }
          const payload = frame.payload;
          if (s.debatch && Array.isArray(payload)) {
            for (const item of payload) this.#emit(s.toMessage(s.stream, item, groupId));
          } else this.#emit(s.toMessage(s.stream, payload, groupId));
          return;
        }
        this.#ignored(frame);
      };
      ws.onerror = () => {/* a close event follows */};
      ws.onclose = (ev: CloseEvent) => {
        if (!settled) {
          handshakeFail(
            new ConnectionError(
              `Subscribing to ${s.stream} failed: the connection closed (code ${ev.code}${
                ev.reason ? `, ${ev.reason}` : ""
              }) during the ${phase === "open" ? "opening" : phase === "auth" ? "authentication" : "subscribe"}`,
              { url: s.url },
            ),
          );
          return;
        }
        if (this.#ws !== ws) return;
        this.#ws = undefined;
        this.#dropped(ev, n);
      };
    });
  }

  #ignored(frame: ServerFrame): void {
    this.#s.status.emit("ignored", { stream: this.#s.stream, id: frame.id, action: frame.action });
  }

  #dropped(ev: CloseEvent, n: number): void {
    const s = this.#s;
    if (this.#ctl.signal.aborted) return;
    const err = new ConnectionError(
      `Receiving from ${s.stream} failed: the connection closed (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ""})`,
      { url: s.url },
    );
    s.status.emit("disconnected", { stream: s.stream, code: ev.code, reason: ev.reason, connection: n }, err);
    if (s.reconnect === false) {
      this.#fail(err);
      return;
    }
    void this.#reconnect(s.reconnect, err);
  }

  async #reconnect(policy: ResolvedReconnectOptions, cause: unknown): Promise<void> {
    const s = this.#s;
    let last = cause;
    for (let attempt = 1;; attempt++) {
      if (attempt > policy.maxAttempts) {
        this.#fail(
          new ConnectionError(`Reconnecting to ${s.stream} failed: gave up after ${policy.maxAttempts} attempts`, {
            url: s.url,
            cause: last,
          }),
        );
        return;
      }
      const delayMs = reconnectDelay(attempt, policy);
      s.status.emit("reconnecting", { stream: s.stream, attempt, delayMs });
      await delay(delayMs, this.#ctl.signal); // the subscription's end (aborted before cancel()) ends the wait
      if (this.#ctl.signal.aborted) return;
      try {
        await this.#connect();
      } catch (err) {
        if (this.#ctl.signal.aborted) return;
        last = err;
        if (!retriable(err)) {
          this.#fail(err);
          return;
        }
        continue;
      }
      if (this.#ctl.signal.aborted) {
        const ws = this.#ws;
        this.#ws = undefined;
        if (ws !== undefined) await closeSocket(ws);
        return;
      }
      s.status.emit("reconnected", { stream: s.stream, attempt, groupId: this.#groupId });
      return;
    }
  }
}

/** Re-exported default so the client need not know the setting's shape. */
export const DEFAULT_SUBSCRIBE = {
  debatch: true,
  replyTimeoutMs: 10_000,
  maxFrameLength: DEFAULT_MAX_FRAME,
} as const;
