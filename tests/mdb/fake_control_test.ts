// FakeMas's port option and onCall, which `pubsub fake mdb` uses (--port, --log). No nats-server needed.

import assert from "node:assert/strict";
import { createTestPki, FakeMas, type FakeMasCall } from "../../src/testing/mdb/mod.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("FakeMas listens on the port asked for and tells onCall of each call; a throwing onCall is harmless", async () => {
  const pki = await createTestPki("alice");
  const port = freePort();
  const mas = await FakeMas.start({
    pki,
    port,
    natsWebsocketUrl: "ws://127.0.0.1:1",
    mintUser: () => Promise.reject(new Error("not used")),
  });
  const client = Deno.createHttpClient({ caCerts: [pki.caCert] });
  try {
    assert.equal(mas.port, port);
    assert.equal(mas.url, `https://127.0.0.1:${port}`);
    const calls: FakeMasCall[] = [];
    mas.onCall = (c) => {
      calls.push(c);
      throw new Error("a listener that throws");
    };
    const config = await fetch(`https://127.0.0.1:${port}/api/v1/config`, { client });
    assert.equal(config.status, 200);
    assert.equal((await config.json()).nats_websocket_url, "ws://127.0.0.1:1");
    const gateway = await fetch(`https://127.0.0.1:${port}/getjwt`, { client });
    assert.equal(gateway.status, 403); // no client certificate
    await gateway.body?.cancel();
    assert.deepEqual(calls.map((c) => [c.role, c.path, c.status]), [
      ["config", "/api/v1/config", 200],
      ["gateway", "/getjwt", 403],
    ]);
    assert.deepEqual(calls, mas.calls, "the same records the fake keeps");
  } finally {
    client.close();
    await mas.stop();
    await pki.remove();
  }
});
