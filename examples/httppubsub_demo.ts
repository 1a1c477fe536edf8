/**
 * httppubsub end to end on loopback: a fake broadcaster, an HTTP subscriber
 * with HMAC both ways, a glob subscription, and a websocket notifier.
 *
 * Run: deno run -A examples/httppubsub_demo.ts
 */

import { generateSecret, hmacAuth, HttpPubSubClient, WebsocketPubSubClient } from "../src/httppubsub/mod.ts";
import { FakeBroadcaster } from "../src/testing/httppubsub/mod.ts";

const toBroadcaster = generateSecret();
const toSubscriber = generateSecret();
const fake = new FakeBroadcaster({
  toBroadcasterAuth: hmacAuth(toBroadcaster),
  toSubscriberAuth: hmacAuth(toSubscriber),
});
const url = await fake.serve();

const subscriber = new HttpPubSubClient({
  broadcasters: [url],
  bind: { type: "serve", hostname: "127.0.0.1", port: 0 },
  sendAuth: hmacAuth(toBroadcaster),
  receiveAuth: hmacAuth(toSubscriber),
});
const notifier = new WebsocketPubSubClient({
  broadcasters: [url],
  sendAuth: hmacAuth(toBroadcaster),
  receiveAuth: hmacAuth(toSubscriber),
});

const sub = subscriber.subscribeGlob("orders/*");
await sub.ready;
console.log("registered", subscriber.receiveUrl);

const reading = (async () => {
  for await (const msg of sub.withTimeout(2000)) {
    if (msg === null) break;
    console.log("received", msg.topic, msg.text());
    if (msg.text() === "last") break;
  }
})();
for (const [topic, text] of [["orders/eu/1", "first"], ["orders/us/2", "last"]]) {
  const { notified } = await notifier.notify({ topic: topic!, data: text! });
  console.log("notified", topic, "→", notified, "subscriber(s)");
}
await reading;
await notifier.close();
await subscriber.close();
await fake.close();
