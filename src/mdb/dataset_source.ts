/**
 * The source behind one MDB dataset subscription: speedracer's start
 * sequence (registry, CN, MAS JWT, NATS connection, durable consumer), then
 * the shared JetStream pull source of `./nats`.
 *
 * @module
 */

import { detachBytes } from "../core/bytes.ts";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { AuthError, ClosedError } from "../core/errors.ts";
import { StatusChannel, type StatusEvent } from "../core/status.ts";
import type { PullSource, SourceContext } from "../core/source.ts";
import { NatsPubSub } from "../nats/adapter.ts";
import { type AckCodec, ackCodec, type AckInfo } from "../nats/codec.ts";
import { JetStreamPullSource } from "../nats/jetstream_source.ts";
import { mapNatsError } from "../nats/errors.ts";
import { fromNatsHeaders } from "../nats/headers.ts";
import type { WebSocketConstructor } from "../core/open_web_socket.ts";
import { durableName } from "./durable_name.ts";
import type { JWTManager } from "./jwt_manager.ts";
import { MasJwt } from "./mas_jwt.ts";
import { MdbMessage, SettleableMdbMessage } from "./message.ts";
import { connectMdbNats, mdbNatsUrl } from "./nats_connect.ts";
import { datasetSubject, type MdbUrls, type Offset, parseRegistryEntry, registryUrl } from "./codec.ts";
import { SpeedracerConsumer, speedracerPattern } from "./speedracer_consumer.ts";
import { checkStatus, httpGet } from "./tls.ts";
import { UnknownDatasetError } from "./errors.ts";

import type { AckMode } from "./subscription.ts";

/** What a subscription needs from its connection. */
export interface MdbContext {
  readonly urls: MdbUrls;
  readonly jwtManager: JWTManager;
  /** The client for config, registry and MAS (server-verified only). */
  readonly httpClient: Deno.HttpClient | undefined;
  readonly caCerts: string[] | undefined;
  readonly websocket: boolean;
  /** The WebSocket constructor given, or `undefined` for the default (`NoDelayWebSocket` under Deno). */
  readonly webSocket: WebSocketConstructor | undefined;
  readonly unknownDataset: "error" | "events";
  readonly timeoutMs: number;
  readonly subjects: "registry" | "slug";
  readonly maxReconnectAttempts: number;
  readonly reconnectTimeWaitMs: number;
}

/** nats-py acks with an empty payload. */
const EMPTY_ACK = new Uint8Array(0);

/** The status events of the dataset's NATS connection passed on to the subscription's own. */
const FORWARDED = ["disconnected", "reconnecting", "reconnected", "error", "pull-status"] as const;

/**
 * The source behind one {@linkcode MdbSubscription}: speedracer's start
 * sequence (registry, CN, MAS JWT, NATS connection, durable consumer), then
 * the shared JetStream pull source.
 */
export class DatasetSource implements PullSource<MdbMessage> {
  readonly kind = "pull" as const;
  readonly ctx: MdbContext;
  readonly dataset: string;
  readonly offset: Offset;
  readonly ackMode: AckMode;
  /** The batches requested ahead of the reader. */
  readonly #prefetch: number;
  readonly status = new StatusChannel();
  subject: string | undefined;
  durable: string | undefined;
  cn: string | undefined;
  nc: NatsConnection | undefined;
  #mas: MasJwt | undefined;
  #nats: NatsPubSub | undefined;
  #consumer: SpeedracerConsumer | undefined;
  #source: JetStreamPullSource<MdbMessage> | undefined;
  #codec: AckCodec | undefined;
  #starting: Promise<void> | undefined;
  #signal: AbortSignal | undefined;
  #handed = 0;
  readonly #handedWaiters = new Set<() => void>();

  constructor(ctx: MdbContext, dataset: string, offset: Offset, ackMode: AckMode, prefetch: number) {
    this.ctx = ctx;
    this.#prefetch = prefetch;
    this.dataset = dataset;
    this.offset = offset;
    this.ackMode = ackMode;
  }

