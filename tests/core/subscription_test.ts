import assert from "node:assert/strict";
import {
  checkOverflow,
  ClosedError,
  createMessage,
  type Message,
  OverflowError,
  type PushController,
  Subscription,
} from "../../mod.ts";

function pushed(options: ConstructorParameters<typeof Subscription<Message>>[1] = {}) {
  let controller!: PushController<Message>;
  const events: string[] = [];
  const sub = new Subscription<Message>({
    kind: "push",
    start: (c) => void (controller = c),
    pause: () => void events.push("pause"),
    resume: () => void events.push("resume"),
    cancel: (reason) => void events.push(`cancel:${String(reason)}`),
  }, options);
  return {
    sub,
    events,
    get controller() {
      return controller;
    },
  };
}

const msg = (i: number) => createMessage("t", String(i));
const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("Subscription from a pull source pulls only when the reader reads, at most highWaterMark at a time", async () => {
  const asked: number[] = [];
  let next = 0;
  const sub = new Subscription<Message>({
    kind: "pull",
    pull(max) {
      asked.push(max);
      return Array.from({ length: max }, () => msg(next++));
    },
  }, { highWaterMark: 4 });
  await sub.ready;
  await tick();
  assert.deepEqual(asked, [], "nothing is fetched before a read");
  const reader = sub.getReader();
  assert.equal((await reader.read()).value?.text(), "0");
  assert.deepEqual(asked, [4]);
  assert.equal(sub.buffered, 3);
  for (let i = 1; i < 4; i++) assert.equal((await reader.read()).value?.text(), String(i));
  await tick();
  assert.deepEqual(asked, [4], "no fetch while the buffer holds messages");
  assert.equal((await reader.read()).value?.text(), "4");
  assert.deepEqual(asked, [4, 4]);
  await reader.cancel();
});

Deno.test("Subscription from a pull source ends when pull() returns null and fails when it throws", async () => {
  let calls = 0;
  const ended = new Subscription<Message>({ kind: "pull", pull: () => (calls++ === 0 ? [msg(1)] : null) });
  const got = await Array.fromAsync(ended);
  assert.deepEqual(got.map((m) => m.text()), ["1"]);
  assert.equal(await ended.closed, undefined);

  const boom = new Error("boom");
  const failing = new Subscription<Message>({ kind: "pull", pull: () => Promise.reject(boom) });
  await assert.rejects(failing.getReader().read(), /boom/);
  assert.equal(await failing.closed, boom);
});

Deno.test("Subscription under 'block' pauses the source when full and resumes once the reader drained it", async () => {
  const s = pushed({ highWaterMark: 2 });
  await s.sub.ready;
  assert.equal(s.controller.offer(msg(0)), true);
  assert.equal(s.controller.offer(msg(1)), true);
  assert.deepEqual(s.events, ["pause"]);
  assert.equal(s.controller.offer(msg(2)), false, "a full buffer refuses under block");
  let pushedThird = false;
  const third = s.controller.push(msg(2)).then(() => pushedThird = true);
  await tick();
  assert.equal(pushedThird, false);
  assert.equal(s.sub.buffered, 3, "two in the buffer and the push waiting for room");
  const reader = s.sub.getReader();
  assert.equal((await reader.read()).value?.text(), "0");
  assert.equal(s.sub.buffered, 2);
  await tick();
  assert.equal(pushedThird, false, "still held: the buffer is not drained");
  assert.equal((await reader.read()).value?.text(), "1");
  assert.equal((await reader.read()).value?.text(), "2");
  await third;
  assert.deepEqual(s.events, ["pause", "resume"]);
  assert.equal(s.sub.dropped, 0);
  assert.equal(s.sub.buffered, 0);
  await reader.cancel("bye");
  assert.deepEqual(s.events, ["pause", "resume", "cancel:bye"]);
});

Deno.test("Subscription under 'drop-oldest' and 'drop-newest' keeps the buffer at highWaterMark and counts drops", async () => {
  for (const [overflow, want] of [["drop-oldest", ["3", "4"]], ["drop-newest", ["0", "1"]]] as const) {
    const s = pushed({ highWaterMark: 2, overflow });
    await s.sub.ready;
    for (let i = 0; i < 5; i++) assert.equal(s.controller.offer(msg(i)), true);
    assert.equal(s.sub.buffered, 2);
    assert.equal(s.sub.dropped, 3);
    s.controller.end();
    assert.deepEqual((await Array.fromAsync(s.sub)).map((m) => m.text()), want, overflow);
  }
});

