/**
 * `open()`'s messagebus connector, loaded only for `messagebus:` and
 * `messagebus+tls:` (needs `Deno.connect`).
 *
 * @module
 */

import { BasicAuthenticator, MessageBusPubSub, TokenAuthenticator } from "../messagebus/mod.ts";
import type { PubSub } from "../core/pubsub.ts";
import type { Plan } from "./plan.ts";

/**
 * Connects to the messagebus server.
 *
 * @param plan The messagebus plan.
 * @returns The adapter.
 */
export async function connect(plan: Extract<Plan, { system: "messagebus" }>): Promise<PubSub> {
  const options = { ...plan.options };
  if (plan.basic !== undefined) {
    options.authenticator = new BasicAuthenticator(plan.basic.username, plan.basic.password);
  }
  if (plan.token !== undefined) options.authenticator = new TokenAuthenticator(plan.token);
  return await MessageBusPubSub.connect(plan.host, plan.port, options);
}
