import assert from "node:assert/strict";
import { bridge, ClosedError, createMessage, type PublishReceipt } from "../../mod.ts";
import { MemoryPubSub } from "../../src/testing/mod.ts";

Deno.test("bridge() acks each source message only after the target confirmed it", async () => {
  const from = new MemoryPubSub({ settle: true });
  const to = new MemoryPubSub();
  const out = to.subscribe("copy");
  const b = bridge(from.subscribe("orders/**"), to, { topic: "copy" });
  for (let i = 0; i < 5; i++) await from.publish(`orders/${i}`, String(i), { headers: { "x-n": String(i) } });
  const reader = out.getReader();
  for (let i = 0; i < 5; i++) {
    const m = (await reader.read()).value!;
    assert.equal(m.text(), String(i));
    assert.equal(m.headers.get("x-n"), String(i), "headers travel");
  }
  const stats = await b.stop();
  assert.deepEqual(stats, { received: 5, confirmed: 5, written: 0, skipped: 0, failed: 0, acked: 5, naked: 0 });
  reader.releaseLock();
  await Promise.all([from.close(), to.close()]);
});

Deno.test("bridge() naks a message whose publish failed, so it comes again and nothing is lost", async () => {
  const from = new MemoryPubSub({ settle: true });
  const to = new MemoryPubSub();
  let failures = 1;
  const got: string[] = [];
  const flaky = {
    publish(topic: string, data: Uint8Array | string): Promise<PublishReceipt> {
      if (failures-- > 0) return Promise.reject(new Error("target restarting"));
      got.push(typeof data === "string" ? data : new TextDecoder().decode(data));
      return to.publish(topic, data);
    },
  };
  const b = bridge(from.subscribe("in"), flaky);
  await from.publish("in", "a");
  await from.publish("in", "b");
  while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
  const stats = await b.stop();
  assert.deepEqual(got, ["b", "a"], "the failed message came again, after the next one");
  assert.equal(stats.failed, 1);
  assert.equal(stats.naked, 1);
  assert.equal(stats.received, 3, "the nak'd message was received twice");
  assert.equal(stats.acked, 2);
  await Promise.all([from.close(), to.close()]);
});

Deno.test("bridge() counts written-only receipts, skips what the transform drops, and stops on a signal", async () => {
  const from = new MemoryPubSub();
  const ac = new AbortController();
  const seen: string[] = [];
  const target = {
    publish(topic: string): Promise<PublishReceipt> {
      seen.push(topic);
      return Promise.resolve({ topic, confirmed: false });
    },
  };
  const b = bridge(from.subscribe("t"), target, {
    signal: ac.signal,
    transform: (m) => (m.text() === "skip" ? null : createMessage(`out/${m.text()}`, m.data)),
  });
  await from.publish("t", "1");
  await from.publish("t", "skip");
  await from.publish("t", "2");
  while (b.stats.received < 3) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  const stats = await b.done;
  assert.deepEqual(seen, ["out/1", "out/2"]);
  assert.equal(stats.written, 2);
  assert.equal(stats.confirmed, 0);
  assert.equal(stats.skipped, 1);
  assert.equal(from.subscriptionCount, 0, "the source subscription was released");
  await from.close();
});

Deno.test("bridge() with onError 'stop' ends with the publish error, and ends when the target is closed", async () => {
  const from = new MemoryPubSub();
  const to = new MemoryPubSub();
  const b = bridge(from.subscribe("t"), { publish: () => Promise.reject(new Error("no")) }, { onError: "stop" });
  await from.publish("t", "x");
  await assert.rejects(b.done, /no/);
  const c = bridge(from.subscribe("t"), to);
  await to.close();
  await from.publish("t", "x");
  await assert.rejects(c.done, ClosedError);
  assert.equal(from.subscriptionCount, 0);
  await from.close();
});

Deno.test("bridge() rejects a locked source, a target without publish and a bad onError", async () => {
  const ps = new MemoryPubSub();
  const sub = ps.subscribe("t");
  sub.getReader();
  assert.throws(() => bridge(sub, ps), TypeError);
  assert.throws(() => bridge(ps.subscribe("u"), {} as never), TypeError);
  assert.throws(() => bridge(ps.subscribe("v"), ps, { onError: "retry" as "nak" }), TypeError);
  await ps.close();
});
