// FakeBroadcaster.onFrame, which `pubsub fake httppubsub --log` uses: each WebSocket frame a subscriber sent.

import assert from "node:assert/strict";
import { WebsocketPubSubClient } from "../../src/httppubsub/mod.ts";
import { decodeS2B } from "../../src/httppubsub/websocket_codec.ts";
import { FakeBroadcaster, type FakeWebsocketPeer } from "../../src/testing/httppubsub/mod.ts";

Deno.test("FakeBroadcaster.onFrame is told of each frame a websocket subscriber sent; a throwing one is harmless", async () => {
  const fake = new FakeBroadcaster();
  const frames: [FakeWebsocketPeer, Uint8Array | string][] = [];
  fake.onFrame = (peer, frame) => {
    frames.push([peer, frame]);
    throw new Error("a listener that throws");
  };
  const url = await fake.serve();
  const client = new WebsocketPubSubClient({ broadcasters: [url] });
  try {
    const sub = client.subscribeGlob("a/*");
    await sub.ready;
    const reader = sub.getReader();
    const [{ notified }, got] = await Promise.all([client.notify({ topic: "a/b", data: "hi" }), reader.read()]);
    assert.equal(notified, 1);
    assert.equal(got.value!.text(), "hi");
    reader.releaseLock();

    const decoded = frames.map(([, f]) => decodeS2B(f as Uint8Array));
    assert.deepEqual(decoded.slice(0, 3).map((m) => m.type), ["configure", "subscribe-glob", "notify"]);
    const notify = decoded[2]!;
    assert.ok(notify.type === "notify" && new TextDecoder().decode(notify.payload) === "hi");
    assert.ok(frames.every(([p]) => p === fake.websocketPeers[0]), "every frame names the one peer");
  } finally {
    await client.close();
    await fake.close();
  }
});
