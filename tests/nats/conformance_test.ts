import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type ConformanceTarget, runConformance } from "../../src/testing/conformance.ts";
import { NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { NatsPubSub as WsNatsPubSub } from "../../src/nats/mod.ts";
import { NatsPubSub as TcpNatsPubSub } from "../../src/nats/tcp.ts";

const skip = natsServerSkipReason();
if (skip !== undefined) console.log(skip);
const report = Deno.env.get("CONFORMANCE_REPORT") === "1" ? console.log : undefined;

let counter = 0;
const topic = (prefix: string) => {
  const run = `${Date.now().toString(36)}${counter++}`;
  return (n: number) => `${prefix}.${run}.${n}`;
};

/** The name the adapter's connection gives the server, so the probe finds it in `/connz`. */
const CLIENT = "conformance-client";

async function monitor<T>(server: NatsServer, path: string): Promise<T> {
  const res = await fetch(`${server.monitorUrl}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return await res.json() as T;
}

/**
 * The server's view of the adapter's connection: its subscriptions (from
 * `/connz`), plus, with JetStream, the consumers of the stream (`/jsz`).
 */
async function serverSubscriptions(server: NatsServer, jetstream: boolean): Promise<number> {
  const connz = await monitor<{ connections?: { name?: string; subscriptions?: number }[] }>(
    server,
    "/connz?subs=1",
  );
  let n = 0;
  for (const c of connz.connections ?? []) if (c.name === CLIENT) n += c.subscriptions ?? 0;
  if (jetstream) n += (await monitor<{ consumers?: number }>(server, "/jsz")).consumers ?? 0;
  return n;
}

async function target(transport: "ws" | "tcp", jetstream: boolean): Promise<ConformanceTarget> {
  const server = await NatsServer.start({ websocket: transport === "ws", jetstream });
  // The probe's own connection (TCP): asks JetStream for stored messages.
  const admin = jetstream ? await connect({ servers: server.url, name: "conformance-probe" }) : undefined;
  const jsm = admin === undefined ? undefined : await jetstreamManager(admin);
  await jsm?.streams.add({ name: "CONFORMANCE", subjects: ["conf.>"] });
  const options = {
    name: CLIENT,
    jetstream,
    reconnectTimeWaitMs: 250,
    maxReconnectAttempts: -1,
  };
  const pubsub = transport === "ws"
    ? await WsNatsPubSub.connect({ servers: server.wsUrl!, ...options })
    : await TcpNatsPubSub.connect({ servers: server.url, ...options });
  let paused = false;
  return {
    pubsub,
    topic: topic("conf"),
    probe: {
      subscriptions: () => serverSubscriptions(server, jetstream),
      ...(jsm === undefined ? {} : {
        has: async (subject: string, data: Uint8Array) => {
          const m = await jsm.streams.getMessage("CONFORMANCE", { last_by_subj: subject }).catch(() => null);
          return m !== null && m.data.length === data.length && m.data.every((b, i) => b === data[i]);
        },
      }),
      // A frozen server reads, answers and confirms nothing.
      hold: async () => {
        paused = true;
        await server.pause();
      },
      release: () => {
        server.resume();
        paused = false;
        return Promise.resolve();
      },
    },
    restart: () => server.restart(),
    cleanup: async () => {
      if (paused) server.resume();
      await admin?.close();
      await server.stop();
    },
  };
}

if (skip === undefined) {
  for (const transport of ["ws", "tcp"] as const) {
    await runConformance(`NatsPubSub ${transport} core`, () => target(transport, false), { report });
    await runConformance(`NatsPubSub ${transport} JetStream`, () => target(transport, true), { report });
  }
}
