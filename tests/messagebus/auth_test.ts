import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { AuthError, ConnectionError } from "../../src/core/errors.ts";
import {
  type Authenticator,
  BasicAuthenticator,
  MessageBusClient,
  type MessageBusClientOptions,
  TokenAuthenticator,
} from "../../src/messagebus/mod.ts";
import { FakeMessageBus, type FakeMessageBusOptions } from "../../src/testing/messagebus/mod.ts";
import { take, testPki, utf8 } from "./_helpers.ts";

const SECRET = "a shared secret of at least thirty-two bytes!";

function jwt(sub: string, secret = SECRET, expiresIn: string | number = "5m"): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/** Logs in, round-trips one message through the server, and reports the user the server saw. */
async function roundTrip(server: FakeMessageBus, options: MessageBusClientOptions): Promise<string> {
  const client = await MessageBusClient.create("127.0.0.1", server.port, { reconnect: false, ...options });
  try {
    await client.start();
    const stream = client.subscribe("F", "T", { sync: true });
    await stream.ready;
    await client.publish("F", "T", options.imageField === "contentType" ? "" : false, [
      { entitlements: null, data: utf8("x") },
    ]);
    const [m] = await take(stream, 1);
    return m!.user;
  } finally {
    await client.stop();
  }
}

const dialects: [string, FakeMessageBusOptions, () => Promise<Authenticator>, string][] = [
  [
    "v3 password file",
    { auth: "v3", authentication: { kind: "password", users: { alice: "s3cret" } } },
    () => Promise.resolve(new BasicAuthenticator("alice", "s3cret")),
    "alice",
  ],
  [
    "v4 password file",
    { auth: "v4", authentication: { kind: "password", users: { alice: "s3cret" } } },
    () => Promise.resolve(new BasicAuthenticator("alice", "s3cret", { application: "tests" })),
    "alice",
  ],
  [
    "v3 JWT",
    { auth: "v3", authentication: { kind: "jwt", secret: SECRET } },
    async () => new TokenAuthenticator(await jwt("bob")),
    "bob",
  ],
  [
    "v4 JWT",
    { auth: "v4", authentication: { kind: "jwt", secret: SECRET } },
    async () => new TokenAuthenticator(await jwt("bob"), { forwardedFor: "proxy" }),
    "bob",
  ],
];

for (const [name, serverOptions, good, user] of dialects) {
  const auth = serverOptions.auth!;
  Deno.test(`MessageBusClient logs in with ${name} credentials`, async () => {
    await using server = await FakeMessageBus.start(serverOptions);
    assert.equal(await roundTrip(server, { auth, authenticator: await good() }), user);
    assert.equal(server.authFailures, 0);
  });
}

const refusals: [string, FakeMessageBusOptions, () => Promise<Authenticator>][] = [
  [
    "a wrong v3 password",
    { auth: "v3", authentication: { kind: "password", users: { alice: "s3cret" } } },
    () => Promise.resolve(new BasicAuthenticator("alice", "wrong")),
  ],
  [
    "an unknown v4 user",
    { auth: "v4", authentication: { kind: "password", users: { alice: "s3cret" } } },
    () => Promise.resolve(new BasicAuthenticator("mallory", "s3cret")),
  ],
  [
    "a JWT signed with another secret",
    { auth: "v3", authentication: { kind: "jwt", secret: SECRET } },
    async () => new TokenAuthenticator(await jwt("bob", "another secret that is long enough!!")),
  ],
  [
    "an expired JWT",
    { auth: "v4", authentication: { kind: "jwt", secret: SECRET } },
    async () => new TokenAuthenticator(await jwt("bob", SECRET, Math.floor(Date.now() / 1000) - 60)),
  ],
];

for (const [name, serverOptions, bad] of refusals) {
  for (const onAuthFailure of ["stall", "close"] as const) {
    Deno.test(`MessageBusClient.start() rejects ${name} with AuthError when the server ${onAuthFailure}s`, async () => {
      await using server = await FakeMessageBus.start({ ...serverOptions, onAuthFailure });
      const client = await MessageBusClient.create("127.0.0.1", server.port, {
        auth: serverOptions.auth,
        authenticator: await bad(),
        loginTimeoutMs: 300,
        reconnect: onAuthFailure === "close",
      });
      const t0 = performance.now();
      await assert.rejects(client.start(), (err: unknown) => {
        assert.ok(err instanceof AuthError, String(err));
        assert.match(err.message, onAuthFailure === "stall" ? /within 300 ms/ : /connection ended/);
        return true;
      });
      assert.ok(performance.now() - t0 < 2000);
      assert.ok((await client.closed) instanceof AuthError);
      assert.equal(server.authFailures, 1);
      assert.equal(server.clients.length, 0);
    });
  }
}

Deno.test("MessageBusClient in the v3 dialect is refused by a v4 server (dialect mismatch)", async () => {
  await using server = await FakeMessageBus.start({
    auth: "v4",
    authentication: { kind: "password", users: { alice: "s3cret" } },
  });
  const client = await MessageBusClient.create("127.0.0.1", server.port, {
    auth: "v3",
    authenticator: new BasicAuthenticator("alice", "s3cret"),
    loginTimeoutMs: 300,
    reconnect: false,
  });
  await assert.rejects(client.start(), AuthError);
});

Deno.test("MessageBusClient without credentials is named by the server's dialect", async () => {
  await using v3 = await FakeMessageBus.start({ auth: "v3" });
  await using v4 = await FakeMessageBus.start({ auth: "v4" });
  assert.equal(await roundTrip(v3, {}), "unknown");
  assert.equal(await roundTrip(v4, { auth: "v4" }), "nobody");
});

Deno.test("MessageBusClient connects over TLS with a trusted CA and authenticates", async () => {
  const pki = await testPki();
  await using server = await FakeMessageBus.start({
    tls: { cert: pki.cert, key: pki.key },
    authentication: { kind: "password", users: { alice: "s3cret" } },
  });
  assert.equal(
    await roundTrip(server, { tls: { caCerts: [pki.ca] }, authenticator: new BasicAuthenticator("alice", "s3cret") }),
    "alice",
  );
});

Deno.test("MessageBusClient.create() fails with ConnectionError on an untrusted TLS certificate or a closed port", async () => {
  const pki = await testPki();
  await using server = await FakeMessageBus.start({ tls: { cert: pki.cert, key: pki.key } });
  await assert.rejects(MessageBusClient.create("127.0.0.1", server.port, { tls: true }), ConnectionError);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await assert.rejects(MessageBusClient.create("127.0.0.1", port), (err: unknown) => {
    assert.ok(err instanceof ConnectionError);
    assert.equal(err.url, `tcp://127.0.0.1:${port}`);
    return true;
  });
});

Deno.test("BasicAuthenticator and TokenAuthenticator refuse empty values", () => {
  assert.throws(() => new BasicAuthenticator("", "p"), TypeError);
  assert.throws(() => new BasicAuthenticator("u", ""), TypeError);
  assert.throws(() => new TokenAuthenticator(""), TypeError);
  assert.throws(() => new BasicAuthenticator("u", "p", { impersonating: 3 as unknown as string }), TypeError);
  assert.equal(new TokenAuthenticator("x.eyJzdWIiOiJib2IifQ.y").user, "bob");
});