Deno.test("Subscription under 'error' fails with OverflowError when the buffer overflows", async () => {
  const s = pushed({ highWaterMark: 1, overflow: "error" });
  await s.sub.ready;
  s.controller.offer(msg(0));
  s.controller.offer(msg(1));
  await assert.rejects(s.sub.getReader().read(), OverflowError);
  assert.ok((await s.sub.closed) instanceof OverflowError);
});

Deno.test("PushController.deliver() resolves only once the reader has taken the message", async () => {
  const s = pushed({ highWaterMark: 4 });
  await s.sub.ready;
  let taken = false;
  const delivery = s.controller.deliver(msg(0)).then(() => taken = true);
  await tick();
  assert.equal(taken, false);
  const reader = s.sub.getReader();
  await reader.read();
  await delivery;
  assert.equal(taken, true);
  const lost = s.controller.deliver(msg(1));
  await reader.cancel();
  await assert.rejects(lost, ClosedError);
  await assert.rejects(s.controller.push(msg(2)), ClosedError);
  assert.equal(s.controller.offer(msg(3)), false);
});

Deno.test("Subscription.close() hands over what was buffered, then the end", async () => {
  const s = pushed({ highWaterMark: 4, overflow: "drop-oldest" });
  await s.sub.ready;
  s.controller.offer(msg(0));
  s.controller.offer(msg(1));
  const lost = s.controller.deliver(msg(2));
  await s.sub.close();
  await assert.rejects(lost, ClosedError, "a deliver() still waiting is told it was not taken");
  assert.deepEqual((await Array.fromAsync(s.sub)).map((m) => m.text()), ["0", "1"]);
});

Deno.test("Subscription.close() works while locked: a pending read ends and closed resolves with the reason", async () => {
  const s = pushed();
  const reader = s.sub.getReader();
  const pending = reader.read();
  await tick();
  await s.sub.close("enough");
  assert.deepEqual(await pending, { done: true, value: undefined });
  assert.equal(await s.sub.closed, "enough");
  assert.deepEqual(s.events, ["cancel:enough"]);
  await s.sub.close("again");
  assert.deepEqual(s.events, ["cancel:enough"], "teardown runs once");
});

Deno.test("Subscription.close() ends a pipe and closes its destination", async () => {
  const s = pushed();
  await s.sub.ready;
  s.controller.offer(msg(0));
  const seen: string[] = [];
  let destClosed = false;
  const piping = s.sub.pipeTo(
    new WritableStream({ write: (m) => void seen.push(m.text()), close: () => void (destClosed = true) }),
  );
  await tick();
  await s.sub.close();
  await piping;
  assert.deepEqual(seen, ["0"]);
  assert.equal(destClosed, true);
});

Deno.test("Subscription signal aborts it, also when already aborted, and the listener is removed", async () => {
  const ac = new AbortController();
  const s = pushed({ signal: ac.signal });
  await s.sub.ready;
  ac.abort("stop");
  assert.equal(await s.sub.closed, "stop");
  assert.deepEqual(s.events, ["cancel:stop"]);

  const early = pushed({ signal: AbortSignal.abort("early") });
  assert.equal(await early.sub.closed, "early");
  await assert.rejects(
    early.sub.ready.then(() => early.sub.getReader().read()).then((r) => {
      if (r.done) throw new ClosedError("ended");
    }),
    ClosedError,
  );
});

Deno.test("Subscription breaks out of for await and is disposed by await using", async () => {
  const s = pushed();
  await s.sub.ready;
  s.controller.offer(msg(0));
  s.controller.offer(msg(1));
  for await (const _ of s.sub) break;
  assert.deepEqual(s.events, ["cancel:undefined"]);
  const t = pushed();
  {
    await using sub = t.sub;
    await sub.ready;
  }
  assert.deepEqual(t.events, ["cancel:undefined"]);
});

