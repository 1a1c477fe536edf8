/**
 * Test helpers that need no server: {@linkcode MemoryPubSub}, an in-process
 * broker implementing the contract exactly, and {@linkcode runConformance},
 * the suite every system's adapter passes.
 *
 * @example Testing your own code without a server
 * ```ts
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const ps = new MemoryPubSub();
 * const sub = ps.subscribe("jobs/**");
 * await ps.publish("jobs/eu/1", "do it");
 * const reader = sub.getReader();
 * console.log((await reader.read()).value?.text()); // do it
 * await ps.close();
 * ```
 *
 * @module
 */

export { MemoryMessage, type MemoryMessageInit, MemoryPubSub, type MemoryPubSubOptions } from "./memory.ts";
export {
  type ConformanceFactory,
  type ConformanceOptions,
  type ConformanceProbe,
  type ConformanceTarget,
  runConformance,
  type TestRegistrar,
} from "./conformance.ts";
