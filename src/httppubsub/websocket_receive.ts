/**
 * The receiving half of a `WebsocketPubSubClient`: RECEIVE_STREAM parts
 * assembled (or streamed to the readers once over `bufferLimit`), verified
 * and acknowledged; MISSED notices; and the time window that tells a copy of
 * a message lately delivered (lonelypss sends one per matching registration
 * of any of its websocket clients).
 *
 * @module
 */

import { createSHA512 } from "hash-wasm";
import { AuthError, ProtocolError } from "../core/errors.ts";
import { equalBytes, toHex } from "../core/bytes.ts";
import type { StatusChannel } from "../core/status.ts";
import type { AuthConfig } from "./auth.ts";
import type { AuthDocument } from "./auth_document.ts";
import { HttpPubSubMessage } from "./message.ts";
import { teeInto } from "./tee_into.ts";
import { lossyUtf8, matches, utf8OrUndefined } from "./local_subscription.ts";
import { handOver, type SubscriptionRegistry } from "./registry.ts";
import type { B2SMessage, S2BMessage } from "./websocket_codec.ts";

const EMPTY = new Uint8Array(0);

/** What the receiving half needs of its client. */
export interface ReceiveContext {
  readonly registry: SubscriptionRegistry;
  readonly receiveAuth: AuthConfig;
  readonly status: StatusChannel;
  readonly bufferLimit: number;
  readonly duplicateWindowMs: number;
  /** Whether the client failed for good (frames still queued are then ignored). */
  failed(): boolean;
  /** Signs and sends one frame on the socket with the next subscriber counter url. */
  send(
    doc: (url: string | undefined) => AuthDocument,
    message: (url: string | undefined, authorization: string | undefined) => S2BMessage,
  ): Promise<string | undefined>;
}

interface BodySink {
  controller: ReadableStreamDefaultController<Uint8Array>;
  cancelled: boolean;
  room(): Promise<void>;
  delivered: Promise<number>;
}

interface Receiving {
  sink: BodySink | undefined;
  /** A copy of a message already delivered: drained, checked and confirmed with 0. */
  copy: boolean;
  identifier: Uint8Array;
  topic: Uint8Array;
  sha512: Uint8Array;
  length: number;
  parts: Uint8Array[];
  received: number;
  partId: number;
  hasher: Awaited<ReturnType<typeof createSHA512>>;
}

/** Receives messages on one client's socket (one at a time, as the broadcaster sends them). */
export class WebsocketReceive {
  readonly #ctx: ReceiveContext;
  /** Messages delivered lately, by topic and SHA-512: until when a same one is a copy. */
  readonly #copies = new Map<string, number>();
  #receiving: Receiving | undefined;

  /**
   * @param ctx The client's side.
   */
  constructor(ctx: ReceiveContext) {
    this.#ctx = ctx;
  }

  /** A new socket: nothing half received, no copies to expect (all copies of a message come on one socket). */
  reset(): void {
    this.#receiving = undefined;
    this.#copies.clear();
  }

  /**
   * The socket is gone: a message being streamed to readers ends with `err`.
   *
   * @param err What the readers see.
   */
  fail(err: Error): void {
    const sink = this.#receiving?.sink;
    if (sink !== undefined && !sink.cancelled) {
      try {
        sink.controller.error(err);
      } catch { /* already closed */ }
    }
    this.#receiving = undefined;
  }

