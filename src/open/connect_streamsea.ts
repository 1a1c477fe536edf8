/**
 * `open()`'s stream-sea connector, loaded only for `streamsea+ws(s):` and
 * `streamsea+http(s):` (web standards only).
 *
 * @module
 */

import { StreamSeaPubSub } from "../streamsea/mod.ts";
import type { PubSub } from "../core/pubsub.ts";
import type { Plan } from "./plan.ts";

/**
 * Creates the stream-sea adapter.
 *
 * @param plan The stream-sea plan.
 * @returns The adapter.
 */
export function connect(plan: Extract<Plan, { system: "streamsea" }>): Promise<PubSub> {
  return Promise.resolve(new StreamSeaPubSub(plan.options));
}
