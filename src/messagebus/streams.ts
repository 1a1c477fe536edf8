/**
 * `BusStreams`: the Web Streams of a messagebus client (data, notifications,
 * authorization requests) and the sinks its dispatcher feeds.
 *
 * @module
 */

import { ClosedError } from "../core/errors.ts";
import type { PushController } from "../core/source.ts";
import { Subscription } from "../core/subscription.ts";
import type { MessageBusClient } from "./client.ts";
import type { AuthorizationRequestEvent, DataMessage, Notification } from "./message.ts";
import { checkName, type MessageBusStreamOptions, subscriptionKey } from "./options.ts";

/** One open stream, as the dispatcher sees it. */
export interface Sink<M> {
  /** Where its messages go. */
  controller: PushController<M>;
  /** The topic messages carry (adapter streams), else the messagebus topic. */
  label: string | undefined;
}

/** What the streams need from their client. */
export interface StreamHost {
  /** The client's URL, for errors. */
  readonly url: string;
  /** Whether the client is stopping or ended. */
  closing(): boolean;
  /** Whether `start()` has run. */
  started(): boolean;
  /** A round trip through the server (`sync` streams). */
  ping(): Promise<number>;
  /** Adds one subscription to (feed, topic). */
  addSubscription(feed: string, topic: string): Promise<void>;
  /** Removes one subscription to (feed, topic). */
  removeSubscription(feed: string, topic: string): Promise<void>;
  /** Counts a notification registration of `feed` up or down, writing the request when `write`. */
  notify(feed: string, isAdd: boolean, write: boolean): Promise<void>;
}

const byClient = new WeakMap<MessageBusClient, BusStreams>();

/**
 * The streams of `client`: how the adapter opens labelled streams that skip
 * the server's notices, without a public method for it.
 */
export function busStreamsOf(client: MessageBusClient): BusStreams {
  const streams = byClient.get(client);
  if (streams === undefined) throw new TypeError("Finding the streams of a MessageBusClient failed: not a client");
  return streams;
}

function noop(): void {}

/** The streams of one client, and their sinks by (feed, topic), by feed and for authorization requests. */
export class BusStreams {
  readonly #host: StreamHost;
  readonly #dataSinks = new Map<string, Set<Sink<DataMessage>>>();
  readonly #notifySinks = new Map<string, Set<Sink<Notification>>>();
  readonly #authSinks = new Set<Sink<AuthorizationRequestEvent>>();
  readonly #streams = new Set<Subscription<unknown>>();

  /** Makes the streams of `client` (found again with {@linkcode busStreamsOf}). */
  constructor(client: MessageBusClient, host: StreamHost) {
    this.#host = host;
    byClient.set(client, this);
  }

  /** The sinks of data on (feed, topic), if any. */
  dataSinks(feed: string, topic: string): Set<Sink<DataMessage>> | undefined {
    return this.#dataSinks.get(subscriptionKey(feed, topic));
  }

  /** The sinks of notifications of `feed`, if any. */
  notificationSinks(feed: string): Set<Sink<Notification>> | undefined {
    return this.#notifySinks.get(feed);
  }

  /** The sinks of authorization requests. */
  get authorizationSinks(): Set<Sink<AuthorizationRequestEvent>> {
    return this.#authSinks;
  }

  /**
   * Ends every stream: closed (readers see the end) after a `stop()`, else
   * errored with `err`. Returns their `closed` promises.
   */
  endAll(err: Error | undefined): Promise<unknown>[] {
    const streams = [...this.#streams];
    for (const s of streams) {
      if (err === undefined) void s.close();
    }
    for (const sinks of [...this.#dataSinks.values(), ...this.#notifySinks.values(), this.#authSinks]) {
      for (const sink of sinks as Set<Sink<unknown>>) {
        if (err !== undefined) sink.controller.error(err);
      }
    }
    return streams.map((s) => s.closed);
  }

  #stream<M>(
    sinks: Set<Sink<M>>,
    label: string | undefined,
    options: MessageBusStreamOptions,
    open: () => Promise<void>,
    close: () => Promise<void>,
    onEmpty: () => void,
  ): Subscription<M> {
    const host = this.#host;
    if (host.closing()) throw new ClosedError(`Subscribing on ${host.url} failed: the client is closed`);
    let sink: Sink<M> | undefined;
    const sub: Subscription<M> = new Subscription<M>({
      kind: "push",
      start: async (controller) => {
        sink = { controller, label };
        sinks.add(sink);
        await open();
        if (options.sync && host.started()) await host.ping();
      },
      cancel: async () => {
        this.#streams.delete(sub as Subscription<unknown>);
        if (sink !== undefined) sinks.delete(sink);
        if (sinks.size === 0) onEmpty();
        if (!host.closing()) await close().catch(noop);
      },
    }, options);
    this.#streams.add(sub as Subscription<unknown>);
    return sub;
  }

  /**
   * A stream of the data on (feed, topic); with a `label`, its messages carry
   * it as their `topic` and the server's notices are skipped (the adapter's
   * streams).
   */
  data(feed: string, topic: string, label: string | undefined, options: MessageBusStreamOptions): Subscription<
    DataMessage
  > {
    const action = `Subscribing to ${feed}/${topic}`;
    checkName(feed, "feed", action);
    checkName(topic, "topic", action);
    const k = subscriptionKey(feed, topic);
    let sinks = this.#dataSinks.get(k);
    if (sinks === undefined) this.#dataSinks.set(k, sinks = new Set());
    const set = sinks;
    return this.#stream<DataMessage>(
      set,
      label,
      options,
      () => this.#host.addSubscription(feed, topic),
      () => this.#host.removeSubscription(feed, topic),
      () => {
        if (this.#dataSinks.get(k) === set) this.#dataSinks.delete(k);
      },
    );
  }

  /** A stream of the notifications of `feed`: the first registers, the last to end unregisters. */
  notifications(feed: string, options: MessageBusStreamOptions): Subscription<Notification> {
    checkName(feed, "feed", `Listening to notifications of ${feed}`);
    let sinks = this.#notifySinks.get(feed);
    if (sinks === undefined) this.#notifySinks.set(feed, sinks = new Set());
    const set = sinks;
    return this.#stream<Notification>(
      set,
      undefined,
      options,
      () => this.#host.notify(feed, true, set.size === 1),
      () => this.#host.notify(feed, false, set.size === 0),
      () => {
        if (this.#notifySinks.get(feed) === set) this.#notifySinks.delete(feed);
      },
    );
  }

  /** A stream of the authorization requests the server sends. */
  authorizationRequests(options: MessageBusStreamOptions): Subscription<AuthorizationRequestEvent> {
    return this.#stream<AuthorizationRequestEvent>(
      this.#authSinks,
      undefined,
      options,
      () => Promise.resolve(),
      () => Promise.resolve(),
      noop,
    );
  }
}
