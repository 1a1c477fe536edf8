/**
 * `MdbTestBed`: a real nats-server in operator mode, a {@linkcode FakeMas}, a
 * test PKI and an admin NATS connection that creates dataset streams and
 * publishes into them.
 *
 * @module
 */

import { headers as natsHeaders, jwtAuthenticator, type NatsConnection } from "@nats-io/nats-core";
import { jetstream, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { PublishReceipt } from "../../core/pubsub.ts";
import { Connection, type ConnectOptions } from "../../mdb/client.ts";
import { datasetSubject, type RegistryEntry, streamNameOf } from "../../mdb/codec.ts";
import { connectNats } from "../../nats/client.ts";
import { TCP_TRANSPORT } from "../../nats/tcp_transport.ts";
import { NatsServer } from "../nats/server.ts";
import { FakeMas } from "./fake_mas.ts";
import { createTestPki, type TestPki } from "./pki.ts";

/** What {@linkcode MdbTestBed.consumerInfo} reports about a durable consumer. */
export interface ConsumerState {
  /** The consumer's configuration as the server holds it (`deliver_policy`, `opt_start_seq`, ...). */
  readonly config: Readonly<Record<string, unknown>>;
  /** The last stream sequence delivered. */
  readonly deliveredStreamSeq: number;
  /** The stream sequence of the ack floor. */
  readonly ackFloorStreamSeq: number;
  /** Delivered and not yet acked. */
  readonly numAckPending: number;
  /** Not yet delivered. */
  readonly numPending: number;
}

/** What {@linkcode MdbTestBed.sniff} returns. */
export interface Sniffer {
  /** The payloads seen so far, as text. */
  readonly messages: string[];
  /** Their reply subjects (`""` when none), in the same order. */
  readonly replies: string[];
  /** Stops listening. */
  stop(): void;
}

/** Options of {@linkcode MdbTestBed.start}. */
export interface MdbTestBedOptions {
  /** The CN of the test user. Default `"alice"`. */
  cn?: string | undefined;
  /** The FakeMas port on 127.0.0.1. Default a free one. */
  masPort?: number | undefined;
  /** Lifetime of MAS-issued NATS user JWTs, in seconds. Default 3600. */
  userJwtTtlSeconds?: number | undefined;
  /** Also allow nats.js-style `CONSUMER.CREATE` (for raw-client comparisons). Default false. */
  allowConsumerCreate?: boolean | undefined;
  /** Create any dataset asked for (registry entry and stream) on first use. Default false. */
  autoCreateDatasets?: boolean | undefined;
}

/**
 * Everything an MDB client test needs, on loopback: nats-server (operator
 * mode, JetStream, WebSocket), the fake MAS with a fresh PKI, and an admin
 * connection. Stop it with `stop()`.
 *
 * @example
 * ```ts ignore
 * import { MdbTestBed } from "@x/pubsub/testing/mdb";
 *
 * const bed = await MdbTestBed.start();
 * await bed.createDataset("demo");
 * await bed.publish("demo", "hello");
 * const conn = await bed.connect();
 * const sub = await conn.subscribe("demo", { offset: "begin" });
 * for await (const msg of sub) { console.log(msg.text()); break; }
 * await conn.close();
 * await bed.stop();
 * ```
 */
export class MdbTestBed {
  /** The nats-server. */
  readonly nats: NatsServer;
  /** The fake MAS. */
  readonly mas: FakeMas;
  /** The PKI. */
  readonly pki: TestPki;
  readonly #admin: NatsConnection;
  readonly #jsm: JetStreamManager;

  readonly #autoCreate: boolean;
  readonly #creating = new Map<string, Promise<string>>();

  private constructor(
    nats: NatsServer,
    mas: FakeMas,
    pki: TestPki,
    admin: NatsConnection,
    jsm: JetStreamManager,
    autoCreate: boolean,
  ) {
    this.#autoCreate = autoCreate;
    this.nats = nats;
    this.mas = mas;
    this.pki = pki;
    this.#admin = admin;
    this.#jsm = jsm;
  }

  /**
   * Starts everything.
   *
   * @param options The user's CN, JWT lifetimes.
   * @returns The bed.
   */
  static async start(options: MdbTestBedOptions = {}): Promise<MdbTestBed> {
    let bed: MdbTestBed | undefined;
    const nats = await NatsServer.start({ operator: true, jetstream: true, websocket: true });
    let pki: TestPki | undefined;
    let mas: FakeMas | undefined;
    try {
      pki = await createTestPki(options.cn ?? "alice");
      mas = await FakeMas.start({
        pki,
        port: options.masPort,
        natsWebsocketUrl: nats.wsUrl!,
        natsUrl: nats.url,
        mintUser: (r) => nats.mintUser(r),
        userJwtTtlSeconds: options.userJwtTtlSeconds,
        allowConsumerCreate: options.allowConsumerCreate,
        resolveDataset: options.autoCreateDatasets
          ? async (slug) => {
            await bed!.createDataset(slug);
            return bed!.mas.datasets.get(slug);
          }
          : undefined,
      });
      const { jwt, seed } = await nats.adminCredentials();
      // Over TCP beside the subscriptions' WebSocket connections: each keeps its own transport across restarts.
      const admin = await connectNats({
        servers: nats.url,
        authenticator: jwtAuthenticator(jwt, seed),
        name: "mdb test admin",
        maxReconnectAttempts: -1,
        reconnectTimeWait: 200,
      }, TCP_TRANSPORT);
      const jsm = await jetstreamManager(admin);
      bed = new MdbTestBed(nats, mas, pki, admin, jsm, options.autoCreateDatasets ?? false);
      return bed;
    } catch (err) {
      await mas?.stop();
      await pki?.remove();
      await nats.stop();
      throw err;
    }
  }

  /**
   * Registers a dataset with the fake registry and creates its stream
   * (`EVENTS_<slug>` on `EVENTS.<slug>`, or the OBJECTS pair).
   *
   * @param slug The dataset.
   * @param entry Registry fields.
   * @returns The subject.
   */
  createDataset(slug: string, entry: RegistryEntry = {}): Promise<string> {
    let made = this.#creating.get(slug);
    if (made === undefined) {
      made = this.#create(slug, entry);
      this.#creating.set(slug, made);
      made.catch(() => this.#creating.delete(slug));
    }
    return made;
  }

  async #create(slug: string, entry: RegistryEntry): Promise<string> {
    const full = { slug, data_object_backend: null, mdb_object_publish: false, ...entry };
    this.mas.datasets.set(slug, full);
    const subject = datasetSubject(slug, full);
    await this.#jsm.streams.add({ name: streamNameOf(subject), subjects: [subject] });
    return subject;
  }

  /**
   * Publishes into a dataset's subject through JetStream (waits for the PubAck).
   *
   * @param slug The dataset.
   * @param data The payload.
   * @param headers Headers to send.
   * @returns The receipt with the stream sequence.
   */
  async publish(slug: string, data: Uint8Array | string, headers?: HeadersInit): Promise<PublishReceipt> {
    if (this.#autoCreate && !this.mas.datasets.has(slug)) await this.createDataset(slug);
    const entry = this.mas.datasets.get(slug) ?? {};
    const subject = datasetSubject(slug, entry);
    let h = undefined;
    if (headers !== undefined) {
      h = natsHeaders();
      new Headers(headers).forEach((v, k) => h!.append(k, v));
    }
    const ack = await jetstream(this.#admin).publish(subject, data, h === undefined ? {} : { headers: h });
    return { topic: slug, confirmed: true, sequence: ack.seq, id: String(ack.seq) };
  }

  /**
   * The consumer info of a dataset's durable.
   *
   * @param slug The dataset.
   * @param durable The consumer name.
   * @returns The info, or `undefined` when it does not exist.
   */
  async consumerInfo(slug: string, durable: string): Promise<ConsumerState | undefined> {
    const stream = streamNameOf(datasetSubject(slug, this.mas.datasets.get(slug) ?? {}));
    try {
      const info = await this.#jsm.consumers.info(stream, durable);
      return {
        config: { ...info.config },
        deliveredStreamSeq: info.delivered.stream_seq,
        ackFloorStreamSeq: info.ack_floor.stream_seq,
        numAckPending: info.num_ack_pending,
        numPending: info.num_pending,
      };
    } catch {
      return undefined;
    }
  }

  /**
   * Creates a stream directly, without a registry entry.
   *
   * @param name The stream name.
   * @param subjects Its subjects.
   * @returns When it exists.
   */
  async addStream(name: string, subjects: string[]): Promise<void> {
    await this.#jsm.streams.add({ name, subjects });
  }

  /**
   * Tells whether JetStream answers for a stream (after a restart it takes a moment).
   *
   * @param name The stream name.
   * @returns Whether its info came back.
   */
  streamReady(name: string): Promise<boolean> {
    return this.#jsm.streams.info(name).then(() => true, () => false);
  }

  /**
   * Listens on a subject with the admin user (which sees the requests of every
   * user of the account, e.g. `$JS.API.CONSUMER.MSG.NEXT.<stream>.*`).
   *
   * @param subject The subject or wildcard.
   * @returns The payloads seen and a stop function.
   */
  sniff(subject: string): Sniffer {
    const messages: string[] = [];
    const replies: string[] = [];
    const sub = this.#admin.subscribe(subject, {
      callback: (_err, msg) => {
        messages.push(msg.string());
        replies.push(msg.reply ?? "");
      },
    });
    return { messages, replies, stop: () => sub.unsubscribe() };
  }

  /**
   * Publishes a raw NATS message as the admin user, e.g. a forged delivery to
   * a client's pull inbox (malformed-input tests).
   *
   * @param subject Where to.
   * @param data The payload.
   * @param reply The reply subject to claim.
   * @returns When it was flushed to the server.
   */
  async inject(subject: string, data: Uint8Array | string, reply?: string): Promise<void> {
    this.#admin.publish(subject, data, reply === undefined ? {} : { reply });
    await this.#admin.flush();
  }

  /**
   * Connects an MDB client to the fake with the test user's certificate and CA.
   *
   * @param options More connect options.
   * @returns The connection.
   */
  connect(options: ConnectOptions = {}): Promise<Connection> {
    return Connection.connect(this.mas.url, {
      cert: [this.pki.clientCertPath, this.pki.clientKeyPath],
      caBundle: this.pki.caCertPath,
      ...options,
    });
  }

  /**
   * Stops everything.
   *
   * @returns When everything is released.
   */
  async stop(): Promise<void> {
    await this.#admin.close().catch(() => {});
    await this.mas.stop();
    await this.pki.remove();
    await this.nats.stop();
  }

  /** Calls {@linkcode MdbTestBed.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
