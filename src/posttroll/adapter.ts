/**
 * `PosttrollPubSub`: PostTroll behind the core `PubSub` contract.
 *
 * @module
 */

import { ClosedError, TimeoutError } from "../core/errors.ts";
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
import { StatusChannel } from "../core/status.ts";
import type { Subscription } from "../core/subscription.ts";
import { delay } from "../core/async.ts";
import { checkTopic } from "../core/topic.ts";
import { PY_WS } from "./codec.ts";
import type { PosttrollConfigInit } from "./config.ts";
import { pyLoads } from "./json.ts";
import { PosttrollMessage, type PosttrollMessageInit } from "./message.ts";
import { NoisyPublisher, Publisher } from "./publisher.ts";
import { createSubscription, POSTTROLL_OVERFLOW, type PosttrollSubscription } from "./subscriber.ts";

/** Options of {@linkcode PosttrollPubSub}. */
export interface PosttrollPubSubOptions {
  /** The publisher's name (registered with `nameservers`, used in heartbeats). Default `pubsub`. */
  name?: string | undefined;
  /** Aliases registered with the name. */
  aliases?: readonly string[] | undefined;
  /** Where the publisher binds: `*` (default) or an IP such as `127.0.0.1`. */
  host?: string | undefined;
  /** The publisher's port; 0 (default) picks one. */
  port?: number | undefined;
  /**
   * Register the publisher: a list of nameserver hosts (REQ), `[]` for
   * multicast, or `false` (default) not at all.
   */
  nameservers?: readonly string[] | false | undefined;
  /** The address announced; default this host's IP. */
  advertisedAddress?: string | undefined;
  /**
   * Where subscriptions find other publishers: a nameserver host (they then
   * ask it for `services` and follow its address feed), or `false`
   * (default): only this adapter's own publisher and `addresses`.
   */
  nameserver?: string | false | undefined;
  /** The services subscriptions ask the nameserver for; default `""`, all. */
  services?: string | readonly string[] | undefined;
  /** More publisher URIs every subscription connects to. */
  addresses?: readonly string[] | undefined;
  /** How long subscriptions wait for the nameserver, in ms. Default 10 000. */
  timeout?: number | undefined;
  /** The largest payload, in bytes. Default 16 MiB. */
  maxPayload?: number | undefined;
  /** Settings in code, over the `POSTTROLL_*` environment. */
  config?: PosttrollConfigInit | undefined;
}

const PROBE = "/.posttroll-probe/";
const PROBE_PREFIX = `pytroll:/${PROBE}`;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * PostTroll as a {@linkcode PubSub}: `publish(topic, data)` sends subject
 * `/<topic>` from this adapter's publisher (type from the
 * `x-posttroll-type` header, default `info`); `subscribe(topic)` receives
 * every message whose subject starts with `/<topic>` (PostTroll topics are
 * prefixes: `wildcards: "prefix"`), from this adapter's own publisher, the
 * `addresses`, and, with a `nameserver`, every publisher of `services` it
 * lists or announces later.
 *
 * Payloads: a string, or bytes that are valid UTF-8, go out as
 * `text/ascii`; other bytes as `binary/octet-stream`, one character per
 * byte; a `content-type: application/json` header sends the payload, parsed,
 * as `application/json` with Python's formatting. Received messages give the
 * data part's bytes. Leading whitespace of a payload is lost: PostTroll's
 * field split removes it. PostTroll carries no headers
 * (`capabilities.headers` is false) and has no confirmation
 * (`confirmedPublish` false: a publish resolves once zeromq took it).
 *
 * @example
 * ```ts ignore
 * import { PosttrollPubSub } from "@x/pubsub/posttroll";
 *
 * const ps = new PosttrollPubSub({ host: "127.0.0.1" });
 * const sub = ps.subscribe("counter");
 * await sub.ready;
 * await ps.publish("counter", "1");
 * for await (const msg of sub) {
 *   console.log(msg.subject, msg.text()); // /counter 1
 *   break;
 * }
 * await ps.close();
 * ```
 */
