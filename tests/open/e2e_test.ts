// open() end to end: for each scheme, a publish and a receive through the returned PubSub against the real
// server or the system's fake, then close.
import assert from "node:assert/strict";
import { open } from "../../src/open.ts";
import { AuthError, ConnectionError } from "../../src/core/errors.ts";
import { ignoreLateSocketResets, NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { MdbTestBed } from "../../src/testing/mdb/mod.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import { FakeMessageBus } from "../../src/testing/messagebus/mod.ts";
import { startTestNameserver } from "../../src/testing/posttroll/mod.ts";
import { testPki } from "../messagebus/_helpers.ts";
import type { NatsPubSub } from "../../src/nats/mod.ts";
import { roundTrip, within } from "./_helpers.ts";

const natsSkip = natsServerSkipReason();

Deno.test("open() memory: publishes and receives through a new broker", async () => {
  const ps = await open("memory:");
  try {
    assert.equal(await roundTrip(ps, "greetings/world"), true);
    assert.equal(ps.capabilities.wildcards, "glob");
  } finally {
    await ps.close();
  }
  const settled = await open("memory:?settle&maxPayload=10");
  try {
    assert.equal(settled.capabilities.settle, true);
    assert.equal(settled.capabilities.maxPayload, 10);
  } finally {
    await settled.close();
  }
});

Deno.test({
  name: "open() nats:, nats+tcp: and nats+ws: publish and receive through a real nats-server",
  ignore: natsSkip !== undefined,
  async fn() {
    const server = await NatsServer.start({ jetstream: true, websocket: true });
    try {
      const port = new URL(server.url).port;
      const wsPort = new URL(server.wsUrl as string).port;
      for (const url of [`nats://127.0.0.1:${port}`, `nats+tcp://127.0.0.1:${port}`, `nats+ws://127.0.0.1:${wsPort}`]) {
        const ps = await open(url, { env: false });
        try {
          assert.equal(await roundTrip(ps, "open.core"), false, url); // core NATS: not confirmed
          assert.equal(ps.capabilities.settle, false);
        } finally {
          await ps.close();
        }
      }
      // JetStream mode from the query: publish confirmed by a PubAck.
      const ps = await open(`nats+ws://127.0.0.1:${wsPort}?jetstream=true&name=open-test`, { env: false });
      try {
        assert.equal(ps.capabilities.settle, true);
        const { jetstreamManager } = await import("@nats-io/jetstream");
        const jsm = await jetstreamManager((ps as NatsPubSub).connection);
        await jsm.streams.add({ name: "OPEN", subjects: ["open.js.>"] });
        assert.equal(await roundTrip(ps, "open.js.one"), true);
      } finally {
        await ps.close();
      }
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "open() nats: takes credentials from NATS_CREDS, and refuses without them with AuthError",
  ignore: natsSkip !== undefined,
  async fn() {
    await using _resets = ignoreLateSocketResets(); // a refused TCP connection (see the guard's docs)
    const server = await NatsServer.start({ operator: true, jetstream: false, websocket: true });
    const dir = await Deno.makeTempDir({ prefix: "open-creds-" });
    try {
      const { jwt, seed } = await server.mintUser({ name: "carol" });
      const creds = `${dir}/carol.creds`;
      await Deno.writeTextFile(
        creds,
        `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n` +
          `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
      );
      const url = server.url.replace("nats:", "nats+tcp:") + "?reconnect=false";
      const ps = await open(url, { env: { NATS_CREDS: creds } });
      try {
        assert.equal(await roundTrip(ps, "open.creds"), false);
      } finally {
        await ps.close();
      }
      const wsUrl = (server.wsUrl as string).replace("ws:", "nats+ws:");
      const ws = await open(wsUrl, { env: (name) => name === "NATS_CREDS" ? creds : undefined });
      await ws.close();
      // A wrong password in the URL: AuthError, and the message does not show the password.
      const secret = "hunter2-very-secret";
      const err = await open(url.replace("//", `//mallory:${secret}@`), { env: false }).then(
        () => assert.fail("open() succeeded with wrong credentials"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AuthError, String(err));
      assert.ok(!String(err.message).includes(secret), err.message);
      assert.ok(!String(err.stack).includes(secret));
    } finally {
      await Deno.remove(dir, { recursive: true });
      await server.stop();
    }
  },
});

Deno.test({
  name: "open() mdb+https: receives through the MAS and the NATS it names",
  ignore: natsSkip !== undefined,
  async fn() {
    const bed = await MdbTestBed.start({ autoCreateDatasets: true });
    try {
      const url = bed.mas.url.replace("https:", "mdb+https:") + "/?offset=begin&ack=manual&batch=5";
      const ps = await open(url, {
        mdb: {
          cert: [bed.pki.clientCertPath, bed.pki.clientKeyPath],
          caBundle: bed.pki.caCertPath,
          publisher: (dataset, data, o) => bed.publish(dataset, data, o.headers),
        },
      });
      try {
        assert.equal(ps.capabilities.settle, true); // ack=manual from the query
        assert.equal(await roundTrip(ps, "open-test"), true);
      } finally {
        await ps.close();
      }
      // A client certificate that is not there: a ConnectionError naming it, before any request.
      await assert.rejects(
        open(bed.mas.url.replace("https:", "mdb+https:"), {
          mdb: { cert: ["/nonexistent/cert.crt", "/nonexistent/cert.key"], caBundle: bed.pki.caCertPath },
        }),
        (e: unknown) => e instanceof ConnectionError && /client certificate/.test(e.message),
      );
    } finally {
      await bed.stop();
    }
  },
});

Deno.test("open() httppubsub+http: notifies and receives through the FakeBroadcaster", async () => {
  const fake = new FakeBroadcaster();
  const base = await fake.serve({ hostname: "127.0.0.1", port: 0 });
  try {
    const ps = await open(base.replace("http:", "httppubsub+http:") + "/?retries=1&timeoutMs=5000");
    try {
      assert.equal(await roundTrip(ps, "open/http"), true); // the broadcaster confirmed
      assert.equal(ps.capabilities.confirmedPublish, true);
    } finally {
      await ps.close();
    }
  } finally {
    await fake.close();
  }
});

Deno.test("open() httppubsub+http: sends the URL's token to the broadcaster", async () => {
  const { tokenAuth } = await import("../../src/httppubsub/mod.ts");
  const fake = new FakeBroadcaster({ toBroadcasterAuth: tokenAuth("bcast-token-123") });
  const base = await fake.serve({ hostname: "127.0.0.1", port: 0 });
  try {
    const ps = await open(base.replace("http://", "httppubsub+http://:bcast-token-123@") + "/");
    try {
      assert.equal(await roundTrip(ps, "open/token"), true);
    } finally {
      await ps.close();
    }
    const bad = await open(base.replace("http://", "httppubsub+http://:wrong-token-456@") + "/?retries=1");
    try {
      const err = await bad.publish("open/token", "x").then(
        () => assert.fail("published with a wrong token"),
        (e) => e,
      );
      assert.ok(err instanceof Error);
      assert.ok(!err.message.includes("wrong-token-456"), err.message);
    } finally {
      await bad.close();
    }
  } finally {
    await fake.close();
  }
});

Deno.test("open() streamsea+ws: publishes and receives through the FakeStreamSea", async () => {
  const fake = await FakeStreamSea.start();
  try {
    const ps = await open(`streamsea+ws://abc:def123@127.0.0.1:${fake.port}?format=envelope`);
    try {
      assert.equal(await roundTrip(ps, "open_streamsea"), true);
      assert.equal(ps.capabilities.headers, true); // format=envelope
    } finally {
      await ps.close();
    }
    // The client id from options, the secret from the URL; a wrong secret is refused and not shown.
    const bad = await open(`streamsea+http://:wrong-secret-789@127.0.0.1:${fake.port}`, {
      streamsea: { clientId: "abc" },
    });
    try {
      const err = await bad.publish("open_streamsea", '{"a":1}').then(() => assert.fail("published"), (e) => e);
      assert.ok(err instanceof AuthError, String(err));
      assert.ok(!err.message.includes("wrong-secret-789"), err.message);
    } finally {
      await bad.close();
    }
  } finally {
    await fake.close();
  }
});

Deno.test("open() messagebus: logs in with the URL's user and password, publishes and receives", async () => {
  const server = await FakeMessageBus.start({ authentication: { kind: "password", users: { alice: "s3cret-pw" } } });
  try {
    const ps = await open(`messagebus://alice:s3cret-pw@127.0.0.1:${server.port}?reconnect=false`);
    try {
      assert.equal(await roundTrip(ps, "prices/EUR"), false); // written, not confirmed
      assert.equal(server.clients[0]?.user, "alice");
    } finally {
      await ps.close();
    }
    const feed = await open(`messagebus://alice:s3cret-pw@127.0.0.1:${server.port}?feed=fx&reconnect=false`);
    try {
      assert.equal(await roundTrip(feed, "EUR/USD"), false);
    } finally {
      await feed.close();
    }
    const err = await open(
      `messagebus://alice:not-the-password@127.0.0.1:${server.port}?reconnect=false&loginTimeoutMs=300`,
    ).then(() => assert.fail("logged in with a wrong password"), (e: unknown) => e);
    assert.ok(err instanceof AuthError, String(err));
    assert.ok(!err.message.includes("not-the-password"), err.message);
  } finally {
    await server.close();
  }
});

Deno.test("open() messagebus+tls: connects over TLS with the CA from options", async () => {
  const pki = await testPki();
  const server = await FakeMessageBus.start({ tls: { cert: pki.cert, key: pki.key } });
  try {
    const ps = await open(`messagebus+tls://127.0.0.1:${server.port}?reconnect=false`, {
      messagebus: { tls: { caCerts: [pki.ca] } },
    });
    try {
      assert.equal(await roundTrip(ps, "tls/topic"), false);
    } finally {
      await ps.close();
    }
    // Without the CA the certificate is not trusted.
    await assert.rejects(open(`messagebus+tls://127.0.0.1:${server.port}?reconnect=false`), ConnectionError);
  } finally {
    await server.close();
  }
});

Deno.test("open() posttroll: publishes and receives with the nameserver and service from the URL", async () => {
  const ns = await startTestNameserver();
  try {
    const url = `posttroll://127.0.0.1:${ns.config.nameserverPort}/open-svc?bind=127.0.0.1&advertise=127.0.0.1`;
    const ps = await open(url, { posttroll: { config: ns.config } });
    try {
      assert.equal(await roundTrip(ps, "open/troll"), false);
      assert.equal(ps.capabilities.wildcards, "prefix");
      // A second adapter that does not publish finds the first one's publisher through the nameserver.
      const listener = await open(
        `posttroll://127.0.0.1:${ns.config.nameserverPort}/open-svc?register=none&bind=127.0.0.1`,
        { posttroll: { config: ns.config } },
      );
      try {
        const sub = listener.subscribe("open/found");
        await sub.ready;
        const reader = sub.getReader();
        const got = reader.read();
        let done = false;
        got.finally(() => done = true).catch(() => {});
        // PUB/SUB drops what is sent before the subscriber connected: publish until one arrives.
        for (let i = 0; i < 100 && !done; i++) {
          await ps.publish("open/found", "via the nameserver");
          await new Promise((r) => setTimeout(r, 100));
        }
        const { value } = await within(got, 5_000, "receiving through the nameserver");
        assert.equal(value?.text(), "via the nameserver");
        reader.releaseLock();
        await sub.close();
      } finally {
        await listener.close();
      }
    } finally {
      await ps.close();
    }
  } finally {
    await ns.close();
  }
});
