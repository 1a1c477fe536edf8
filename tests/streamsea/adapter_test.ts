import assert from "node:assert/strict";
import { ClosedError } from "../../src/core/errors.ts";
import { StreamSeaPubSub } from "../../src/streamsea/mod.ts";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import { CLIENT, env, take, within } from "./_helpers.ts";

Deno.test("StreamSeaPubSub in json format publishes JSON objects that native clients read as payloads", async () => {
  await using e = await env();
  const ps = new StreamSeaPubSub({ ...e.fake.connection, ...CLIENT });
  assert.deepEqual(ps.capabilities, {
    settle: false,
    confirmedPublish: true,
    wildcards: "none",
    maxPayload: 1024 * 1024,
    ordered: true,
    replay: false,
    groups: true,
    headers: false,
    overflow: ["block", "error", "drop-oldest", "drop-newest"],
    delivery: "at-most-once",
  });
  const native = e.client.subscribe("boiler_data", { fanout: true });
  const viaAdapter = ps.subscribe("boiler_data");
  await within(Promise.all([native.ready, viaAdapter.ready]));
  const receipt = await ps.publish("boiler_data", JSON.stringify({ temperature: 80 }));
  assert.deepEqual(receipt, { topic: "boiler_data", confirmed: true });
  await e.client.publish("boiler_data", { temperature: 81 });
  assert.deepEqual((await take(native.getReader(), 2)).map((m) => m.payload), [{ temperature: 80 }, {
    temperature: 81,
  }]);
  const got = await take(viaAdapter.getReader(), 2);
  assert.deepEqual(got.map((m) => m.json()), [{ temperature: 80 }, { temperature: 81 }]);
  assert.equal(got[0]!.text(), '{"temperature":80}');
  await assert.rejects(() => ps.publish("boiler_data", "not json"), TypeError);
  await assert.rejects(() => ps.publish("boiler_data", "3"), TypeError);
  await assert.rejects(() => ps.publish("boiler_data", new Uint8Array([0xff, 0xfe])), TypeError);
  await ps.close();
  await assert.rejects(() => ps.publish("boiler_data", "{}"), ClosedError);
});

Deno.test("StreamSeaPubSub in envelope format carries any bytes and headers", async () => {
  await using fake = await FakeStreamSea.start();
  const ps = new StreamSeaPubSub({ ...fake.connection, ...CLIENT, format: "envelope" });
  assert.equal(ps.capabilities.headers, true);
  const sub = ps.subscribe("bin");
  await within(sub.ready);
  const data = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
  await ps.publish("bin", data, { headers: { "x-trace": "42" } });
  const [msg] = await take(sub.getReader(), 1);
  assert.deepEqual(msg!.data, data);
  assert.equal(msg!.headers.get("x-trace"), "42");
  // A stray non-envelope payload from another client is given as its JSON text.
  fake.publishLocal("bin", { plain: true });
  fake.publishLocal("bin", { $data: "***not base64***" });
  await ps.close();
});

Deno.test("StreamSeaPubSub in envelope format reads plain payloads as JSON text", async () => {
  await using fake = await FakeStreamSea.start();
  const ps = new StreamSeaPubSub({ ...fake.connection, ...CLIENT, format: "envelope" });
  const sub = ps.subscribe("bin");
  await within(sub.ready);
  fake.publishLocal("bin", { plain: true });
  fake.publishLocal("bin", { $data: "***not base64***", $headers: { "bad header": "x" } });
  fake.publishLocal("bin", { $data: btoa("hi"), $headers: { "bad header": "x", ok: "1", n: 2 } });
  const got = await take(sub.getReader(), 3);
  assert.deepEqual(got.map((m) => m.text()), [
    '{"plain":true}',
    '{"$data":"***not base64***","$headers":{"bad header":"x"}}',
    "hi",
  ]);
  assert.deepEqual([...got[2]!.headers], [["ok", "1"]]);
  await ps.close();
});

Deno.test("StreamSeaPubSub in envelope format reads $data as atob does: whitespace skipped, standard alphabet only", async () => {
  await using fake = await FakeStreamSea.start();
  const ps = new StreamSeaPubSub({ ...fake.connection, ...CLIENT, format: "envelope" });
  const sub = ps.subscribe("bin");
  await within(sub.ready);
  // Forgiving-base64 (WHATWG, what atob implements): ASCII whitespace is removed first; padding is optional but, when
  // present, must bring the length to a multiple of 4; only + and / beyond letters and digits. "aGk" is "hi".
  for (const $data of [" aG\tk=\n", "aGk", "-_8=", "aGk=="]) fake.publishLocal("bin", { $data });
  const got = await take(sub.getReader(), 4);
  assert.deepEqual(got.map((m) => m.text()), ["hi", "hi", '{"$data":"-_8="}', '{"$data":"aGk=="}']);
  await ps.close();
});

Deno.test("StreamSeaPubSub rejects bad options", () => {
  assert.throws(() => new StreamSeaPubSub({ remoteHost: "h", ...CLIENT, format: "xml" as "json" }), TypeError);
  assert.throws(() => new StreamSeaPubSub({ remoteHost: "h", ...CLIENT, maxPayload: 0 }), RangeError);
});
