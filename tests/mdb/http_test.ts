// The HTTPS side of MDB against FakeMas alone: config, mTLS gateway, certificates and their errors.
import assert from "node:assert/strict";
import { AuthError, ConnectionError, ProtocolError, TimeoutError } from "../../src/core/errors.ts";
import { Connection, JWTManager } from "../../src/mdb/mod.ts";
import { createTestPki, FakeMas, type TestPki } from "../../src/testing/mdb/mod.ts";

async function withFake(fn: (mas: FakeMas, pki: TestPki) => Promise<void>): Promise<void> {
  const pki = await createTestPki("alice");
  const mas = await FakeMas.start({
    pki,
    natsWebsocketUrl: "ws://127.0.0.1:9",
    mintUser: () => Promise.reject(new Error("no NATS in this test")),
  });
  try {
    await fn(mas, pki);
  } finally {
    await mas.stop();
    await pki.remove();
  }
}

function manager(mas: FakeMas, pki: TestPki, now?: () => number): JWTManager {
  return new JWTManager(`${mas.url}/getjwt`, {
    cert: [pki.clientCertPath, pki.clientKeyPath],
    caBundle: pki.caCertPath,
    ...(now === undefined ? {} : { now }),
  });
}

Deno.test("JWTManager.get() fetches the gateway JWT over mTLS once and caches it", async () => {
  await withFake(async (mas, pki) => {
    const jwt = manager(mas, pki);
    try {
      const token = await jwt.get();
      assert.equal(await jwt.get(), token);
      assert.equal(jwt.token, token);
      assert.equal(mas.callsOf("gateway").length, 1);
      assert.equal(mas.callsOf("gateway")[0]!.cn, "alice");
      assert.equal(await jwt.getCn(), "alice");
      assert.deepEqual(await jwt.getHeaders(), { Authorization: `Bearer ${token}` });
      assert.ok(!token.endsWith("\n"), "the body is whitespace-stripped");
    } finally {
      await jwt.close();
    }
  });
});

Deno.test("JWTManager.get() fetches again when exp is less than 5 minutes away, not before", async () => {
  await withFake(async (mas, pki) => {
    mas.gatewayJwtTtlSeconds = 600;
    let clock = Date.now();
    const jwt = manager(mas, pki, () => clock);
    try {
      await jwt.get();
      clock += 299_000; // 301 s left
      await jwt.get();
      assert.equal(mas.callsOf("gateway").length, 1);
      clock += 2_000; // 299 s left
      await jwt.get();
      assert.equal(mas.callsOf("gateway").length, 2);
    } finally {
      await jwt.close();
    }
  });
});

Deno.test("JWTManager.get() keeps a still-valid token when a refresh is refused", async () => {
  await withFake(async (mas, pki) => {
    mas.gatewayJwtTtlSeconds = 200; // inside the margin: every get() refreshes
    const jwt = manager(mas, pki);
    try {
      const first = await jwt.get();
      mas.failures.gateway = 503;
      assert.equal(await jwt.get(), first);
      assert.equal(mas.callsOf("gateway").length, 2);
    } finally {
      await jwt.close();
    }
  });
});

Deno.test("JWTManager.get() throws AuthError naming the URL and status when the gateway refuses", async () => {
  await withFake(async (mas, pki) => {
    mas.failures.gateway = 500;
    const jwt = manager(mas, pki);
    try {
      const err = await jwt.get().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof AuthError);
      assert.equal(err.status, 500);
      assert.equal(err.url, `${mas.url}/getjwt`);
      assert.match(err.message, /getjwt.*status 500/);
    } finally {
      await jwt.close();
    }
  });
});

Deno.test("JWTManager.get() throws AuthError (403) for a client certificate from another CA", async () => {
  await withFake(async (mas, pki) => {
    const jwt = new JWTManager(`${mas.url}/getjwt`, {
      cert: [pki.foreignClientCertPath, pki.foreignClientKeyPath],
      caBundle: pki.caCertPath,
    });
    try {
      await assert.rejects(() => jwt.get(), (e: unknown) => e instanceof AuthError && e.status === 403);
      assert.equal(mas.callsOf("gateway")[0]!.cn, undefined);
    } finally {
      await jwt.close();
    }
  });
});

Deno.test("JWTManager.get() throws ProtocolError when the gateway answers something else than a JWT", async () => {
  await withFake(async (mas, pki) => {
    mas.gatewayBody = "<html>login</html>";
    const jwt = manager(mas, pki);
    try {
      await assert.rejects(() => jwt.get(), ProtocolError);
    } finally {
      await jwt.close();
    }
  });
});

Deno.test("JWTManager.get() throws ConnectionError naming a missing certificate file", async () => {
  await withFake(async (mas, pki) => {
    const jwt = new JWTManager(`${mas.url}/getjwt`, {
      cert: [`${pki.dir}/missing.crt`, pki.clientKeyPath],
      caBundle: pki.caCertPath,
    });
    try {
      await assert.rejects(
        () => jwt.get(),
        (e: unknown) => e instanceof ConnectionError && /missing\.crt.*does not exist/.test(e.message),
      );
    } finally {
      await jwt.close();
    }
  });
});

