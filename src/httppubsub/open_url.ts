/**
 * `open()`'s httppubsub planner: `httppubsub+http:` and `httppubsub+https:`.
 * Static imports: `src/core` only; the client is loaded by `connect()`.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import { defined, hostPort, requireHost, urlError } from "../core/url.ts";
import type { PlanBase, UrlOpener } from "../core/url_opener.ts";
import type { HttpPubSubOptions } from "./adapter.ts";
import type { HttpPubSubClientOptions } from "./client.ts";

/** The httppubsub part of `open()`'s options: client options (auth, bind) and the adapter's. */
export type OpenHttpPubSubOptions = Partial<HttpPubSubClientOptions> & HttpPubSubOptions;

/** What an httppubsub URL resolves to. */
export interface HttpPubSubPlan extends PlanBase<"httppubsub"> {
  /** The client's options. */
  client: HttpPubSubClientOptions;
  /** The adapter's options. */
  pubsub: HttpPubSubOptions;
  /** The URL's token, sent with `tokenAuth` unless the options give `sendAuth`. */
  sendToken: string | undefined;
}

/** `open()`'s httppubsub planner and connector. */
export const httpPubSubOpener: UrlOpener<"httppubsub", OpenHttpPubSubOptions, HttpPubSubPlan> = {
  system: "httppubsub",
  schemes: ["httppubsub+http", "httppubsub+https"],
  secretUsername: true,
  plan(u, options) {
    requireHost(u);
    const base = `${u.scheme === "httppubsub+https" ? "https" : "http"}://${hostPort(u)}${u.path.replace(/\/+$/, "")}`;
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
    const o = defined({ ...options ?? {} });
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
      system: "httppubsub",
      client,
      pubsub: limit === undefined ? {} : { maxPayload: limit },
      sendToken: secret === "" || o.sendAuth !== undefined ? undefined : secret,
      display: u.display,
      secrets: [...u.secrets],
    };
  },
  async connect(plan: HttpPubSubPlan): Promise<PubSub> {
    const { HttpPubSub, tokenAuth } = await import("./mod.ts");
    const client = plan.sendToken === undefined ? plan.client : { ...plan.client, sendAuth: tokenAuth(plan.sendToken) };
    return new HttpPubSub(client, plan.pubsub);
  },
};
