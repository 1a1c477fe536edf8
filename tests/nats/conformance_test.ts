import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { runConformance } from "../../src/testing/conformance.ts";
import { NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { NatsPubSub as WsNatsPubSub } from "../../src/nats/mod.ts";
import { NatsPubSub as TcpNatsPubSub } from "../../src/nats/tcp.ts";

const skip = natsServerSkipReason();
if (skip !== undefined) console.log(skip);

let counter = 0;
const topic = (prefix: string) => {
  const run = `${Date.now().toString(36)}${counter++}`;
  return (n: number) => `${prefix}.${run}.${n}`;
};

async function target(transport: "ws" | "tcp", jetstream: boolean) {
  const server = await NatsServer.start({ websocket: transport === "ws", jetstream });
  if (jetstream) {
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "CONFORMANCE", subjects: ["conf.>"] });
    await nc.close();
  }
  const pubsub = transport === "ws"
    ? await WsNatsPubSub.connect({ servers: server.wsUrl!, jetstream })
    : await TcpNatsPubSub.connect({ servers: server.url, jetstream });
  return { pubsub, topic: topic("conf"), cleanup: () => server.stop() };
}

if (skip === undefined) {
  for (const transport of ["ws", "tcp"] as const) {
    runConformance(`NatsPubSub ${transport} core`, () => target(transport, false), {
      overflow: ["block", "drop-oldest", "drop-newest", "error"],
      messages: 10_000,
    });
    runConformance(`NatsPubSub ${transport} JetStream`, () => target(transport, true), {
      overflow: ["block", "error"],
      messages: 10_000,
    });
  }
}
