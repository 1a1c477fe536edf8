import { MessageBusPubSub } from "../../src/messagebus/mod.ts";
import { runConformance } from "../../src/testing/conformance.ts";
import { FakeMessageBus } from "../../src/testing/messagebus/mod.ts";

runConformance("MessageBusPubSub", async () => {
  const server = await FakeMessageBus.start();
  const pubsub = await MessageBusPubSub.connect("127.0.0.1", server.port, { reconnect: false });
  return { pubsub, cleanup: () => server.close() };
});

runConformance("MessageBusPubSub (one feed, contentType dialect)", async () => {
  const server = await FakeMessageBus.start({ imageField: "contentType" });
  const pubsub = await MessageBusPubSub.connect("127.0.0.1", server.port, {
    feed: "conformance",
    imageField: "contentType",
    contentType: "text/plain",
  });
  return { pubsub, cleanup: () => server.close() };
}, { messages: 2000 });
