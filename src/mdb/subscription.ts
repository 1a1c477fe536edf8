/**
 * One MDB dataset subscription: its own NATS connection authenticated with a
 * MAS-issued user JWT, a durable JetStream pull consumer named after the user,
 * and a pull loop driven by the reader.
 *
 * @module
 */

import { detachBytes } from "../core/bytes.ts";
import {
  AuthorizationError,
  createInbox,
  type Msg,
  type NatsConnection,
  PermissionViolationError,
  type Subscription as NatsSubscription,
  UserAuthenticationExpiredError,
} from "@nats-io/nats-core";
import { AuthError, ClosedError, ConnectionError, ProtocolError, PubSubError, TimeoutError } from "../core/errors.ts";
import { StatusChannel } from "../core/status.ts";
import { type PullSource, type SourceContext, Subscription } from "../core/subscription.ts";
import type { WebSocketConstructor } from "../core/open_web_socket.ts";
import { durableName } from "./durable_name.ts";
import type { JWTManager } from "./jwt_manager.ts";
import { MdbMessage, SettleableMdbMessage } from "./message.ts";
import { connectMdbNats, mdbNatsUrl } from "./nats_connect.ts";
import {
  api,
  type ApiReply,
  checkDataset,
  CONSUMER_NOT_FOUND,
  consumerConfig,
  createConsumerBody,
  datasetSubject,
  decodeJwtClaims,
  type MdbUrls,
  Offset,
  parseAckSubject,
  parseApiReply,
  parseRegistryEntry,
  PULL_EXPIRES_MS,
  pullBody,
  registryUrl,
  type StartPosition,
  streamNamesOf,
  userJwtUrl,
} from "./protocol.ts";
import { checkStatus, httpGet } from "./tls.ts";

/** How a subscription settles messages. */
export type AckMode = "auto" | "manual";

/** Options of {@linkcode Connection.subscribe}. */
export interface MdbSubscribeOptions {
  /**
   * Where a new consumer starts: {@linkcode Offset.NOW} (default) or
   * {@linkcode Offset.BEGIN}. Ignored when the user's durable consumer for this
   * dataset exists: the subscription resumes where it left off.
   */
  offset?: Offset | undefined;
  /** How many messages one pull asks for. Default 10. */
  batch?: number | undefined;
  /**
   * Called with each message, in order; the subscription reads itself and
   * awaits the callback before the next message. A throwing callback ends the
   * subscription with its error (`closed` resolves with it).
   */
  callback?: ((msg: MdbMessage) => void | Promise<void>) | undefined;
  /**
   * `"auto"` (default, as speedracer): each batch is acked before its messages
   * are handed out. `"manual"`: messages have `ack()`, `nak()` and `term()`,
   * and unacked ones come back after the server's ack wait (30 s).
   */
  ack?: AckMode | undefined;
  /** Closes the subscription when aborted. */
  signal?: AbortSignal | undefined;
}

/** Options of {@linkcode MdbSubscription.wait}. */
export interface WaitOptions {
  /** First wait until this many more data messages were handed to the reader (0: skip). */
  messages?: number | undefined;
  /** Then wait this many milliseconds, or until this time (0: skip). */
  timeout?: number | Date | undefined;
}

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

const NATS_REQUEST_TIMEOUT_MS = 5_000;
const PULL_GRACE_MS = 1_500;
const DEDUPE_WINDOW = 4096;

interface PullRequest {
  readonly reply: string;
  /** The first request of a cycle: the server answers at once with what it has. */
  readonly noWait: boolean;
  remaining: number;
  received: number;
  readonly deadline: number;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function permissionIn(err: unknown): Error | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof PermissionViolationError || /permissions violation/i.test(e.message)) return e;
  }
  return undefined;
}

