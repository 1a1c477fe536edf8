/**
 * The websocket side of the fake broadcaster: one {@linkcode FakeWebsocketPeer}
 * per connection on `/v1/websocket`.
 *
 * @module
 */

import type { AuthConfig, AuthResult } from "../../httppubsub/auth.ts";
import type { AuthDocument } from "../../httppubsub/auth_document.ts";
import { toHex as hex } from "../../core/bytes.ts";
import { compileGlob } from "../../httppubsub/glob.ts";
import { equalBytes } from "../../core/bytes.ts";
import {
  type B2SMessage,
  connectionNonce,
  decodeS2B,
  encodeB2S,
  type S2BMessage,
  websocketUrl,
} from "../../httppubsub/websocket_codec.ts";

const EMPTY = new Uint8Array(0);
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** What a peer needs from the broadcaster. */
export interface FakeWebsocketHost {
  /** Verifies the subscriber's frames ("to-broadcaster"). */
  readonly toBroadcaster: AuthConfig;
  /** Signs our frames ("to-subscriber"). */
  readonly toSubscriber: AuthConfig;
  /** The largest RECEIVE_STREAM part payload. */
  readonly partBytes: number;
  /** Fans a verified notify out; resolves with the subscribers reached. */
  fanOut(topic: Uint8Array, data: Uint8Array, sha512: Uint8Array): Promise<number>;
  /**
   * Counts one of this peer's subscriptions in (+1) or out (-1) of the
   * broadcaster's internal registrations, before the confirmation is sent.
   */
  subscribed(kind: "exact" | "glob", key: Uint8Array | string, delta: 1 | -1): void;
  /** Called when the peer's socket closed. */
  gone(peer: FakeWebsocketPeer): void;
}

interface Ack {
  type: "continue-receive" | "confirm-receive";
  identifier: Uint8Array;
  partId: number;
}

interface NotifyStream {
  identifier: Uint8Array;
  topic: Uint8Array;
  sha512: Uint8Array;
  tracing: Uint8Array;
  length: number;
  partId: number;
  parts: Uint8Array[];
  received: number;
}

/**
 * One websocket subscriber as the broadcaster sees it: configure, subscribe
 * and unsubscribe (a duplicate or unknown one closes the socket), notify and
 * notify streams, RECEIVE_STREAM parts with at most 3 unacknowledged, both
 * HMAC counters (a wrong one closes the socket with code 1000).
 *
 * @example
 * ```ts ignore
 * import { FakeBroadcaster } from "@x/pubsub/testing/httppubsub";
 *
 * const fake = new FakeBroadcaster();
 * await fake.serve();
 * // ... connect a WebsocketPubSubClient ...
 * console.log(fake.websocketPeers.length); // 1
 * ```
 */
export class FakeWebsocketPeer {
  readonly #socket: WebSocket;
  readonly #host: FakeWebsocketHost;
  /** The exact topics subscribed, by hex. */
  readonly exact: Map<string, Uint8Array> = new Map();
  /** The globs subscribed. */
  readonly globs: Map<string, (topic: string) => boolean> = new Map();
  /** RECEIVE_STREAM messages confirmed by this peer. */
  confirmed = 0;
  /** Closed with this reason, if the peer broke the protocol. */
  closedFor: string | undefined;
  #nonce: string | undefined;
  #subCounter = -1;
  #bcCounter = 1;
  #chain: Promise<unknown> = Promise.resolve();
  #sendChain: Promise<unknown> = Promise.resolve();
  readonly #acks: Ack[] = [];
  #ackWaiters: (() => void)[] = [];
  #stream: NotifyStream | undefined;
  #open = true;

  /**
   * Takes over an upgraded socket.
   *
   * @param socket The socket.
   * @param host The broadcaster.
   */
  constructor(socket: WebSocket, host: FakeWebsocketHost) {
    this.#socket = socket;
    this.#host = host;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (ev) => {
      const data = ev.data;
      this.#chain = this.#chain.then(() => this.#handle(data)).catch((err) => this.#drop(String(err)));
    };
    socket.onclose = () => {
      this.#open = false;
      for (const w of this.#ackWaiters.splice(0)) w();
      host.gone(this);
    };
  }

  /**
   * Tells whether a topic matches one of this peer's subscriptions.
   *
   * @param topic The topic.
   * @returns Whether it matches.
   */
  matches(topic: Uint8Array): boolean {
    if (this.exact.has(hex(topic))) return true;
    let text: string;
    try {
      text = strict.decode(topic);
    } catch {
      return false;
    }
    for (const m of this.globs.values()) if (m(text)) return true;
    return false;
  }

