/**
 * `open()`'s NATS-over-WebSocket connector, loaded only for `nats+ws:` and
 * `nats+wss:` (web standards only).
 *
 * @module
 */

import { NatsPubSub } from "../nats/mod.ts";
import type { PubSub } from "../core/pubsub.ts";
import { natsConnectOptions, type Plan } from "./plan.ts";

/**
 * Connects the plan's NATS over WebSocket.
 *
 * @param plan The NATS plan.
 * @returns The adapter.
 */
export async function connect(plan: Extract<Plan, { system: "nats" }>): Promise<PubSub> {
  return await NatsPubSub.connect(await natsConnectOptions(plan));
}
