import assert from "node:assert/strict";
import { ClosedError, isSettleable } from "../../mod.ts";
import { MemoryPubSub } from "../../src/testing/mod.ts";

const settled = async (p: Promise<unknown>, ms = 50) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms));
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
};

Deno.test("MemoryPubSub.publish() blocks on a full 'block' subscriber until its reader drained it", async () => {
  const ps = new MemoryPubSub();
  const sub = ps.subscribe("jobs", { highWaterMark: 2 });
  await ps.publish("jobs", "1");
  await ps.publish("jobs", "2");
  const third = ps.publish("jobs", "3");
  assert.equal(await settled(third), false, "the third publish waits for room");
  assert.equal(sub.buffered, 3, "two in the buffer, and the held publish's message");
  const reader = sub.getReader();
  assert.equal((await reader.read()).value?.text(), "1");
  assert.equal(await settled(third), false, "held until the reader drained the buffer");
  assert.equal((await reader.read()).value?.text(), "2");
  assert.equal((await reader.read()).value?.text(), "3");
  await third;
  assert.equal(sub.buffered, 0);
  reader.releaseLock();
  await ps.close();
});

Deno.test("MemoryPubSub.publish() gives up waiting when its signal aborts", async () => {
  const ps = new MemoryPubSub();
  ps.subscribe("jobs", { highWaterMark: 0 });
  const ac = new AbortController();
  const p = ps.publish("jobs", "x", { signal: ac.signal });
  ac.abort(new Error("gave up"));
  await assert.rejects(p, /gave up/);
  await assert.rejects(ps.publish("jobs", "y", { signal: AbortSignal.abort(new Error("early")) }), /early/);
  await ps.close();
});

Deno.test("MemoryPubSub delivers to every matching pattern once and skips non-matching ones", async () => {
  const ps = new MemoryPubSub();
  const exact = ps.subscribe("a/b/c");
  const one = ps.subscribe("a/*/c");
  const many = ps.subscribe("a/**");
  const other = ps.subscribe("b/**");
  await ps.publish("a/b/c", "x");
  for (const s of [exact, one, many]) assert.equal(s.buffered, 1);
  assert.equal(other.buffered, 0);
  assert.equal(ps.subscriptionCount, 4);
  await exact.close();
  assert.equal(ps.subscriptionCount, 3);
  await ps.close();
  assert.equal(ps.subscriptionCount, 0);
});

Deno.test("MemoryPubSub round-robins a group and still fans out to non-group subscribers", async () => {
  const ps = new MemoryPubSub();
  const a = ps.subscribe("t", { group: "g" });
  const b = ps.subscribe("t", { group: "g" });
  const solo = ps.subscribe("t");
  for (let i = 0; i < 4; i++) await ps.publish("t", String(i));
  assert.equal(a.buffered, 2);
  assert.equal(b.buffered, 2);
  assert.equal(solo.buffered, 4);
  assert.throws(() => ps.subscribe("t", { group: "" }), TypeError);
  await ps.close();
});

Deno.test("MemoryPubSub with settle redelivers after nak(delay) and releases the timer on close", async () => {
  const ps = new MemoryPubSub({ settle: true });
  const sub = ps.subscribe("t");
  await ps.publish("t", "x", { headers: { "x-h": "1" } });
  const reader = sub.getReader();
  const first = (await reader.read()).value!;
  assert.ok(isSettleable(first));
  await first.nak(20);
  const again = (await reader.read()).value!;
  assert.equal(again.redelivered, 1);
  assert.equal(again.sequence, first.sequence);
  assert.equal(again.headers.get("x-h"), "1");
  assert.ok(isSettleable(again));
  await again.nak(60_000);
  reader.releaseLock();
  await ps.close();
});

Deno.test("MemoryPubSub copies the payload, checks maxPayload and refuses use after close", async () => {
  const ps = new MemoryPubSub({ maxPayload: 4 });
  const sub = ps.subscribe("t");
  const data = new Uint8Array([1, 2, 3]);
  await ps.publish("t", data);
  data[0] = 9;
  assert.equal((await sub.getReader().read()).value?.data[0], 1);
  await assert.rejects(ps.publish("t", new Uint8Array(5)), RangeError);
  await assert.rejects(ps.publish("a/*", "x"), TypeError);
  assert.throws(() => new MemoryPubSub({ maxPayload: 0 }), RangeError);
  await ps.close();
  await assert.rejects(ps.publish("t", "x"), ClosedError);
  assert.throws(() => ps.subscribe("t"), ClosedError);
});