function natsError(err: unknown, action: string, url?: string): PubSubError {
  if (err instanceof PubSubError) return err;
  const denied = permissionIn(err);
  if (denied !== undefined) return new AuthError(`${action} failed: ${denied.message}`, { cause: err });
  const opts = url === undefined ? { cause: err } : { cause: err, url };
  if (err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError) {
    return new AuthError(`${action} failed: the NATS server refused the MAS user JWT: ${errorText(err)}`, opts);
  }
  const name = (err as { name?: unknown })?.name;
  if (name === "TimeoutError") {
    return new TimeoutError(`${action} timed out`, { cause: err, timeoutMs: NATS_REQUEST_TIMEOUT_MS });
  }
  return new ConnectionError(`${action} failed: ${errorText(err)}`, opts);
}

function convertHeaders(msg: Msg): Headers | undefined {
  const h = msg.headers;
  if (h === undefined) return undefined;
  const out = new Headers();
  for (const [k, vs] of h) {
    for (const v of vs) {
      try {
        out.append(k, v);
      } catch { /* a header the Fetch API cannot carry is left out */ }
    }
  }
  return out;
}

/** The pull engine behind one {@linkcode MdbSubscription}. */
class Engine implements PullSource<MdbMessage> {
  readonly kind = "pull" as const;
  readonly ctx: MdbContext;
  readonly dataset: string;
  readonly offset: Offset;
  readonly batch: number;
  readonly ackMode: AckMode;
  readonly status = new StatusChannel();
  subject: string | undefined;
  stream: string | undefined;
  durable: string | undefined;
  cn: string | undefined;
  nc: NatsConnection | undefined;
  #masJwt = "";
  #masExpMs: number | undefined;
  #refresh: Promise<void> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #statusLoop: Promise<void> | undefined;
  #inbox: NatsSubscription | undefined;
  #inboxPrefix = "";
  #requestNo = 0;
  #current: PullRequest | undefined;
  #lastEmpty = false;
  #notBefore = 0;
  readonly #arrived: MdbMessage[] = [];
  readonly #ready: MdbMessage[] = [];
  #wake: (() => void) | undefined;
  #failure: unknown;
  #seeking: Promise<void> | undefined;
  readonly #seen = new Set<number>();
  readonly #seenOrder: number[] = [];
  #handed = 0;
  readonly #handedWaiters = new Set<() => void>();
  #lastPermission: PermissionViolationError | undefined;
  #signal: AbortSignal | undefined;
  /** MSG.NEXT bodies sent, for diagnostics. */
  pullRequests = 0;

  constructor(ctx: MdbContext, dataset: string, offset: Offset, batch: number, ackMode: AckMode) {
    this.ctx = ctx;
    this.dataset = dataset;
    this.offset = offset;
    this.batch = batch;
    this.ackMode = ackMode;
  }

  get handed(): number {
    return this.#handed;
  }

  /** Messages pulled and not yet handed out, at most one batch (counted in the subscription's `buffered`). */
  get held(): number {
    return this.#arrived.length + this.#ready.length;
  }

  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  #starting: Promise<void> | undefined;

  start(context: SourceContext): Promise<void> {
    this.#starting = this.#start(context);
    return this.#starting;
  }

  async #start(context: SourceContext): Promise<void> {
    this.#signal = context.signal;
    const { jwtManager } = this.ctx;
    this.status.emit("connecting", { dataset: this.dataset });
    const subject = this.ctx.subjects === "slug"
      ? this.dataset.toLowerCase()
      : await this.#resolveSubject(context.signal);
    this.subject = subject;
    this.#stillWanted(context.signal);
    // 3. CN for the connection name; 4. MAS JWT; 5. CN for the consumer.
    this.cn = await jwtManager.getCn();
    this.#stillWanted(context.signal);
    await this.#fetchMasJwt(context.signal);
    this.#stillWanted(context.signal);
    this.nc = await this.#connect();
    this.#statusLoop = this.#watch(this.nc);
    this.#stillWanted(context.signal);
    this.durable = await durableName(this.cn);
    this.stream = await this.#lookupStream(subject);
    this.#stillWanted(context.signal);
    await this.#ensureConsumer(this.offset);
    this.#stillWanted(context.signal);
    this.#openInbox();
    this.status.emit("connected", { dataset: this.dataset, subject: this.subject, stream: this.stream });
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

