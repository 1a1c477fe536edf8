/**
 * `open()`'s `memory:` connector.
 *
 * @module
 */

import { MemoryPubSub } from "../memory/mod.ts";
import type { PubSub } from "../core/pubsub.ts";
import type { Plan } from "./plan.ts";

/**
 * Creates a new in-process broker.
 *
 * @param plan The memory plan.
 * @returns The adapter.
 */
export function connect(plan: Extract<Plan, { system: "memory" }>): Promise<PubSub> {
  return Promise.resolve(new MemoryPubSub(plan.options));
}