  /** The JWT the connection authenticates with (read by `#connect`'s authenticator at each attempt). */
  get #masJwt(): string {
    return this.#mas?.jwt ?? "";
  }

  get stream(): string | undefined {
    return this.#consumer?.stream;
  }

  /** Messages pulled and not yet handed out, at most `1 + prefetch` batches (counted in the subscription's `buffered`). */
  get held(): number {
    return this.#source?.held ?? 0;
  }

  get pullRequests(): number {
    return this.#source?.requests ?? 0;
  }

  get handed(): number {
    return this.#handed;
  }

  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  start(context: SourceContext): Promise<void> {
    this.#starting = this.#start(context);
    return this.#starting;
  }

  async #start(context: SourceContext): Promise<void> {
    const signal = context.signal;
    this.#signal = signal;
    const { jwtManager } = this.ctx;
    this.status.emit("connecting", { dataset: this.dataset });
    // 1. gateway JWT and 2. registry: the subject; 3. CN for the connection name; 4. MAS JWT; 5. CN for the consumer.
    const subject = this.ctx.subjects === "slug" ? this.dataset.toLowerCase() : await this.#resolveSubject(signal);
    this.subject = subject;
    this.#stillWanted(signal);
    this.cn = await jwtManager.getCn();
    this.#stillWanted(signal);
    this.#mas = new MasJwt(
      { masUrl: this.ctx.urls.mas_url, jwtManager, httpClient: this.ctx.httpClient, timeoutMs: this.ctx.timeoutMs },
      this.dataset,
      signal,
      (err, why) => this.status.emit("error", { dataset: this.dataset, why }, err),
    );
    await this.#mas.fetch();
    this.#stillWanted(signal);
    this.nc = await this.#connect();
    const nats = NatsPubSub.fromConnection(this.nc, { jetstream: true, owns: true });
    this.#nats = nats;
    for (const type of FORWARDED) nats.status.addEventListener(type, (ev) => this.#onStatus(ev as StatusEvent));
    this.#stillWanted(signal);
    this.durable = await durableName(this.cn);
    this.#consumer = new SpeedracerConsumer(this.nc, this.dataset, subject, this.durable, this.offset);
    this.#source = new JetStreamPullSource<MdbMessage>({
      owner: nats,
      what: `Pulling from dataset ${this.dataset}`,
      detail: { dataset: this.dataset },
      consumer: this.#consumer,
      pattern: speedracerPattern(this.#prefetch),
      message: (m, info) => this.#message(m, info),
      autoAck: this.ackMode === "auto" ? EMPTY_ACK : undefined,
    });
    await this.#source.start(context);
    this.#stillWanted(signal);
    this.status.emit("connected", { dataset: this.dataset, subject, stream: this.stream });
  }

  #stillWanted(signal: AbortSignal): void {
    if (signal.aborted) {
      throw new ClosedError(`Subscribing to dataset ${this.dataset} failed: the subscription was closed`);
    }
  }

  /** 1. gateway JWT, 2. registry: the subject of the dataset. */
  async #resolveSubject(signal: AbortSignal): Promise<string> {
    const { urls, jwtManager } = this.ctx;
    const regUrl = registryUrl(urls.registry_url, this.dataset);
    const headers = { ...(await jwtManager.getHeaders()), Accept: "application/vnd.pgrst.object+json" };
    const reg = await httpGet(regUrl, `the registry entry of dataset ${this.dataset}`, {
      headers,
      client: this.ctx.httpClient,
      signal,
      timeoutMs: this.ctx.timeoutMs,
    });
    if (reg.status === 406 || reg.status === 404) {
      if (this.ctx.unknownDataset === "error") {
        throw new UnknownDatasetError(
          `Subscribing to dataset ${this.dataset} failed: the registry at ${regUrl} does not know it (status ${reg.status})`,
          { dataset: this.dataset },
        );
      }
      return `EVENTS.${this.dataset}`;
    }
    checkStatus(reg, regUrl, `the registry entry of dataset ${this.dataset}`);
    return datasetSubject(this.dataset, parseRegistryEntry(reg.text));
  }

  async #connect(): Promise<NatsConnection> {
    const o = { ...this.ctx, name: `${this.cn} (${this.dataset})`, dataset: this.dataset };
    try {
      return await connectMdbNats({ ...o, authenticator: () => ({ jwt: this.#masJwt, sig: "" }) });
    } catch (err) {
      throw mapNatsError(err, `Connecting to NATS for dataset ${this.dataset}`, mdbNatsUrl(o));
    }
  }

  /** Passes the NATS connection's events on, and refreshes the MAS JWT whenever the connection drops or retries. */
  #onStatus(ev: StatusEvent): void {
    if (ev.type === "disconnected") this.#mas?.refresh("the NATS connection dropped");
    else if (ev.type === "reconnecting") this.#mas?.refresh("the NATS connection is retrying");
    else if (ev.type === "error" && ev.error instanceof AuthError) this.#mas?.refresh("NATS refused the user JWT");
    this.status.emit(ev.type, { ...ev.detail, dataset: this.dataset }, ev.error);
  }

  #message(m: Msg, info: AckInfo): MdbMessage {
    const init = {
      dataset: this.dataset,
      subject: m.subject,
      // A message kept for the reader must not keep the whole read chunk it was cut from alive.
      data: detachBytes(m.data),
      headers: fromNatsHeaders(m.headers),
      reply: m.reply!,
      info,
    };
    if (this.ackMode === "auto") return new MdbMessage(init);
    this.#codec ??= ackCodec(this.#nats!.termReasons, EMPTY_ACK);
    return new SettleableMdbMessage(init, (reply, payload) => this.#nats!.sendAck(reply, payload), this.#codec);
  }

  async pull(max: number, context: SourceContext): Promise<MdbMessage[] | null> {
    const out = await this.#source!.pull(max, context);
    if (out !== null && out.length > 0) {
      this.#handed += out.length;
      for (const w of this.#handedWaiters) w();
    }
    return out;
  }

  /** Resolves once `count` more messages were handed out; rejects if the subscription ends first. */
  waitHanded(count: number): Promise<void> {
    const target = this.#handed + count;
    const signal = this.#signal;
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.#handed >= target) finish();
      };
      const aborted = () => {
        this.#handedWaiters.delete(check);
        reject(new ClosedError(`Waiting for messages of dataset ${this.dataset} failed: the subscription ended`));
      };
      const finish = () => {
        this.#handedWaiters.delete(check);
        signal?.removeEventListener("abort", aborted);
        resolve();
      };
      if (signal?.aborted) return aborted();
      this.#handedWaiters.add(check);
      signal?.addEventListener("abort", aborted, { once: true });
      check();
    });
  }

  /** Deletes the durable and creates it again at `position`; what was received and not read is dropped. */
  async seek(position: number | Date): Promise<void> {
    const consumer = this.#consumer!;
    await this.#source!.restart(() => consumer.seek(position));
  }

  async cancel(reason: unknown): Promise<void> {
    await this.#starting?.catch(() => {}); // a close during start waits for its connection, then releases it
    for (const w of this.#handedWaiters) w();
    await this.#source?.cancel();
    if (this.#nats !== undefined) await this.#nats.close();
    else await this.nc?.close().catch(() => {});
    await this.#mas?.close();
    void reason;
    this.status.close();
  }
}
