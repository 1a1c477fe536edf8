// open() nats+tls: and nats+wss: against a real nats-server with a certificate made at run time: the CA given in
// options.nats.caCerts is trusted, an unknown issuer is refused with ConnectionError; nats+tls: refuses a server
// that does not offer TLS.
import assert from "node:assert/strict";
import { ConnectionError } from "../../src/core/errors.ts";
import { open } from "../../src/open.ts";
import { plan } from "../../src/open/plan.ts";
import { createTestPki } from "../../src/testing/mdb/pki.ts";
import { NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { roundTrip } from "./_helpers.ts";

const ignore = natsServerSkipReason() !== undefined;

Deno.test("plan() maps nats+tls: to TCP with TLS required (tls://, default port 4222)", () => {
  const p = plan("nats+tls://tok@nats.example?name=svc", { env: false });
  assert.ok(p.system === "nats");
  assert.equal(p.transport, "tcp");
  assert.equal(p.options.servers, "tls://nats.example:4222");
  assert.equal(p.options.token, "tok");
  assert.throws(() => plan("nats+tls://nats.example/path", { env: false }), /path/);
  const caCerts = ["-----BEGIN CERTIFICATE-----"];
  const w = plan("nats+wss://nats.example:443/ws", { nats: { caCerts }, env: false });
  assert.ok(w.system === "nats");
  assert.equal(w.transport, "ws");
  assert.equal(w.options.servers, "wss://nats.example:443/ws");
  assert.deepEqual(w.options.caCerts, caCerts);
});

Deno.test(
  { name: "open() nats+tls: and nats+wss: trust options.nats.caCerts and refuse an unknown issuer", ignore },
  async () => {
    const pki = await createTestPki("open");
    const server = await NatsServer.start({
      jetstream: false,
      websocket: true,
      tls: { certFile: `${pki.dir}/server.crt`, keyFile: `${pki.dir}/server.key` },
    });
    try {
      const urls = [server.url.replace("nats:", "nats+tls:"), server.wsUrl!.replace("wss:", "nats+wss:")];
      for (const url of urls) {
        const ps = await open(`${url}?reconnect=false`, { env: false, nats: { caCerts: [pki.caCert] } });
        try {
          assert.equal(await roundTrip(ps, "open.tls"), false, url);
        } finally {
          await ps.close();
        }
        for (const nats of [{}, { caCerts: [pki.otherCaCert] }]) {
          const err = await open(`${url}?reconnect=false`, { env: false, nats }).then(
            (ps) => ps.close().then(() => assert.fail(`${url} opened with an untrusted certificate`)),
            (e: unknown) => e,
          );
          assert.ok(err instanceof ConnectionError, `${url}: ${err}`);
          assert.match((err as Error).message, /certificate/i, url);
        }
      }
    } finally {
      await server.stop();
      await pki.remove();
    }
  },
);

Deno.test({ name: "open() nats+tls: refuses a server that does not offer TLS", ignore }, async () => {
  await using server = await NatsServer.start({ jetstream: false, websocket: false });
  const err = await open(`${server.url.replace("nats:", "nats+tls:")}?reconnect=false`, { env: false }).then(
    (ps) => ps.close().then(() => assert.fail("nats+tls: opened without TLS")),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectionError, String(err));
  assert.match((err as Error).message, /tls/i);
  // The plain scheme still works there.
  const ps = await open(`${server.url}?reconnect=false`, { env: false });
  await ps.close();
});
