/**
 * `open()`'s planner of `memory:`: a new in-process broker. Static imports:
 * `src/core` only; the broker is loaded by `connect()`.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import { defined, urlError } from "../core/url.ts";
import type { PlanBase, UrlOpener } from "../core/url_opener.ts";
import type { MemoryPubSubOptions } from "./adapter.ts";

/** The `memory:` part of `open()`'s options. */
export type OpenMemoryOptions = MemoryPubSubOptions;

/** What a `memory:` URL resolves to. */
export interface MemoryPlan extends PlanBase<"memory"> {
  /** The broker's options. */
  options: MemoryPubSubOptions;
}

/** `open()`'s `memory:` planner and connector. */
export const memoryOpener: UrlOpener<"memory", OpenMemoryOptions, MemoryPlan> = {
  system: "memory",
  schemes: ["memory"],
  secretUsername: false,
  plan(u, options) {
    if (u.host !== "" || (u.path !== "" && u.path !== "/")) {
      urlError(u.display, "the path is not allowed (memory: opens a new in-process broker)");
    }
    const q = u.query;
    const fromUrl: MemoryPubSubOptions = defined({
      settle: q.boolean("settle"),
      maxPayload: q.integer("maxPayload", 1),
    });
    q.done();
    return {
      system: "memory",
      options: { ...fromUrl, ...defined({ ...options ?? {} }) },
      display: u.display,
      secrets: [...u.secrets],
    };
  },
  async connect(plan: MemoryPlan): Promise<PubSub> {
    const { MemoryPubSub } = await import("./mod.ts");
    return new MemoryPubSub(plan.options);
  },
};
