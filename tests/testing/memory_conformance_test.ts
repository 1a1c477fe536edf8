import { MemoryPubSub, runConformance } from "../../src/testing/mod.ts";

runConformance("MemoryPubSub", () => ({ pubsub: new MemoryPubSub({ maxPayload: 1024 * 1024 }) }));
runConformance("MemoryPubSub with settlement", () => ({ pubsub: new MemoryPubSub({ settle: true }) }), {
  messages: 2_000,
  overflow: ["block"],
});
