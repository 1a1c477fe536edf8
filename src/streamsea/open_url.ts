/**
 * `open()`'s stream-sea planner: `streamsea+ws:`, `streamsea+wss:`,
 * `streamsea+http:`, `streamsea+https:`. Static imports: `src/core` only; the
 * client is loaded by `connect()`.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import { defined, extraSecrets, noPath, requireHost, urlError } from "../core/url.ts";
import type { PlanBase, UrlOpener } from "../core/url_opener.ts";
import type { StreamSeaPubSubOptions } from "./adapter.ts";

/** The stream-sea part of `open()`'s options. */
export type OpenStreamSeaOptions = Partial<StreamSeaPubSubOptions>;

/** What a stream-sea URL resolves to. */
export interface StreamSeaPlan extends PlanBase<"streamsea"> {
  /** The adapter's options. */
  options: StreamSeaPubSubOptions;
}

/** `open()`'s stream-sea planner and connector. */
export const streamSeaOpener: UrlOpener<"streamsea", OpenStreamSeaOptions, StreamSeaPlan> = {
  system: "streamsea",
  schemes: ["streamsea+ws", "streamsea+wss", "streamsea+http", "streamsea+https"],
  secretUsername: false,
  plan(u, options) {
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
    const o = defined({ ...options ?? {} });
    const clientId = o.clientId ?? (u.username === "" ? undefined : u.username);
    if (clientId === undefined && o.credentials === undefined) {
      urlError(u.display, "the client id is missing (give it as the URL's user name or options.streamsea.clientId)");
    }
    const clientSecret = o.clientSecret ?? (u.password === "" ? undefined : u.password);
    const opts: StreamSeaPubSubOptions = {
      remoteHost: u.host.replace(/^\[|\]$/g, ""),
      ...(u.port === undefined ? {} : { remotePort: u.port }),
      secure: u.scheme === "streamsea+wss" || u.scheme === "streamsea+https",
      ...fromUrl,
      ...o,
      clientId: clientId ?? (o.credentials?.clientId as string),
      ...(clientSecret === undefined ? {} : { clientSecret }),
    };
    return {
      system: "streamsea",
      options: opts,
      display: u.display,
      secrets: [...u.secrets, ...extraSecrets(clientSecret)],
    };
  },
  async connect(plan: StreamSeaPlan): Promise<PubSub> {
    const { StreamSeaPubSub } = await import("./mod.ts");
    return new StreamSeaPubSub(plan.options);
  },
};
