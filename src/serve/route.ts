/**
 * One route of `pubsub serve`: reads its source, transforms, publishes into
 * its target with retries, settles each source message after its outputs
 * were taken, dead-letters what the target refuses, reconnects, and drains.
 *
 * @module
 */

import { context as otelContext } from "@opentelemetry/api";
import { delay } from "../core/async.ts";
import { ClosedError, ConnectionError, TimeoutError } from "../core/errors.ts";
import { isSettleable, type Message } from "../core/message.ts";
import type { PublishReceipt, PubSub, SubscribeOptions } from "../core/pubsub.ts";
import type { Subscription } from "../core/subscription.ts";
import { type Opener, type OpenerOptions, untilAborted } from "../cli/context.ts";
import type { EndpointConfig, RouteConfig, TargetConfig } from "./config.ts";
import { isTransient, oneLine } from "./route_errors.ts";
import { Link } from "./route_link.ts";
import type { RouteStats, RouteStatus, SourceInfo } from "./route_status.ts";
import { endRouteSpan, type RouteSpan, startRouteSpan } from "./trace.ts";
import { TransformError, type TransformFactory, type TransformOutput, TransformRunner } from "./transform.ts";

/** What a route needs from the service. */
export interface RouteDeps {
  /** Opens URLs. */
  readonly open: Opener;
  /** Writes one log line. */
  readonly log: (line: string) => void;
  /** The transform's factory, loaded by the service. */
  readonly transform?: TransformFactory | undefined;
}

function wasRedelivered(msg: Message): boolean {
  const m = msg as { redelivered?: unknown; deliveryCount?: unknown };
  return m.redelivered === true || (typeof m.redelivered === "number" && m.redelivered > 0) ||
    (typeof m.deliveryCount === "number" && m.deliveryCount > 1);
}

/** What `./nats`'s adapters offer to read a consumer's state (typed here so that serve loads no system). */
interface ConsumerInfoReader {
  consumerInfo(
    consumer: string,
    where: { stream: string } | { topic: string },
  ): Promise<{ pending: number; ackPending: number; redelivered: number }>;
}

interface Prepared {
  readonly topic: string;
  readonly data: Uint8Array | string;
  readonly headers: Headers | undefined;
}

/**
 * Runs one route until drained: connects (again after a failure, with
 * backoff), reads, transforms, publishes (up to `maxInFlight` source
 * messages at once, each output retried per `retry`), and settles.
 */
export class Route {
  /** The route's configuration. */
  readonly config: RouteConfig;
  /** Live counters. */
  readonly stats: RouteStats = {
    received: 0,
    confirmed: 0,
    written: 0,
    skipped: 0,
    acked: 0,
    naked: 0,
    failed: 0,
    deadLettered: 0,
    redelivered: 0,
    retries: 0,
    dropped: 0,
    settleRetries: 0,
  };
  readonly #deps: RouteDeps;
  /** Aborted when the drain begins: stop taking, stop reconnecting. */
  readonly #draining = new AbortController();
  /** Aborted at the drain deadline: give up on publishes and retries, nak. */
  readonly #hardStop = new AbortController();
  readonly #tasks = new Set<Promise<void>>();
  readonly #windowWaiters: (() => void)[] = [];
  #inFlight = 0;
  /** Of those in flight, how many wait only for the source to confirm their settlement. */
  #confirming = 0;
  #lastErrorTime: number | undefined;
  #lastError: string | undefined;
  #source: Link | undefined;
  #target: Link | undefined;
  #deadLetter: Link | undefined;
  #sub: Subscription<Message> | undefined;
  #transform: TransformRunner | undefined;
  #running = false;
  #supervisor: Promise<void> | undefined;
  #started: { promise: Promise<void>; resolve: () => void };

  /**
   * Prepares the route (nothing is opened before {@linkcode Route.start}).
   *
   * @param config The route's configuration.
   * @param deps Opener, logger, transform factory.
   */
  constructor(config: RouteConfig, deps: RouteDeps) {
    this.config = config;
    this.#deps = deps;
    let resolve!: () => void;
    this.#started = { promise: new Promise<void>((r) => resolve = r), resolve };
  }

  /** Resolves the first time the route is running (or when it is drained before). */
  get started(): Promise<void> {
    return this.#started.promise;
  }

  /** In-flight count, last error, readiness. */
  get status(): RouteStatus {
    const notReady = this.#notReady();
    return {
      inFlight: this.#inFlight,
      lastErrorTime: this.#lastErrorTime,
      lastError: this.#lastError,
      ready: notReady === undefined,
      notReady,
    };
  }

