/**
 * `open()`'s NATS-over-TCP connector, loaded only for `nats:` and
 * `nats+tcp:` (needs `@nats-io/transport-node`).
 *
 * @module
 */

import { NatsPubSub } from "../nats/tcp.ts";
import type { PubSub } from "../core/pubsub.ts";
import type { Plan } from "./plan.ts";

/**
 * Connects the plan's NATS over TCP.
 *
 * @param plan The NATS plan.
 * @returns The adapter.
 */
export async function connect(plan: Extract<Plan, { system: "nats" }>): Promise<PubSub> {
  const options = { ...plan.options };
  if (plan.credsFile !== undefined) {
    const { credsAuthenticator } = await import("./nats_creds.ts"); // reads a file: loaded only when needed
    options.authenticator = await credsAuthenticator(plan.credsFile);
  }
  return await NatsPubSub.connect(options);
}