  /**
   * Closes the socket.
   *
   * @param code The close code.
   * @param reason The close reason.
   */
  close(code = 1000, reason = ""): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      this.#socket.close(code, reason);
    } catch { /* closed */ }
  }

  #drop(reason: string): void {
    this.closedFor ??= reason;
    this.close(1000, reason.slice(0, 100));
  }

  async #verify(doc: AuthDocument, authorization: string | undefined, tracing: Uint8Array, what: string) {
    const r: AuthResult = await this.#host.toBroadcaster.verify(doc, authorization, tracing);
    if (r !== "ok") throw new Error(`${what}: authorization ${r}`);
  }

  #send(m: B2SMessage): void {
    if (this.#open) this.#socket.send(encodeB2S(m));
  }

  async #sign(doc: AuthDocument): Promise<string | undefined> {
    return await this.#host.toSubscriber.authorize(doc, EMPTY);
  }

  #subUrl(): string {
    return websocketUrl(this.#nonce!, this.#subCounter--);
  }

  async #handle(data: unknown): Promise<void> {
    if (!this.#open) return;
    if (!(data instanceof ArrayBuffer)) throw new Error("a text frame");
    const m: S2BMessage = decodeS2B(new Uint8Array(data));
    if (this.#nonce === undefined) {
      if (m.type !== "configure") throw new Error(`first frame is ${m.type}, not configure`);
      await this.#verify({ ...m, type: "configure" }, m.authorization, m.tracing, "configure");
      if (m.enableZstd) throw new Error("zstd is not supported by the fake");
      const broadcasterNonce = crypto.getRandomValues(new Uint8Array(32));
      this.#nonce = await connectionNonce(m.subscriberNonce, broadcasterNonce);
      const authorization = await this.#sign({ type: "confirm-configure", broadcasterNonce });
      this.#send({ type: "confirm-configure", broadcasterNonce, authorization, tracing: EMPTY });
      return;
    }
    switch (m.type) {
      case "configure":
        throw new Error("configure twice");
      case "subscribe-exact":
      case "unsubscribe-exact": {
        const url = this.#subUrl();
        await this.#verify(
          { type: "subscribe-exact", url, recovery: "", topic: m.topic },
          m.authorization,
          m.tracing,
          m.type,
        );
        // Closed meanwhile: its subscriptions were already counted out.
        if (!this.#open) return;
        const key = hex(m.topic);
        if (m.type === "subscribe-exact") {
          if (this.exact.has(key)) throw new Error("already subscribed");
          this.exact.set(key, m.topic.slice());
          this.#host.subscribed("exact", m.topic, 1);
        } else if (this.exact.delete(key)) this.#host.subscribed("exact", m.topic, -1);
        else throw new Error("not subscribed");
        const authorization = await this.#sign({ type: "confirm-subscribe-exact", url, recovery: "", topic: m.topic });
        this.#send({
          type: m.type === "subscribe-exact" ? "confirm-subscribe-exact" : "confirm-unsubscribe-exact",
          topic: m.topic,
          authorization,
          tracing: EMPTY,
        });
        return;
      }
      case "subscribe-glob":
      case "unsubscribe-glob": {
        const url = this.#subUrl();
        await this.#verify(
          { type: "subscribe-glob", url, recovery: "", glob: m.glob },
          m.authorization,
          m.tracing,
          m.type,
        );
        if (!this.#open) return;
        if (m.type === "subscribe-glob") {
          if (this.globs.has(m.glob)) throw new Error("already subscribed");
          this.globs.set(m.glob, compileGlob(m.glob));
          this.#host.subscribed("glob", m.glob, 1);
        } else if (this.globs.delete(m.glob)) this.#host.subscribed("glob", m.glob, -1);
        else throw new Error("not subscribed");
        const authorization = await this.#sign({ type: "confirm-subscribe-glob", url, recovery: "", glob: m.glob });
        this.#send({
          type: m.type === "subscribe-glob" ? "confirm-subscribe-glob" : "confirm-unsubscribe-glob",
          glob: m.glob,
          authorization,
          tracing: EMPTY,
        });
        return;
      }
      case "notify": {
        await this.#verify(
          { type: "notify", topic: m.topic, identifier: m.identifier, sha512: m.sha512 },
          m.authorization,
          m.tracing,
          "notify",
        );
        await this.#finishNotify(m.identifier, m.topic, m.sha512, m.payload);
        return;
      }
      case "notify-stream": {
        if (m.partId === 0) {
          if (this.#stream !== undefined) throw new Error("a notify stream is already in progress");
          const s = m.start!;
          this.#stream = {
            identifier: m.identifier,
            topic: s.topic,
            sha512: s.sha512,
            tracing: m.tracing,
            length: s.length,
            partId: -1,
            parts: [],
            received: 0,
          };
        }
        const st = this.#stream;
        if (st === undefined || !equalBytes(st.identifier, m.identifier) || m.partId !== st.partId + 1) {
          throw new Error("notify stream: part out of order");
        }
        await this.#verify(
          { type: "notify", topic: st.topic, identifier: st.identifier, sha512: st.sha512 },
          m.authorization,
          st.tracing,
          "notify stream",
        );
        st.partId = m.partId;
        st.parts.push(m.payload);
        st.received += m.payload.length;
        if (st.received > st.length) throw new Error("notify stream: too much data");
        if (st.received < st.length) {
          const authorization = await this.#sign({
            type: "continue-notify",
            identifier: st.identifier,
            partId: m.partId,
          });
          this.#send({
            type: "continue-notify",
            identifier: st.identifier,
            partId: m.partId,
            authorization,
            tracing: EMPTY,
          });
          return;
        }
        this.#stream = undefined;
        const data = new Uint8Array(st.length);
        let at = 0;
        for (const p of st.parts) {
          data.set(p, at);
          at += p.length;
        }
        await this.#finishNotify(st.identifier, st.topic, st.sha512, data);
        return;
      }
      case "continue-receive":
      case "confirm-receive": {
        const ack = this.#acks.shift();
        if (ack === undefined || ack.type !== m.type || !equalBytes(ack.identifier, m.identifier)) {
          throw new Error(`unexpected ${m.type}`);
        }
        const url = this.#subUrl();
        if (m.type === "continue-receive") {
          if (m.partId !== ack.partId) throw new Error("continue receive: wrong part");
          await this.#verify(
            { type: "continue-receive", identifier: m.identifier, partId: m.partId, url },
            m.authorization,
            m.tracing,
            "continue receive",
          );
        } else {
          await this.#verify(
            { type: "confirm-receive", identifier: m.identifier, numSubscribers: m.numSubscribers, url },
            m.authorization,
            m.tracing,
            "confirm receive",
          );
          this.confirmed++;
        }
        const w = this.#ackWaiters.shift();
        w?.();
        return;
      }
    }
  }

  async #finishNotify(identifier: Uint8Array, topic: Uint8Array, sha512: Uint8Array, data: Uint8Array) {
    const actual = new Uint8Array(await crypto.subtle.digest("SHA-512", data as Uint8Array<ArrayBuffer>));
    if (!equalBytes(actual, sha512)) throw new Error("notify: the SHA-512 does not match");
    const subscribers = await this.#host.fanOut(topic, data, sha512);
    const authorization = await this.#sign({ type: "confirm-notify", identifier, subscribers, topic, sha512 });
    this.#send({ type: "confirm-notify", identifier, subscribers, authorization, tracing: EMPTY });
  }

  /**
   * Queues a message as RECEIVE_STREAM parts (at most 3 unacknowledged).
   *
   * @param topic The topic.
   * @param data The body.
   * @param sha512 Its SHA-512.
   * @returns Resolves once every part was sent.
   */
  deliver(topic: Uint8Array, data: Uint8Array, sha512: Uint8Array): Promise<void> {
    const run = this.#sendChain.then(async () => {
      const identifier = crypto.getRandomValues(new Uint8Array(4));
      const size = Math.max(512, this.#host.partBytes);
      for (let partId = 0, at = 0; at < data.length || partId === 0; partId++, at += size) {
        while (this.#open && this.#acks.length >= 3) await new Promise<void>((r) => this.#ackWaiters.push(r));
        if (!this.#open) return;
        const last = at + size >= data.length;
        const url = websocketUrl(this.#nonce!, this.#bcCounter++);
        const authorization = await this.#sign({ type: "receive", url, topic, identifier, sha512 });
        this.#acks.push({ type: last ? "confirm-receive" : "continue-receive", identifier, partId });
        this.#send({
          type: "receive-stream",
          authorization,
          tracing: EMPTY,
          identifier,
          partId,
          start: partId === 0 ? { topic, length: data.length, sha512 } : undefined,
          payload: data.subarray(at, at + size),
        });
      }
    });
    this.#sendChain = run.catch(() => {});
    return run;
  }

  /**
   * Sends a MISSED for a topic.
   *
   * @param topic The topic.
   * @returns Resolves once sent.
   */
  missed(topic: Uint8Array): Promise<void> {
    const run = this.#sendChain.then(async () => {
      const url = websocketUrl(this.#nonce!, this.#bcCounter++);
      const authorization = await this.#sign({ type: "missed", recovery: url, topic });
      this.#send({ type: "missed", authorization, tracing: EMPTY, topic });
    });
    this.#sendChain = run.catch(() => {});
    return run;
  }
}