export class PosttrollPubSub implements PubSub<PosttrollMessage> {
  /** What PostTroll can do. */
  readonly capabilities: Capabilities;
  /** `"connected"` once the publisher is bound, `"error"`, `"closed"`. */
  readonly status: StatusChannel = new StatusChannel();
  readonly #options: PosttrollPubSubOptions;
  readonly #publisher: Publisher;
  readonly #subs = new Set<Subscription<PosttrollMessage>>();
  #started: Promise<Publisher> | undefined;
  #closed = false;

  /**
   * Creates the adapter; the publisher binds on first use.
   *
   * @param options Publisher, registration, discovery and settings.
   * @throws {RangeError} On an invalid port or maxPayload.
   * @throws {TypeError} On an invalid name or setting.
   */
  constructor(options: PosttrollPubSubOptions = {}) {
    this.#options = options;
    const maxPayload = options.maxPayload ?? 16 * 1024 * 1024;
    if (!Number.isInteger(maxPayload) || maxPayload < 1) {
      throw new RangeError(`Creating a PosttrollPubSub failed: maxPayload ${maxPayload} is not a positive integer`);
    }
    this.capabilities = {
      settle: false,
      confirmedPublish: false,
      wildcards: "prefix",
      maxPayload,
      ordered: true,
      replay: false,
      groups: false,
      headers: false,
      overflow: POSTTROLL_OVERFLOW,
      delivery: "at-most-once",
    };
    const base = { name: options.name ?? "pubsub", host: options.host, port: options.port, config: options.config };
    this.#publisher = options.nameservers === false || options.nameservers === undefined
      ? new Publisher(base)
      : new NoisyPublisher({
        ...base,
        name: base.name,
        aliases: options.aliases,
        nameservers: options.nameservers,
        advertisedAddress: options.advertisedAddress,
      });
  }

  /** The publisher (bound on first use). */
  get publisher(): Publisher {
    return this.#publisher;
  }

