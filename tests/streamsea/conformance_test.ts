import { StreamSeaPubSub } from "../../src/streamsea/mod.ts";
import { runConformance } from "../../src/testing/conformance.ts";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";

// The envelope format carries any bytes and headers; stream names are
// identifier-like, as every stream-sea client assumes in URL paths.
runConformance("StreamSeaPubSub", async () => {
  const fake = await FakeStreamSea.start();
  const run = crypto.randomUUID().slice(0, 8);
  return {
    pubsub: new StreamSeaPubSub({
      ...fake.connection,
      clientId: "abc",
      clientSecret: "def123",
      format: "envelope",
    }),
    topic: (n) => `conformance_${run}_${n}`,
    cleanup: () => fake.close(),
  };
});
