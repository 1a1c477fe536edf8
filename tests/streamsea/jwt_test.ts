import assert from "node:assert/strict";
import { AuthError } from "../../src/core/errors.ts";
import {
  createStreamSeaJwt,
  type CredentialOptions,
  type FilterExpression,
  StreamSeaClient,
  StreamSeaError,
} from "../../src/streamsea/mod.ts";
import { matchesFilter } from "../../src/streamsea/wire.ts";
import { FakeStreamSea, toSpkiPem } from "../../src/testing/streamsea/mod.ts";
import { CLIENT, framesOf, record, take, until, within } from "./_helpers.ts";

function pem(der: ArrayBuffer | Uint8Array, label: string): string {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `-----BEGIN ${label}-----\n${btoa(bin).replace(/.{1,64}/g, "$&\n")}-----END ${label}-----\n`;
}

async function keyPair(): Promise<{ privateKey: CryptoKey; spki: string; pkcs1: string; pkcs8: string }> {
  const { privateKey, publicKey } = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-512" },
    true,
    ["sign", "verify"],
  );
  const spkiDer = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  // A 2048-bit SPKI is SEQUENCE(4) + AlgorithmIdentifier(15) + BIT STRING header(5) + the PKCS#1 key.
  assert.equal(spkiDer[24], 0x30);
  return {
    privateKey,
    spki: pem(spkiDer, "PUBLIC KEY"),
    pkcs1: pem(spkiDer.subarray(24), "RSA PUBLIC KEY"),
    pkcs8: pem(await crypto.subtle.exportKey("pkcs8", privateKey), "PRIVATE KEY"),
  };
}

const KEYS = await keyPair();
const OTHER = await keyPair();
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

async function setup(options: { mustFanout?: "reject" | "force" } = {}) {
  const fake = await FakeStreamSea.start({
    ...options,
    clients: [{ ...CLIENT, jwtPublicKey: KEYS.spki }, { clientId: "nokey", clientSecret: "x" }],
  });
  const backend = new StreamSeaClient({ ...fake.connection, ...CLIENT });
  const front = (credentials: CredentialOptions) =>
    new StreamSeaClient({ ...fake.connection, clientId: credentials.clientId, credentials });
  return {
    fake,
    backend,
    front,
    async [Symbol.asyncDispose]() {
      await backend.close();
      await fake.close();
    },
  };
}

Deno.test("createStreamSeaJwt() signs RS512 with the CLI's header and claims", async () => {
  const jwt = await createStreamSeaJwt(KEYS.pkcs8, { exp: 1893456000, mustFanout: true });
  const [header, payload] = jwt.split(".").slice(0, 2).map((p) =>
    JSON.parse(
      new TextDecoder().decode(Uint8Array.from(atob(p!.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))),
    )
  );
  assert.deepEqual(header, { alg: "RS512", typ: "JWT" });
  assert.deepEqual(payload, { exp: 1893456000, mustFanout: true });
  await assert.rejects(() => createStreamSeaJwt(KEYS.privateKey, { exp: -1, mustFanout: true }), TypeError);
  await assert.rejects(
    () => createStreamSeaJwt(KEYS.privateKey, { exp: 1, mustFanout: "yes" as unknown as boolean }),
    TypeError,
  );
  await assert.rejects(() => createStreamSeaJwt("not a pem", { exp: 1, mustFanout: true }), TypeError);
});

Deno.test("subscribe() with a JWT verified by the registered key receives messages in fanout mode", async () => {
  await using s = await setup();
  const jwt = await createStreamSeaJwt(KEYS.privateKey, { exp: inAnHour(), mustFanout: true });
  const client = s.front({ type: "jwt", clientId: "abc", jwt });
  const sub = client.subscribe("s", { fanout: true });
  await within(sub.ready);
  await s.backend.publish("s", { hello: "browser" });
  assert.deepEqual((await take(sub.getReader(), 1))[0]!.payload, { hello: "browser" });
  assert.deepEqual(framesOf(s.fake, 1)[0], {
    id: 1,
    action: "authenticate",
    payload: { type: "jwt", clientId: "abc", jwt },
  });
  await client.close();
});

