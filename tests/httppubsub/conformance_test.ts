import { HttpPubSub } from "../../src/httppubsub/mod.ts";
import { runConformance } from "../../src/testing/conformance.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";

// The receiver answers only once the reader took the message ("block", the default): a test that
// publishes before reading waits for the broadcaster's receive timeout, kept short here.
runConformance("HttpPubSub", async () => {
  const fake = new FakeBroadcaster({ receiveTimeoutMs: 300 });
  const pubsub = new HttpPubSub({ broadcasters: [await fake.serve()], bind: { type: "serve" } }, {
    maxPayload: 1024 * 1024,
  });
  return { pubsub, cleanup: () => fake.close() };
}, {
  messages: 2000,
});
