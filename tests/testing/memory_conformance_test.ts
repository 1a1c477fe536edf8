import { MemoryPubSub, runConformance } from "../../src/testing/mod.ts";

// The broker is its own server: its subscription count is the server's view.
function target(pubsub: MemoryPubSub) {
  return { pubsub, probe: { subscriptions: () => Promise.resolve(pubsub.subscriptionCount) } };
}

const report = Deno.env.get("CONFORMANCE_REPORT") === "1" ? console.log : undefined;

await runConformance("MemoryPubSub", () => target(new MemoryPubSub({ maxPayload: 1024 * 1024 })), { report });
await runConformance("MemoryPubSub with settlement", () => target(new MemoryPubSub({ settle: true })), {
  messages: 2_000,
  report,
});