Deno.test("a JWT signed by another key, expired, or for a client without a key is refused with AuthError", async () => {
  await using s = await setup();
  const cases: CredentialOptions[] = [
    {
      type: "jwt",
      clientId: "abc",
      jwt: await createStreamSeaJwt(OTHER.privateKey, { exp: inAnHour(), mustFanout: true }),
    },
    { type: "jwt", clientId: "abc", jwt: await createStreamSeaJwt(KEYS.privateKey, { exp: 1000, mustFanout: true }) },
    {
      type: "jwt",
      clientId: "nokey",
      jwt: await createStreamSeaJwt(KEYS.privateKey, { exp: inAnHour(), mustFanout: true }),
    },
    { type: "jwt", clientId: "abc", jwt: "a.b.c" },
  ];
  for (const credentials of cases) {
    const client = s.front(credentials);
    await assert.rejects(() => client.subscribe("s", { fanout: true }).ready, AuthError);
    await client.close();
  }
});

Deno.test("a mustFanout JWT without a groupId is refused, or given its own group in force mode", async () => {
  for (const mode of ["reject", "force"] as const) {
    await using s = await setup({ mustFanout: mode });
    const jwt = await createStreamSeaJwt(KEYS.privateKey, { exp: inAnHour(), mustFanout: true });
    const client = s.front({ type: "jwt", clientId: "abc", jwt });
    const sub = client.subscribe("s");
    if (mode === "reject") await assert.rejects(() => sub.ready, StreamSeaError);
    else {
      // It must not steal from the backend's default group.
      const backendSub = s.backend.subscribe("s");
      await within(Promise.all([sub.ready, backendSub.ready]));
      for (let i = 0; i < 4; i++) await s.backend.publish("s", { i });
      await take(sub.getReader(), 4);
      await take(backendSub.getReader(), 4);
    }
    await client.close();
  }
});

Deno.test("a JWT's filter limits what its bearer receives", async () => {
  await using s = await setup();
  const filter: FilterExpression = { t: "eq", e: [{ t: "path", e: "ship.side" }, { t: "string", e: "port" }] };
  const jwt = await createStreamSeaJwt(KEYS.privateKey, { exp: inAnHour(), mustFanout: true, filter });
  const client = s.front({ type: "jwt", clientId: "abc", jwt });
  const sub = client.subscribe("s", { fanout: true });
  await within(sub.ready);
  for (const side of ["starboard", "port", "aft", "port"]) await s.backend.publish("s", { ship: { side }, side });
  const got = await take(sub.getReader(), 2);
  assert.deepEqual(got.map((m) => (m.payload as { side: string }).side), ["port", "port"]);
  await client.close();
});

Deno.test("when a JWT expires the server closes; a static token then ends with AuthError, a token function goes on", async () => {
  await using s = await setup();
  const exp = Math.floor(Date.now() / 1000) + 1;
  const fixed = s.front({
    type: "jwt",
    clientId: "abc",
    jwt: await createStreamSeaJwt(KEYS.privateKey, { exp, mustFanout: true }),
  });
  let minted = 0;
  const fresh = s.front({
    type: "jwt",
    clientId: "abc",
    jwt: () => {
      minted++;
      return createStreamSeaJwt(KEYS.privateKey, { exp: Math.floor(Date.now() / 1000) + 1, mustFanout: true });
    },
  });
  const events = record(fresh.status, ["reconnected"]);
  const reconnect = { delayMs: 50, jitter: 0 };
  const a = fixed.subscribe("s", { fanout: true, reconnect });
  const b = fresh.subscribe("s", { fanout: true, reconnect });
  await within(Promise.all([a.ready, b.ready]));
  assert.ok((await within(a.closed, 4000)) instanceof AuthError);
  await until(() => events.length >= 1, 4000, "the token function's reconnection");
  assert.ok(minted >= 2);
  await s.backend.publish("s", { after: "expiry" });
  assert.deepEqual((await take(b.getReader(), 1))[0]!.payload, { after: "expiry" });
  await fixed.close();
  await fresh.close();
});

