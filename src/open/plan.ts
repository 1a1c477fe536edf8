/**
 * Pure mapping of a pub/sub URL and `open()` options onto one system's
 * adapter options. Only type imports of the systems: nothing here loads a
 * client.
 *
 * @module
 */

import type { MemoryPubSubOptions } from "../memory/mod.ts";
import type { ConnectOptions as MdbConnectOptions, MdbPubSubOptions } from "../mdb/mod.ts";
import type { NatsPubSubOptions } from "../nats/mod.ts";
import type { HttpPubSubClientOptions, HttpPubSubOptions } from "../httppubsub/mod.ts";
import type { StreamSeaPubSubOptions } from "../streamsea/mod.ts";
import type { MessageBusClientOptions, MessageBusPubSubOptions } from "../messagebus/mod.ts";
import type { PosttrollPubSubOptions } from "../posttroll/mod.ts";
import { defined, extraSecrets, hostPort, noPath, noUserinfo, parseUrl, requireHost, urlError } from "../core/url.ts";
import { envReader, type EnvSource } from "./env.ts";

/** The NATS part of `open()`'s options: any {@linkcode NatsPubSubOptions}, over the URL's. */
export type OpenNatsOptions = Partial<NatsPubSubOptions>;
/** The MDB part of `open()`'s options: connect options (certificates) and adapter options (publisher). */
export type OpenMdbOptions = MdbConnectOptions & MdbPubSubOptions;
/** The httppubsub part of `open()`'s options: client options (auth, bind) and the adapter's. */
export type OpenHttpPubSubOptions = Partial<HttpPubSubClientOptions> & HttpPubSubOptions;
/** The stream-sea part of `open()`'s options. */
export type OpenStreamSeaOptions = Partial<StreamSeaPubSubOptions>;
/** The messagebus part of `open()`'s options: client options (authenticator, TLS CAs) and the adapter's. */
export type OpenMessageBusOptions = MessageBusClientOptions & MessageBusPubSubOptions;
/** The PostTroll part of `open()`'s options. */
export type OpenPosttrollOptions = PosttrollPubSubOptions;
/** The `memory:` part of `open()`'s options. */
export type OpenMemoryOptions = MemoryPubSubOptions;

/**
 * Options of `open()`: one section per system, each merged over (and
 * winning against) what the URL says; credentials found in neither come
 * from the system's usual environment variables.
 */
export interface OpenOptions {
  /** `nats:`, `nats+tcp:`, `nats+tls:`, `nats+ws:`, `nats+wss:`. */
  nats?: OpenNatsOptions | undefined;
  /** `mdb+https:`. */
  mdb?: OpenMdbOptions | undefined;
  /** `httppubsub+http:`, `httppubsub+https:`. */
  httppubsub?: OpenHttpPubSubOptions | undefined;
  /** `streamsea+ws:`, `streamsea+wss:`, `streamsea+http:`, `streamsea+https:`. */
  streamsea?: OpenStreamSeaOptions | undefined;
  /** `messagebus:`, `messagebus+tls:`. */
  messagebus?: OpenMessageBusOptions | undefined;
  /** `posttroll:`. */
  posttroll?: OpenPosttrollOptions | undefined;
  /** `memory:`. */
  memory?: OpenMemoryOptions | undefined;
  /**
   * Where environment variables come from: a record, a function, or `false`
   * to read none. Default: the runtime's environment (in Deno only variables
   * already granted, so `open()` never prompts).
   */
  env?: EnvSource | undefined;
}

