import assert from "node:assert/strict";
import { HttpPubSub, type HttpPubSubMessage, RefusedError } from "../../src/httppubsub/mod.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";

async function setup(): Promise<{ ps: HttpPubSub; fake: FakeBroadcaster; close(): Promise<void> }> {
  const fake = new FakeBroadcaster();
  const ps = new HttpPubSub({ broadcasters: [await fake.serve()], bind: { type: "serve" } });
  return { ps, fake, close: () => ps.close().then(() => fake.close()) };
}

Deno.test("HttpPubSub pipes a subscription into writable(), each write resolving on its receipt", async () => {
  const { ps, close } = await setup();
  try {
    const source = ps.subscribe("from");
    const target = ps.subscribe("to");
    await Promise.all([source.ready, target.ready]);
    const receipts: boolean[] = [];
    const piping = source.pipeTo(ps.writable("to", { onReceipt: (r) => receipts.push(r.confirmed) }));
    const reader = target.getReader();
    const got: string[] = [];
    const reading = (async () => {
      while (got.length < 10) {
        const r = await reader.read();
        if (r.done) break;
        got.push(r.value.text());
      }
    })();
    // Bounded: if the receiver refuses what the broadcaster posts, the reader would wait forever.
    const bound = setTimeout(() => reader.cancel(new Error("not every message arrived within 10 s")), 10_000);
    for (let i = 0; i < 10; i++) await ps.publish("from", `${i}`);
    await reading.finally(() => clearTimeout(bound));
    assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `${i}`));
    // Each receipt arrives once the target's reader took the message: wait for the last round trip.
    const deadline = Date.now() + 2000;
    while (receipts.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(receipts, Array(10).fill(true));
    await source.close();
    await piping;
    reader.releaseLock();
  } finally {
    await close();
  }
});

Deno.test("HttpPubSub.subscribe() registers a covering SQLite glob and filters to the contract's segments", async () => {
  const { ps, fake, close } = await setup();
  try {
    const sub = ps.subscribe("logs/*");
    await sub.ready;
    assert.deepEqual(fake.subscriptions().map((s) => [s.kind, s.key]), [["glob", "logs/*"]]);
    const reader = sub.getReader();
    const deep = await ps.publish("logs/a/deep", "no");
    const first = reader.read();
    await ps.publish("logs/a", "yes").catch(() => {});
    const m = (await first).value as HttpPubSubMessage;
    assert.equal(m.topic, "logs/a");
    assert.equal(deep.confirmed, true);
    reader.releaseLock();
    assert.throws(() => ps.subscribe("x", { group: "g" }), TypeError);
    assert.equal(ps.capabilities.wildcards, "glob");
    assert.equal(ps.capabilities.headers, false);
  } finally {
    await close();
  }
});

Deno.test("HttpPubSub.publish() reports the subscribers reached, and with requireSubscriber refuses a publish none took", async () => {
  const fake = new FakeBroadcaster();
  const url = await fake.serve();
  const ps = new HttpPubSub({ broadcasters: [url], bind: { type: "serve" } });
  const strict = new HttpPubSub({ broadcasters: [url], bind: { type: "serve" } }, { requireSubscriber: true });
  try {
    assert.equal((await ps.publish("nobody/here", "x")).notified, 0);
    await assert.rejects(strict.publish("nobody/here", "x"), RefusedError);
    const sub = ps.subscribe("somebody");
    await sub.ready;
    const reader = sub.getReader();
    const [receipt] = await Promise.all([strict.publish("somebody", "y"), reader.read()]);
    assert.equal(receipt.notified, 1);
    assert.equal(receipt.confirmed, true);
    reader.releaseLock();
  } finally {
    await strict.close();
    await ps.close();
    await fake.close();
  }
});