  /**
   * Handles one RECEIVE_STREAM part or MISSED frame, in arrival order:
   * verifies it, assembles or streams the message, acknowledges the part
   * (CONTINUE_RECEIVE) or the message (CONFIRM_RECEIVE, once the readers
   * took it).
   *
   * @param m The frame.
   * @param url The broadcaster counter url it was signed for.
   * @param arrived When it arrived (`performance.now()`), for the copy window.
   * @returns Resolves when handled.
   * @throws {ProtocolError} When the broadcaster broke the protocol.
   * @throws {AuthError} When a frame's authorization does not verify.
   */
  async process(m: B2SMessage, url: string, arrived: number): Promise<void> {
    if (this.#ctx.failed()) return;
    if (m.type === "missed") {
      const ok = await this.#ctx.receiveAuth.verify(
        { type: "missed", recovery: url, topic: m.topic },
        m.authorization,
        m.tracing,
      );
      if (ok !== "ok") throw new AuthError(`Receiving MISSED failed: the authorization was ${ok}`);
      const text = lossyUtf8.decode(m.topic);
      this.#ctx.status.emit("missed", { topic: text });
      const key = toHex(m.topic);
      const strict = utf8OrUndefined(m.topic);
      this.#ctx.registry.missed(text, (s) => matches(s, key, strict));
      return;
    }
    if (m.type !== "receive-stream") return;
    let r = this.#receiving;
    if (m.partId === 0) {
      if (r !== undefined) throw new ProtocolError("Receiving failed: a new message started before the last ended");
      const start = m.start!;
      const hasher = await createSHA512();
      hasher.init();
      r = {
        sink: undefined,
        copy: this.#isCopy(start.topic, start.sha512, arrived),
        identifier: m.identifier,
        topic: start.topic,
        sha512: start.sha512,
        length: start.length,
        parts: [],
        received: 0,
        partId: 0,
        hasher,
      };
      this.#receiving = r;
      if (!r.copy && r.length > this.#ctx.bufferLimit) r.sink = this.#deliverStream(r);
    } else {
      if (r === undefined || !equalBytes(r.identifier, m.identifier) || m.partId !== r.partId + 1) {
        throw new ProtocolError(`Receiving failed: part ${m.partId} does not continue the message being received`);
      }
      r.partId = m.partId;
    }
    const ok = await this.#ctx.receiveAuth.verify(
      { type: "receive", url, topic: r.topic, identifier: r.identifier, sha512: r.sha512 },
      m.authorization,
      m.tracing,
    );
    if (ok !== "ok") throw new AuthError(`Receiving part ${m.partId} failed: the authorization was ${ok}`);
    r.received += m.payload.length;
    if (r.received > r.length) throw new ProtocolError("Receiving failed: the parts are longer than the message");
    r.hasher.update(m.payload);
    const sink = r.sink;
    if (sink === undefined) {
      if (!r.copy) r.parts.push(m.payload);
    } else if (!sink.cancelled) {
      if (m.payload.length > 0) sink.controller.enqueue(m.payload);
      if (r.received === r.length) {
        if (!equalBytes(r.hasher.digest("binary"), r.sha512)) {
          const err = new ProtocolError("Receiving failed: the SHA-512 of the message does not match");
          sink.controller.error(err);
          this.#receiving = undefined;
          throw err;
        }
        sink.controller.close();
      } else {
        // Acknowledge only once the reader has taken what is queued: the broadcaster holds the rest.
        await sink.room();
      }
    }
    if (r.received < r.length) {
      const id = r.identifier;
      const partId = m.partId;
      await this.#ctx.send(
        (u) => ({ type: "continue-receive", identifier: id, partId, url: u! }),
        (_u, authorization) => ({
          type: "continue-receive",
          identifier: id,
          partId,
          authorization,
          tracing: EMPTY,
        }),
      );
      return;
    }
    this.#receiving = undefined;
    let n: number;
    if (sink !== undefined) {
      n = await sink.delivered;
    } else {
      if (!equalBytes(r.hasher.digest("binary"), r.sha512)) {
        throw new ProtocolError("Receiving failed: the SHA-512 of the message does not match");
      }
      if (r.copy) n = 0;
      else {
        const data = new Uint8Array(r.length);
        let at = 0;
        for (const p of r.parts) {
          data.set(p, at);
          at += p.length;
        }
        n = await this.#deliver(r, data);
      }
    }
    const id = r.identifier;
    await this.#ctx.send((u) => ({ type: "confirm-receive", identifier: id, numSubscribers: n, url: u! }), (
      _u,
      authorization,
    ) => ({ type: "confirm-receive", identifier: id, authorization, tracing: EMPTY, numSubscribers: n }));
    // The broadcaster sends the next copy once it has room: count the window from now as well.
    if (!r.copy) this.#delivered(r.topic, r.sha512);
  }

  /**
   * Whether a message that arrived at `arrived` is a copy of one delivered
   * lately (see `duplicateWindowMs`); if not, it is remembered as delivered.
   */
  #isCopy(topic: Uint8Array, sha512: Uint8Array, arrived: number): boolean {
    if (this.#ctx.duplicateWindowMs === 0) return false;
    const key = `${toHex(topic)}:${toHex(sha512)}`;
    const until = this.#copies.get(key);
    if (until !== undefined && arrived < until) return true;
    this.#copies.set(key, arrived + this.#ctx.duplicateWindowMs);
    if (this.#copies.size > 10_000) {
      const now = performance.now();
      for (const [k, t] of this.#copies) if (t <= now) this.#copies.delete(k);
    }
    return false;
  }

  #delivered(topic: Uint8Array, sha512: Uint8Array): void {
    const key = `${toHex(topic)}:${toHex(sha512)}`;
    if (this.#copies.has(key)) this.#copies.set(key, performance.now() + this.#ctx.duplicateWindowMs);
  }

  /** Starts delivering a streamed body: the readers get messages whose body fills as parts arrive. */
  #deliverStream(r: Receiving): BodySink {
    let wake: (() => void) | undefined;
    const sink = {
      controller: undefined as unknown as ReadableStreamDefaultController<Uint8Array>,
      cancelled: false,
      room: () =>
        sink.cancelled || (sink.controller.desiredSize ?? 1) > 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => wake = resolve),
      delivered: Promise.resolve(0),
    };
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        sink.controller = c;
      },
      pull() {
        wake?.();
        wake = undefined;
      },
      cancel() {
        sink.cancelled = true;
        wake?.();
        wake = undefined;
      },
    }, new CountQueuingStrategy({ highWaterMark: 1 }));
    const key = toHex(r.topic);
    const text = utf8OrUndefined(r.topic);
    const targets = this.#ctx.registry.targets(key, text);
    if (targets.length === 0) {
      sink.cancelled = true;
      void stream.cancel();
      return sink;
    }
    const streams = teeInto(stream, targets.length);
    sink.delivered = Promise.allSettled(targets.map((s, i) => {
      const msg = new HttpPubSubMessage({
        topic: r.topic,
        sha512: r.sha512,
        identifier: r.identifier,
        length: r.length,
        stream: streams[i]!,
      });
      return handOver(s, msg);
    })).then((results) => {
      const n = results.filter((x) => x.status === "fulfilled").length;
      if (n === 0) {
        // Nobody took it (the subscriptions ended): drain the rest from the wire.
        sink.cancelled = true;
        wake?.();
      }
      return n;
    });
    return sink;
  }

  async #deliver(r: Receiving, data: Uint8Array): Promise<number> {
    const key = toHex(r.topic);
    const text = utf8OrUndefined(r.topic);
    const targets = this.#ctx.registry.targets(key, text);
    const results = await Promise.allSettled(targets.map((s) => {
      const msg = new HttpPubSubMessage({
        topic: r.topic,
        sha512: r.sha512,
        identifier: r.identifier,
        length: r.length,
        data,
      });
      return handOver(s, msg);
    }));
    return results.filter((x) => x.status === "fulfilled").length;
  }
}
