// MDB's NATS transports: each subscription's connection keeps its own transport beside TCP connections in the same
// process (#14 fault 2, the scenario of the report: MDB over WebSocket, ./nats/tcp beside it, a server restart), and
// the webSocket option reaches the socket.
import assert from "node:assert/strict";
import { NoDelayWebSocket } from "../../mod.ts";
import { Offset } from "../../src/mdb/mod.ts";
import { NatsPubSub as TcpNatsPubSub } from "../../src/nats/tcp.ts";
import { MdbTestBed } from "../../src/testing/mdb/mod.ts";
import { natsServerSkipReason } from "../../src/testing/nats/mod.ts";

const ignore = natsServerSkipReason() !== undefined;

async function until(probe: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Waiting for ${what} timed out`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const signal of ["SIGKILL", "SIGTERM"] as const) {
  Deno.test({
    name: `MDB over WebSocket and a ./nats/tcp connection in one process both resume after a ${signal} restart`,
    ignore,
  }, async () => {
    const bed = await MdbTestBed.start();
    const conn = await bed.connect({ reconnectTimeWaitMs: 100 });
    // TCP opened after the WebSocket one, as in the report (its factory used to win for both).
    let tcp: TcpNatsPubSub | undefined;
    try {
      await bed.createDataset("ds");
      for (let i = 1; i <= 3; i++) await bed.publish("ds", `m${i}`);
      const sub = await conn.subscribe("ds", { offset: Offset.BEGIN, batch: 10 });
      const { jwt } = await bed.nats.mintUser({ name: "tcp", bearer: true });
      tcp = await TcpNatsPubSub.connect({
        servers: bed.nats.url,
        authenticator: () => ({ jwt, sig: "" }),
        reconnectTimeWaitMs: 100,
        maxReconnectAttempts: -1,
      });
      const core = tcp.subscribe("side.x");
      await core.ready;
      const coreGot: string[] = [];
      const coreReading = (async () => {
        for await (const m of core) coreGot.push(m.text());
      })();
      const reader = sub.getReader();
      const got: string[] = [];
      for (let i = 0; i < 3; i++) got.push((await reader.read()).value!.text());
      // The subscription now waits on a long-poll pull while the server goes away.
      let tcpBack = false;
      tcp.status.addEventListener("reconnected", () => tcpBack = true);
      let mdbBack = false;
      sub.status.addEventListener("reconnected", () => mdbBack = true);
      const rest = (async () => {
        while (got.length < 13) {
          const r = await reader.read();
          if (r.done) throw new Error(`the subscription ended: ${await sub.closed}`);
          got.push(r.value.text());
        }
      })();
      rest.catch(() => {});
      await bed.nats.restart({ signal });
      await until(() => mdbBack && tcpBack, "both reconnects");
      await until(() => bed.streamReady("EVENTS_ds"), "JetStream");
      for (let i = 4; i <= 13; i++) await bed.publish("ds", `m${i}`);
      await tcp.connection.flush();
      for (let i = 0; i < 5; i++) await tcp.publish("side.x", `s${i}`);
      await rest;
      assert.deepEqual(got, Array.from({ length: 13 }, (_, i) => `m${i + 1}`));
      await until(() => coreGot.length >= 5, "the TCP subscription's messages");
      assert.deepEqual(coreGot, ["s0", "s1", "s2", "s3", "s4"]);
      reader.releaseLock();
      await core.close();
      await coreReading;
    } finally {
      await tcp?.close();
      await conn.close();
      await bed.stop();
    }
  });
}

Deno.test({ name: "MDB opens its NATS WebSocket with the webSocket given", ignore }, async () => {
  const bed = await MdbTestBed.start();
  const made: string[] = [];
  class Counting extends NoDelayWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      made.push(String(url));
    }
  }
  try {
    for (const [ds, webSocket] of [["one", Counting], ["two", WebSocket]] as const) {
      await bed.createDataset(ds);
      await bed.publish(ds, "hello");
      const conn = await bed.connect({ webSocket });
      try {
        const sub = await conn.subscribe(ds, { offset: Offset.BEGIN });
        const reader = sub.getReader();
        assert.equal((await reader.read()).value?.text(), "hello");
        reader.releaseLock();
      } finally {
        await conn.close();
      }
    }
    assert.deepEqual(made, [`${bed.nats.wsUrl}/`]); // the server URL as nats-core normalises it
    await assert.rejects(() => bed.connect({ webSocket: "nope" as unknown as typeof WebSocket }), TypeError);
  } finally {
    await bed.stop();
  }
});
