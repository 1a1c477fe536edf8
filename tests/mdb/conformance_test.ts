import { jwtAuthenticator, wsconnect } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { runConformance } from "../../src/testing/conformance.ts";
import { MdbTestBed } from "../../src/testing/mdb/mod.ts";
import { natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { MdbPubSub } from "../../src/mdb/mod.ts";
import { datasetSubject, streamNameOf } from "../../src/mdb/codec.ts";

const skipReason = natsServerSkipReason();
if (skipReason !== undefined) console.warn(`Skipping MDB conformance: ${skipReason}`);
const report = Deno.env.get("CONFORMANCE_REPORT") === "1" ? console.log : undefined;

/** The pull batch. */
const BATCH = 50;
/** The default prefetch: a subscription holds at most 1 + 2 batches, whatever its highWaterMark. */
const PREFETCH = 2;

if (skipReason === undefined) {
  for (const ack of ["auto", "manual"] as const) {
    await runConformance(`MdbPubSub (ack ${ack})`, async () => {
      const bed = await MdbTestBed.start({ autoCreateDatasets: true });
      const conn = await bed.connect();
      const { jwt, seed } = await bed.nats.adminCredentials();
      // The probe's own connection, as an admin of the account.
      const admin = await wsconnect({
        servers: bed.nats.wsUrl!,
        authenticator: jwtAuthenticator(jwt, seed),
        name: "conformance probe",
        maxReconnectAttempts: -1,
        reconnectTimeWait: 200,
      });
      const jsm = await jetstreamManager(admin);
      const run = Math.random().toString(36).slice(2, 8);
      let paused = false;
      return {
        pubsub: new MdbPubSub(conn, {
          ack,
          batch: BATCH,
          publisher: (dataset, data, o) => bed.publish(dataset, data, o.headers),
        }),
        topic: (n: number) => `conf-${run}-${n}`,
        probe: {
          // Each MDB subscription is a NATS connection of its own, named after the dataset: count those.
          subscriptions: async () => {
            const res = await fetch(`${bed.nats.monitorUrl}/connz`);
            const connz = await res.json() as { connections?: { name?: string }[] };
            return (connz.connections ?? []).filter((c) => c.name?.includes(`(conf-${run}-`)).length;
          },
          has: async (slug: string, data: Uint8Array) => {
            const subject = datasetSubject(slug, bed.mas.datasets.get(slug) ?? {});
            const m = await jsm.streams.getMessage(streamNameOf(subject), { last_by_subj: subject }).catch(() => null);
            return m !== null && m.data.length === data.length && m.data.every((b, i) => b === data[i]);
          },
          hold: async () => {
            paused = true;
            await bed.nats.pause();
          },
          release: () => {
            bed.nats.resume();
            paused = false;
            return Promise.resolve();
          },
        },
        restart: () => bed.nats.restart(),
        cleanup: async () => {
          if (paused) bed.nats.resume();
          await admin.close().catch(() => {});
          await bed.stop();
        },
      };
    }, {
      messages: 1000,
      bound: () => BATCH * (1 + PREFETCH) + 1,
      // One durable consumer per user and dataset: several subscriptions of one user share its messages.
      skip: ["several subscribers"],
      report,
    });
  }
}
