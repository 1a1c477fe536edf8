/**
 * `open()`'s PostTroll connector, loaded only for `posttroll:` (needs
 * `zeromq` and `node:dgram`).
 *
 * @module
 */

import { PosttrollPubSub } from "../posttroll/mod.ts";
import type { PubSub } from "../core/pubsub.ts";
import type { Plan } from "./plan.ts";

/**
 * Creates the PostTroll adapter (its publisher binds on first use).
 *
 * @param plan The PostTroll plan.
 * @returns The adapter.
 */
export function connect(plan: Extract<Plan, { system: "posttroll" }>): Promise<PubSub> {
  return Promise.resolve(new PosttrollPubSub(plan.options));
}
