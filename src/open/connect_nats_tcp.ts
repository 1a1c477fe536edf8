/**
 * `open()`'s NATS-over-TCP connector, loaded only for `nats:` and
 * `nats+tcp:` (needs `@nats-io/transport-node`).
 *
 * @module
 */

import { NatsPubSub } from "../nats/tcp.ts";
import type { PubSub } from "../core/pubsub.ts";
import { natsConnectOptions, type Plan } from "./plan.ts";

/**
 * Connects the plan's NATS over TCP.
 *
 * @param plan The NATS plan.
 * @returns The adapter.
 */
export async function connect(plan: Extract<Plan, { system: "nats" }>): Promise<PubSub> {
  return await NatsPubSub.connect(await natsConnectOptions(plan));
}
