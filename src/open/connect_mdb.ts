/**
 * `open()`'s MDB connector, loaded only for `mdb+https:`.
 *
 * @module
 */

import { Connection, MdbPubSub } from "../mdb/mod.ts";
import type { PubSub } from "../core/pubsub.ts";
import type { Plan } from "./plan.ts";

/**
 * Connects to MDB and wraps the connection.
 *
 * @param plan The MDB plan.
 * @returns The adapter.
 */
export async function connect(plan: Extract<Plan, { system: "mdb" }>): Promise<PubSub> {
  const conn = await Connection.connect(plan.url, plan.connect);
  try {
    return new MdbPubSub(conn, plan.pubsub);
  } catch (err) {
    await conn.close();
    throw err;
  }
}
