import assert from "node:assert/strict";
import { HttpPubSubClient, WebsocketPubSubClient } from "../../src/httppubsub/mod.ts";
import { prefixed, prepareNotifyBody } from "../../src/httppubsub/notify_body.ts";

const stream = (...chunks: number[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const n of chunks) c.enqueue(new Uint8Array(n).fill(7));
      c.close();
    },
  });

Deno.test("both clients refuse a notify stream shorter or longer than its length, before sending anything", async () => {
  // Nothing listens on port 9: a client that got past the checks would fail with another error.
  const http = new HttpPubSubClient({ broadcasters: ["http://127.0.0.1:9"], host: "http://127.0.0.1:1" });
  const ws = new WebsocketPubSubClient({ broadcasters: ["http://127.0.0.1:9"] });
  try {
    for (const client of [http, ws]) {
      await assert.rejects(
        () => client.notify({ topic: "t", data: stream(2, 1), length: 4 }),
        RangeError,
        "after 3 of 4",
      );
      await assert.rejects(
        () => client.notify({ topic: "t", data: stream(3, 2), length: 4 }),
        RangeError,
        "longer than 4",
      );
      await assert.rejects(() => client.notify({ topic: "t", data: () => stream(1), length: 2 }), RangeError);
      await assert.rejects(() => client.notify({ topic: "t", data: new Blob(["abc"]), length: 2 }), RangeError);
    }
  } finally {
    await http.close();
    await ws.close();
  }
});

Deno.test("prepareNotifyBody hashes each kind of data alike and sends a one-shot stream once", async () => {
  const bytes = new TextEncoder().encode("hello");
  const want = new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
  const kinds = [
    "hello",
    bytes,
    new Blob([bytes]),
    () => new Blob([bytes]).stream(),
    new Blob([bytes]).stream(),
  ];
  for (const data of kinds) {
    const body = await prepareNotifyBody({ topic: "t", data, length: 5 }, "Notifying t");
    assert.equal(body.length, 5);
    assert.deepEqual(body.sha512, want);
    const sent = new Uint8Array(
      await new Response(prefixed(new Uint8Array([1, 2]), body.open(), 5, "x")).arrayBuffer(),
    );
    assert.deepEqual(sent, new Uint8Array([1, 2, ...bytes]));
  }
  const once = await prepareNotifyBody(
    { topic: "t", data: new Blob([bytes]).stream(), length: 5, sha512: want },
    "Notifying t",
  );
  await (once.open() as ReadableStream<Uint8Array>).cancel();
  assert.throws(() => once.open(), TypeError, "one-shot");
  await assert.rejects(() => prepareNotifyBody({ topic: "t", data: "x", sha512: new Uint8Array(3) }, "N"), TypeError);
});
