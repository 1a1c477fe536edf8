/**
 * `open()`'s MDB planner: `mdb+https:`. Static imports: `src/core` only; the
 * client is loaded by `connect()`.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import { defined, hostPort, noPath, noUserinfo, requireHost } from "../core/url.ts";
import type { PlanBase, UrlOpener } from "../core/url_opener.ts";
import type { MdbPubSubOptions } from "./adapter.ts";
import type { ConnectOptions } from "./client.ts";

/** The MDB part of `open()`'s options: connect options (certificates) and adapter options (publisher). */
export type OpenMdbOptions = ConnectOptions & MdbPubSubOptions;

/** What an MDB URL resolves to. */
export interface MdbPlan extends PlanBase<"mdb"> {
  /** The MAS origin, `https://host[:port]/`. */
  url: string;
  /** The options of `Connection.connect()`. */
  connect: ConnectOptions;
  /** The options of `MdbPubSub`. */
  pubsub: MdbPubSubOptions;
}

/** `open()`'s MDB planner and connector. */
export const mdbOpener: UrlOpener<"mdb", OpenMdbOptions, MdbPlan> = {
  system: "mdb",
  schemes: ["mdb+https"],
  secretUsername: false,
  plan(u, options) {
    requireHost(u);
    noPath(u, "MDB reads its config from /api/v1/config of the origin");
    noUserinfo(u, "MDB authenticates with a client certificate (options.mdb.cert)");
    const q = u.query;
    const connect: ConnectOptions = defined({
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
      prefetch: q.integer("prefetch", 0),
      maxPayload: q.integer("maxPayload", 1),
    });
    q.done();
    const o = options ?? {};
    const c = defined({ ...o });
    return {
      system: "mdb",
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
          prefetch: c.prefetch,
          maxPayload: c.maxPayload,
          publisher: c.publisher,
        }),
      },
      display: u.display,
      secrets: [...u.secrets],
    };
  },
  async connect(plan: MdbPlan): Promise<PubSub> {
    const { Connection, MdbPubSub } = await import("./mod.ts");
    const conn = await Connection.connect(plan.url, plan.connect);
    try {
      return new MdbPubSub(conn, plan.pubsub);
    } catch (err) {
      await conn.close();
      throw err;
    }
  },
};
