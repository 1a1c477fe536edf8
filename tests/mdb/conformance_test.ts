import { runConformance } from "../../src/testing/conformance.ts";
import { MdbTestBed } from "../../src/testing/mdb/mod.ts";
import { natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { MdbPubSub } from "../../src/mdb/mod.ts";

const skipReason = natsServerSkipReason();
if (skipReason !== undefined) console.warn(`Skipping MDB conformance: ${skipReason}`);

for (const ack of ["auto", "manual"] as const) {
  runConformance(`MdbPubSub (ack ${ack})`, async () => {
    const bed = await MdbTestBed.start({ autoCreateDatasets: true });
    const conn = await bed.connect();
    const run = Math.random().toString(36).slice(2, 8);
    return {
      pubsub: new MdbPubSub(conn, {
        ack,
        batch: 50,
        publisher: (dataset, data, o) => bed.publish(dataset, data, o.headers),
      }),
      topic: (n: number) => `conf-${run}-${n}`,
      cleanup: () => bed.stop(),
    };
  }, {
    messages: 1000,
    overflow: ["block"],
    // One durable consumer per user and dataset: several subscriptions of one user share its messages.
    skip: ["several subscribers"],
    test: (def) => Deno.test({ ...def, ignore: def.ignore === true || skipReason !== undefined }),
  });
}