/** What a URL and options resolve to: the system, its entry's options, and what to scrub from errors. */
export type Plan =
  | { system: "nats"; transport: "tcp" | "ws"; options: NatsPubSubOptions; credsFile: string | undefined } & Common
  | { system: "mdb"; url: string; connect: MdbConnectOptions; pubsub: MdbPubSubOptions } & Common
  | {
    system: "httppubsub";
    client: HttpPubSubClientOptions;
    pubsub: HttpPubSubOptions;
    sendToken: string | undefined;
  } & Common
  | { system: "streamsea"; options: StreamSeaPubSubOptions } & Common
  | {
    system: "messagebus";
    host: string;
    port: number;
    options: MessageBusClientOptions & MessageBusPubSubOptions;
    basic: { username: string; password: string } | undefined;
    token: string | undefined;
  } & Common
  | { system: "posttroll"; options: PosttrollPubSubOptions } & Common
  | { system: "memory"; options: MemoryPubSubOptions } & Common;

interface Common {
  /** The URL as shown in messages. */
  display: string;
  /** Secrets to scrub from errors. */
  secrets: string[];
}

/** The schemes `open()` knows, and their systems. */
export const SCHEMES: Readonly<Record<string, Plan["system"]>> = Object.freeze({
  "nats": "nats",
  "nats+tcp": "nats",
  "nats+tls": "nats",
  "nats+ws": "nats",
  "nats+wss": "nats",
  "mdb+https": "mdb",
  "httppubsub+http": "httppubsub",
  "httppubsub+https": "httppubsub",
  "streamsea+ws": "streamsea",
  "streamsea+wss": "streamsea",
  "streamsea+http": "streamsea",
  "streamsea+https": "streamsea",
  "messagebus": "messagebus",
  "messagebus+tls": "messagebus",
  "posttroll": "posttroll",
  "memory": "memory",
});

/**
 * Resolves a URL and options into a {@linkcode Plan}.
 *
 * @param input The URL.
 * @param options The options.
 * @returns The plan.
 * @throws {TypeError} On a bad URL, naming the part that is wrong.
 */
