import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { AuthError, TimeoutError } from "../../src/core/errors.ts";
import { formatCertificate, parseCertificate } from "../../src/posttroll/certificate.ts";
import { generateKeys, loadCertificate } from "../../src/posttroll/keys.ts";
import { getPubAddress } from "../../src/posttroll/nameserver_client.ts";
import { Publisher } from "../../src/posttroll/publisher.ts";
import { subscribe } from "../../src/posttroll/subscriber.ts";
import { decideZap, z85Encode } from "../../src/posttroll/zap.ts";
import { startTestNameserver } from "../../src/testing/posttroll/mod.ts";
import type { PosttrollConfigInit } from "../../src/posttroll/config.ts";
import { delay } from "../../src/core/async.ts";

async function pki() {
  const dir = await Deno.makeTempDir({ prefix: "posttroll-keys-" });
  const server = await generateKeys("server", dir);
  const client = await generateKeys("client", dir);
  const rogue = await generateKeys("rogue", dir);
  await mkdir(join(dir, "clients"));
  await copyFile(client.publicFile, join(dir, "clients", "client.key"));
  const serverSide: PosttrollConfigInit = {
    backend: "secure_zmq",
    serverSecretKeyFile: server.secretFile,
    clientsPublicKeysDirectory: join(dir, "clients"),
  };
  const clientSide = (who: "client" | "rogue"): PosttrollConfigInit => ({
    backend: "secure_zmq",
    clientSecretKeyFile: who === "client" ? client.secretFile : rogue.secretFile,
    serverPublicKeyFile: server.publicFile,
  });
  return {
    dir,
    server,
    client,
    rogue,
    serverSide,
    clientSide,
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true }),
  };
}

Deno.test("generateKeys() writes certificate files that read back, the secret one private", async () => {
  await using keys = await pki();
  const pub = await loadCertificate(keys.server.publicFile);
  const sec = await loadCertificate(keys.server.secretFile);
  assert.equal(pub.publicKey, keys.server.publicKey);
  assert.equal(pub.secretKey, undefined);
  assert.deepEqual(sec, { publicKey: keys.server.publicKey, secretKey: keys.server.secretKey });
  const text = await readFile(keys.server.secretFile, "utf8");
  assert.match(text, /^#/);
  assert.match(text, /\nmetadata\ncurve\n {4}public-key = "[^"]{40}"\n {4}secret-key = "[^"]{40}"\n$/);
  assert.equal((await Deno.stat(keys.server.secretFile)).mode! & 0o077, 0);
  await assert.rejects(generateKeys("a/b", keys.dir), TypeError);
});

Deno.test("parseCertificate() reads the pyzmq layout and refuses files without a key", () => {
  const key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  const secret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
  const pyzmqStyle = [
    "#   ****  Generated on 2024-01-01 00:00:00 by pyzmq  ****",
    "#   ZeroMQ CURVE **Secret** Certificate",
    "",
    "metadata",
    "curve",
    `    public-key = "${key}"`,
    `    secret-key = "${secret}"`,
    "",
  ].join("\n");
  assert.deepEqual(parseCertificate(pyzmqStyle), { publicKey: key, secretKey: secret });
  assert.deepEqual(parseCertificate(formatCertificate({ publicKey: key })), { publicKey: key });
  assert.throws(() => parseCertificate("metadata\ncurve\n"), SyntaxError);
  assert.throws(() => parseCertificate('curve\n    public-key = "short"\n'), SyntaxError);
  assert.throws(() => formatCertificate({ publicKey: "short" }), TypeError);
});

Deno.test("decideZap() admits only listed CURVE keys and allowed addresses", () => {
  const key = new Uint8Array(32).map((_, i) => i);
  const z = z85Encode(key);
  const enc = (s: string) => new TextEncoder().encode(s);
  const frames = (domain: string, mech: string, cred?: Uint8Array) => [
    enc("1.0"),
    enc("1"),
    enc(domain),
    enc("127.0.0.1"),
    enc(""),
    enc(mech),
    ...(cred === undefined ? [] : [cred]),
  ];
  const policies = new Map([
    ["d", { keys: new Set([z]), addresses: undefined }],
    ["ip", { keys: undefined, addresses: new Set(["10.0.0.1"]) }],
  ]);
  assert.equal(decideZap(frames("d", "CURVE", key), policies)[0], "200");
  assert.equal(decideZap(frames("d", "CURVE", new Uint8Array(32)), policies)[0], "400");
  assert.equal(decideZap(frames("d", "NULL"), policies)[0], "400");
  assert.equal(decideZap(frames("other", "CURVE", key), policies)[0], "400");
  assert.equal(decideZap(frames("ip", "NULL"), policies)[0], "400");
  assert.equal(decideZap([enc("2.0")], policies)[0], "400");
  assert.equal(z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b])), "HelloWorld");
});