Deno.test("the fake accepts a CLI-style PKCS#1 public key registered over HTTP", async () => {
  await using s = await setup();
  const url = `http://127.0.0.1:${s.fake.port}/api/v1/client/abc/jwt-public-key`;
  const auth = { Authorization: `Basic ${btoa("abc:def123")}`, "Content-Type": "application/json" };
  const put = (body: unknown, path = url) =>
    fetch(path, { method: "PUT", headers: auth, body: JSON.stringify(body) }).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }));
  assert.deepEqual(await put({ jwtPublicKey: OTHER.pkcs1 }), {
    status: 200,
    body: { givenId: "abc", jwtPublicKey: OTHER.pkcs1 },
  });
  assert.equal((await put({ jwtPublicKey: "garbage" })).status, 400);
  assert.equal((await put({ jwtPublicKey: null }, url.replace("/abc/", "/nokey/"))).status, 403);
  assert.equal(toSpkiPem(OTHER.pkcs1), OTHER.spki);
  await assert.rejects(() => s.backend.setJwtPublicKey("garbage"), StreamSeaError);
  await s.backend.setJwtPublicKey(null);
  const none = s.front({
    type: "jwt",
    clientId: "abc",
    jwt: await createStreamSeaJwt(OTHER.privateKey, { exp: inAnHour(), mustFanout: true }),
  });
  await assert.rejects(() => none.subscribe("s", { fanout: true }).ready, AuthError);
  await none.close();
  await s.backend.setJwtPublicKey(OTHER.pkcs1);
  const jwt = await createStreamSeaJwt(OTHER.privateKey, { exp: inAnHour(), mustFanout: true });
  const client = s.front({ type: "jwt", clientId: "abc", jwt });
  await within(client.subscribe("s", { fanout: true }).ready);
  await client.close();
});

Deno.test("matchesFilter() evaluates the filter DSL; an evaluation error matches nothing", () => {
  const msg = { a: { b: 1 }, list: [{ x: "y" }], t: true, n: null };
  const eq = (l: FilterExpression, r: FilterExpression): FilterExpression => ({ t: "eq", e: [l, r] });
  assert.ok(matchesFilter(eq({ t: "path", e: "a.b" }, { t: "number", e: 1 }), msg, "s"));
  assert.ok(matchesFilter(eq({ t: "path", e: "list.0.x" }, { t: "string", e: "y" }), msg, "s"));
  assert.ok(matchesFilter(eq({ t: "path", e: "n" }, { t: "null" }), msg, "s"));
  assert.ok(matchesFilter(eq({ t: "meta", e: "streamName" }, { t: "string", e: "s" }), msg, "s"));
  assert.ok(matchesFilter({ t: "and", e: [{ t: "path", e: "t" }, { t: "bool", e: true }] }, msg, "s"));
  assert.ok(matchesFilter({ t: "or", e: [{ t: "bool", e: false }, { t: "path", e: "t" }] }, msg, "s"));
  assert.ok(matchesFilter({ t: "not", e: { t: "bool", e: false } }, msg, "s"));
  assert.ok(!matchesFilter({ t: "not", e: { t: "path", e: "t" } }, msg, "s"));
  assert.ok(!matchesFilter(eq({ t: "path", e: "missing.x" }, { t: "null" }), msg, "s"));
  for (const bad of [null, 5, { t: "weird" }, { t: "eq", e: [1] }, { t: "and", e: "x" }, { t: "path", e: 3 }]) {
    assert.ok(!matchesFilter(bad, msg, "s"), JSON.stringify(bad));
  }
  let deep: unknown = { t: "bool", e: true };
  for (let i = 0; i < 100; i++) deep = { t: "not", e: deep };
  assert.equal(matchesFilter(deep, msg, "s"), false);
});
