/**
 * `deno task demo`: a subscription, a publish and a pipe between two
 * subscriptions, on the embedded in-memory broker. Each system adds its own
 * embedded peer here as it lands.
 */
import { createMessage, type Message } from "../mod.ts";
import { MemoryPubSub } from "../src/testing/mod.ts";

const line = (label: string, msg: Message) =>
  console.log(
    `  ${label.padEnd(10)} ${msg.topic.padEnd(28)} ${msg.text()}${
      msg.headers.has("x-via") ? `  (via ${msg.headers.get("x-via")})` : ""
    }`,
  );

const broker = new MemoryPubSub();
console.log("@x/pubsub demo: the in-memory broker\n");

// 1. A subscription with a glob pattern, read with for await.
const sensors = broker.subscribe("sensors/*/temperature");
const readings = (async () => {
  let n = 0;
  for await (const msg of sensors) {
    line("sensors", msg);
    if (++n === 3) break;
  }
})();

console.log("1. subscribe('sensors/*/temperature') and publish three readings");
for (const [room, value] of [["kitchen", 21.5], ["attic", 17.0], ["cellar", 12.25]] as const) {
  const receipt = await broker.publish(`sensors/${room}/temperature`, JSON.stringify({ celsius: value }));
  console.log(
    `  published  sensors/${room}/temperature  -> sequence ${receipt.sequence}, confirmed ${receipt.confirmed}`,
  );
}
await readings;

// 2. A pipe: everything on orders/** is forwarded, headers and all, to audit/orders.
console.log("\n2. pipe subscribe('orders/**') into writable('audit/orders')");
const audit = broker.subscribe("audit/orders");
const orders = broker.subscribe("orders/**");
const piping = orders
  .pipeThrough(
    new TransformStream<Message, Message>({
      transform: (msg, controller) => controller.enqueue(createMessage(msg.topic, msg.data, { "x-via": msg.topic })),
    }),
  )
  .pipeTo(broker.writable("audit/orders"));

await broker.publish("orders/eu/1001", '{"item":"kettle","qty":1}');
await broker.publish("orders/us/1002", '{"item":"teapot","qty":2}');
const reader = audit.getReader();
for (let i = 0; i < 2; i++) line("audit", (await reader.read()).value!);
reader.releaseLock();

await orders.close();
await piping;
await broker.close();
console.log("\ndone: every subscription closed, nothing left running.");
