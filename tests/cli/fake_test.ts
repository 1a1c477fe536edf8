// `pubsub fake` in-process: usage errors, help, the admin endpoint's answers to bad requests, the log's masking and
// bound, and a start that fails. The subprocess scenarios are in fake_e2e_test.ts.

import assert from "node:assert/strict";
import { run } from "../../src/cli/main.ts";
import { ExitCode } from "../../src/cli/context.ts";
import { Output } from "../../src/cli/context.ts";
import { AdminBody, AdminError } from "../../src/cli/fake/admin_body.ts";
import { FakeLog, preview, previewJson, redact } from "../../src/cli/fake/fake_log.ts";
import { parseUsers } from "../../src/cli/fake/messagebus.ts";
import { parseClients } from "../../src/cli/fake/streamsea.ts";
import { assertRefused, portOf } from "./fake_helpers.ts";
import { cli, Collector, SharedBroker } from "./helpers.ts";

const open = new SharedBroker().open;

/** Runs `pubsub fake …` in-process until `stop()`; `ready` resolves with the ready line. */
function startInProcess(args: string[]) {
  const controller = new AbortController();
  let text = "";
  let onLine: (() => void) | undefined;
  const stdout = new WritableStream<Uint8Array>({
    write(chunk) {
      text += new TextDecoder().decode(chunk);
      onLine?.();
    },
  });
  const err = new Collector();
  const done = run(["fake", ...args], open, { stdout, stderr: err.stream, signal: controller.signal });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    onLine = () => {
      if (text.includes("\n")) resolve(JSON.parse(text.slice(0, text.indexOf("\n"))));
    };
    done.then((code) => reject(new Error(`exited ${code} before the ready line: ${err.text()}`)));
  });
  return {
    ready,
    lines: () => text.split("\n").filter((l) => l !== "").slice(1).map((l) => JSON.parse(l)),
    stderr: () => err.text(),
    async stop(): Promise<number> {
      controller.abort();
      return await done;
    },
  };
}

Deno.test("pubsub fake: help and usage errors", async () => {
  const none = await cli(["fake"], open);
  assert.equal(none.code, ExitCode.Usage);
  assert.match(none.stderr, /^Usage: pubsub fake <system>/);
  const help = await cli(["fake", "--help"], open);
  assert.equal(help.code, ExitCode.Ok);
  assert.match(help.stdout, /streamsea +stream-sea 4\.x/);
  assert.match((await cli(["help", "fake"], open)).stdout, /^Usage: pubsub fake <system>/);
  assert.match((await cli(["--help"], open)).stdout, /\n {2}fake SYSTEM +run a fake server/);
  for (const system of ["messagebus", "streamsea", "httppubsub", "mdb"]) {
    const r = await cli(["fake", system, "--help"], open);
    assert.equal(r.code, ExitCode.Ok, system);
    assert.match(r.stdout, new RegExp(`^Usage: pubsub fake ${system} \\[options\\]`));
    assert.match(r.stdout, /POST \/publish/);
  }

  const bad: [string[], RegExp][] = [
    [["fake", "kafka"], /Unknown fake "kafka": streamsea, messagebus, httppubsub or mdb/],
    [["fake", "messagebus", "--users", "alice"], /--users takes name:password pairs, got "alice"/],
    [["fake", "messagebus", "--dialect", "v5"], /--dialect must be v3 or v4, got "v5"/],
    [["fake", "messagebus", "--users", "a:b", "--jwt-secret", "s"], /exclude each other/],
    [["fake", "messagebus", "--tls-cert", "c.pem"], /--tls-cert and --tls-key go together/],
    [["fake", "messagebus", "--publishers", "PRICES"], /--publishers takes FEED=user1,user2/],
    [["fake", "messagebus", "--port", "70000"], /--port must be at most 65535/],
    [["fake", "messagebus", "extra"], /Unexpected argument "extra"/],
    [["fake", "streamsea", "--client", "nocolon"], /--client takes id:secret\[@jail\]/],
    [["fake", "streamsea", "--jwt-key", "who=key.pem"], /--jwt-key takes CLIENT=FILE for a client of --client/],
    [["fake", "httppubsub", "--to-broadcaster", "hmacx"], /--to-broadcaster must be none, token or hmac/],
    [["fake", "mdb", "--host", "0.0.0.0"], /Unknown option "--host"/],
    [["fake", "mdb", "--dataset", "no/slash"], /--dataset takes slugs/],
    [["fake", "mdb", "--cn", "a;b"], /A certificate CN may hold/],
  ];
  for (const [args, message] of bad) {
    const r = await cli(args, open);
    assert.equal(r.code, ExitCode.Usage, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^pubsub fake: /);
    assert.match(r.stderr, message);
  }
});