  async #fetchMasJwt(signal?: AbortSignal): Promise<void> {
    const url = userJwtUrl(this.ctx.urls.mas_url, this.dataset);
    const headers = await this.ctx.jwtManager.getHeaders();
    const res = await httpGet(url, `the NATS user JWT for dataset ${this.dataset}`, {
      headers,
      client: this.ctx.httpClient,
      signal,
      timeoutMs: this.ctx.timeoutMs,
    });
    checkStatus(res, url, `the NATS user JWT for dataset ${this.dataset}`, true);
    const claims = decodeJwtClaims(res.text.trim(), `NATS user JWT from ${url}`);
    this.#masJwt = res.text;
    this.#masExpMs = typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
    this.#scheduleRefresh();
  }

  #scheduleRefresh(): void {
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    const exp = this.#masExpMs;
    if (exp === undefined || this.#signal?.aborted) return;
    const left = exp - Date.now();
    const lead = Math.min(60_000, Math.max(500, left / 4));
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      this.#refreshMas("the MAS user JWT expires soon");
    }, Math.max(0, left - lead));
  }

  #refreshMas(why: string): void {
    if (this.#refresh !== undefined || this.#signal?.aborted) return;
    this.#refresh = this.#fetchMasJwt(this.#signal).catch((err) => {
      if (!this.#signal?.aborted) this.status.emit("error", { dataset: this.dataset, why }, err);
    }).finally(() => this.#refresh = undefined);
  }

  async #connect(): Promise<NatsConnection> {
    const o = { ...this.ctx, name: `${this.cn} (${this.dataset})`, dataset: this.dataset };
    try {
      return await connectMdbNats({ ...o, authenticator: () => ({ jwt: this.#masJwt, sig: "" }) });
    } catch (err) {
      throw natsError(err, `Connecting to NATS for dataset ${this.dataset}`, mdbNatsUrl(o));
    }
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      switch (s.type) {
        case "disconnect":
          this.status.emit("disconnected", { dataset: this.dataset, server: s.server });
          this.#refreshMas("the NATS connection dropped");
          break;
        case "reconnecting":
          this.status.emit("reconnecting", { dataset: this.dataset });
          break;
        case "reconnect":
          this.status.emit("reconnected", { dataset: this.dataset, server: s.server });
          // A pull request in flight may have died with the old connection.
          this.#current = undefined;
          this.#poke();
          break;
        case "error":
          if (s.error instanceof PermissionViolationError) this.#lastPermission = s.error;
          if (s.error instanceof UserAuthenticationExpiredError) this.#refreshMas("the user JWT expired");
          this.status.emit("error", { dataset: this.dataset }, s.error);
          break;
        case "close":
          this.#fail(new ConnectionError(`The NATS connection of dataset ${this.dataset} closed`));
          break;
        default:
          break;
      }
    }
  }

  async #api(subject: string, body: string, what: string): Promise<ApiReply> {
    const nc = this.nc!;
    try {
      const msg = await nc.request(subject, body, { timeout: NATS_REQUEST_TIMEOUT_MS });
      return parseApiReply(msg.data, what);
    } catch (err) {
      const perm = this.#lastPermission;
      if (perm !== undefined && perm.subject === subject) {
        throw new AuthError(`Requesting ${what} for dataset ${this.dataset} failed: ${perm.message}`, { cause: err });
      }
      throw natsError(err, `Requesting ${what} for dataset ${this.dataset}`);
    }
  }

  async #lookupStream(subject: string): Promise<string> {
    const reply = await this.#api(api.streamNames, JSON.stringify({ subject }), "the stream names");
    if (!reply.ok) {
      throw new ProtocolError(
        `Looking up the stream of ${subject} failed: ${reply.error.code} ${reply.error.description}`,
      );
    }
    const name = streamNamesOf(reply.doc)[0];
    if (name === undefined) {
      throw new UnknownDatasetError(`Subscribing to dataset ${this.dataset} failed: no stream holds ${subject}`, {
        dataset: this.dataset,
      });
    }
    return name;
  }

  async #ensureConsumer(start: StartPosition): Promise<void> {
    const stream = this.stream!;
    const durable = this.durable!;
    const info = await this.#api(api.consumerInfo(stream, durable), "", "the consumer info");
    if (info.ok) return; // resume: the existing consumer is used as it is
    if (info.error.err_code !== CONSUMER_NOT_FOUND && info.error.code !== 404) {
      throw new ProtocolError(
        `Reading consumer ${durable} of ${stream} failed: ${info.error.code} ${info.error.description}`,
      );
    }
    await this.#create(start);
  }

  async #create(start: StartPosition): Promise<void> {
    const stream = this.stream!;
    const durable = this.durable!;
    const body = createConsumerBody(stream, consumerConfig(durable, this.subject!, start));
    const created = await this.#api(api.durableCreate(stream, durable), body, "the consumer creation");
    if (!created.ok) {
      throw new ProtocolError(
        `Creating consumer ${durable} on ${stream} failed: ${created.error.code} ${created.error.description}`,
      );
    }
  }

  #openInbox(): void {
    const nc = this.nc!;
    this.#inbox?.unsubscribe();
    this.#inboxPrefix = createInbox();
    this.#current = undefined;
    this.#lastEmpty = false;
    this.#arrived.length = 0;
    this.#ready.length = 0;
    this.#seen.clear();
    this.#seenOrder.length = 0;
    this.#inbox = nc.subscribe(`${this.#inboxPrefix}.*`, {
      callback: (err, msg) => {
        if (err !== null) {
          this.#fail(natsError(err, `Receiving from dataset ${this.dataset}`));
          return;
        }
        this.#onMessage(msg);
      },
    });
  }

  #onMessage(msg: Msg): void {
    const h = msg.headers;
    const current = this.#current;
    if (h !== undefined && h.code > 0 && msg.data.length === 0) {
      if (current === undefined || msg.subject !== current.reply) return; // a stale request's status
      const code = h.code;
      if (code === 404 || code === 408) {
        this.#lastEmpty = current.received === 0;
        this.#current = undefined;
      } else if (code === 100) {
        return;
      } else if (code === 503) {
        // No JetStream responder yet (a server coming back): retry shortly.
        this.#current = undefined;
        this.#notBefore = Date.now() + 250;
      } else if (code === 409 && /deleted/i.test(h.description)) {
        this.#fail(new ConnectionError(`Pulling from dataset ${this.dataset} failed: the consumer was deleted`));
      } else {
        this.#fail(new ProtocolError(`Pulling from dataset ${this.dataset} failed: status ${code} ${h.description}`));
      }
      this.#poke();
      return;
    }
    let message: MdbMessage;
    try {
      const info = parseAckSubject(msg.reply ?? "");
      const init = {
        dataset: this.dataset,
        subject: msg.subject,
        data: detachBytes(msg.data),
        headers: convertHeaders(msg),
        reply: msg.reply!,
        info,
      };
      message = this.ackMode === "manual"
        ? new SettleableMdbMessage(init, (reply, payload) => this.#settle(reply, payload))
        : new MdbMessage(init);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (current !== undefined) {
      current.received++;
      current.remaining--;
      if (current.remaining <= 0) this.#current = undefined;
    }
    this.#arrived.push(message);
    this.#poke();
  }

  #settle(reply: string, payload: string): Promise<void> {
    const nc = this.nc;
    if (nc === undefined || nc.isClosed()) {
      return Promise.reject(new ClosedError(`Settling a message of dataset ${this.dataset} failed: closed`));
    }
    nc.publish(reply, payload);
    return Promise.resolve();
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #fail(err: unknown): void {
    if (this.#failure === undefined) this.#failure = err;
    this.#poke();
  }

  #request(): void {
    const noWait = this.batch > 1 && !this.#lastEmpty;
    const reply = `${this.#inboxPrefix}.${++this.#requestNo}`;
    this.#current = { reply, noWait, remaining: this.batch, received: 0, deadline: Date.now() + PULL_EXPIRES_MS };
    this.pullRequests++;
    this.nc!.publish(api.msgNext(this.stream!, this.durable!), pullBody(this.batch, noWait), { reply });
  }

  /** Moves what arrived into the ready queue: acks the batch first in auto mode, drops duplicates. */
  #admit(): void {
    const nc = this.nc!;
    for (const m of this.#arrived.splice(0)) {
      if (this.ackMode === "auto") {
        nc.publish(m.reply); // ack before yield, empty payload as nats-py
        if (m.delivered > 1 && this.#seen.has(m.sequence)) continue; // handed out already; its ack was lost
      }
      this.#remember(m.sequence);
      this.#ready.push(m);
    }
  }

  #remember(seq: number): void {
    if (this.#seen.has(seq)) return;
    this.#seen.add(seq);
    this.#seenOrder.push(seq);
    if (this.#seenOrder.length > DEDUPE_WINDOW) this.#seen.delete(this.#seenOrder.shift()!);
  }

  async pull(_max: number, context: SourceContext): Promise<MdbMessage[] | null> {
    const signal = context.signal;
    while (true) {
      if (signal.aborted) return null;
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#seeking !== undefined) {
        await this.#seeking.catch(() => {});
        continue;
      }
      const next = this.#ready.shift();
      if (next !== undefined) {
        this.#handed++;
        for (const w of this.#handedWaiters) w();
        return [next];
      }
      const nc = this.nc!;
      const now = Date.now();
      if (this.#current !== undefined && now > this.#current.deadline + PULL_GRACE_MS) this.#current = undefined;
      // A no_wait request is answered at once: take its whole batch (it ends with the batch
      // full or a 408), ack it, then hand it out. A long poll hands out what has come.
      if (this.#arrived.length > 0 && (this.#current === undefined || !this.#current.noWait)) {
        this.#admit();
        continue;
      }
      if (this.#current === undefined && now >= this.#notBefore && !nc.isClosed()) this.#request();
      const until = this.#current === undefined
        ? Math.min(500, this.#notBefore - now)
        : this.#current.deadline + PULL_GRACE_MS - Date.now();
      await this.#sleep(Math.max(10, until), signal);
    }
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.#wake = done;
    });
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

  async seek(position: number | Date): Promise<void> {
    if (this.#seeking !== undefined) await this.#seeking.catch(() => {});
    const run = (async () => {
      const stream = this.stream!;
      const durable = this.durable!;
      this.#inbox?.unsubscribe();
      this.#inbox = undefined;
      this.#current = undefined;
      const del = await this.#api(api.consumerDelete(stream, durable), "", "the consumer deletion");
      if (!del.ok && del.error.err_code !== CONSUMER_NOT_FOUND && del.error.code !== 404) {
        throw new ProtocolError(
          `Deleting consumer ${durable} of ${stream} failed: ${del.error.code} ${del.error.description}`,
        );
      }
      await this.#create(position);
      this.#openInbox();
    })();
    this.#seeking = run;
    this.#poke();
    try {
      await run;
    } catch (err) {
      this.#fail(err);
      throw err;
    } finally {
      if (this.#seeking === run) this.#seeking = undefined;
      this.#poke();
    }
  }

  async cancel(): Promise<void> {
    this.#poke();
    await this.#starting?.catch(() => {}); // a close during start waits for its connection, then releases it
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    this.#poke();
    for (const w of this.#handedWaiters) w();
    const nc = this.nc;
    if (nc !== undefined) {
      try {
        this.#inbox?.unsubscribe();
      } catch { /* closed already */ }
      await nc.close().catch(() => {});
    }
    await this.#statusLoop?.catch(() => {});
    await this.#refresh?.catch(() => {});
    this.status.close();
  }
}

/**
 * The dataset does not exist: the registry does not know it, or no stream
 * holds its subject.
 *
 * @example
 * ```ts
 * import { UnknownDatasetError } from "@x/pubsub/mdb";
 *
 * const err = new UnknownDatasetError("Subscribing to dataset nope failed: unknown", { dataset: "nope" });
 * console.log(err.dataset); // nope
 * ```
 */
export class UnknownDatasetError extends PubSubError {
  /** Always `"UnknownDatasetError"`. */
  override name: string = "UnknownDatasetError";
  /** The dataset asked for. */
  readonly dataset: string;

  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options The dataset and the cause.
   */
  constructor(message: string, options: { dataset: string; cause?: unknown }) {
    super(message, options);
    this.dataset = options.dataset;
  }
}

/**
 * The messages of one MDB dataset: a `ReadableStream<MdbMessage>` with
 * speedracer's `seek` and `wait`. Made by {@linkcode Connection.subscribe}.
 *
 * It pulls only while the reader reads: one `MSG.NEXT` request of `batch`
 * messages at a time (the first of a cycle with `no_wait`, as nats-py), so a
 * slow reader holds at most one batch. With `ack: "auto"` each batch is acked
 * before its first message is handed out.
 *
 * @example
 * ```ts ignore
 * import { Connection, Offset } from "@x/pubsub/mdb";
 *
 * const conn = await Connection.connect("https://mdb.example");
 * const sub = await conn.subscribe("my-dataset", { offset: Offset.BEGIN });
 * for await (const msg of sub) console.log(msg.sequence, msg.text());
 * ```
 */
export class MdbSubscription extends Subscription<MdbMessage> {
  readonly #engine: Engine;
  /** The dataset. */
  readonly dataset: string;
  /** The offset asked for (used only when the consumer is created). */
  readonly offset: Offset;
  /** The pull batch size. */
  readonly batch: number;
  /** The callback, if any. */
  readonly callback: ((msg: MdbMessage) => void | Promise<void>) | undefined;
  /** How messages are settled. */
  readonly ack: AckMode;
  /** The config document of the connection. */
  readonly urls: MdbUrls;
  /** The gateway token manager of the connection. */
  readonly jwtManager: JWTManager;
  /** Connection events of this subscription's NATS link. */
  readonly status: StatusChannel;
  #callbackLoop: Promise<void> | undefined;

  /**
   * Creates the subscription; it starts at once (see `ready`).
   *
   * @param ctx The connection's context.
   * @param dataset The dataset.
   * @param options Offset, batch, callback, ack mode, signal.
   * @throws {TypeError} On an invalid dataset or option.
   * @throws {RangeError} On an invalid batch.
   */
  constructor(ctx: MdbContext, dataset: string, options: MdbSubscribeOptions = {}) {
    checkDataset(dataset, "Subscribing");
    const offset = options.offset ?? Offset.NOW;
    if (offset !== Offset.BEGIN && offset !== Offset.NOW) {
      throw new TypeError(`Subscribing to dataset ${dataset} failed: offset ${String(offset)} is not "begin" or "now"`);
    }
    const batch = options.batch ?? 10;
    if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) {
      throw new RangeError(
        `Subscribing to dataset ${dataset} failed: batch ${batch} is not an integer from 1 to 10000`,
      );
    }
    const ack = options.ack ?? "auto";
    if (ack !== "auto" && ack !== "manual") {
      throw new TypeError(`Subscribing to dataset ${dataset} failed: ack ${String(ack)} is not "auto" or "manual"`);
    }
    if (options.callback !== undefined && typeof options.callback !== "function") {
      throw new TypeError(`Subscribing to dataset ${dataset} failed: callback is not a function`);
    }
    const engine = new Engine(ctx, dataset, offset, batch, ack);
    super(engine, { highWaterMark: 1, signal: options.signal });
    this.#engine = engine;
    this.dataset = dataset;
    this.offset = offset;
    this.batch = batch;
    this.callback = options.callback;
    this.ack = ack;
    this.urls = ctx.urls;
    this.jwtManager = ctx.jwtManager;
    this.status = engine.status;
    const callback = options.callback;
    if (callback !== undefined) {
      this.#callbackLoop = this.ready.then(async () => {
        const reader = this.getReader();
        try {
          while (true) {
            const { done, value } = await reader.read();
            if (done) return;
            await callback(value);
          }
        } catch (err) {
          void this.close(err); // not awaited: close() waits for this loop to end
        } finally {
          reader.releaseLock();
        }
      }, () => {});
    }
  }

  /** The subject, once started: `EVENTS.<dataset>` or `OBJECTS.<dataset>`. */
  get subject(): string | undefined {
    return this.#engine.subject;
  }

  /** The stream name, once started. */
  get stream(): string | undefined {
    return this.#engine.stream;
  }

  /** The durable consumer name, once started. */
  get durable(): string | undefined {
    return this.#engine.durable;
  }

  /** How many `MSG.NEXT` pull requests were sent. */
  get pullRequests(): number {
    return this.#engine.pullRequests;
  }

  /** How many messages were handed to the reader. */
  get handed(): number {
    return this.#engine.handed;
  }

  /**
   * Restarts the consumer at a stream sequence or a time: deletes the durable
   * consumer and creates it again from there. Messages buffered and not yet
   * read are discarded.
   *
   * @param position A stream sequence (from 1) or a time.
   * @returns When the new consumer is in place.
   * @throws {TypeError} When `position` is neither an integer nor a valid Date.
   * @throws {RangeError} When the sequence is not positive.
   * @throws {ClosedError} When the subscription has ended.
   */
  async seek(position: number | Date): Promise<void> {
    if (typeof position === "number") {
      if (!Number.isSafeInteger(position) || position < 1) {
        throw new RangeError(`Seeking dataset ${this.dataset} failed: ${position} is not a positive integer sequence`);
      }
    } else if (!(position instanceof Date) || Number.isNaN(position.getTime())) {
      throw new TypeError(`Seeking dataset ${this.dataset} failed: ${String(position)} is not a sequence or a Date`);
    }
    await this.ready;
    if (this.#engine.signal?.aborted) {
      throw new ClosedError(`Seeking dataset ${this.dataset} failed: the subscription has ended`);
    }
    await this.#engine.seek(position);
  }

  /**
   * Waits as speedracer's `wait()`: first until `messages` more data messages
   * were handed to the reader (or callback), then for `timeout` ms (or until
   * the `timeout` Date). With neither, it resolves at once.
   *
   * @param options The count and the time.
   * @returns When both waits are over; the time wait ends early if the subscription ends.
   * @throws {RangeError} When `messages` or `timeout` is negative or not finite.
   * @throws {ClosedError} When the subscription ends before `messages` arrived.
   */
  async wait(options: WaitOptions = {}): Promise<void> {
    const { messages, timeout } = options;
    if (messages !== undefined && (!Number.isInteger(messages) || messages < 0)) {
      throw new RangeError(
        `Waiting on dataset ${this.dataset} failed: messages ${messages} is not an integer of 0 or more`,
      );
    }
    let ms = 0;
    if (timeout instanceof Date) ms = timeout.getTime() - Date.now();
    else if (timeout !== undefined) {
      if (!Number.isFinite(timeout) || timeout < 0) {
        throw new RangeError(`Waiting on dataset ${this.dataset} failed: timeout ${timeout} is not 0 or more`);
      }
      ms = timeout;
    }
    if (messages) {
      await this.ready;
      await this.#engine.waitHanded(messages);
    }
    if (ms > 0) {
      const signal = this.#engine.signal;
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  /**
   * Ends the subscription: stops the callback, closes its NATS connection. The
   * durable consumer stays (for 7 days unused), so a later subscription resumes.
   *
   * @param reason Why; `closed` resolves with it.
   * @returns When everything is released.
   */
  override async close(reason?: unknown): Promise<void> {
    await super.close(reason);
    await this.#callbackLoop;
  }
}
