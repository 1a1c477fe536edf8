import assert from "node:assert/strict";
import { BasicMessage, createMessage, isMessage, isSettleable, StatusChannel, type StatusEvent } from "../../mod.ts";

Deno.test("BasicMessage decodes text and JSON and makes headers on first use", () => {
  const m = new BasicMessage({ topic: "t", data: '{"a":[1,"é"]}', id: "7", time: new Date(0) });
  assert.deepEqual(m.json(), { a: [1, "é"] });
  assert.equal(m.text(), '{"a":[1,"é"]}');
  assert.equal(m.headers, m.headers, "the same Headers object each time");
  assert.equal([...m.headers].length, 0);
  assert.equal(m.id, "7");
  assert.throws(() => createMessage("t", "not json").json(), SyntaxError);
  assert.equal(createMessage("t", "x", { "x-k": "v" }).headers.get("x-k"), "v");
});

Deno.test("isMessage() and isSettleable() tell messages apart", () => {
  assert.equal(isMessage(createMessage("t", "x")), true);
  assert.equal(isMessage({ topic: "t", data: "x" }), false);
  assert.equal(isMessage(null), false);
  assert.equal(isSettleable(createMessage("t", "x")), false);
  const settle = Object.assign(createMessage("t", "x"), {
    ack: () => Promise.resolve(),
    nak: () => Promise.resolve(),
    term: () => Promise.resolve(),
  });
  assert.equal(isSettleable(settle), true);
});

Deno.test("StatusChannel dispatches to listeners and iterators, and iterators end after closed", async () => {
  const status = new StatusChannel();
  const heard: string[] = [];
  status.addEventListener("reconnecting", (e) => heard.push(`${e.type}:${(e as StatusEvent).detail.attempt}`));
  const iterated: string[] = [];
  const iterating = (async () => {
    for await (const ev of status) iterated.push(ev.type);
  })();
  status.emit("connected");
  status.emit("reconnecting", { attempt: 1 });
  status.close();
  status.emit("connected");
  await iterating;
  assert.deepEqual(heard, ["reconnecting:1"]);
  assert.deepEqual(iterated, ["connected", "reconnecting", "closed"]);
  assert.equal(status.isClosed, true);
});

Deno.test("StatusChannel iterators keep at most 64 unread events and stop on return()", async () => {
  const status = new StatusChannel();
  const it = status[Symbol.asyncIterator]();
  for (let i = 0; i < 100; i++) status.emit("error", { i });
  const first = await it.next();
  assert.equal((first.value as StatusEvent).detail.i, 36);
  await it.return!();
  assert.equal((await it.next()).done, true);
});
