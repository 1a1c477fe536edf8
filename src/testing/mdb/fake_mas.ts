/**
 * `FakeMas`: one loopback HTTPS server playing every HTTP role of MDB: the
 * config endpoint, the mTLS API gateway, the dataset registry and the MAS that
 * mints NATS user JWTs.
 *
 * @module
 */

import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { jwtVerify, SignJWT } from "jose";
import { datasetSubject, type RegistryEntry, streamNameOf } from "../../mdb/codec.ts";
import type { TestPki } from "./pki.ts";

/** What {@linkcode FakeMasOptions.mintUser} is asked to sign. */
export interface MintRequest {
  /** `"<CN> (<dataset>)"`. */
  name: string;
  /** Always true: the client sends no signature. */
  bearer: boolean;
  /** The lifetime, in seconds. */
  expiresInSeconds: number;
  /** Subjects the user may publish to. */
  pub: string[];
  /** Subjects the user may subscribe to. */
  sub: string[];
}

/** Options of {@linkcode FakeMas.start}. */
export interface FakeMasOptions {
  /** The test PKI: server certificate, and the CA that client certificates must chain to. */
  pki: TestPki;
  /** The port on 127.0.0.1; default 0 (a free one). */
  port?: number | undefined;
  /** The config's `nats_websocket_url`. */
  natsWebsocketUrl: string;
  /** The config's `nats_url`, if any. */
  natsUrl?: string | undefined;
  /** Signs a NATS user JWT (e.g. `NatsServer.mintUser` of `@x/pubsub/testing/nats`). */
  mintUser: (request: MintRequest) => Promise<{ jwt: string }>;
  /** Datasets the registry knows, by slug. */
  datasets?: Record<string, RegistryEntry> | undefined;
  /** Lifetime of NATS user JWTs, in seconds. Default 3600. */
  userJwtTtlSeconds?: number | undefined;
  /** Lifetime of gateway JWTs, in seconds. Default 3600. */
  gatewayJwtTtlSeconds?: number | undefined;
  /** Also allow `$JS.API.CONSUMER.CREATE.<stream>.>` (nats.js-style creation). Default false. */
  allowConsumerCreate?: boolean | undefined;
  /** Asked about a slug the registry does not hold; an entry returned is added. */
  resolveDataset?: ((slug: string) => Promise<RegistryEntry | undefined>) | undefined;
}

/** One request the fake answered. */
export interface FakeMasCall {
  /** `config`, `gateway`, `registry`, `mas` or `unknown`. */
  readonly role: "config" | "gateway" | "registry" | "mas" | "unknown";
  /** The path and query. */
  readonly path: string;
  /** The Authorization header, if any. */
  readonly authorization: string | undefined;
  /** The Accept header, if any. */
  readonly accept: string | undefined;
  /** The CN of a verified client certificate, if one was presented. */
  readonly cn: string | undefined;
  /** The status answered. */
  readonly status: number;
}

/** Statuses the fake answers instead of its normal reply, per role (tests of error paths). */
export interface FakeMasFailures {
  /** Status of `/api/v1/config`. */
  config?: number | undefined;
  /** Status of the gateway. */
  gateway?: number | undefined;
  /** Status of the registry. */
  registry?: number | undefined;
  /** Status of the MAS user-JWT endpoint. */
  mas?: number | undefined;
}

/** Who is on the other end of a request. */
export interface FakeMasPeer {
  /** The CN of a client certificate that chains to the test CA, or `undefined`. */
  cn: string | undefined;
}