Deno.test("pubsub fake httppubsub: an existing secrets file is read, and a scheme contradicting it is a usage error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/secrets.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ version: "2", "to-broadcaster": { type: "token", secret: "t0k" } }),
    );
    const contradiction = await cli(["fake", "httppubsub", "--secrets", file, "--to-broadcaster", "hmac"], open);
    assert.equal(contradiction.code, ExitCode.Usage);
    assert.match(contradiction.stderr, /--to-broadcaster hmac contradicts .*secrets\.json, which holds token/);
    await Deno.writeTextFile(`${dir}/bad.json`, "{}");
    const bad = await cli(["fake", "httppubsub", "--secrets", `${dir}/bad.json`], open);
    assert.equal(bad.code, ExitCode.Usage);
    assert.match(bad.stderr, /is not a secrets file/);

    const fake = startInProcess(["httppubsub", "--secrets", file, "--quiet"]);
    const ready = await fake.ready;
    assert.deepEqual([ready.toBroadcaster, ready.toSubscriber, ready.secrets], ["token", "none", file]);
    assert.equal(ready.url, `httppubsub+http://:t0k@127.0.0.1:${ready.port}/`);
    assert.equal(await fake.stop(), ExitCode.Ok);
    assert.equal(fake.stderr(), "", "--quiet");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pubsub fake: the admin endpoint answers unknown names 404, bad bodies 400, other methods 405", async () => {
  const fake = startInProcess(["messagebus", "--log"]);
  try {
    const ready = await fake.ready;
    const call = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${ready.admin}${path}`, init);
      return { status: res.status, json: await res.json() };
    };
    assert.deepEqual((await call("/")).json, ready);
    const unknown = await call("/queues");
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json.lists, ["clients", "subscriptions"]);
    assert.deepEqual(unknown.json.actions, ["publish", "kill", "restart"]);
    assert.equal((await call("/nothing", { method: "POST" })).status, 404);
    assert.equal((await call("/publish", { method: "POST", body: "{not json" })).status, 400);
    assert.equal((await call("/publish", { method: "POST", body: "[1]" })).status, 400);
    const noPayload = await call("/publish", { method: "POST", body: '{"feed":"F","topic":"T"}' });
    assert.deepEqual(noPayload, {
      status: 400,
      json: { error: 'Give exactly one of "data" (text), "base64" or "json"' },
    });
    const two = await call("/publish", { method: "POST", body: '{"feed":"F","topic":"T","data":"a","json":1}' });
    assert.equal(two.status, 400);
    const badEnt = await call("/publish", {
      method: "POST",
      body: '{"feed":"F","topic":"T","data":"a","entitlements":["x"]}',
    });
    assert.match(badEnt.json.error, /"entitlements" must be an array of 32-bit integers/);
    assert.deepEqual(await call("/publish", { method: "POST", body: '{"feed":"F","topic":"T","base64":"AAE="}' }), {
      status: 200,
      json: { sent: 0 },
    });
    assert.equal((await call("/clients", { method: "PUT" })).status, 405);
    assert.equal((await call("/", { method: "DELETE" })).status, 405);
    const admin = fake.lines().filter((l) => l.kind === "admin");
    assert.ok(admin.some((l) => l.path === "/queues" && l.status === 404));
  } finally {
    assert.equal(await fake.stop(), ExitCode.Ok);
  }
  const ready = await fake.ready;
  await assertRefused(ready.port);
  await assertRefused(portOf(ready.admin));
});

Deno.test("pubsub fake: a port already taken is exit code 1, and nothing is left listening", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = String((taken.addr as Deno.NetAddr).port);
    for (const system of ["messagebus", "streamsea", "httppubsub"]) {
      const r = await cli(["fake", system, "--port", port], open);
      assert.equal(r.code, ExitCode.Failure, system);
      assert.match(r.stderr, /^pubsub fake: AddrInUse: /, system);
    }
    // The fake started, then its admin endpoint could not listen: the fake is stopped again.
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const fakePort = (free.addr as Deno.NetAddr).port;
    free.close();
    const admin = await cli(["fake", "messagebus", "--port", String(fakePort), "--admin-port", port], open);
    assert.equal(admin.code, ExitCode.Failure);
    await assertRefused(fakePort);
  } finally {
    taken.close();
  }
});

Deno.test("FakeLog masks secret-looking keys at any depth, previews payloads, and drops lines beyond 1000 waiting", async () => {
  assert.deepEqual(
    redact({
      payload: { clientId: "abc", clientSecret: "s", jwt: "j" },
      password: "p",
      headers: { Authorization: "Bearer x" },
      list: [{ token: "t", key: "orders/*" }],
      secret: null,
    }),
    {
      payload: { clientId: "abc", clientSecret: "***", jwt: "***" },
      password: "***",
      headers: { Authorization: "***" },
      list: [{ token: "***", key: "orders/*" }],
      secret: null,
    },
  );
  assert.deepEqual(preview(new TextEncoder().encode("hi")), { bytes: 2, text: "hi" });
  assert.deepEqual(preview(new Uint8Array([0xff, 0x00])), { bytes: 2, base64: "/wA=" });
  const long = preview(new TextEncoder().encode("é".repeat(200)));
  assert.equal(long.bytes, 400);
  assert.equal(long.truncated, true);
  assert.ok(typeof long.text === "string" && (long.text as string).length <= 128);
  const big = previewJson({ a: "x".repeat(5000), clientSecret: "s3cr3t" }) as Record<string, unknown>;
  assert.equal(big.truncated, true);
  assert.ok(!String(big.head).includes("s3cr3t"));

  // A reader that does not read: 1000 lines wait, the rest are counted, and reported once it reads again.
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const written: string[] = [];
  const out = new Output(
    new WritableStream<Uint8Array>({
      async write(chunk) {
        await gate;
        written.push(new TextDecoder().decode(chunk));
      },
    }, { highWaterMark: 1 }),
  );
  const log = new FakeLog(out, true);
  for (let i = 0; i < 1005; i++) log.line({ kind: "frame", n: i });
  release();
  await log.flush();
  assert.equal(written.length, 1000);
  log.line({ kind: "frame", n: "after" });
  await log.flush();
  const tail = written.slice(1000).map((l) => JSON.parse(l));
  assert.deepEqual(tail.map((r) => [r.kind, r.count ?? r.n]), [["log-dropped", 5], ["frame", "after"]]);
  assert.ok(written.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n")));
  out.release();
  const off = new FakeLog(new Output(new WritableStream()), false);
  off.line({ kind: "x" });
  assert.equal(off.enabled, false);
});

Deno.test("parseUsers and parseClients read the credential options", () => {
  assert.deepEqual(parseUsers(["alice:pw,bob:p:w", "carol:"]), { alice: "pw", bob: "p:w", carol: "" });
  assert.deepEqual(parseClients(["abc:def@north,zed:s@e@j2", "x:y"]), [
    { clientId: "abc", clientSecret: "def", jailId: "north" },
    { clientId: "zed", clientSecret: "s@e", jailId: "j2" },
    { clientId: "x", clientSecret: "y", jailId: "some_jail" },
  ]);
});

Deno.test("pubsub fake: the ready line's url opens with open() (messagebus v4/contentType, streamsea, httppubsub token)", async () => {
  const { open: openUrl } = await import("../../src/open.ts");
  const cases: [string[], string, (ready: Record<string, unknown>) => Record<string, unknown>][] = [
    [
      ["messagebus", "--users", "alice:p@ss w", "--dialect", "v4", "--image-field", "contentType"],
      "PRICES/EURUSD",
      () => ({ feed: "PRICES", topic: "EURUSD", data: "1.08", contentType: "text/plain" }),
    ],
    [
      ["streamsea", "--client", "abc:s3:cret@north"],
      "boiler",
      () => ({ stream: "boiler", payload: { t: 1 }, jail: "north" }),
    ],
    [["httppubsub", "--to-broadcaster", "token"], "orders/1", () => ({ topic: "orders/1", json: { t: 1 } })],
  ];
  for (const [args, topic, body] of cases) {
    const fake = startInProcess([...args, "--quiet"]);
    const ready = await fake.ready;
    const ps = await openUrl(String(ready.url));
    try {
      const sub = ps.subscribe(topic);
      await sub.ready;
      const reader = sub.getReader();
      const reading = reader.read();
      const res = await fetch(`${ready.admin}/publish`, { method: "POST", body: JSON.stringify(body(ready)) });
      assert.equal(res.status, 200, `${args[0]}: ${await res.text()}`);
      const { value } = await reading;
      assert.match(value!.text(), /1\.08|"t":1|\{"t":1\}/, args[0]);
      reader.releaseLock();
      await sub.close();
    } finally {
      await ps.close();
      assert.equal(await fake.stop(), ExitCode.Ok);
    }
  }
});

Deno.test("pubsub fake messagebus --tls-cert --tls-key serves TLS with that certificate", async () => {
  const { testPki } = await import("../messagebus/_helpers.ts");
  const { MessageBusClient } = await import("../../src/messagebus/mod.ts");
  const pki = await testPki();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cert.pem`, pki.cert);
    await Deno.writeTextFile(`${dir}/key.pem`, pki.key);
    const fake = startInProcess(["messagebus", "--tls-cert", `${dir}/cert.pem`, "--tls-key", `${dir}/key.pem`]);
    const ready = await fake.ready;
    try {
      assert.equal(ready.tls, true);
      assert.equal(ready.url, `messagebus+tls://127.0.0.1:${ready.port}`);
      const client = await MessageBusClient.create("127.0.0.1", ready.port as number, {
        tls: { caCerts: [pki.ca] },
        reconnect: false,
      });
      await client.start();
      const sub = client.subscribe("F", "T", { sync: true });
      await sub.ready;
      const res = await fetch(`${ready.admin}/publish`, {
        method: "POST",
        body: JSON.stringify({ feed: "F", topic: "T", data: "over tls" }),
      });
      assert.deepEqual(await res.json(), { sent: 1 });
      const reader = sub.getReader();
      assert.equal((await reader.read()).value!.text(), "over tls");
      reader.releaseLock();
      await client.stop();
    } finally {
      assert.equal(await fake.stop(), ExitCode.Ok);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AdminBody.payload() decodes base64 as atob does (ASCII whitespace skipped) and refuses what is not base64", () => {
  const payload = (base64: string) => new AdminBody({ base64 }).payload();
  assert.deepEqual(payload("AAE="), new Uint8Array([0, 1]));
  assert.deepEqual(payload("/w\nA=\r\n"), new Uint8Array([0xff, 0]));
  assert.deepEqual(payload("AA E"), new Uint8Array([0, 1]));
  for (const bad of ["A", "-_8=", "AA=E", "AAE=="]) {
    assert.throws(
      () => payload(bad),
      (e: unknown) => e instanceof AdminError && /"base64" is not valid base64/.test(e.message),
    );
  }
});
