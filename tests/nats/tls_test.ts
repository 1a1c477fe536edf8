// NATS over TLS (TCP) and over wss against a real nats-server with a certificate made at run time: a private CA in
// caCerts is trusted; an unknown issuer (system roots only, or another CA) is refused with ConnectionError and the
// client never reaches the messages published meanwhile.
import assert from "node:assert/strict";
import { ConnectionError } from "../../mod.ts";
import { NatsPubSub as WsNatsPubSub } from "../../src/nats/mod.ts";
import { NatsPubSub as TcpNatsPubSub } from "../../src/nats/tcp.ts";
import { createTestPki, type TestPki } from "../../src/testing/mdb/pki.ts";
import { NatsServer } from "../../src/testing/nats/mod.ts";
import { ignore } from "./helpers.ts";

async function tlsServer(): Promise<{ server: NatsServer; pki: TestPki; [Symbol.asyncDispose](): Promise<void> }> {
  const pki = await createTestPki("nats");
  const server = await NatsServer.start({
    jetstream: false,
    websocket: true,
    tls: { certFile: `${pki.dir}/server.crt`, keyFile: `${pki.dir}/server.key` },
  });
  return {
    server,
    pki,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await pki.remove();
    },
  };
}

/** Subscribes, publishes, reads it back: the connection really carries messages. */
async function roundTrip(ps: TcpNatsPubSub | WsNatsPubSub): Promise<string | undefined> {
  const sub = ps.subscribe("tls.x");
  await sub.ready;
  await ps.publish("tls.x", "over tls");
  const r = sub.getReader();
  const got = (await r.read()).value?.text();
  r.releaseLock();
  await sub.close();
  return got;
}

Deno.test({ name: "NatsPubSub over TLS (TCP) trusts caCerts and refuses an unknown issuer", ignore }, async () => {
  await using env = await tlsServer();
  const { server, pki } = env;
  assert.match(server.wsUrl!, /^wss:/);
  const ok = await TcpNatsPubSub.connect({ servers: server.url, caCerts: [pki.caCert], reconnect: false });
  try {
    assert.equal(await roundTrip(ok), "over tls");
    assert.equal(ok.connection.info?.tls_required, true);
  } finally {
    await ok.close();
  }
  for (const caCerts of [undefined, [pki.otherCaCert]]) {
    const err = await TcpNatsPubSub.connect({
      servers: server.url,
      reconnect: false,
      ...(caCerts === undefined ? {} : { caCerts }),
    }).then((ps) => ps.close().then(() => assert.fail("connected to an untrusted server")), (e: unknown) => e);
    assert.ok(err instanceof ConnectionError, String(err));
    assert.match((err as Error).message, /certificate/i);
  }
});

Deno.test({ name: "NatsPubSub over wss trusts caCerts and refuses an unknown issuer", ignore }, async () => {
  await using env = await tlsServer();
  const { server, pki } = env;
  const ok = await WsNatsPubSub.connect({ servers: server.wsUrl!, caCerts: [pki.caCert], reconnect: false });
  try {
    assert.equal(await roundTrip(ok), "over tls");
  } finally {
    await ok.close();
  }
  // Deno's own WebSocket with the CA (through the HTTP client openWebSocket makes) works too.
  const native = await WsNatsPubSub.connect({
    servers: server.wsUrl!,
    caCerts: [pki.caCert],
    webSocket: WebSocket,
    reconnect: false,
  });
  await native.close();
  for (const caCerts of [undefined, [pki.otherCaCert]]) {
    const err = await WsNatsPubSub.connect({
      servers: server.wsUrl!,
      reconnect: false,
      ...(caCerts === undefined ? {} : { caCerts }),
    }).then((ps) => ps.close().then(() => assert.fail("connected to an untrusted server")), (e: unknown) => e);
    assert.ok(err instanceof ConnectionError, String(err));
    assert.match((err as Error).message, /TLS handshake.*certificate/i);
  }
});

Deno.test({ name: "NatsPubSub over TCP with caCerts refuses a server without TLS", ignore }, async () => {
  await using server = await NatsServer.start({ jetstream: false, websocket: false });
  const pki = await createTestPki("nats");
  try {
    const err = await TcpNatsPubSub.connect({ servers: server.url, caCerts: [pki.caCert], reconnect: false }).then(
      (ps) => ps.close().then(() => assert.fail("connected without TLS")),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectionError, String(err));
    assert.match((err as Error).message, /tls/i);
  } finally {
    await pki.remove();
  }
});