  #start(): Promise<Publisher> {
    this.#started ??= this.#publisher.start().then((p) => {
      this.status.emit("connected", { url: p.url });
      return p;
    }, (err) => {
      this.status.emit("error", {}, err);
      throw err;
    });
    return this.#started;
  }

  #ownUrl(p: Publisher): string {
    const host = this.#options.host;
    return `tcp://${host === undefined || host === "*" || host === "0.0.0.0" ? "127.0.0.1" : host}:${p.port}`;
  }

  /**
   * Subscribes to every subject starting with `/<topic>`.
   *
   * @param topic The topic prefix (no whitespace).
   * @param options Buffer, overflow policy, signal.
   * @returns The subscription; `ready` resolves once this adapter's own messages reach it.
   * @throws {TypeError} On an empty topic, whitespace in it, or an invalid option.
   * @throws {RangeError} On an invalid `highWaterMark`.
   * @throws {ClosedError} When the adapter is closed.
   */
  subscribe(topic: string, options: SubscribeOptions = {}): PosttrollSubscription {
    checkTopic(topic, "Subscribing", true);
    if (PY_WS.test(topic)) throw new TypeError(`Subscribing failed: the topic ${JSON.stringify(topic)} has whitespace`);
    if (options.group !== undefined) {
      throw new TypeError("Subscribing failed: PostTroll has no groups (capabilities.groups is false)");
    }
    if (this.#closed) throw new ClosedError(`Subscribing to ${topic} failed: the adapter is closed`);
    const o = this.#options;
    const probe = `${PROBE}${crypto.randomUUID()}`;
    let seen = false;
    const sub = createSubscription({
      ...options,
      topics: [`/${topic}`],
      nameserver: o.nameserver ?? false,
      services: o.nameserver === undefined || o.nameserver === false ? null : o.services ?? "",
      addrListener: o.nameserver !== undefined && o.nameserver !== false,
      addresses: o.addresses,
      timeout: o.timeout,
      config: o.config,
    }, {
      extraTopics: [`pytroll:/${probe}`],
      before: async () => [this.#ownUrl(await this.#start())],
      filter: (text) => {
        if (!text.startsWith(PROBE_PREFIX)) return true;
        if (text.startsWith(`pytroll:/${probe} `)) seen = true;
        return false;
      },
      ready: async (signal) => {
        const p = await this.#start();
        const frame = new PosttrollMessage({ subject: probe, type: "info" }).encode();
        const limit = o.timeout ?? 10_000;
        const deadline = performance.now() + limit;
        while (!seen) {
          signal.throwIfAborted();
          if (performance.now() > deadline) {
            throw new TimeoutError(`Subscribing to ${topic} timed out after ${limit} ms: own messages do not arrive`, {
              timeoutMs: limit,
            });
          }
          await p.send(frame);
          await delay(5, signal);
        }
      },
    });
    this.#subs.add(sub);
    void sub.closed.then(() => this.#subs.delete(sub));
    return sub;
  }

  /**
   * Publishes one message with subject `/<topic>`.
   *
   * @param topic The topic (no whitespace).
   * @param data A string or bytes.
   * @param options Headers (`x-posttroll-type`, `content-type`) and a signal.
   * @returns The receipt, `confirmed: false`, once zeromq took the frame.
   * @throws {TypeError} On an invalid topic or payload, or JSON that does not parse.
   * @throws {RangeError} When the payload is over `maxPayload`.
   * @throws {ClosedError} When the adapter is closed.
   */
  async publish(topic: string, data: PublishData, options: PublishOptions = {}): Promise<PublishReceipt> {
    checkTopic(topic, "Publishing", true);
    const action = `Publishing to ${topic}`;
    if (PY_WS.test(topic)) throw new TypeError(`${action} failed: the topic has whitespace`);
    const bytes = checkPublishData(data, action, this.capabilities.maxPayload);
    if (this.#closed) throw new ClosedError(`${action} failed: the adapter is closed`);
    options.signal?.throwIfAborted();
    const headers = new Headers(options.headers);
    const init: PosttrollMessageInit = {
      subject: `/${topic}`,
      type: headers.get("x-posttroll-type") ?? "info",
      messageVersion: undefined,
    };
    const mime = headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
    let text: string | undefined;
    if (typeof data === "string") text = data;
    else {
      try {
        text = utf8.decode(bytes);
      } catch {
        text = undefined;
      }
    }
    if (mime === "application/json") {
      if (text === undefined) throw new TypeError(`${action} failed: the JSON payload is not UTF-8`);
      try {
        init.data = pyLoads(text);
      } catch (err) {
        throw new TypeError(`${action} failed: the payload is not JSON: ${(err as Error).message}`);
      }
    } else if (text !== undefined && text.isWellFormed()) {
      init.data = text;
      init.binary = mime === "binary/octet-stream";
    } else {
      init.data = bytes;
    }
    const publisher = await this.#start();
    if (this.#closed) throw new ClosedError(`${action} failed: the adapter is closed`);
    await publisher.send(init);
    return { topic, confirmed: false };
  }

  /**
   * A stream that publishes each chunk (see `publishWritable`).
   *
   * @param topic The topic; without one, chunks must be messages.
   * @param options Window, headers, receipt callback.
   * @returns The stream.
   * @throws {RangeError} When `maxInFlight` is not a positive integer.
   */
  writable(topic?: string, options?: WritableOptions): WritableStream<PublishChunk> {
    if (topic !== undefined) checkTopic(topic, "Creating a writable", true);
    return publishWritable(this, topic, options);
  }

  /** Ends every subscription and closes the publisher. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subs].map((s) => s.close()));
    await this.#publisher.close();
    this.status.close();
  }

  /** Calls {@linkcode PosttrollPubSub.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
