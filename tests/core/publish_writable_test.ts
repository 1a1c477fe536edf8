import assert from "node:assert/strict";
import {
  createMessage,
  type PublishData,
  type PublishOptions,
  type PublishReceipt,
  publishWritable,
} from "../../mod.ts";

class FakeTarget {
  calls: { topic: string; data: PublishData; headers: Headers }[] = [];
  pending: { resolve(r: PublishReceipt): void; reject(e: unknown): void }[] = [];
  publish(topic: string, data: PublishData, options: PublishOptions = {}): Promise<PublishReceipt> {
    this.calls.push({ topic, data, headers: new Headers(options.headers) });
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }
  confirm(i: number) {
    this.pending[i]!.resolve({ topic: this.calls[i]!.topic, confirmed: true, sequence: i });
  }
}
const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("publishWritable() resolves each write on its own receipt when maxInFlight is 1", async () => {
  const target = new FakeTarget();
  const writer = publishWritable(target, "out").getWriter();
  let first = false;
  const w1 = writer.write("a").then(() => first = true);
  const w2 = writer.write(new Uint8Array([1]));
  await tick();
  assert.equal(target.calls.length, 1, "the second is not sent before the first is confirmed");
  assert.equal(first, false);
  target.confirm(0);
  await w1;
  await tick();
  assert.equal(target.calls.length, 2);
  target.confirm(1);
  await w2;
  await writer.close();
});

Deno.test("publishWritable() keeps up to maxInFlight unconfirmed and reports receipts in order", async () => {
  const target = new FakeTarget();
  const order: number[] = [];
  const writer = publishWritable(target, "out", { maxInFlight: 3, onReceipt: (r) => order.push(r.sequence!) })
    .getWriter();
  const writes = [0, 1, 2, 3].map((i) => writer.write(String(i)));
  await tick();
  await tick();
  assert.equal(target.calls.length, 3, "three in flight, the fourth waits");
  target.confirm(2);
  target.confirm(1);
  await tick();
  assert.equal(target.calls.length, 3, "the window frees from its oldest");
  target.confirm(0);
  await Promise.all(writes.slice(0, 3));
  await tick();
  assert.equal(target.calls.length, 4);
  target.confirm(3);
  await writes[3];
  await writer.close();
  assert.deepEqual(order, [0, 1, 2, 3]);
});

Deno.test("publishWritable() fails the stream when a publish fails", async () => {
  for (const maxInFlight of [1, 2]) {
    const target = new FakeTarget();
    const writer = publishWritable(target, "out", { maxInFlight }).getWriter();
    const w = writer.write("x");
    w.catch(() => {});
    await tick();
    target.pending[0]!.reject(new Error("refused"));
    if (maxInFlight === 1) await assert.rejects(w, /refused/);
    await tick();
    await assert.rejects(writer.closed, /refused/, "the stream is errored with the publish's error");
    await assert.rejects(writer.write("y"));
  }
});

Deno.test("publishWritable() keeps a message's headers and topic, and merges extra headers", async () => {
  const target = new FakeTarget();
  const writer = publishWritable(target, undefined, { headers: { "x-a": "1", "x-b": "1" } }).getWriter();
  const w = writer.write(createMessage("own/topic", "hi", { "x-b": "2" }));
  await tick();
  target.confirm(0);
  await w;
  assert.equal(target.calls[0]!.topic, "own/topic");
  assert.equal(target.calls[0]!.headers.get("x-a"), "1");
  assert.equal(target.calls[0]!.headers.get("x-b"), "2");
  await assert.rejects(writer.write("no topic"), TypeError);
});

Deno.test("publishWritable() rejects bad chunks with TypeError and a bad window with RangeError", async () => {
  const target = new FakeTarget();
  assert.throws(() => publishWritable(target, "t", { maxInFlight: 0 }), RangeError);
  assert.throws(() => publishWritable(target, "t", { maxInFlight: 1.5 }), RangeError);
  const writer = publishWritable(target, "t").getWriter();
  await assert.rejects(writer.write(42 as unknown as string), TypeError);
});