/**
 * One loopback HTTPS server playing every HTTP role of MDB, with a config
 * document pointing back at itself:
 * - `GET /api/v1/config`: the URLs;
 * - `GET /getjwt`: the API gateway; needs a client certificate from the test CA
 *   (else 403) and answers a JWT with `CN` and `exp`;
 * - `GET /api/v1/datasets?slug=eq.<slug>`: the registry (Bearer gateway JWT;
 *   406 with a PostgREST error object for an unknown slug);
 * - `GET /api/v1/user/jwt/<slug>`: the MAS; a bearer NATS user JWT named
 *   `"<CN> (<slug>)"`, scoped to the dataset's stream, no trailing newline.
 *
 * Every call is recorded in `calls`; `failures` makes a role answer an error
 * status; `configBody` replaces the config document (malformed-input tests).
 *
 * @example
 * ```ts ignore
 * import { createTestPki, FakeMas } from "@x/pubsub/testing/mdb";
 * import { NatsServer } from "@x/pubsub/testing/nats";
 *
 * const nats = await NatsServer.start({ operator: true });
 * const pki = await createTestPki();
 * const mas = await FakeMas.start({
 *   pki,
 *   natsWebsocketUrl: nats.wsUrl!,
 *   mintUser: (r) => nats.mintUser(r),
 *   datasets: { demo: { slug: "demo", data_object_backend: null, mdb_object_publish: false } },
 * });
 * console.log(mas.url);
 * await mas.stop();
 * ```
 */
export class FakeMas {
  /** The server's base URL, `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** The port. */
  readonly port: number;
  /** Every request answered, in order. */
  readonly calls: FakeMasCall[] = [];
  /** The registry, by slug; change it freely. */
  readonly datasets: Map<string, RegistryEntry>;
  /** Statuses to answer instead of the normal reply. */
  failures: FakeMasFailures = {};
  /** When set, the config endpoint answers this body. */
  configBody: string | undefined;
  /** When set, the gateway answers this body instead of a JWT. */
  gatewayBody: string | undefined;
  /** Lifetime of NATS user JWTs, in seconds. */
  userJwtTtlSeconds: number;
  /** Lifetime of gateway JWTs, in seconds. */
  gatewayJwtTtlSeconds: number;
  /** When set, NATS user JWTs are scoped to this stream instead of the dataset's (permission tests). */
  streamOverride: string | undefined;
  /** Whether NATS user JWTs are bearer tokens (the client sends no signature). Default true. */
  bearerUserJwts = true;
  /** The config's `nats_websocket_url`; change it to point clients elsewhere. */
  natsWebsocketUrl: string;
  /** The config's `api_gateway_url`; default `<url>/getjwt`. Point it at {@linkcode FakeMas.listenGateway}'s URL. */
  gatewayUrl: string | undefined;
  /** NATS user JWTs issued, in order. */
  readonly issuedUserJwts: string[] = [];
  /** Told of each request once answered (the record `calls` keeps), e.g. for logs. */
  onCall: ((call: FakeMasCall) => void) | undefined;
  readonly #options: FakeMasOptions;
  readonly #server: https.Server;
  readonly #secret: Uint8Array;
  readonly #sockets = new Set<{ destroy(): void }>();
  readonly #extra: https.Server[] = [];
  readonly #refusals = new Map<FakeMasCall["role"], { status: number; left: number }>();

