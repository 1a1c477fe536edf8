/**
 * Test helpers for httppubsub: {@linkcode FakeBroadcaster}, the broadcaster
 * side of the lonelypsp protocol (HTTP) as a Hono app, faithful to the spec,
 * to run `HttpPubSubClient` against on loopback. Deno only.
 *
 * @example A client and a fake broadcaster on loopback
 * ```ts
 * import { HttpPubSubClient } from "@x/pubsub/httppubsub";
 * import { FakeBroadcaster } from "@x/pubsub/testing/httppubsub";
 *
 * const fake = new FakeBroadcaster();
 * const client = new HttpPubSubClient({ broadcasters: [await fake.serve()], bind: { type: "serve" } });
 * const sub = client.subscribeExact("greetings");
 * await sub.ready;
 * const reader = sub.getReader();
 * const [{ notified }, { value }] = await Promise.all([
 *   client.notify({ topic: "greetings", data: "hello" }),
 *   reader.read(),
 * ]);
 * console.log(notified, value?.text()); // 1 hello
 * reader.releaseLock();
 * await client.close();
 * await fake.close();
 * ```
 *
 * @module
 */

export { FakeBroadcaster } from "./fake_broadcaster.ts";
export type { FakeBroadcasterOptions } from "./fake_broadcaster_options.ts";
export type { FakeBroadcasterStats } from "./fake_broadcaster_stats.ts";
export type { FakeSubscription } from "./subscription_store.ts";
export { type FakeWebsocketHost, FakeWebsocketPeer } from "./fake_websocket.ts";
export type { AuthConfig } from "../../httppubsub/auth.ts";
export type { ReceiverApp } from "../../httppubsub/receiver.ts";
