import { runConformance } from "../../src/testing/conformance.ts";
import { PosttrollPubSub } from "../../src/posttroll/adapter.ts";

runConformance("PosttrollPubSub", () => ({ pubsub: new PosttrollPubSub({ host: "127.0.0.1" }) }), {
  messages: 10_000,
});