  private constructor(options: FakeMasOptions, server: https.Server, port: number, secret: Uint8Array) {
    this.#options = options;
    this.#server = server;
    this.port = port;
    this.url = `https://127.0.0.1:${port}`;
    this.#secret = secret;
    this.datasets = new Map(Object.entries(options.datasets ?? {}));
    this.userJwtTtlSeconds = options.userJwtTtlSeconds ?? 3600;
    this.natsWebsocketUrl = options.natsWebsocketUrl;
    this.gatewayJwtTtlSeconds = options.gatewayJwtTtlSeconds ?? 3600;
    server.on("connection", (socket: { destroy(): void; on(e: string, f: () => void): void }) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  /**
   * Starts the server on 127.0.0.1, on a free port unless `port` is given.
   *
   * @param options PKI, port, NATS URLs, the user-JWT signer, datasets, lifetimes.
   * @returns The running fake.
   */
  static async start(options: FakeMasOptions): Promise<FakeMas> {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const box: { fake?: FakeMas } = {};
    const server = https.createServer({
      key: options.pki.serverKey,
      cert: options.pki.serverCert,
      ca: options.pki.caCert,
      requestCert: true,
      rejectUnauthorized: false,
    }, (req: IncomingMessage, res: ServerResponse) => {
      void box.fake!.#serve(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    box.fake = new FakeMas(options, server, port, secret);
    return box.fake;
  }

  /** The config document this fake serves. */
  get config(): Record<string, string> {
    return {
      api_gateway_url: this.gatewayUrl ?? `${this.url}/getjwt`,
      registry_url: this.url,
      mas_url: this.url,
      nats_websocket_url: this.natsWebsocketUrl,
      ...(this.#options.natsUrl === undefined ? {} : { nats_url: this.#options.natsUrl }),
    };
  }

  /**
   * Starts a second loopback HTTPS listener answering as this fake does, whose
   * TLS handshake refuses: `"client-cert"` requires a client certificate from
   * the test CA at the handshake (a missing or foreign one gets a TLS alert,
   * not a 403); `"untrusted-cert"` presents a server certificate from the other
   * CA, which clients trusting the test CA must refuse. `stop()` closes it.
   *
   * @param refuse How the handshake refuses.
   * @returns Its gateway URL, `https://127.0.0.1:<port>/getjwt` (set it as {@linkcode FakeMas.gatewayUrl}).
   */
  async listenGateway(refuse: "client-cert" | "untrusted-cert"): Promise<string> {
    const pki = this.#options.pki;
    const tls = refuse === "client-cert"
      ? { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: true }
      : {
        key: pki.otherServerKey,
        cert: pki.otherServerCert,
        ca: pki.caCert,
        requestCert: true,
        rejectUnauthorized: false,
      };
    const server = https.createServer(tls, (req: IncomingMessage, res: ServerResponse) => void this.#serve(req, res));
    server.on("connection", (socket: { destroy(): void; on(e: string, f: () => void): void }) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    server.on("tlsClientError", () => {}); // the refusal itself
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.#extra.push(server);
    return `https://127.0.0.1:${(server.address() as { port: number }).port}/getjwt`;
  }

  /**
   * Makes one role answer `status` to its next `times` requests, then serve
   * normally again (a refusal that a retry gets past).
   *
   * @param role The role.
   * @param status The status to answer.
   * @param times How many requests.
   */
  refuseNext(role: "config" | "gateway" | "registry" | "mas", status: number, times = 1): void {
    this.#refusals.set(role, { status, left: times });
  }

  #refused(role: FakeMasCall["role"]): Response | undefined {
    const r = this.#refusals.get(role);
    if (r === undefined) return undefined;
    if (--r.left <= 0) this.#refusals.delete(role);
    return new Response(`${role} refuses (refuseNext)`, { status: r.status });
  }

  /** The calls of one role. */
  callsOf(role: FakeMasCall["role"]): FakeMasCall[] {
    return this.calls.filter((c) => c.role === role);
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    let cn: string | undefined;
    if (socket.authorized) {
      const subject = socket.getPeerCertificate()?.subject as { CN?: string | string[] } | undefined;
      const c = subject?.CN;
      cn = Array.isArray(c) ? c[0] : c;
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === "string") headers.set(k, v);
    }
    const request = new Request(`${this.url}${req.url ?? "/"}`, { method: req.method ?? "GET", headers });
    let response: Response;
    try {
      response = await this.handle(request, { cn });
    } catch (err) {
      response = new Response(String(err), { status: 500 });
    }
    const body = new Uint8Array(await response.arrayBuffer());
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => out[k] = v);
    res.writeHead(response.status, out);
    res.end(body);
  }

  /**
   * Answers one request, as the HTTPS server does (usable in-process).
   *
   * @param request The request.
   * @param peer The verified client certificate's CN, if any.
   * @returns The response.
   */
  async handle(request: Request, peer: FakeMasPeer): Promise<Response> {
    const u = new URL(request.url);
    const path = u.pathname + u.search;
    let role: FakeMasCall["role"] = "unknown";
    let response: Response;
    if (u.pathname === "/api/v1/config") role = "config";
    else if (u.pathname === "/getjwt") role = "gateway";
    else if (u.pathname === "/api/v1/datasets") role = "registry";
    else if (u.pathname.startsWith("/api/v1/user/jwt/")) role = "mas";
    const refused = this.#refused(role);
    if (refused !== undefined) {
      response = refused;
    } else if (role === "config") {
      response = this.failures.config !== undefined
        ? new Response("config unavailable", { status: this.failures.config })
        : new Response(this.configBody ?? JSON.stringify(this.config), {
          headers: { "content-type": "application/json" },
        });
    } else if (role === "gateway") {
      response = await this.#gateway(peer);
    } else if (role === "registry") {
      response = await this.#registry(request, u);
    } else if (role === "mas") {
      response = await this.#mas(request, decodeURIComponent(u.pathname.slice("/api/v1/user/jwt/".length)));
    } else {
      response = new Response("not found", { status: 404 });
    }
    const call: FakeMasCall = {
      role,
      path,
      authorization: request.headers.get("authorization") ?? undefined,
      accept: request.headers.get("accept") ?? undefined,
      cn: peer.cn,
      status: response.status,
    };
    this.calls.push(call);
    try {
      this.onCall?.(call);
    } catch { /* a listener's failure is not the fake's */ }
    return response;
  }

  async #gateway(peer: FakeMasPeer): Promise<Response> {
    if (this.failures.gateway !== undefined) return new Response("gateway says no", { status: this.failures.gateway });
    if (peer.cn === undefined) return new Response("client certificate required", { status: 403 });
    if (this.gatewayBody !== undefined) return new Response(this.gatewayBody);
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ CN: peer.cn })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt(now)
      .setExpirationTime(now + this.gatewayJwtTtlSeconds)
      .sign(this.#secret);
    return new Response(`${jwt}\n`, { headers: { "content-type": "text/plain" } });
  }

  async #bearerCn(request: Request): Promise<string | undefined> {
    const auth = request.headers.get("authorization") ?? "";
    if (!auth.startsWith("Bearer ")) return undefined;
    try {
      const { payload } = await jwtVerify(auth.slice(7), this.#secret);
      return typeof payload.CN === "string" ? payload.CN : undefined;
    } catch {
      return undefined;
    }
  }

  async #lookup(slug: string): Promise<RegistryEntry | undefined> {
    const known = this.datasets.get(slug);
    if (known !== undefined || this.#options.resolveDataset === undefined || slug === "") return known;
    const found = await this.#options.resolveDataset(slug);
    if (found !== undefined) this.datasets.set(slug, found);
    return found;
  }

  async #registry(request: Request, u: URL): Promise<Response> {
    if (this.failures.registry !== undefined) return new Response("registry down", { status: this.failures.registry });
    if (await this.#bearerCn(request) === undefined) {
      return Response.json({ message: "JWT invalid" }, { status: 401 });
    }
    const filter = u.searchParams.get("slug") ?? "";
    const slug = filter.startsWith("eq.") ? filter.slice(3) : "";
    const entry = await this.#lookup(slug);
    if (entry === undefined) {
      return Response.json({
        code: "PGRST116",
        details: "The result contains 0 rows",
        hint: null,
        message: "JSON object requested, multiple (or no) rows returned",
      }, { status: 406 });
    }
    return Response.json({ slug, data_object_backend: null, mdb_object_publish: false, ...entry });
  }

  async #mas(request: Request, slug: string): Promise<Response> {
    if (this.failures.mas !== undefined) return new Response("mas says no", { status: this.failures.mas });
    const cn = await this.#bearerCn(request);
    if (cn === undefined) return new Response("unauthorized", { status: 401 });
    const entry = await this.#lookup(slug);
    if (entry === undefined) return new Response("unknown dataset", { status: 404 });
    const stream = this.streamOverride ?? streamNameOf(datasetSubject(slug, entry));
    const pub = [
      "$JS.API.STREAM.NAMES",
      `$JS.API.CONSUMER.INFO.${stream}.*`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
      `$JS.API.CONSUMER.DELETE.${stream}.*`,
      `$JS.ACK.${stream}.>`,
    ];
    if (this.#options.allowConsumerCreate) pub.push(`$JS.API.CONSUMER.CREATE.${stream}.>`);
    const { jwt } = await this.#options.mintUser({
      name: `${cn} (${slug})`,
      bearer: this.bearerUserJwts,
      expiresInSeconds: this.userJwtTtlSeconds,
      pub,
      sub: ["_INBOX.>"],
    });
    this.issuedUserJwts.push(jwt);
    return new Response(jwt, { headers: { "content-type": "text/plain" } });
  }

  /**
   * Stops the server and drops open connections.
   *
   * @returns When it is closed.
   */
  async stop(): Promise<void> {
    const closed = Promise.all(
      [this.#server, ...this.#extra.splice(0)].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await closed;
  }

  /** Calls {@linkcode FakeMas.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
