// A runnable tour of `@x/pubsub/nats`: `deno run -A examples/nats.ts` (needs nats-server).
// It starts its own nats-server on free loopback ports (JetStream + WebSocket) and stops it.
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsPubSub } from "../src/nats/mod.ts";
import { NatsServer } from "../src/testing/nats/mod.ts";

const server = await NatsServer.start();
try {
  // Core NATS over WebSocket: wildcards, unconfirmed publish.
  const core = await NatsPubSub.connect(server.wsUrl!);
  const sub = core.subscribe("greetings.*");
  await sub.ready;
  await core.publish("greetings.en", "hello", { headers: { "x-lang": "en" } });
  for await (const msg of sub) {
    console.log("core:", msg.subject, msg.text(), msg.headers.get("x-lang"));
    break;
  }
  await core.close();

  // JetStream: a stream, confirmed publishes, a durable pull consumer with acks.
  const js = await NatsPubSub.connect({ servers: server.wsUrl!, jetstream: true });
  const jsm = await jetstreamManager(js.connection);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  for (let i = 1; i <= 3; i++) {
    const receipt = await js.publish("orders.new", JSON.stringify({ id: i }));
    console.log("stored as sequence", receipt.sequence);
  }
  let n = 0;
  for await (const msg of js.consume("orders.>", { durable: "billing", deliver: "all" })) {
    console.log("jetstream:", msg.sequence, msg.json(), "pending", msg.pending);
    await msg.ack();
    if (++n === 3) break;
  }
  // Pipe one system into another: every write resolves on the PubAck.
  await ReadableStream.from(["a", "b"]).pipeTo(js.writable("orders.bridged"));
  console.log("messages in ORDERS:", (await jsm.streams.info("ORDERS")).state.messages);
  await js.close();
} finally {
  await server.stop();
}