  #notReady(): string | undefined {
    if (this.#draining.signal.aborted) return "draining";
    if (!this.#running) return this.#lastError === undefined ? "starting" : `reconnecting (${this.#lastError})`;
    if (this.#source?.up !== true) return "source disconnected";
    if (this.#target?.up !== true) return "target disconnected";
    if (this.#deadLetter !== undefined && !this.#deadLetter.up) return "dead-letter target disconnected";
    return undefined;
  }

  #log(line: string): void {
    this.#deps.log(`route ${this.config.name}: ${line}`);
  }

  #error(err: unknown, what: string): void {
    this.#lastErrorTime = Date.now();
    this.#lastError = `${what}: ${oneLine(err)}`;
  }

  /** Starts the route in the background: it connects, and reconnects after failures, until drained. */
  start(): void {
    this.#supervisor ??= this.#supervise();
  }

  async #supervise(): Promise<void> {
    let backoff = 500;
    while (!this.#draining.signal.aborted) {
      let why: unknown;
      try {
        await this.#connect();
        backoff = 500;
        this.#running = true;
        this.#log("running");
        this.#started.resolve();
        why = await this.#pump();
      } catch (err) {
        why = err;
      }
      this.#running = false;
      if (this.#draining.signal.aborted) break;
      this.#error(why ?? new ClosedError("the source subscription ended"), "stopped");
      this.#log(`${this.#lastError}; reconnecting in ${backoff} ms`);
      await this.#settleAll();
      await this.#disconnect();
      await delay(backoff, this.#draining.signal);
      backoff = Math.min(backoff * 2, 30_000);
    }
    this.#started.resolve();
  }

  async #openLink(ep: EndpointConfig, role: string): Promise<Link> {
    const options: OpenerOptions = ep.servers === undefined ? {} : { nats: { servers: [...ep.servers] } };
    return new Link(await this.#deps.open(ep.url, options), (up, event) => {
      if (!this.#draining.signal.aborted) {
        this.#log(`${role} ${up ? "connected again" : `lost its connection (${event})`}`);
      }
    });
  }

  async #connect(): Promise<void> {
    const c = this.config;
    this.#source = await this.#openLink(c.from, "source");
    this.#target = await this.#openLink(c.to, "target");
    if (c.deadLetter !== undefined) {
      this.#deadLetter = c.deadLetter.url === c.to.url
        ? this.#target
        : await this.#openLink(c.deadLetter, "dead-letter target");
    }
    if (this.#deps.transform !== undefined) {
      this.#transform = new TransformRunner(this.#deps.transform, {
        route: c.name,
        options: c.transform?.options,
      });
      await this.#transform.start();
    }
    await this.#subscribe();
  }

  async #subscribe(): Promise<void> {
    const c = this.config;
    const options: SubscribeOptions & Record<string, unknown> = {
      highWaterMark: c.from.highWaterMark,
      ...c.from.consumer,
    };
    if (this.#source!.ps.capabilities.groups) options.group = c.from.group;
    const sub = this.#source!.ps.subscribe(c.from.topic, options);
    this.#sub = sub;
    await sub.ready;
  }

  async #disconnect(): Promise<void> {
    const sub = this.#sub;
    this.#sub = undefined;
    await sub?.close().catch(() => {});
    await this.#transform?.close();
    this.#transform = undefined;
    const links = new Set([this.#source, this.#target, this.#deadLetter]);
    this.#source = this.#target = this.#deadLetter = undefined;
    await Promise.all([...links].map((l) => l?.close()));
  }

  /** Waits for room in the window, unless the drain began (then the reader only naks). */
  #room(): Promise<void> | undefined {
    // Messages whose settlement only waits for the source's confirmation take no room, up to maxInFlight of them.
    const max = this.config.maxInFlight;
    if (this.#inFlight - Math.min(this.#confirming, max) < max || this.#draining.signal.aborted) return undefined;
    return new Promise<void>((resolve) => this.#windowWaiters.push(resolve));
  }

  #release(): void {
    this.#inFlight--;
    this.#windowWaiters.shift()?.();
  }

  /** Reads until the subscription ends; returns why it ended. */
  async #pump(): Promise<unknown> {
    const sub = this.#sub!;
    const reader = sub.getReader();
    try {
      while (true) {
        for (let wait = this.#room(); wait !== undefined; wait = this.#room()) await wait;
        const r = await reader.read();
        if (r.done) return await sub.closed;
        const msg = r.value;
        this.stats.received++;
        if (wasRedelivered(msg)) this.stats.redelivered++;
        this.#inFlight++;
        if (this.#draining.signal.aborted && isSettleable(msg)) {
          // Stop taking: hand it back at once, for another replica. (A source that cannot take it back
          // gets what it had buffered forwarded, within the drain's deadline.)
          this.#track(this.#giveBack(msg));
          continue;
        }
        await this.#take(msg);
      }
    } catch (err) {
      return err;
    } finally {
      reader.releaseLock();
    }
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  async #take(msg: Message): Promise<void> {
    const c = this.config;
    const target = this.#target!.ps;
    const span = startRouteSpan(`${c.name} forward`, msg.headers, {
      "messaging.system": c.from.system,
      "messaging.operation.type": "process",
      "messaging.destination.name": msg.topic,
      "pubsub.route": c.name,
    });
    let outputs: TransformOutput[];
    try {
      outputs = this.#transform === undefined
        ? [msg]
        : await otelContext.with(span.context, () => this.#transform!.run(msg));
    } catch (err) {
      this.#track(this.#fail(msg, err, span));
      return;
    }
    if (outputs.length === 0) {
      this.stats.skipped++;
      this.#track(this.#settle(msg, span));
      return;
    }
    let prepared: Prepared[];
    try {
      prepared = outputs.map((o) => this.#prepare(msg, o, span, target, c.to));
    } catch (err) {
      this.#track(this.#fail(msg, err, span));
      return;
    }
    this.#track(this.#forward(msg, prepared, span, target));
  }

  #prepare(msg: Message, out: TransformOutput, span: RouteSpan, target: PubSub, to: TargetConfig): Prepared {
    const topic = to.topic.render(out.topic ?? msg.topic);
    let headers: Headers | undefined;
    if (target.capabilities.headers) {
      headers = new Headers(out.headers ?? undefined);
      if (span.traceparent !== undefined) {
        headers.set("traceparent", span.traceparent);
        if (span.tracestate !== null && !headers.has("tracestate")) headers.set("tracestate", span.tracestate);
      }
      let any = false;
      headers.forEach(() => any = true);
      if (!any) headers = undefined;
    }
    return { topic, data: out.data, headers };
  }

  /** Waits before retry `attempt + 1`: `retry.delayMs` doubling up to `retry.maxDelayMs`; at once on the drain's deadline. */
  #retryWait(attempt: number): Promise<void> {
    const { delayMs, maxDelayMs } = this.config.retry;
    return delay(Math.min(delayMs * 2 ** (attempt - 1), maxDelayMs), this.#hardStop.signal);
  }

  async #publish(target: PubSub, p: Prepared): Promise<PublishReceipt> {
    const { attempts } = this.config.retry;
    const signal = this.#hardStop.signal;
    for (let attempt = 1;; attempt++) {
      try {
        return await target.publish(
          p.topic,
          p.data,
          p.headers === undefined ? { signal } : { headers: p.headers, signal },
        );
      } catch (err) {
        if (err instanceof TypeError || err instanceof RangeError || attempt >= attempts || signal.aborted) throw err;
        this.stats.retries++;
        await this.#retryWait(attempt);
        if (signal.aborted) throw err;
      }
    }
  }

  async #forward(msg: Message, outputs: Prepared[], span: RouteSpan, target: PubSub): Promise<void> {
    let receipts: PublishReceipt[];
    try {
      receipts = await Promise.all(outputs.map((p) => this.#publish(target, p)));
    } catch (err) {
      await this.#fail(msg, err, span);
      return;
    }
    for (const r of receipts) {
      if (r.confirmed) this.stats.confirmed++;
      else this.stats.written++;
    }
    await this.#settle(msg, span);
  }

  /**
   * Sends a settlement, again while the source does not confirm it (a JetStream source with `confirmAcks`: the
   * node it went through stopped, or the consumer is between leaders) and the drain's deadline has not passed: an
   * ack that reaches the server before the ack wait spares a duplicate. Meanwhile the message leaves its room in the
   * window to the next one (at most `maxInFlight` messages wait so).
   */
  async #confirmed(settle: () => Promise<void>): Promise<void> {
    const { attempts } = this.config.retry;
    const signal = this.#hardStop.signal;
    this.#confirming++;
    this.#windowWaiters.shift()?.(); // its room goes to the next message meanwhile
    try {
      for (let attempt = 1;; attempt++) {
        try {
          return await settle();
        } catch (err) {
          if (
            !(err instanceof TimeoutError || err instanceof ConnectionError) || attempt >= attempts || signal.aborted
          ) {
            throw err;
          }
          this.stats.settleRetries++;
          await this.#retryWait(attempt);
          if (signal.aborted) throw err;
        }
      }
    } finally {
      this.#confirming--;
    }
  }

  /** Acks (every output was taken, there was none, or the message was dead-lettered). */
  async #settle(msg: Message, span: RouteSpan, err?: unknown): Promise<void> {
    try {
      if (isSettleable(msg)) await this.#confirmed(() => msg.ack());
      this.stats.acked++;
      endRouteSpan(span.span, err);
    } catch (ackErr) {
      // The source will deliver it again: a copy, never a loss.
      this.#error(ackErr, "acking");
      endRouteSpan(span.span, ackErr);
    } finally {
      this.#release();
    }
  }

  /** A message that could not be forwarded: dead-letter what was refused, else give it back. */
  async #fail(msg: Message, err: unknown, span: RouteSpan): Promise<void> {
    this.stats.failed++;
    this.#error(err, err instanceof TransformError ? "transform" : "publishing");
    const refused = err instanceof TransformError || !isTransient(err);
    const dl = this.#deadLetter;
    const dlc = this.config.deadLetter;
    if (refused && dl !== undefined && dlc !== undefined && !this.#hardStop.signal.aborted) {
      try {
        let headers: Headers | undefined;
        if (dl.ps.capabilities.headers) {
          headers = new Headers(msg.headers);
          headers.set("x-pubsub-route", this.config.name);
          headers.set("x-pubsub-source-topic", msg.topic);
          headers.set("x-pubsub-error", oneLine(err).replace(/[^\x20-\x7e]/g, "?"));
        }
        await this.#publish(dl.ps, { topic: dlc.topic.render(msg.topic), data: msg.data, headers });
        this.stats.deadLettered++;
        await this.#settle(msg, span, err);
        return;
      } catch (dlErr) {
        this.#error(dlErr, "dead-lettering");
      }
    }
    endRouteSpan(span.span, err);
    await this.#giveBack(msg);
  }

  /** Naks (the source delivers it again), or counts it dropped where the source cannot take it back. */
  async #giveBack(msg: Message): Promise<void> {
    try {
      if (isSettleable(msg)) {
        const delayMs = this.#draining.signal.aborted ? 0 : this.config.nakDelayMs;
        await this.#confirmed(() => msg.nak(delayMs));
        this.stats.naked++;
      } else {
        this.stats.dropped++;
      }
    } catch (nakErr) {
      // Not even the nak went out: the source redelivers after its ack wait.
      this.#error(nakErr, "nak");
    } finally {
      this.#release();
    }
  }

  /** Waits for every message in flight to be settled. */
  async #settleAll(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  /**
   * The server's view of a JetStream source's consumer, for `/metrics`:
   * pending, ack pending, redelivered (`consumerInfo()` of `./nats`).
   * `undefined` for other sources or when the server does not answer.
   *
   * @returns The figures.
   */
  async sourceInfo(): Promise<SourceInfo | undefined> {
    const ps = this.#source?.ps as Partial<ConsumerInfoReader> | undefined;
    const from = this.config.from;
    if (!from.jetstream || typeof ps?.consumerInfo !== "function") return undefined;
    const stream = from.consumer.stream;
    try {
      const info = await ps.consumerInfo(from.group, typeof stream === "string" ? { stream } : { topic: from.topic });
      return { pending: info.pending, ackPending: info.ackPending, redelivered: info.redelivered };
    } catch {
      return undefined;
    }
  }

  /**
   * Drains: stops taking (what was fetched ahead is nak'd at once, for the
   * other replicas), lets what is in flight finish until `deadline`, then
   * gives up on it (nak), and closes every connection.
   *
   * @param deadline Aborted when the drain must end.
   * @returns When the route is closed.
   */
  async drain(deadline: AbortSignal): Promise<void> {
    if (this.#draining.signal.aborted) return await this.#supervisor;
    this.#draining.abort();
    for (const w of this.#windowWaiters.splice(0)) w();
    const onDeadline = () => this.#hardStop.abort();
    if (deadline.aborted) onDeadline();
    else deadline.addEventListener("abort", onDeadline, { once: true });
    const stopped = untilAborted(this.#hardStop.signal);
    try {
      await this.#sub?.close();
      // Past the deadline, whatever still hangs (a connect, a publish that ignores its signal) is left behind.
      await Promise.race([this.#supervisor, stopped.promise]);
      await Promise.race([this.#settleAll(), stopped.promise]);
      if (this.#tasks.size > 0) {
        const grace = new AbortController();
        await Promise.race([this.#settleAll(), delay(1_000, grace.signal)]);
        grace.abort();
      }
      await this.#disconnect();
    } finally {
      stopped.dispose();
      deadline.removeEventListener("abort", onDeadline);
    }
  }
}
