import { MessageBusPubSub } from "../../src/messagebus/mod.ts";
import { type ConformanceTarget, runConformance } from "../../src/testing/conformance.ts";
import { FakeMessageBus, type FakeMessageBusOptions } from "../../src/testing/messagebus/mod.ts";

const report = Deno.env.get("CONFORMANCE_REPORT") === "1" ? console.log : undefined;

/**
 * A fake server the suite can restart: a restart closes it (every connection
 * drops, its subscriptions are gone, as with the real server, which keeps
 * nothing) and starts a new one on the same port.
 */
async function target(
  server: FakeMessageBusOptions,
  client: Parameters<typeof MessageBusPubSub.connect>[2],
): Promise<ConformanceTarget> {
  let fake = await FakeMessageBus.start(server);
  const port = fake.port;
  const pubsub = await MessageBusPubSub.connect("127.0.0.1", port, {
    reconnect: { initialDelayMs: 50, maxDelayMs: 250 },
    ...client,
  });
  return {
    pubsub,
    probe: {
      subscriptions: () => Promise.resolve(fake.subscriptions.reduce((n, s) => n + s.refCount, 0)),
    },
    restart: async () => {
      await fake.close();
      fake = await FakeMessageBus.start({ ...server, port });
    },
    cleanup: () => fake.close(),
  };
}

await runConformance("MessageBusPubSub", () => target({}, {}), { report });
await runConformance(
  "MessageBusPubSub (one feed, contentType dialect)",
  () =>
    target({ imageField: "contentType" }, {
      feed: "conformance",
      imageField: "contentType",
      contentType: "text/plain",
    }),
  { messages: 2000, report },
);
