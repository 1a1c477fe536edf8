// The fake server's write queue, driven by a scripted connection whose writes complete when the test says so.
import assert from "node:assert/strict";
import { Outbox } from "../../src/testing/messagebus/outbox.ts";

/** A connection whose writes stay pending until `complete()`; it records what was written. */
class ScriptedConn {
  readonly written: number[] = [];
  readonly #pending: { bytes: Uint8Array; resolve(n: number): void; reject(e: unknown): void }[] = [];

  write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => this.#pending.push({ bytes: bytes.slice(), resolve, reject }));
  }

  get waiting(): number {
    return this.#pending.length;
  }

  /** Completes the oldest pending write, taking at most `max` of its bytes. */
  complete(max = Infinity): void {
    const w = this.#pending.shift();
    assert.ok(w !== undefined, "no write is pending");
    const n = Math.min(max, w.bytes.length);
    this.written.push(...w.bytes.subarray(0, n));
    w.resolve(n);
  }

  fail(): void {
    this.#pending.shift()?.reject(new Error("connection reset"));
  }
}

/** Lets every queued job and the event loop run once. */
function turn(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

Deno.test("Outbox writes bytes sent in the same turn as the previous write's completion (the stranded-tail race)", async () => {
  const conn = new ScriptedConn();
  const out = new Outbox(conn, () => {});
  out.send(new Uint8Array([1, 2]));
  await turn();
  assert.equal(conn.waiting, 1);
  // The write completes, and in the same turn, after the writer's continuation, the next message is sent: what
  // Deno does when one socket's write and another socket's read finish together (the publisher's next message).
  conn.complete();
  queueMicrotask(() => out.send(new Uint8Array([3])));
  await turn();
  assert.equal(conn.waiting, 1, "the message sent as the writer finished was never written");
  conn.complete();
  await out.writing;
  assert.deepEqual(conn.written, [1, 2, 3]);
  assert.equal(out.queued, 0);
});

Deno.test("Outbox keeps order, batches what queued during a write, and finishes partial writes", async () => {
  const conn = new ScriptedConn();
  const out = new Outbox(conn, () => {});
  out.send(new Uint8Array([1]));
  await turn();
  out.send(new Uint8Array([2, 3]));
  out.send(new Uint8Array([4]));
  assert.equal(out.queued, 4);
  conn.complete();
  await turn();
  // One write for the two sent meanwhile; let it go through one byte at a time.
  for (let i = 0; i < 3; i++) {
    assert.equal(conn.waiting, 1);
    conn.complete(1);
    await turn();
  }
  assert.deepEqual(conn.written, [1, 2, 3, 4]);
  assert.equal(out.queued, 0);
  assert.equal(out.writing, undefined);
});

Deno.test("Outbox.below() waits until the queue is under the limit, and a failed write closes it", async () => {
  const conn = new ScriptedConn();
  let errors = 0;
  const out = new Outbox(conn, () => errors++);
  out.send(new Uint8Array(10));
  let below = false;
  const waiting = out.below(5).then(() => below = true);
  await turn();
  assert.equal(below, false);
  conn.complete();
  await waiting;
  assert.equal(out.queued, 0);
  out.send(new Uint8Array(10));
  const held = out.below(5);
  await turn();
  conn.fail();
  await held; // a closed outbox holds nobody
  assert.equal(out.closed, true);
  assert.equal(errors, 1);
  out.send(new Uint8Array(1));
  await turn();
  assert.equal(conn.waiting, 0);
});