Deno.test("Connection.connect() reads the config from the URL's origin without a client certificate", async () => {
  await withFake(async (mas, pki) => {
    const conn = await Connection.connect(`${mas.url}/ignored/prefix?tenant=1`, {
      cert: [pki.clientCert, pki.clientKey], // PEM text works as well as paths
      caBundle: pki.caCert,
    });
    try {
      assert.equal(mas.calls[0]!.path, "/api/v1/config?tenant=1");
      assert.equal(mas.calls[0]!.cn, undefined, "no client certificate on the config call");
      assert.equal(conn.urls.api_gateway_url, `${mas.url}/getjwt`);
      assert.equal(conn.urls.nats_websocket_url, "ws://127.0.0.1:9");
      assert.equal(conn.jwtManager.url, `${mas.url}/getjwt`);
      assert.equal(await conn.jwtManager.getCn(), "alice");
      assert.deepEqual(conn.subscriptions, []);
    } finally {
      await conn.close();
    }
  });
});

Deno.test("Connection.connect() throws ConnectionError when the server's CA is not trusted", async () => {
  await withFake(async (mas, pki) => {
    const err = await Connection.connect(mas.url, {
      cert: [pki.clientCertPath, pki.clientKeyPath],
      caBundle: pki.otherCaCertPath,
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConnectionError, String(err));
    assert.match(err.message, /TLS certificate was not accepted/);
    assert.equal(mas.calls.length, 0);
  });
});

Deno.test("Connection.connect() takes the CA from SSL_CA_BUNDLE when no caBundle is given", async () => {
  await withFake(async (mas, pki) => {
    const before = Deno.env.get("SSL_CA_BUNDLE");
    Deno.env.set("SSL_CA_BUNDLE", pki.caCertPath);
    try {
      const conn = await Connection.connect(mas.url, { cert: [pki.clientCertPath, pki.clientKeyPath] });
      await conn.close();
      Deno.env.set("SSL_CA_BUNDLE", pki.otherCaCertPath);
      await assert.rejects(
        () => Connection.connect(mas.url, { cert: [pki.clientCertPath, pki.clientKeyPath] }),
        ConnectionError,
      );
    } finally {
      if (before === undefined) Deno.env.delete("SSL_CA_BUNDLE");
      else Deno.env.set("SSL_CA_BUNDLE", before);
    }
  });
});

Deno.test("Connection.connect() defaults the certificate to ~/.ssh/cert.crt and ~/.ssh/cert.key", async () => {
  await withFake(async (mas, pki) => {
    const home = await Deno.makeTempDir();
    const before = Deno.env.get("HOME");
    Deno.env.set("HOME", home);
    try {
      const missing = await Connection.connect(mas.url, { caBundle: pki.caCertPath }).then(() => undefined, (e) => e);
      assert.ok(missing instanceof ConnectionError);
      assert.ok(missing.message.includes(`${home}/.ssh/cert.crt`), missing.message);
      await Deno.mkdir(`${home}/.ssh`);
      await Deno.copyFile(pki.clientCertPath, `${home}/.ssh/cert.crt`);
      await Deno.copyFile(pki.clientKeyPath, `${home}/.ssh/cert.key`);
      const conn = await Connection.connect(mas.url, { caBundle: pki.caCertPath });
      try {
        assert.equal(await conn.jwtManager.getCn(), "alice");
      } finally {
        await conn.close();
      }
    } finally {
      if (before === undefined) Deno.env.delete("HOME");
      else Deno.env.set("HOME", before);
      await Deno.remove(home, { recursive: true });
    }
  });
});

Deno.test("Connection.connect() reports a malformed config as ProtocolError and an error status as ConnectionError", async () => {
  await withFake(async (mas, pki) => {
    const opts = { cert: [pki.clientCertPath, pki.clientKeyPath] as const, caBundle: pki.caCertPath };
    mas.configBody = '{"api_gateway_url": 42}';
    await assert.rejects(() => Connection.connect(mas.url, opts), ProtocolError);
    mas.configBody = "<html>";
    await assert.rejects(() => Connection.connect(mas.url, opts), ProtocolError);
    mas.configBody = undefined;
    mas.failures.config = 502;
    await assert.rejects(
      () => Connection.connect(mas.url, opts),
      (e: unknown) => e instanceof ConnectionError && /502/.test(e.message),
    );
  });
});

Deno.test("Connection.connect() rejects bad arguments with TypeError", async () => {
  await assert.rejects(() => Connection.connect("not a url"), TypeError);
  await assert.rejects(
    () => Connection.connect("https://x.test", { websocket: "yes" as unknown as boolean }),
    TypeError,
  );
  await assert.rejects(
    () => Connection.connect("https://x.test", { cert: ["only-one"] as unknown as [string, string] }),
    TypeError,
  );
  assert.throws(() => new JWTManager("nope"), TypeError);
});

Deno.test("Connection.connect() throws TimeoutError when the config endpoint does not answer in time", async () => {
  await withFake(async (_mas, pki) => {
    // A server that accepts the connection and never answers.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conns: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const c of listener) conns.push(c);
    })();
    try {
      const port = (listener.addr as Deno.NetAddr).port;
      const err = await Connection.connect(`http://127.0.0.1:${port}`, {
        cert: [pki.clientCertPath, pki.clientKeyPath],
        timeoutMs: 200,
      }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.timeoutMs, 200);
      assert.match(err.message, /MDB config.*timed out after 200 ms/);
      await assert.rejects(() => Connection.connect(`http://127.0.0.1:${port}`, { timeoutMs: 0 }), RangeError);
    } finally {
      listener.close();
      await accepting.catch(() => {});
      for (const c of conns) c.close();
    }
  });
});
