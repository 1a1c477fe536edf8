/**
 * `open()`'s PostTroll planner: `posttroll:`. Static imports: `src/core`
 * only; the client (which needs `zeromq` and `node:dgram`) is loaded by
 * `connect()`.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import { defined, noUserinfo, urlError } from "../core/url.ts";
import type { PlanBase, UrlOpener } from "../core/url_opener.ts";
import type { PosttrollPubSubOptions } from "./adapter.ts";

/** The PostTroll part of `open()`'s options. */
export type OpenPosttrollOptions = PosttrollPubSubOptions;

/** What a PostTroll URL resolves to. */
export interface PosttrollPlan extends PlanBase<"posttroll"> {
  /** The adapter's options. */
  options: PosttrollPubSubOptions;
}

/** `open()`'s PostTroll planner and connector. */
export const posttrollOpener: UrlOpener<"posttroll", OpenPosttrollOptions, PosttrollPlan> = {
  system: "posttroll",
  schemes: ["posttroll"],
  secretUsername: false,
  plan(u, options) {
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
    const o = defined({ ...options ?? {} });
    const opts: PosttrollPubSubOptions = {
      ...fromUrl,
      nameserver: u.host === "" ? false : u.host.replace(/^\[|\]$/g, ""),
      services: service === "" ? "" : service.split(","),
      nameservers: register === "nameserver" ? [u.host] : register === "multicast" ? [] : false,
      ...(addresses.length === 0 ? {} : { addresses }),
      ...o,
    };
    if (u.port !== undefined) opts.config = { nameserverPort: u.port, ...o.config };
    return { system: "posttroll", options: opts, display: u.display, secrets: [...u.secrets] };
  },
  async connect(plan: PosttrollPlan): Promise<PubSub> {
    const { PosttrollPubSub } = await import("./mod.ts");
    return new PosttrollPubSub(plan.options);
  },
};
