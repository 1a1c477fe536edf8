/**
 * `open()`'s httppubsub connector, loaded only for `httppubsub+http:` and
 * `httppubsub+https:`.
 *
 * @module
 */

import { HttpPubSub, tokenAuth } from "../httppubsub/mod.ts";
import type { PubSub } from "../core/pubsub.ts";
import type { Plan } from "./plan.ts";

/**
 * Creates the httppubsub adapter (its receiver bound as the plan says).
 *
 * @param plan The httppubsub plan.
 * @returns The adapter.
 */
export function connect(plan: Extract<Plan, { system: "httppubsub" }>): Promise<PubSub> {
  const client = plan.sendToken === undefined ? plan.client : { ...plan.client, sendAuth: tokenAuth(plan.sendToken) };
  return Promise.resolve(new HttpPubSub(client, plan.pubsub));
}
