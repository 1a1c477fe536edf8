/**
 * `open()`'s NATS planner: `nats:`, `nats+tcp:`, `nats+tls:` (over TCP,
 * `./nats/tcp`) and `nats+ws:`, `nats+wss:` (over WebSocket, `./nats`).
 * Static imports: `src/core` only; the client is loaded by `connect()`.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import { defined, extraSecrets, hostPort, noPath, requireHost, urlError } from "../core/url.ts";
import type { PlanBase, UrlOpener } from "../core/url_opener.ts";
import type { NatsPubSubOptions } from "./options.ts";

/** The NATS part of `open()`'s options: any {@linkcode NatsPubSubOptions}, over the URL's. */
export type OpenNatsOptions = Partial<NatsPubSubOptions>;

/** What a NATS URL resolves to. */
export interface NatsPlan extends PlanBase<"nats"> {
  /** Which entry connects: `./nats/tcp` or `./nats`. */
  transport: "tcp" | "ws";
  /** The adapter's options. */
  options: NatsPubSubOptions;
  /** A `.creds` file to read the authenticator from (`NATS_CREDS`), when nothing else gives credentials. */
  credsFile: string | undefined;
}

/** `open()`'s NATS planner and connector. */
export const natsOpener: UrlOpener<"nats", OpenNatsOptions, NatsPlan> = {
  system: "nats",
  schemes: ["nats", "nats+tcp", "nats+tls", "nats+ws", "nats+wss"],
  secretUsername: true,
  plan(u, options, env) {
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
    const o = options ?? {};
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
    const secrets = [...u.secrets, ...extraSecrets(merged.token, merged.pass)];
    return { system: "nats", transport: tcp ? "tcp" : "ws", options: merged, credsFile, display: u.display, secrets };
  },
  async connect(plan: NatsPlan): Promise<PubSub> {
    const options = { ...plan.options };
    if (plan.credsFile !== undefined) {
      const { credsAuthenticator } = await import("./creds_file.ts"); // reads a file: loaded only when needed
      options.authenticator = await credsAuthenticator(plan.credsFile);
    }
    // One dynamic import per transport: nats+ws(s) never loads @nats-io/transport-node.
    const { NatsPubSub } = plan.transport === "tcp" ? await import("./tcp.ts") : await import("./mod.ts");
    return await NatsPubSub.connect(options);
  },
};
