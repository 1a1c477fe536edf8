// Each NATS connection keeps its own transport (#14 fault 2): WebSocket and TCP connections in one process, opened in
// the order that broke them, both come back after nats-server restarts (graceful and killed) and get every message;
// so does a connection nats.js opened itself beside ours.
import assert from "node:assert/strict";
import { type NatsConnection, wsconnect } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { NoDelayWebSocket } from "../../mod.ts";
import { type NatsMessage, NatsPubSub as WsNatsPubSub } from "../../src/nats/mod.ts";
import { NatsPubSub as TcpNatsPubSub } from "../../src/nats/tcp.ts";
import { NatsServer } from "../../src/testing/nats/mod.ts";
import { ignore, until } from "./helpers.ts";

const N = 20;

/** Reads a core subscription into `into`. */
function collect(sub: ReadableStream<NatsMessage>, into: string[]): Promise<void> {
  return (async () => {
    for await (const m of sub) into.push(m.text());
  })();
}

/** Publishes `N` messages tagged `tag` from `nc` and waits until every reader has them. */
async function roundOf(nc: NatsConnection, tag: string, readers: Record<string, string[]>): Promise<void> {
  for (let i = 0; i < N; i++) nc.publish("mixed.x", `${tag}-${i}`);
  await nc.flush();
  for (const [name, got] of Object.entries(readers)) {
    await until(() => got.filter((t) => t.startsWith(`${tag}-`)).length >= N, 15_000, `${name} to get round ${tag}`);
    assert.deepEqual(got.filter((t) => t.startsWith(`${tag}-`)), Array.from({ length: N }, (_, i) => `${tag}-${i}`));
  }
}

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  Deno.test({
    name: `NatsPubSub over WebSocket and over TCP in one process both resume after a ${signal} restart`,
    ignore,
  }, async () => {
    await using server = await NatsServer.start({ jetstream: false, websocket: true });
    const reconnect = { reconnectTimeWaitMs: 100, maxReconnectAttempts: -1 };
    // The order of the report: WebSocket first, then TCP (whose factory used to win for both).
    const ws = await WsNatsPubSub.connect({ servers: server.wsUrl!, name: "mixed ws", ...reconnect });
    const tcp = await TcpNatsPubSub.connect({ servers: server.url, name: "mixed tcp", ...reconnect });
    // A connection nats.js opened itself, after ours: it redials through our factory.
    const publisher = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    const got = { ws: [] as string[], tcp: [] as string[] };
    const reconnected = { ws: 0, tcp: 0 };
    ws.status.addEventListener("reconnected", () => reconnected.ws++);
    tcp.status.addEventListener("reconnected", () => reconnected.tcp++);
    let publisherBack = 0;
    const watching = (async () => {
      for await (const st of publisher.status()) if (st.type === "reconnect") publisherBack++;
    })();
    const subWs = ws.subscribe("mixed.*");
    const subTcp = tcp.subscribe("mixed.*");
    const reading = [collect(subWs, got.ws), collect(subTcp, got.tcp)];
    try {
      await Promise.all([subWs.ready, subTcp.ready]);
      await roundOf(publisher, "before", got);
      for (let round = 1; round <= 2; round++) {
        await server.restart({ signal });
        await until(() => reconnected.ws >= round && reconnected.tcp >= round, 20_000, `both reconnects (${round})`);
        await until(() => publisherBack >= round, 20_000, "the publisher's reconnect");
        // The resubscriptions reach the server with the reconnect; flush each connection to be sure.
        await Promise.all([ws.connection.flush(), tcp.connection.flush(), publisher.flush()]);
        await roundOf(publisher, `after${round}`, got);
      }
      // Each connection's transport is still its own: the server sees one WebSocket and two TCP clients.
      const connz = await (await fetch(`${server.monitorUrl}/connz`)).json() as {
        connections: { name?: string; lang: string }[];
      };
      const byName = new Map(connz.connections.map((c) => [c.name ?? "", c.lang]));
      assert.equal(byName.get("mixed ws"), "nats.ws");
      assert.equal(byName.get("mixed tcp"), "nats.js");
    } finally {
      await Promise.all([ws.close(), tcp.close(), publisher.close()]);
      await Promise.all([...reading, watching]);
    }
  });
}

for (const raw of ["wsconnect", "connect"] as const) {
  Deno.test({
    name: `a connection nats.js's ${raw}() opened beside ours keeps its transport across a restart`,
    ignore,
  }, async () => {
    await using server = await NatsServer.start({ jetstream: false, websocket: true });
    const reconnect = { reconnectTimeWait: 100, maxReconnectAttempts: -1 };
    // Ours first over the other transport, then nats.js's own; ours redials first after the restart (shorter wait).
    const ours = raw === "wsconnect"
      ? await TcpNatsPubSub.connect({ servers: server.url, reconnectTimeWaitMs: 10, maxReconnectAttempts: -1 })
      : await WsNatsPubSub.connect({ servers: server.wsUrl!, reconnectTimeWaitMs: 10, maxReconnectAttempts: -1 });
    const theirs = raw === "wsconnect"
      ? await wsconnect({ servers: server.wsUrl!, ...reconnect })
      : await connect({ servers: server.url, ...reconnect });
    const got: Record<string, string[]> = { theirs: [], ours: [] };
    const sub = theirs.subscribe("raw.x", { callback: (_e, m) => void got.theirs!.push(m.string()) });
    const subOurs = ours.subscribe("raw.x");
    const reading = collect(subOurs, got.ours!);
    let back = 0;
    const watching = (async () => {
      for await (const st of theirs.status()) if (st.type === "reconnect") back++;
    })();
    let oursBack = 0;
    ours.status.addEventListener("reconnected", () => oursBack++);
    try {
      await Promise.all([theirs.flush(), subOurs.ready]);
      await server.restart();
      await until(() => back >= 1 && oursBack >= 1, 20_000, "both reconnects");
      await Promise.all([theirs.flush(), ours.connection.flush()]);
      for (let i = 0; i < N; i++) theirs.publish("raw.x", `${i}`);
      await theirs.flush();
      for (const name of Object.keys(got)) {
        await until(() => got[name]!.length >= N, 15_000, `${name} to get the messages`);
        assert.deepEqual(got[name], Array.from({ length: N }, (_, i) => `${i}`), name);
      }
    } finally {
      sub.unsubscribe();
      await Promise.all([theirs.close(), ours.close()]);
      await Promise.all([reading, watching]);
    }
  });
}

Deno.test(
  { name: "NatsPubSub over WebSocket uses NoDelayWebSocket under Deno, or the webSocket given", ignore },
  async () => {
    await using server = await NatsServer.start({ jetstream: false, websocket: true });
    const made: string[] = [];
    class Counting extends NoDelayWebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        made.push(String(url));
      }
    }
    const ps = await WsNatsPubSub.connect({ servers: server.wsUrl!, webSocket: Counting });
    try {
      assert.equal(made.length, 1);
      assert.match(made[0]!, /^ws:\/\/127\.0\.0\.1:\d+/);
      const sub = ps.subscribe("x");
      await sub.ready;
      await ps.publish("x", "hi");
      const r = sub.getReader();
      assert.equal((await r.read()).value?.text(), "hi");
      r.releaseLock();
      await sub.close();
    } finally {
      await ps.close();
    }
    // And a native constructor works too (with the Nagle stall, documented).
    const native = await WsNatsPubSub.connect({ servers: server.wsUrl!, webSocket: WebSocket });
    await native.publish("x", "native");
    await native.close();
  },
);