export function plan(input: string | URL, options: OpenOptions = {}): Plan {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Opening a URL failed: options ${String(options)} is not an object`);
  }
  const scheme0 = (typeof input === "string" ? /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(input)?.[1] : input?.protocol)
    ?.replace(/:$/, "").toLowerCase();
  // A user name alone is a token for NATS (`nats://TOKEN@host`) and httppubsub: shown as `***`.
  const tokenSystem = scheme0 === undefined ? undefined : SCHEMES[scheme0];
  const u = parseUrl(input, tokenSystem === "nats" || tokenSystem === "httppubsub");
  const system = SCHEMES[u.scheme];
  if (system === undefined) {
    urlError(u.display, `the scheme ${u.scheme}: is not one of ${Object.keys(SCHEMES).map((s) => `${s}:`).join(", ")}`);
  }
  const env = envReader(options.env);
  const secrets = [...u.secrets];
  const common = { display: u.display, secrets };
  switch (system) {
    case "nats": {
      requireHost(u);
      const tcp = u.scheme === "nats" || u.scheme === "nats+tcp" || u.scheme === "nats+tls";
      if (tcp) noPath(u, "NATS over TCP has no path");
      // nats+tls: TLS required (a server that does not offer it is refused), verified with the system roots and
      // options.nats.caCerts.
      const server = tcp
        ? `${u.scheme === "nats+tls" ? "tls" : "nats"}://${u.host}:${u.port ?? 4222}`
        : `${u.scheme === "nats+wss" ? "wss" : "ws"}://${hostPort(u)}${u.path === "/" ? "" : u.path}`;
      const q = u.query;
      const jsFlag = q.boolean("jetstream");
      const domain = q.string("domain");
      const apiPrefix = q.string("apiPrefix");
      const jetstream = domain !== undefined || apiPrefix !== undefined
        ? (jsFlag === false
          ? urlError(u.display, "the query parameter jetstream is false, but domain or apiPrefix is given")
          : defined({ domain, apiPrefix }))
        : jsFlag;
      const fromUrl: NatsPubSubOptions = defined({
        servers: server,
        jetstream,
        name: q.string("name"),
        timeoutMs: q.integer("timeoutMs", 1),
        reconnect: q.boolean("reconnect"),
        maxReconnectAttempts: q.integer("maxReconnectAttempts", -1),
      });
      q.done();
      if (u.password !== "") {
        fromUrl.user = u.username;
        fromUrl.pass = u.password;
      } else if (u.username !== "") {
        fromUrl.token = u.username;
      }
      const o = options.nats ?? {};
      const merged: NatsPubSubOptions = { ...fromUrl, ...defined({ ...o }), servers: o.servers ?? server };
      let credsFile: string | undefined;
      const hasCreds = merged.token !== undefined || merged.user !== undefined || merged.authenticator !== undefined;
      if (!hasCreds) {
        const token = env("NATS_TOKEN");
        const user = env("NATS_USER");
        if (token !== undefined) {
          merged.token = token;
        } else if (user !== undefined) {
          merged.user = user;
          const pass = env("NATS_PASSWORD");
          if (pass !== undefined) merged.pass = pass;
        } else {
          credsFile = env("NATS_CREDS");
        }
      }
      secrets.push(...extraSecrets(merged.token, merged.pass));
      return { system, transport: tcp ? "tcp" : "ws", options: merged, credsFile, ...common };
    }
    case "mdb": {
      requireHost(u);
      noPath(u, "MDB reads its config from /api/v1/config of the origin");
      noUserinfo(u, "MDB authenticates with a client certificate (options.mdb.cert)");
      const q = u.query;
      const connect: MdbConnectOptions = defined({
        websocket: q.boolean("websocket"),
        subjects: q.oneOf("subjects", ["registry", "slug"]),
        unknownDataset: q.oneOf("unknownDataset", ["error", "events"]),
        maxReconnectAttempts: q.integer("maxReconnectAttempts", -1),
        reconnectTimeWaitMs: q.integer("reconnectTimeWaitMs", 0),
        timeoutMs: q.integer("timeoutMs", 1),
      });
      const pubsub: MdbPubSubOptions = defined({
        offset: q.oneOf("offset", ["begin", "now"]),
        ack: q.oneOf("ack", ["auto", "manual"]),
        batch: q.integer("batch", 1),
        maxPayload: q.integer("maxPayload", 1),
      });
      q.done();
      const o = options.mdb ?? {};
      const c = defined({ ...o });
      return {
        system,
        url: `https://${hostPort(u)}/`,
        connect: {
          ...connect,
          ...defined({
            websocket: c.websocket,
            subjects: c.subjects,
            unknownDataset: c.unknownDataset,
            maxReconnectAttempts: c.maxReconnectAttempts,
            reconnectTimeWaitMs: c.reconnectTimeWaitMs,
            timeoutMs: c.timeoutMs,
            cert: c.cert,
            caBundle: c.caBundle,
            webSocket: c.webSocket,
            signal: c.signal,
          }),
        },
        pubsub: {
          ...pubsub,
          ...defined({
            offset: c.offset,
            ack: c.ack,
            batch: c.batch,
            maxPayload: c.maxPayload,
            publisher: c.publisher,
          }),
        },
        ...common,
      };
    }
    case "httppubsub": {
      requireHost(u);
      const base = `${u.scheme === "httppubsub+https" ? "https" : "http"}://${hostPort(u)}${
        u.path.replace(/\/+$/, "")
      }`;
      const q = u.query;
      const receiver = q.string("receiver");
      if (receiver !== undefined && !URL.canParse(receiver)) {
        urlError(u.display, `the query parameter receiver ${JSON.stringify(receiver)} is not a URL`);
      }
      const bindText = q.string("bind");
      let bind: HttpPubSubClientOptions["bind"] = { type: "serve", hostname: "127.0.0.1", port: 0 };
      if (bindText === "manual") {
        bind = { type: "manual" };
      } else if (bindText !== undefined) {
        const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(bindText);
        if (m === null || Number(m[2]) > 65535) {
          urlError(u.display, `the query parameter bind ${JSON.stringify(bindText)} is not "manual" or host:port`);
        }
        bind = { type: "serve", hostname: (m[1] as string).replace(/^\[|\]$/g, ""), port: Number(m[2]) };
      }
      const fromUrl = defined({
        retries: q.integer("retries", 1),
        timeoutMs: q.integer("timeoutMs", 1),
        maxPayload: q.integer("maxPayload", 1),
      });
      q.done();
      const secret = u.password !== "" ? u.password : u.username;
      const o = defined({ ...options.httppubsub ?? {} });
      const { maxPayload, ...clientOverrides } = o;
      const client: HttpPubSubClientOptions = {
        broadcasters: [base],
        bind,
        ...(receiver === undefined ? {} : { host: receiver }),
        ...(fromUrl.retries === undefined ? {} : { retries: fromUrl.retries }),
        ...(fromUrl.timeoutMs === undefined ? {} : { timeoutMs: fromUrl.timeoutMs }),
        ...clientOverrides,
      };
      const limit = maxPayload ?? fromUrl.maxPayload;
      if (limit !== undefined && clientOverrides.bufferLimit === undefined) client.bufferLimit = limit;
      return {
        system,
        client,
        pubsub: limit === undefined ? {} : { maxPayload: limit },
        sendToken: secret === "" || o.sendAuth !== undefined ? undefined : secret,
        ...common,
      };
    }
    case "streamsea": {
      requireHost(u);
      noPath(u, "the stream-sea client builds its own paths");
      const q = u.query;
      const fromUrl: Partial<StreamSeaPubSubOptions> = defined({
        format: q.oneOf("format", ["json", "envelope"]),
        gzip: q.boolean("gzip"),
        timeoutMs: q.integer("timeoutMs", 1),
        maxPayload: q.integer("maxPayload", 1),
      });
      q.done();
      const o = defined({ ...options.streamsea ?? {} });
      const clientId = o.clientId ?? (u.username === "" ? undefined : u.username);
      if (clientId === undefined && o.credentials === undefined) {
        urlError(u.display, "the client id is missing (give it as the URL's user name or options.streamsea.clientId)");
      }
      const clientSecret = o.clientSecret ?? (u.password === "" ? undefined : u.password);
      secrets.push(...extraSecrets(clientSecret));
      const opts: StreamSeaPubSubOptions = {
        remoteHost: u.host.replace(/^\[|\]$/g, ""),
        ...(u.port === undefined ? {} : { remotePort: u.port }),
        secure: u.scheme === "streamsea+wss" || u.scheme === "streamsea+https",
        ...fromUrl,
        ...o,
        clientId: clientId ?? (o.credentials?.clientId as string),
        ...(clientSecret === undefined ? {} : { clientSecret }),
      };
      return { system, options: opts, ...common };
    }
    case "messagebus": {
      requireHost(u);
      if (u.port === undefined) {
        urlError(u.display, "the port is missing (messagebus servers listen on 9001 since 4.x, on 9091 before)");
      }
      noPath(u, "messagebus has no path");
      const q = u.query;
      const fromUrl: MessageBusClientOptions & MessageBusPubSubOptions = defined({
        feed: q.string("feed"),
        auth: q.oneOf("auth", ["v3", "v4"]),
        imageField: q.oneOf("imageField", ["bool", "contentType"]),
        contentType: q.string("contentType"),
        maxPayload: q.integer("maxPayload", 1),
        reconnect: q.boolean("reconnect"),
        connectTimeoutMs: q.integer("connectTimeoutMs", 1),
        loginTimeoutMs: q.integer("loginTimeoutMs", 0),
        monitorHeartbeat: q.boolean("monitorHeartbeat"),
      });
      q.done();
      if (u.username !== "" && u.password === "") {
        urlError(
          u.display,
          "the URL has a user name but no password (a token goes in the password: messagebus://:TOKEN@host)",
        );
      }
      const o = defined({ ...options.messagebus ?? {} });
      const tls = u.scheme === "messagebus+tls" ? (o.tls ?? true) : o.tls;
      const fromUserinfo = o.authenticator === undefined && u.password !== "";
      return {
        system,
        host: u.host.replace(/^\[|\]$/g, ""),
        port: u.port,
        options: { ...fromUrl, ...o, ...(tls === undefined ? {} : { tls }) },
        basic: fromUserinfo && u.username !== "" ? { username: u.username, password: u.password } : undefined,
        token: fromUserinfo && u.username === "" ? u.password : undefined,
        ...common,
      };
    }
    case "posttroll": {
      noUserinfo(u, "PostTroll has no passwords (CURVE keys come from POSTTROLL_* or options.posttroll.config)");
      let service = "";
      try {
        service = decodeURIComponent(u.path.replace(/^\/+/, "").replace(/\/+$/, ""));
      } catch {
        urlError(u.display, "the path (service) is not valid percent-encoding");
      }
      if (/\s/.test(service)) urlError(u.display, `the path (service) ${JSON.stringify(service)} has whitespace`);
      const q = u.query;
      const register = q.oneOf("register", ["nameserver", "multicast", "none"]) ??
        (u.host === "" ? "none" : "nameserver");
      if (register === "nameserver" && u.host === "") {
        urlError(u.display, "the host (nameserver) is missing, but register=nameserver needs it");
      }
      const addresses = q.list("address");
      for (const a of addresses) {
        if (!/^tcp:\/\/[^\s/]+:\d{1,5}$/.test(a)) {
          urlError(u.display, `the query parameter address ${JSON.stringify(a)} is not tcp://host:port`);
        }
      }
      const fromUrl: PosttrollPubSubOptions = defined({
        name: q.string("name") ?? (service === "" ? undefined : service.split(",")[0]),
        host: q.string("bind"),
        port: q.integer("port", 0),
        advertisedAddress: q.string("advertise"),
        timeout: q.integer("timeoutMs", 1),
        maxPayload: q.integer("maxPayload", 1),
      });
      q.done();
      const o = defined({ ...options.posttroll ?? {} });
      const opts: PosttrollPubSubOptions = {
        ...fromUrl,
        nameserver: u.host === "" ? false : u.host.replace(/^\[|\]$/g, ""),
        services: service === "" ? "" : service.split(","),
        nameservers: register === "nameserver" ? [u.host] : register === "multicast" ? [] : false,
        ...(addresses.length === 0 ? {} : { addresses }),
        ...o,
      };
      if (u.port !== undefined) opts.config = { nameserverPort: u.port, ...o.config };
      return { system, options: opts, ...common };
    }
    case "memory": {
      if (u.host !== "" || (u.path !== "" && u.path !== "/")) {
        urlError(u.display, "the path is not allowed (memory: opens a new in-process broker)");
      }
      const q = u.query;
      const fromUrl: MemoryPubSubOptions = defined({
        settle: q.boolean("settle"),
        maxPayload: q.integer("maxPayload", 1),
      });
      q.done();
      return { system, options: { ...fromUrl, ...defined({ ...options.memory ?? {} }) }, ...common };
    }
  }
  return urlError(u.display, "the scheme is not supported");
}

/**
 * The NATS adapter's options for a plan, with the authenticator read from the
 * credentials file where the plan names one (that code is loaded only then).
 *
 * @param plan The NATS plan.
 * @returns The options for `NatsPubSub.connect()`, over either transport.
 */
export async function natsConnectOptions(plan: Extract<Plan, { system: "nats" }>): Promise<NatsPubSubOptions> {
  const options = { ...plan.options };
  if (plan.credsFile !== undefined) {
    const { credsAuthenticator } = await import("./nats_creds.ts"); // reads a file: loaded only when needed
    options.authenticator = await credsAuthenticator(plan.credsFile);
  }
  return options;
}
