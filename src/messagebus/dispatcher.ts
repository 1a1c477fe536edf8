/**
 * `Dispatcher`: hands each message a messagebus client reads to its
 * handlers, then to its streams, and answers pings with the probe's echo.
 *
 * @module
 */

import { detachBytes } from "../core/bytes.ts";
import { ProtocolError } from "../core/errors.ts";
import type { StatusChannel } from "../core/status.ts";
import type { BusMessage, ImageField } from "./codec.ts";
import { type AuthorizationRequestEvent, DataMessage, type Notification } from "./message.ts";
import type { AuthorizationHandler, DataHandler, NotificationHandler } from "./options.ts";
import type { BusStreams, Sink } from "./streams.ts";

/** What the dispatcher reads from its client. */
export interface DispatchContext {
  /** The client's URL, for errors and status events. */
  readonly url: string;
  /** The dialect's image field. */
  readonly imageField: ImageField;
  /** The feed and topic of the client's ping probe: their data and notifications are never dispatched. */
  readonly probeFeed: string;
  /** See `probeFeed`. */
  readonly probeTopic: string;
  /** Handlers of data, awaited in order. */
  readonly dataHandlers: readonly DataHandler[];
  /** Handlers of notifications, awaited in order. */
  readonly notificationHandlers: readonly NotificationHandler[];
  /** Handlers of authorization requests, awaited in order. */
  readonly authorizationHandlers: readonly AuthorizationHandler[];
  /** Where a handler's error is reported (`"error"` with `detail.handler`). */
  readonly status: StatusChannel;
  /** The streams fed. */
  readonly streams: BusStreams;
}

function noop(): void {}

async function give<M>(sink: Sink<M>, message: M): Promise<void> {
  const c = sink.controller;
  if (c.offer(message)) return;
  await c.push(message).catch(noop);
}

/**
 * Dispatches by message type (data 8 and 9, notification 3, authorization
 * request 6; any other type from a server is a `ProtocolError`), and keeps
 * the ping waiters, answered oldest first by the probe's echoed add.
 */
export class Dispatcher {
  readonly #c: DispatchContext;
  readonly #pings = new Map<string, () => void>();
  #pingSeq = 0;
  #dispatching = false;

  constructor(context: DispatchContext) {
    this.#c = context;
  }

  /** Whether a message is being dispatched (handlers or a full stream may hold it). */
  get dispatching(): boolean {
    return this.#dispatching;
  }

  /** Registers a ping waiting for its echo; returns its id and the echo. */
  expectEcho(): { id: string; echoed: Promise<void> } {
    const id = String(++this.#pingSeq);
    const echoed = new Promise<void>((resolve) => this.#pings.set(id, resolve));
    return { id, echoed };
  }

  /**
   * Forgets a ping. One that timed out (`late`) keeps its place, answering
   * nothing, so that its late echo on this connection is not taken for a
   * later ping's.
   */
  forgetEcho(id: string, late: boolean): void {
    if (late && this.#pings.has(id)) this.#pings.set(id, noop);
    else this.#pings.delete(id);
  }

  /** Wakes every ping waiting (the connection was lost or the client ended: no echo will come). */
  releaseEchoes(): void {
    for (const resolve of this.#pings.values()) resolve();
    this.#pings.clear();
  }

  /** Dispatches one message; resolves once every handler and stream took it. */
  async dispatch(m: BusMessage): Promise<void> {
    // One async frame per message (the read loop awaits it): the switch is inline, not a second async call.
    this.#dispatching = true;
    try {
      const c = this.#c;
      switch (m.type) {
        case 8:
        case 9: {
          // Data on our own probe topic (a user's publish there): never dispatched.
          if (m.feed === c.probeFeed && m.topic === c.probeTopic) return;
          const image = c.imageField === "bool" ? m.isImage === true : m.contentType ?? "";
          for (const h of [...c.dataHandlers]) {
            await this.#call("data", () => h(m.user, m.host, m.feed, m.topic, m.packets, image));
          }
          const sinks = c.streams.dataSinks(m.feed, m.topic);
          if (sinks === undefined) return;
          const notice = m.user === "" && m.host === "" && m.packets === null;
          // Packets are views into the read buffer: a message kept for a reader must not keep it all alive.
          const packets = m.packets?.map((p) => p.data === null ? p : { ...p, data: detachBytes(p.data) }) ?? null;
          for (const sink of [...sinks]) {
            // Adapter streams (labelled) do not get the server's own notices.
            if (notice && sink.label !== undefined) continue;
            const msg = new DataMessage({
              topic: sink.label,
              topicName: m.topic,
              feed: m.feed,
              user: m.user,
              host: m.host,
              isImage: m.isImage,
              contentType: m.contentType,
              packets,
              unicast: m.type === 9,
            });
            await give(sink, msg);
          }
          return;
        }
        case 3: {
          if (m.feed === c.probeFeed && m.topic === c.probeTopic) {
            // Our probe's own subscription, echoed: the add answers the oldest ping; never dispatched.
            if (m.isAdd) {
              const oldest = this.#pings.entries().next();
              if (!oldest.done) {
                this.#pings.delete(oldest.value[0]);
                oldest.value[1]();
              }
            }
            return;
          }
          for (const h of [...c.notificationHandlers]) {
            await this.#call("notification", () => h(m.clientId, m.user, m.host, m.feed, m.topic, m.isAdd));
          }
          const sinks = c.streams.notificationSinks(m.feed);
          if (sinks === undefined) return;
          const n: Notification = {
            clientId: m.clientId,
            user: m.user,
            host: m.host,
            feed: m.feed,
            topic: m.topic,
            isAdd: m.isAdd,
          };
          for (const sink of [...sinks]) await give(sink, n);
          return;
        }
        case 6: {
          for (const h of [...c.authorizationHandlers]) {
            await this.#call("authorization", () => h(m.clientId, m.host, m.user, m.feed, m.topic));
          }
          const r: AuthorizationRequestEvent = {
            clientId: m.clientId,
            host: m.host,
            user: m.user,
            feed: m.feed,
            topic: m.topic,
          };
          for (const sink of [...c.streams.authorizationSinks]) await give(sink, r);
          return;
        }
        default:
          throw new ProtocolError(`Handling a message from ${c.url} failed: a server never sends type ${m.type}`);
      }
    } finally {
      this.#dispatching = false;
    }
  }

  /** Runs a handler; what it throws is reported as an `"error"` status event and the client goes on. */
  async #call(kind: string, run: () => void | Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      this.#c.status.emit("error", { url: this.#c.url, handler: kind }, err);
    }
  }
}
