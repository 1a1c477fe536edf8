/**
 * `open()`'s messagebus planner: `messagebus:` and `messagebus+tls:`. Static
 * imports: `src/core` only; the client (which needs `Deno.connect`) is
 * loaded by `connect()`.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import { defined, noPath, requireHost, urlError } from "../core/url.ts";
import type { PlanBase, UrlOpener } from "../core/url_opener.ts";
import type { MessageBusPubSubOptions } from "./adapter.ts";
import type { MessageBusClientOptions } from "./options.ts";

/** The messagebus part of `open()`'s options: client options (authenticator, TLS CAs) and the adapter's. */
export type OpenMessageBusOptions = MessageBusClientOptions & MessageBusPubSubOptions;

/** What a messagebus URL resolves to. */
export interface MessageBusPlan extends PlanBase<"messagebus"> {
  /** The server's host. */
  host: string;
  /** The server's port. */
  port: number;
  /** The client's and the adapter's options. */
  options: MessageBusClientOptions & MessageBusPubSubOptions;
  /** The URL's user name and password, for a `BasicAuthenticator`. */
  basic: { username: string; password: string } | undefined;
  /** The URL's token (a password without a user name), for a `TokenAuthenticator`. */
  token: string | undefined;
}

/** `open()`'s messagebus planner and connector. */
export const messageBusOpener: UrlOpener<"messagebus", OpenMessageBusOptions, MessageBusPlan> = {
  system: "messagebus",
  schemes: ["messagebus", "messagebus+tls"],
  secretUsername: false,
  plan(u, options) {
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
    const o = defined({ ...options ?? {} });
    const tls = u.scheme === "messagebus+tls" ? (o.tls ?? true) : o.tls;
    const fromUserinfo = o.authenticator === undefined && u.password !== "";
    return {
      system: "messagebus",
      host: u.host.replace(/^\[|\]$/g, ""),
      port: u.port,
      options: { ...fromUrl, ...o, ...(tls === undefined ? {} : { tls }) },
      basic: fromUserinfo && u.username !== "" ? { username: u.username, password: u.password } : undefined,
      token: fromUserinfo && u.username === "" ? u.password : undefined,
      display: u.display,
      secrets: [...u.secrets],
    };
  },
  async connect(plan: MessageBusPlan): Promise<PubSub> {
    const { BasicAuthenticator, MessageBusPubSub, TokenAuthenticator } = await import("./mod.ts");
    const options = { ...plan.options };
    if (plan.basic !== undefined) {
      options.authenticator = new BasicAuthenticator(plan.basic.username, plan.basic.password);
    }
    if (plan.token !== undefined) options.authenticator = new TokenAuthenticator(plan.token);
    return await MessageBusPubSub.connect(plan.host, plan.port, options);
  },
};
