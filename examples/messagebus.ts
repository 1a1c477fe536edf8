// jetblack-messagebus in one file: a fake server on loopback, a "select feed" publisher that sends an image
// by unicast to each new subscriber and deltas by multicast, a subscriber reading a stream, and the PubSub
// adapter.
//
//   deno run -A examples/messagebus.ts

import { MessageBusClient, MessageBusPubSub } from "../src/messagebus/mod.ts";
import { FakeMessageBus } from "../src/testing/messagebus/mod.ts";

const encode = (s: string) => new TextEncoder().encode(s);

await using server = await FakeMessageBus.start();

// The publisher: registers for notifications on its feed, answers each new subscriber with an image.
const publisher = await MessageBusClient.create("127.0.0.1", server.port);
publisher.notificationHandlers.push(async (clientId, user, host, feed, topic, isAdd) => {
  console.log(`${isAdd ? "add" : "remove"} ${feed}/${topic} by ${user}@${host}`);
  if (isAdd) await publisher.send(clientId, feed, topic, true, [{ entitlements: null, data: encode("1.0800") }]);
});
// Calls made before start() are queued and written after the credentials; their promises settle then.
const registered = publisher.addNotification("PRICES");
await publisher.start();
await registered;
await publisher.ping();

// The subscriber: a stream of the topic.
const subscriber = await MessageBusClient.create("127.0.0.1", server.port);
await subscriber.start();
const prices = subscriber.subscribe("PRICES", "EURUSD");
const reading = (async () => {
  for await (const msg of prices) {
    console.log(`${msg.isImage ? "image" : "delta"} ${msg.feed}/${msg.topic} from ${msg.user}: ${msg.text()}`);
    if (msg.text() === "1.0803") break;
  }
})();
await new Promise((r) => setTimeout(r, 50));
for (const price of ["1.0801", "1.0802", "1.0803"]) {
  await publisher.publish("PRICES", "EURUSD", false, [{ entitlements: null, data: encode(price) }]);
}
await reading;

// The PubSub adapter: topics are "feed/topic".
const ps = await MessageBusPubSub.connect("127.0.0.1", server.port);
const sub = ps.subscribe("PRICES/GBPUSD");
await sub.ready;
await ps.publish("PRICES/GBPUSD", "1.2650");
for await (const msg of sub) {
  console.log(`adapter: ${msg.topic} (feed ${msg.feed}, topic ${msg.topicName}) ${msg.text()}`);
  break;
}
await ps.close();
await subscriber.stop();
await publisher.stop();
