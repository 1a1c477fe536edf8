// One MDB test bed per test (fake MAS, gateway and a real operator-mode nats-server), shared by the MDB test files.
import { MdbTestBed, type MdbTestBedOptions } from "../../src/testing/mdb/mod.ts";
import { natsServerSkipReason } from "../../src/testing/nats/mod.ts";

const skip = natsServerSkipReason();
if (skip !== undefined) console.warn(`Skipping MDB NATS tests: ${skip}`);

/** Registers a test that gets a fresh, started test bed, stopped after it; ignored where nats-server is missing. */
export function bedTest(name: string, fn: (bed: MdbTestBed) => Promise<void>, options: MdbTestBedOptions = {}): void {
  Deno.test({
    name,
    ignore: skip !== undefined,
    fn: async () => {
      const bed = await MdbTestBed.start(options);
      try {
        await fn(bed);
      } finally {
        await bed.stop();
      }
    },
  });
}
