/**
 * {@linkcode MemoryPubSub}: an in-process broker implementing the contract
 * exactly, with no dependency beyond the core. Not an entry point of its
 * own: `@x/pubsub/testing` exports it, and `open("memory:")` loads it.
 *
 * @example
 * ```ts
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const ps = new MemoryPubSub();
 * const sub = ps.subscribe("greetings");
 * await ps.publish("greetings", "hello");
 * console.log((await sub.getReader().read()).value?.text()); // hello
 * await ps.close();
 * ```
 *
 * @module
 */

export { MemoryPubSub, type MemoryPubSubOptions } from "./adapter.ts";
export { MemoryMessage, type MemoryMessageInit } from "./message.ts";
