/**
 * `open(url)`: one door to every system. The URL's scheme picks the
 * system's planner (`src/<system>/open_url.ts`, which imports only
 * `src/core`); the system's entry point is loaded only when connecting
 * (dynamic `import()`), so importing this module, or opening a
 * `streamsea+wss:` URL, never loads zeromq, NATS over TCP or any
 * `node:`/`Deno`-only module.
 *
 * @module
 */

import type { PubSub } from "./core/pubsub.ts";
import { connect, type OpenOptions, plan } from "./open/plan.ts";
import { scrub } from "./open/scrub.ts";

export type {
  OpenHttpPubSubOptions,
  OpenMdbOptions,
  OpenMemoryOptions,
  OpenMessageBusOptions,
  OpenNatsOptions,
  OpenOptions,
  OpenPosttrollOptions,
  OpenStreamSeaOptions,
} from "./open/plan.ts";
export type { EnvSource } from "./open/env.ts";

/**
 * Opens a pub/sub system by URL and returns its adapter, connected: the
 * uniform {@linkcode PubSub} (`subscribe`, `publish`, `writable`,
 * `capabilities`, `status`, `close`).
 *
 * | URL | system | maps to |
 * |---|---|---|
 * | `nats://[user:pass@\|token@]host[:4222][?jetstream&domain=&apiPrefix=&name=&timeoutMs=&reconnect=&maxReconnectAttempts=]` (also `nats+tcp:`) | NATS over TCP (`./nats/tcp`) | `servers: nats://host:port`, `user`/`pass` or `token`, JetStream mode |
 * | `nats+tls://host[:4222][?…]` | NATS over TLS (`./nats/tcp`) | `servers: tls://host:port` (TLS required; CA in `options.nats.caCerts`), same query |
 * | `nats+ws://…`, `nats+wss://host[:port][/path][?…]` | NATS over WebSocket (`./nats`) | `servers: ws(s)://host:port/path`, same query |
 * | `mdb+https://mas.example[:port]/[?websocket=&subjects=&unknownDataset=&offset=&ack=&batch=&prefetch=&maxPayload=&timeoutMs=&maxReconnectAttempts=&reconnectTimeWaitMs=]` | MDB (`./mdb`) | `Connection.connect("https://mas.example/")` then `MdbPubSub` |
 * | `httppubsub+http(s)://[:token@]broadcaster:3003[/prefix][?receiver=&bind=&retries=&timeoutMs=&maxPayload=]` | httppubsub (`./httppubsub`) | `broadcasters`, token `sendAuth`, receiver `host`, `bind` (default a server on 127.0.0.1, free port) |
 * | `streamsea+ws(s)://clientId:secret@host[:port][?format=&gzip=&timeoutMs=&maxPayload=]` (also `+http(s)`) | stream-sea (`./streamsea`) | `remoteHost`, `remotePort`, `secure` (wss/https), `clientId`, `clientSecret` |
 * | `messagebus://[user:pass@\|:token@]host:port[?feed=&auth=&imageField=&contentType=&maxPayload=&reconnect=&connectTimeoutMs=&loginTimeoutMs=&monitorHeartbeat=]`, `messagebus+tls://…` | messagebus (`./messagebus`) | `BasicAuthenticator` / `TokenAuthenticator`, `tls` |
 * | `posttroll://nameserver[:port]/service[?name=&bind=&port=&advertise=&register=&address=&timeoutMs=&maxPayload=]` | PostTroll (`./posttroll`) | `nameserver`, `config.nameserverPort`, `services`, publisher `name`, registration |
 * | `memory:[?settle&maxPayload=]` | a new in-process broker (`MemoryPubSub`, exported by `./testing`; loads no testing code) | `MemoryPubSub` |
 *
 * Options (`options.<system>`) win over the URL. Credentials found in
 * neither come from the system's usual environment variables: `NATS_TOKEN`,
 * else `NATS_USER`/`NATS_PASSWORD`, else `NATS_CREDS` (a `.creds` file) for
 * NATS; MDB's client reads `SSL_CA_BUNDLE` and `~/.ssh/cert.{crt,key}`;
 * PostTroll's reads `POSTTROLL_*`. Passwords and tokens never appear in
 * error messages: the URL is shown with `***` in their place.
 *
 * @example Opening an in-process broker
 * ```ts
 * import { open } from "@x/pubsub";
 *
 * const ps = await open("memory:");
 * const sub = ps.subscribe("greetings");
 * await sub.ready;
 * await ps.publish("greetings", "hello");
 * for await (const msg of sub) {
 *   console.log(msg.text()); // hello
 *   break;
 * }
 * await ps.close();
 * ```
 *
 * @example URLs of the other systems
 * ```ts ignore
 * import { open } from "@x/pubsub";
 *
 * const js = await open("nats+wss://nats.example.com?jetstream", { nats: { token: "s3cret" } });
 * const mdb = await open("mdb+https://mas.example/?offset=begin&ack=manual", {
 *   mdb: { cert: ["/home/me/.ssh/cert.crt", "/home/me/.ssh/cert.key"] },
 * });
 * const hps = await open("httppubsub+http://broadcaster:3003/?receiver=http://10.0.0.5:3002&bind=0.0.0.0:3002");
 * const sea = await open("streamsea+wss://my-client-id:my-secret@streams.example?format=envelope");
 * const bus = await open("messagebus+tls://alice:s3cret@bus.example:9001?feed=prices");
 * const troll = await open("posttroll://nameserver.example/my-service");
 * ```
 *
 * @param url The URL; its scheme picks the system.
 * @param options Per-system options and credentials, and where environment variables come from.
 * @returns The system's adapter, connected (for httppubsub, its receiver bound; for PostTroll, the
 *   publisher binds on first use).
 * @throws {TypeError} On a bad URL (unknown scheme, missing or invalid host, port, path, user
 *   name or password, unknown or invalid query parameter), naming the part that is wrong.
 * @throws {ConnectionError} When the system cannot be reached.
 * @throws {AuthError} When it refuses the credentials.
 * @throws {TimeoutError} When connecting takes too long.
 */
export async function open(url: string | URL, options: OpenOptions = {}): Promise<PubSub> {
  const p = plan(url, options);
  try {
    return await connect(p);
  } catch (err) {
    throw scrub(err, p.secrets);
  }
}
