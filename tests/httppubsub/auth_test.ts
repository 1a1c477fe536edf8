import assert from "node:assert/strict";
import {
  authConfigFromFile,
  authConfigFromSecrets,
  generateSecret,
  generateSecrets,
  hmacAuth,
  noneAuth,
  setupSecrets,
  tokenAuth,
} from "../../src/httppubsub/auth.ts";
import type { AuthDocument } from "../../src/httppubsub/auth_document.ts";

const doc: AuthDocument = { type: "check-subscriptions", url: "http://127.0.0.1:1/v1/receive#a" };
const other: AuthDocument = { type: "check-subscriptions", url: "http://127.0.0.1:1/v1/receive#b" };

Deno.test("noneAuth() sends nothing and accepts anything", async () => {
  const a = noneAuth();
  assert.equal(await a.authorize(doc), undefined);
  assert.equal(await a.verify(doc, undefined), "ok");
  assert.equal(await a.verify(doc, "Bearer junk"), "ok");
});

Deno.test("tokenAuth() answers unauthorized when missing and forbidden when wrong", async () => {
  const a = tokenAuth("s3cret");
  assert.equal(await a.authorize(doc), "Bearer s3cret");
  assert.equal(await a.verify(doc, "Bearer s3cret"), "ok");
  assert.equal(await a.verify(doc, undefined), "unauthorized");
  assert.equal(await a.verify(doc, ""), "unauthorized");
  assert.equal(await a.verify(doc, "Bearer s3cres"), "forbidden");
  assert.equal(await a.verify(doc, "Bearer s3cret2"), "forbidden");
  assert.throws(() => tokenAuth(""), TypeError);
});

Deno.test("hmacAuth() refuses a replayed code, another document and another secret", async () => {
  const secret = generateSecret();
  const signer = hmacAuth(secret);
  const verifier = hmacAuth(secret);
  const h = await signer.authorize(doc);
  assert.match(h!, /^X-HMAC \d+:[A-Za-z0-9_-]{6}:[A-Za-z0-9+/]{86}==$/);
  assert.equal(await verifier.verify(other, h), "forbidden");
  assert.equal(await verifier.verify(doc, h), "ok");
  assert.equal(await verifier.verify(doc, h), "forbidden", "replay");
  assert.equal(await hmacAuth(generateSecret()).verify(doc, await signer.authorize(doc)), "forbidden");
  assert.equal(await verifier.verify(doc, undefined), "unauthorized");
  assert.equal(await verifier.verify(doc, "Bearer x"), "forbidden");
  const traced = await signer.authorize(doc, new Uint8Array([1]));
  assert.equal(await verifier.verify(doc, traced, new Uint8Array([2])), "forbidden", "tracing is signed");
});

Deno.test("hmacAuth() accepts timestamps within 120 s and refuses older or newer ones", async () => {
  const secret = generateSecret();
  let now = 1_700_000_000;
  const verifier = hmacAuth(secret, { now: () => now });
  const at = (t: number) => hmacAuth(secret, { now: () => t }).authorize(doc);
  assert.equal(await verifier.verify(doc, await at(now - 120)), "ok");
  assert.equal(await verifier.verify(doc, await at(now + 120)), "ok");
  assert.equal(await verifier.verify(doc, await at(now - 121)), "forbidden");
  assert.equal(await verifier.verify(doc, await at(now + 121)), "forbidden");
  // A code is forgotten after the replay window, by which time it is stale anyway.
  const h = await at(now);
  assert.equal(await verifier.verify(doc, h), "ok");
  now += 200;
  assert.equal(await verifier.verify(doc, h), "forbidden");
});

Deno.test("hmacAuth() answers unavailable when its replay memory is full", async () => {
  const secret = generateSecret();
  const signer = hmacAuth(secret);
  const verifier = hmacAuth(secret, { maxRemembered: 2 });
  assert.equal(await verifier.verify(doc, await signer.authorize(doc)), "ok");
  assert.equal(await verifier.verify(doc, await signer.authorize(doc)), "ok");
  assert.equal(await verifier.verify(doc, await signer.authorize(doc)), "unavailable");
});

Deno.test("hmacAuth() refuses a secret that is not 64 bytes", () => {
  assert.throws(() => hmacAuth("AAAA"), TypeError);
  assert.throws(() => hmacAuth(new Uint8Array(32)), TypeError);
  assert.throws(() => hmacAuth(generateSecret(), { tokenLifetime: -1 }), RangeError);
});

Deno.test("authConfigFromSecrets() maps to-subscriber to receiveAuth and to-broadcaster to sendAuth", () => {
  const s = generateSecrets({ toBroadcaster: "hmac", toSubscriber: "token" });
  const { receiveAuth, sendAuth } = authConfigFromSecrets(s);
  assert.equal(receiveAuth.type, "token");
  assert.equal(sendAuth.type, "hmac");
  const none = authConfigFromSecrets({ version: "2" });
  assert.equal(none.receiveAuth.type, "none");
  assert.equal(none.sendAuth.type, "none");
  assert.throws(() => authConfigFromSecrets({ version: "1" }), TypeError);
  assert.throws(
    () => authConfigFromSecrets({ version: "2", "to-subscriber": { type: "rot13", secret: "x" } }),
    TypeError,
  );
  assert.equal(s["to-broadcaster"]?.secret.length, 86);
});

Deno.test("setupSecrets() writes matching files that authConfigFromFile() reads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = await setupSecrets(dir, { toBroadcaster: "hmac", toSubscriber: "hmac" });
    assert.equal(await Deno.readTextFile(paths.subscriber), await Deno.readTextFile(paths.broadcaster));
    assert.equal((await Deno.stat(paths.subscriber)).mode! & 0o777, 0o600);
    const sub = await authConfigFromFile(paths.subscriber);
    const bc = await authConfigFromFile(paths.broadcaster);
    // What the subscriber sends, the broadcaster (same file, same direction) verifies.
    assert.equal(await bc.sendAuth.verify(doc, await sub.sendAuth.authorize(doc)), "ok");
    await Deno.writeTextFile(`${dir}/bad.json`, "{");
    await assert.rejects(() => authConfigFromFile(`${dir}/bad.json`), SyntaxError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