Deno.test("Subscription whose start() fails rejects ready and the first read", async () => {
  const sub = new Subscription<Message>({ kind: "push", start: () => Promise.reject(new Error("no route")) });
  await assert.rejects(sub.ready, /no route/);
  await assert.rejects(sub.getReader().read(), /no route/);
  assert.match(String(await sub.closed), /no route/);
});

Deno.test("Subscription() validates its options", () => {
  const source = { kind: "push" as const, start() {} };
  assert.throws(() => new Subscription(source, { highWaterMark: -1 }), RangeError);
  assert.throws(() => new Subscription(source, { highWaterMark: Number.NaN }), RangeError);
  assert.throws(() => new Subscription(source, { overflow: "nope" as "block" }), TypeError);
  assert.throws(() => new Subscription(source, { signal: {} as AbortSignal }), TypeError);
});

Deno.test("Subscription with highWaterMark 0 hands a message only to a waiting read", async () => {
  const s = pushed({ highWaterMark: 0 });
  await s.sub.ready;
  assert.equal(s.controller.offer(msg(0)), false);
  const reader = s.sub.getReader();
  const read = reader.read();
  await tick();
  assert.equal(s.controller.offer(msg(1)), true);
  assert.equal((await read).value?.text(), "1");
  await reader.cancel();
});

Deno.test("Subscription.ready rejects with ClosedError when it is closed while starting", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const sub = new Subscription<Message>({ kind: "push", start: () => gate });
  const closing = sub.close();
  release();
  await closing;
  await assert.rejects(sub.ready, ClosedError);
});

Deno.test("Subscription under 'block' lets at most highWaterMark pushes wait, counts them in buffered, refuses one more", async () => {
  const s = pushed({ highWaterMark: 2 });
  await s.sub.ready;
  s.controller.offer(msg(0));
  s.controller.offer(msg(1));
  const waiting = [s.controller.push(msg(2)), s.controller.deliver(msg(3))];
  await assert.rejects(s.controller.push(msg(4)), OverflowError);
  assert.equal(s.sub.buffered, 4, "two buffered and two waiting");
  const reader = s.sub.getReader();
  const got = [];
  for (let i = 0; i < 4; i++) got.push((await reader.read()).value?.text());
  assert.deepEqual(got, ["0", "1", "2", "3"], "the waiting ones come in order, once there is room");
  await Promise.all(waiting);
  assert.equal(s.sub.dropped, 0);
  await reader.cancel();
});

Deno.test("Subscription counts what the source holds in buffered", async () => {
  let held = 0;
  const sub = new Subscription<Message>({
    kind: "pull",
    get held() {
      return held;
    },
    pull: () => {
      held = 5; // fetched ahead, not yet handed over
      return [msg(0)];
    },
  }, { highWaterMark: 8 });
  const reader = sub.getReader();
  assert.equal(sub.buffered, 0);
  await reader.read();
  assert.equal(sub.buffered, 5);
  await reader.cancel();
});

Deno.test("PushController push() and deliver() give up on their signal, withdrawing what was not taken", async () => {
  const s = pushed({ highWaterMark: 1 });
  await s.sub.ready;
  const stop = new AbortController();
  const taken = s.controller.deliver(msg(0), { signal: stop.signal }); // buffered, not yet taken
  const waiting = s.controller.push(msg(1), { signal: stop.signal }); // waiting for room
  assert.equal(s.sub.buffered, 2);
  stop.abort(new Error("gave up"));
  await assert.rejects(taken, /gave up/);
  await assert.rejects(waiting, /gave up/);
  assert.equal(s.sub.buffered, 0, "both withdrawn");
  s.controller.offer(msg(2));
  assert.equal((await s.sub.getReader().read()).value?.text(), "2");
  await s.sub.close();
});

Deno.test("checkOverflow() defaults to the first policy offered and refuses others with TypeError", () => {
  assert.equal(checkOverflow(undefined, "Subscribing"), "block");
  assert.equal(checkOverflow(undefined, "Subscribing", ["drop-newest", "error"]), "drop-newest");
  assert.equal(checkOverflow("error", "Subscribing", ["drop-newest", "error"]), "error");
  assert.throws(() => checkOverflow("block", "Subscribing", ["drop-newest", "error"]), TypeError);
  assert.throws(() => checkOverflow("bogus" as "block", "Subscribing"), TypeError);
});
