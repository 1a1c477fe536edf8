// The floor of bench/serve/scale.ts (not run on its own): a JetStream → JetStream bridge written directly on nats.js,
// in its own process like a `pubsub serve` replica: consume() from the durable "raw", publish, ack after the PubAck,
// at most IN_FLIGHT at once. Arguments: the in-flight window, then the server URLs. Runs until SIGTERM.
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

const [window, ...servers] = Deno.args;
const IN_FLIGHT = Number(window);
const nc = await connect({ servers, maxReconnectAttempts: -1 });
const js = jetstream(nc);
const consumer = await js.consumers.get("SRC", "raw");
const messages = await consumer.consume({ max_messages: IN_FLIGHT });
Deno.addSignalListener("SIGTERM", () => void messages.close());
console.error("ready");
let inFlight = 0;
let wake: (() => void) | undefined;
for await (const m of messages) {
  while (inFlight >= IN_FLIGHT) await new Promise<void>((r) => wake = r);
  inFlight++;
  void js.publish(`dst.${m.subject.slice(4)}`, m.data).then(() => m.ack(), () => m.nak()).finally(() => {
    inFlight--;
    wake?.();
  });
}
await nc.close();
Deno.exit(0);