Deno.test("A CURVE publisher is received by an allowed client and not by a rogue key", async () => {
  await using keys = await pki();
  await using pub = await new Publisher({ host: "127.0.0.1", config: keys.serverSide }).start();
  const good = subscribe({ addresses: [pub.url], nameserver: false, config: keys.clientSide("client") });
  const rogue = subscribe({ addresses: [pub.url], nameserver: false, config: keys.clientSide("rogue") });
  const plain = subscribe({ addresses: [pub.url], nameserver: false, config: { backend: "unsecure_zmq" } });
  await Promise.all([good.ready, rogue.ready, plain.ready]);
  let rogueGot = 0;
  let plainGot = 0;
  void (async () => {
    for await (const _ of rogue) rogueGot++;
  })();
  void (async () => {
    for await (const _ of plain) plainGot++;
  })();
  const reader = good.getReader();
  const first = reader.read();
  let done = false;
  void first.then(() => done = true);
  const deadline = Date.now() + 5000;
  while (!done && Date.now() < deadline) {
    await pub.send({ subject: "/secret", data: "s" });
    await delay(20);
  }
  assert.equal((await first).value?.payload, "s");
  // Keep sending a while: the rogue and the plain client must get nothing.
  for (let i = 0; i < 20; i++) {
    await pub.send({ subject: "/secret", data: "s" });
    await delay(10);
  }
  assert.equal(rogueGot, 0);
  assert.equal(plainGot, 0);
  reader.releaseLock();
  await Promise.all([good.close(), rogue.close(), plain.close()]);
});

Deno.test("The nameserver answers CURVE clients on the secure port and ignores rogue keys", async () => {
  await using keys = await pki();
  await using ns = await startTestNameserver({ config: keys.serverSide });
  assert.ok(ns.nameserver.ports.secureNameserver > 0);
  const base = { nameserverPort: ns.config.nameserverPort, secureNameserverPort: ns.nameserver.ports.secureNameserver };
  const found = await getPubAddress("", {
    nameserver: "127.0.0.1",
    timeout: 3000,
    config: { ...base, ...keys.clientSide("client") },
  });
  assert.ok(found.length >= 1);
  await assert.rejects(
    getPubAddress("", { nameserver: "127.0.0.1", timeout: 500, config: { ...base, ...keys.clientSide("rogue") } }),
    TimeoutError,
  );
});

Deno.test("CURVE settings with missing or broken key files fail with AuthError", async () => {
  await using keys = await pki();
  await assert.rejects(new Publisher({ host: "127.0.0.1", config: { backend: "secure_zmq" } }).start(), AuthError);
  await assert.rejects(
    new Publisher({
      host: "127.0.0.1",
      config: { ...keys.serverSide, serverSecretKeyFile: keys.server.publicFile },
    }).start(),
    (err: unknown) =>
      err instanceof AuthError &&
      /^Reading the server secret key file .* failed: it has no secret-key$/.test(err.message),
  );
  await assert.rejects(
    new Publisher({
      host: "127.0.0.1",
      config: { ...keys.serverSide, serverSecretKeyFile: join(keys.dir, "missing") },
    }).start(),
    AuthError,
  );
  const sub = subscribe({ addresses: ["tcp://127.0.0.1:9"], nameserver: false, config: { backend: "secure_zmq" } });
  await assert.rejects(sub.ready, AuthError);
  // A public certificate given as the client's key pair.
  const pub = subscribe({
    addresses: ["tcp://127.0.0.1:9"],
    nameserver: false,
    config: { ...keys.clientSide("client"), clientSecretKeyFile: keys.client.publicFile },
  });
  await assert.rejects(
    pub.ready,
    (err: unknown) =>
      err instanceof AuthError &&
      /^Reading the client secret key file .* failed: it has no secret-key$/.test(err.message),
  );
});
