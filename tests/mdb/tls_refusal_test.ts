// An MDB API gateway that refuses at the TLS handshake: a typed error, and nothing delivered.
import assert from "node:assert/strict";
import { AuthError, ConnectionError } from "../../src/core/errors.ts";
import { Offset } from "../../src/mdb/mod.ts";
import { httpGet } from "../../src/mdb/tls.ts";
import { MdbTestBed } from "../../src/testing/mdb/mod.ts";
import { natsServerSkipReason } from "../../src/testing/nats/mod.ts";

const ignore = natsServerSkipReason() !== undefined;

/** The names of the NATS connections the server holds. */
async function connectionNames(bed: MdbTestBed): Promise<string[]> {
  const connz = await (await fetch(`${bed.nats.monitorUrl}/connz`)).json() as { connections: { name?: string }[] };
  return connz.connections.map((c) => c.name ?? "");
}

/** Checks that a refused subscribe went no further than the gateway: no registry, MAS or NATS connection. */
async function nothingPastTheGateway(bed: MdbTestBed, subscriptions: number): Promise<void> {
  assert.equal(subscriptions, 0);
  assert.deepEqual(bed.mas.callsOf("registry"), []);
  assert.deepEqual(bed.mas.callsOf("mas"), []);
  assert.deepEqual(bed.mas.issuedUserJwts, []);
  assert.ok(!(await connectionNames(bed)).some((n) => n.includes("(ds)")), "no NATS connection for the dataset");
}

Deno.test({
  name: "Connection.subscribe() fails with ConnectionError when the gateway drops a foreign client certificate",
  ignore,
  fn: async () => {
    await using bed = await MdbTestBed.start();
    await bed.createDataset("ds");
    await bed.publish("ds", "secret");
    bed.mas.gatewayUrl = await bed.mas.listenGateway("client-cert");
    // A certificate for the right CN, from a CA the gateway does not trust.
    const conn = await bed.connect({ cert: [bed.pki.foreignClientCertPath, bed.pki.foreignClientKeyPath] });
    try {
      const err = await conn.subscribe("ds", { offset: Offset.BEGIN }).then(() => undefined, (e: unknown) => e);
      // Node's TLS server closes the connection on a certificate it does not trust, with no alert to read.
      assert.ok(err instanceof ConnectionError, String(err));
      assert.equal(err.url, bed.mas.gatewayUrl);
      assert.match(err.message, /during the TLS handshake \(it may not accept the client certificate\)/);
      assert.deepEqual(bed.mas.callsOf("gateway"), [], "refused before any HTTP request");
      await nothingPastTheGateway(bed, conn.subscriptions.length);
    } finally {
      await conn.close();
    }
    // The same gateway serves the user whose certificate it trusts: the refusal above was the handshake's.
    const trusted = await bed.connect();
    try {
      const sub = await trusted.subscribe("ds", { offset: Offset.BEGIN });
      const reader = sub.getReader();
      assert.equal((await reader.read()).value?.text(), "secret");
      reader.releaseLock();
      assert.equal(bed.mas.callsOf("gateway")[0]?.cn, "alice");
    } finally {
      await trusted.close();
    }
  },
});

Deno.test({
  name: "httpGet() with a client certificate turns a TLS alert refusing it into AuthError",
  ignore,
  fn: async () => {
    await using bed = await MdbTestBed.start();
    const url = await bed.mas.listenGateway("client-cert");
    // No certificate at all: the server's TLS stack answers with a certificate_required alert.
    using client = Deno.createHttpClient({ caCerts: [bed.pki.caCert] });
    const err = await httpGet(url, "the gateway JWT", { client, clientCert: true }).then(() => undefined, (e) => e);
    assert.ok(err instanceof AuthError, String(err));
    assert.equal(err.url, url);
    assert.match(err.message, /refused at the TLS handshake: the server did not accept the client certificate/);
    assert.match(err.message, /CertificateRequired/);
    // Without the flag, the same failure stays a ConnectionError.
    await assert.rejects(() => httpGet(url, "the config", { client }), ConnectionError);
    assert.deepEqual(bed.mas.calls, []);
  },
});

Deno.test({
  name: "Connection.subscribe() fails with ConnectionError when the gateway's certificate is not trusted",
  ignore,
  fn: async () => {
    await using bed = await MdbTestBed.start();
    await bed.createDataset("ds");
    await bed.publish("ds", "secret");
    bed.mas.gatewayUrl = await bed.mas.listenGateway("untrusted-cert");
    const conn = await bed.connect();
    try {
      const err = await conn.subscribe("ds", { offset: Offset.BEGIN }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ConnectionError, String(err));
      assert.equal(err.url, bed.mas.gatewayUrl);
      assert.match(err.message, /certificate was not accepted/);
      assert.deepEqual(bed.mas.callsOf("gateway"), [], "the client sent nothing to an untrusted server");
      await nothingPastTheGateway(bed, conn.subscriptions.length);
    } finally {
      await conn.close();
    }
  },
});
