// `pubsub fake <system>` as a subprocess (`deno run -A src/cli/mod.ts fake …`): our client connects with what the
// ready line prints, a scenario runs through the admin endpoint, SIGTERM stops it with exit code 0, and the ports
// refuse connections afterwards (checked from outside).

import assert from "node:assert/strict";
import { AuthError } from "../../src/core/errors.ts";
import { BasicAuthenticator, MessageBusClient } from "../../src/messagebus/mod.ts";
import { StreamSeaClient } from "../../src/streamsea/mod.ts";
import { authConfigFromFile, HttpPubSubClient, WebsocketPubSubClient } from "../../src/httppubsub/mod.ts";
import { Connection } from "../../src/mdb/mod.ts";
import { natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { admin, assertRefused, eventually, FakeProcess, portOf, within } from "./fake_helpers.ts";

function once(target: EventTarget, type: string): Promise<Event> {
  return new Promise((resolve) => target.addEventListener(type, resolve, { once: true }));
}

Deno.test("pubsub fake messagebus: login, admin lists, publishes, kills and restarts; SIGTERM exits 0", async () => {
  const fake = new FakeProcess(["messagebus", "--users", "alice:alice-pw-7f3,bob:bob-pw-9c1", "--log"]);
  try {
    const ready = await fake.ready();
    assert.equal(ready.fake, "messagebus");
    assert.equal(ready.url, `messagebus://alice:alice-pw-7f3@127.0.0.1:${ready.port}`);
    assert.deepEqual(ready.users, { alice: "alice-pw-7f3", bob: "bob-pw-9c1" });
    assert.equal(ready.dialect, "v3");
    const port = ready.port as number;

    const client = await MessageBusClient.create("127.0.0.1", port, {
      authenticator: new BasicAuthenticator("alice", "alice-pw-7f3"),
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    await client.start();
    const prices = client.subscribe("PRICES", "EURUSD", { sync: true });
    await prices.ready;
    const reader = prices.getReader();

    const subs = await admin(ready.admin, "/subscriptions");
    assert.equal(subs.status, 200);
    assert.deepEqual(subs.json.map((s: Record<string, unknown>) => [s.user, s.feed, s.topic, s.refCount]), [
      ["alice", "PRICES", "EURUSD", 1],
    ]);
    assert.deepEqual((await admin(ready.admin, "/clients")).json.map((c: Record<string, unknown>) => c.user), [
      "alice",
    ]);

    // Publish from the fake's side: the client gets it from the user "admin".
    const published = await admin(ready.admin, "/publish", { feed: "PRICES", topic: "EURUSD", data: "1.0801" });
    assert.deepEqual(published, { status: 200, json: { sent: 1 } });
    const first = (await within(reader.read(), "message 1")).value!;
    assert.deepEqual([first.user, first.feed, first.topic, first.text()], ["admin", "PRICES", "EURUSD", "1.0801"]);
    assert.equal((await admin(ready.admin, "/publish", { feed: "PRICES" })).status, 400);

    // Wrong credentials: refused, and logged without the password.
    const intruder = await MessageBusClient.create("127.0.0.1", port, {
      authenticator: new BasicAuthenticator("alice", "wrong-pw-4e2"),
      reconnect: false,
      loginTimeoutMs: 500,
    });
    await assert.rejects(intruder.start(), AuthError);
    await intruder.stop();
    await fake.record((r) => r.kind === "login-failed", "a login-failed line");

    // Kill: the client's connection drops; it reconnects and subscribes again.
    let reconnected = once(client.status, "reconnected");
    const killed = await admin(ready.admin, "/kill", {});
    assert.equal(killed.json.killed, 1);
    await within(reconnected, "the client reconnecting");
    await eventually(async () => (await admin(ready.admin, "/subscriptions")).json.length === 1 || undefined, "resub");

    // Restart: the same port, a fresh server; the client comes back again.
    reconnected = once(client.status, "reconnected");
    assert.deepEqual((await admin(ready.admin, "/restart", {})).json, { restarted: true, port });
    await within(reconnected, "the client reconnecting");
    await eventually(async () => (await admin(ready.admin, "/subscriptions")).json.length === 1 || undefined, "resub");
    await admin(ready.admin, "/publish", { feed: "PRICES", topic: "EURUSD", json: { bid: 1.08 } });
    assert.deepEqual((await within(reader.read(), "message 2")).value!.json(), { bid: 1.08 });

    // The log: one JSON object per line, the client's frames among them, and no password anywhere.
    const frames = fake.records().filter((r) => r.kind === "frame");
    assert.ok(frames.some((f) => f.type === "SubscriptionRequest" && f.feed === "PRICES" && f.isAdd === true));
    assert.ok(fake.records().some((r) => r.kind === "login" && r.user === "alice"));
    const logged = fake.lines.slice(1).join("\n") + fake.stderr;
    for (const secret of ["alice-pw-7f3", "bob-pw-9c1", "wrong-pw-4e2"]) assert.ok(!logged.includes(secret), secret);

    reader.releaseLock();
    await client.stop();
    const { code, stderr } = await fake.stop();
    assert.equal(code, 0, stderr);
    await assertRefused(port);
    await assertRefused(portOf(ready.admin));
  } finally {
    await fake.dispose();
  }
});

Deno.test("pubsub fake streamsea: two jails, schemas and streams listed, publish, kill, restart; SIGTERM exits 0", async () => {
  const fake = new FakeProcess(["streamsea", "--client", "abc:abc-secret-1@north", "-c", "zed:zed-secret-2", "--log"]);
  try {
    const ready = await fake.ready();
    assert.equal(ready.fake, "streamsea");
    assert.equal(ready.url, `streamsea+ws://abc:abc-secret-1@127.0.0.1:${ready.port}`);
    assert.deepEqual(ready.clients, [
      { clientId: "abc", clientSecret: "abc-secret-1", jailId: "north" },
      { clientId: "zed", clientSecret: "zed-secret-2", jailId: "some_jail" },
    ]);
    const port = ready.port as number;
    const reconnect = { delayMs: 20, maxDelayMs: 200, jitter: 0 };
    const abc = new StreamSeaClient({
      remoteHost: "127.0.0.1",
      remotePort: port,
      clientId: "abc",
      clientSecret: "abc-secret-1",
    });
    await abc.defineStream({ name: "boiler", version: 1, fields: [{ name: "t", type: "float" }] });
    const sub = abc.subscribe("boiler", { groupId: crypto.randomUUID(), reconnect });
    await sub.ready;
    const reader = sub.getReader();
    const reconnected = () => once(abc.status, "reconnected");

    assert.deepEqual(
      (await admin(ready.admin, "/schemas")).json.map((s: Record<string, unknown>) => [s.jailId, s.name]),
      [
        ["north", "boiler"],
      ],
    );
    assert.deepEqual((await admin(ready.admin, "/streams")).json, [
      { jailId: "north", stream: "boiler", version: 1, subscriptions: 1 },
    ]);
    assert.deepEqual((await admin(ready.admin, "/clients")).json, [
      { connection: 1, clientId: "abc", jailId: "north", subscriptions: 1 },
    ]);

    // Publish from the fake's side, into the right jail only.
    assert.equal((await admin(ready.admin, "/publish", { stream: "boiler", payload: [] })).status, 400);
    assert.equal((await admin(ready.admin, "/publish", { stream: "boiler", payload: 7 })).status, 400);
    assert.deepEqual((await admin(ready.admin, "/publish", { stream: "boiler", payload: { t: 1 } })).json, {
      delivered: 0,
    });
    assert.deepEqual(
      (await admin(ready.admin, "/publish", { stream: "boiler", payload: { t: 2 }, jail: "north" })).json,
      { delivered: 1 },
    );
    assert.deepEqual((await within(reader.read(), "message 3")).value!.payload, { t: 2 });

    // Kill: the client reconnects; a publish through HTTP reaches it again.
    let back = reconnected();
    assert.deepEqual((await admin(ready.admin, "/kill", { code: 1012 })).json, { killed: 1 });
    await within(back, "the client reconnecting");
    await abc.publish("boiler", { t: 3 });
    assert.deepEqual((await within(reader.read(), "message 4")).value!.payload, { t: 3 });

    // Restart on the same port: schemas are kept, the client reconnects.
    back = reconnected();
    assert.deepEqual((await admin(ready.admin, "/restart", {})).json, { restarted: true, port });
    await within(back, "the client reconnecting");
    assert.equal((await admin(ready.admin, "/schemas")).json.length, 1);
    await abc.publish("boiler", { t: 4 });
    assert.deepEqual((await within(reader.read(), "message 5")).value!.payload, { t: 4 });

    // Settings change at run time: a refused login.
    await admin(ready.admin, "/settings", { refuseAuth: true });
    const zed = new StreamSeaClient({ remoteHost: "127.0.0.1", remotePort: port, clientId: "zed", clientSecret: "x" });
    const refused = zed.subscribe("boiler", { reconnect: false });
    await assert.rejects(within(refused.ready, "the refusal"), AuthError);
    await zed.close();
    assert.equal((await admin(ready.admin, "/settings", { refuseAuth: "yes" })).status, 400);

    // The log has the frames (credentials masked) and the HTTP requests, never a secret.
    const auth = await fake.record(
      (r) => r.kind === "frame" && (r.frame as { action?: string }).action === "authenticate",
      "an auth frame",
    );
    assert.equal((auth.frame as { payload: { clientSecret: string } }).payload.clientSecret, "***");
    assert.ok(fake.records().some((r) => r.kind === "http" && r.path === "/api/v1/streams/boiler/publish"));
    const logged = fake.lines.slice(1).join("\n") + fake.stderr;
    for (const secret of ["abc-secret-1", "zed-secret-2"]) assert.ok(!logged.includes(secret), secret);

    reader.releaseLock();
    await abc.close();
    const { code, stderr } = await fake.stop();
    assert.equal(code, 0, stderr);
    await assertRefused(port);
    await assertRefused(portOf(ready.admin));
  } finally {
    await fake.dispose();
  }
});

Deno.test("pubsub fake httppubsub: hmac and token secrets written, HTTP and WebSocket subscribers, kill, restart; SIGTERM exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fake-httppubsub-test-" });
  const secretsFile = `${dir}/secrets.json`;
  const fake = new FakeProcess([
    "httppubsub",
    "--to-broadcaster",
    "hmac",
    "--to-subscriber",
    "token",
    "--secrets",
    secretsFile,
    "--log",
  ]);
  try {
    const ready = await fake.ready();
    assert.equal(ready.fake, "httppubsub");
    assert.deepEqual([ready.toBroadcaster, ready.toSubscriber, ready.secrets], ["hmac", "token", secretsFile]);
    const written = JSON.parse(await Deno.readTextFile(secretsFile));
    assert.deepEqual(ready.credentials, written);
    assert.equal(written["to-broadcaster"].type, "hmac");
    const port = ready.port as number;
    const auth = await authConfigFromFile(secretsFile);

    const http = new HttpPubSubClient({ broadcasters: [String(ready.broadcaster)], bind: { type: "serve" }, ...auth });
    const ws = new WebsocketPubSubClient({
      broadcasters: [String(ready.broadcaster)],
      ...auth,
      reconnectTimeoutMs: 20_000,
    });
    const a = http.subscribeExact("orders/1");
    const b = ws.subscribeGlob("orders/*");
    await Promise.all([a.ready, b.ready]);
    const ra = a.getReader();
    const rb = b.getReader();

    const subs = (await admin(ready.admin, "/subscriptions")).json as Record<string, unknown>[];
    assert.deepEqual(subs.map((s) => [s.transport, s.kind, s.key]).sort(), [
      ["http", "exact", "orders/1"],
      ["websocket", "glob", "orders/*"],
    ]);
    assert.deepEqual(
      (await admin(ready.admin, "/clients")).json.map((c: Record<string, unknown>) => c.transport).sort(),
      [
        "http",
        "websocket",
      ],
    );

    // Publish from the fake's side (a notify signed with the to-broadcaster secret). Our HTTP subscriber confirms
    // a delivery once its reader took it, so the reads are under way first.
    const readBoth = () => Promise.all([within(ra.read(), "the HTTP copy"), within(rb.read(), "the WebSocket copy")]);
    let both = readBoth();
    const notified = await admin(ready.admin, "/publish", { topic: "orders/1", data: "kettle" });
    assert.deepEqual(notified, { status: 200, json: { notified: 2 } });
    assert.deepEqual((await both).map((r) => r.value!.text()), ["kettle", "kettle"]);

    // Kill: the WebSocket subscriber is closed; it reconnects and subscribes again.
    assert.deepEqual((await admin(ready.admin, "/kill", {})).json, { killed: 1 });
    await eventually(async () => {
      const c = (await admin(ready.admin, "/clients")).json as Record<string, unknown>[];
      return c.some((x) => x.transport === "websocket" && x.subscriptions === 1) || undefined;
    }, "the websocket subscriber back");

    // Restart on the same port: the HTTP subscription is kept (lonelypss keeps them in its database).
    assert.deepEqual((await admin(ready.admin, "/restart", {})).json, { restarted: true, port });
    await eventually(async () => {
      const c = (await admin(ready.admin, "/clients")).json as Record<string, unknown>[];
      return c.some((x) => x.transport === "websocket" && x.subscriptions === 1) || undefined;
    }, "the websocket subscriber back after the restart");
    both = readBoth();
    const { notified: n } = await http.notify({ topic: "orders/1", data: "toaster" });
    assert.equal(n, 2);
    assert.deepEqual((await both).map((r) => r.value!.text()), ["toaster", "toaster"]);

    // The log: HTTP requests, WebSocket frames, the fake's own receive POSTs, and no secret.
    await fake.record((r) => r.kind === "frame" && r.type === "subscribe-glob" && r.glob === "orders/*", "a frame");
    assert.ok(fake.records().some((r) => r.kind === "http" && r.path === "/v1/set_subscriptions"));
    assert.ok(fake.records().some((r) => r.kind === "http-out" && r.status === 200));
    const logged = fake.lines.slice(1).join("\n") + fake.stderr;
    for (const d of ["to-broadcaster", "to-subscriber"]) assert.ok(!logged.includes(written[d].secret), d);

    ra.releaseLock();
    rb.releaseLock();
    await Promise.all([http.close(), ws.close()]);
    const { code, stderr } = await fake.stop();
    assert.equal(code, 0, stderr);
    await assertRefused(port);
    await assertRefused(portOf(ready.admin));
    assert.ok((await Deno.stat(secretsFile)).isFile, "a secrets file named on the command line is kept");
  } finally {
    await fake.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

const natsSkip = natsServerSkipReason();
if (natsSkip !== undefined) console.log(natsSkip);

Deno.test({
  name: "pubsub fake mdb: nats-server and the MAS, a subscription, admin publish, restart; SIGTERM stops everything",
  ignore: natsSkip !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fake-mdb-test-" });
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const masPort = (free.addr as Deno.NetAddr).port;
    free.close();
    const fake = new FakeProcess([
      "mdb",
      "--port",
      String(masPort),
      "--dataset",
      "weather",
      "--user",
      "bob",
      "--pki-dir",
      `${dir}/pki`,
      "--log",
    ]);
    try {
      const ready = await fake.ready();
      assert.equal(ready.fake, "mdb");
      assert.equal(ready.mas, `https://127.0.0.1:${masPort}`);
      assert.equal(ready.cert, `${dir}/pki/cert.crt`);
      assert.deepEqual(Object.keys(ready.users as object).sort(), ["alice", "bob"]);
      const conn = await Connection.connect(String(ready.mas), {
        cert: [String(ready.cert), String(ready.key)],
        caBundle: String(ready.ca),
        maxReconnectAttempts: -1,
        reconnectTimeWaitMs: 100,
      });
      const sub = await conn.subscribe("weather", { offset: "begin" });
      const reader = sub.getReader();

      const pub = await admin(ready.admin, "/publish", { dataset: "weather", json: { celsius: 21.5 } });
      assert.deepEqual(pub, { status: 200, json: { dataset: "weather", sequence: 1 } });
      assert.deepEqual((await within(reader.read(), "message 10")).value!.json(), { celsius: 21.5 });

      const streams = (await admin(ready.admin, "/streams")).json as Record<string, unknown>[];
      assert.deepEqual(streams.map((s) => [s.name, s.subjects, s.messages]), [[
        "EVENTS_weather",
        ["EVENTS.weather"],
        1,
      ]]);
      const durables = await eventually(async () => {
        const s = (await admin(ready.admin, "/subscriptions")).json as Record<string, unknown>[];
        return s.length === 1 && s[0]!.ackFloorStreamSeq === 1 ? s : undefined;
      }, "the durable's ack floor");
      assert.equal(durables[0]!.stream, "EVENTS_weather");
      const clients = (await admin(ready.admin, "/clients")).json as Record<string, unknown>[];
      assert.ok(clients.some((c) => c.name === "alice (weather)"), JSON.stringify(clients));
      await fake.record((r) => r.kind === "https" && r.role === "mas" && r.status === 200, "the MAS call");

      // Restart nats-server: the subscription resumes.
      assert.deepEqual((await admin(ready.admin, "/restart", {})).json, { restarted: true });
      assert.equal((await admin(ready.admin, "/publish", { dataset: "weather", data: "after" })).status, 200);
      assert.equal((await within(reader.read(), "message 11")).value!.text(), "after");

      // A second dataset made through the admin endpoint.
      assert.deepEqual((await admin(ready.admin, "/datasets", { slug: "rain" })).json, {
        slug: "rain",
        subject: "EVENTS.rain",
      });

      reader.releaseLock();
      await sub.close();
      await conn.close();
      const { code, stderr } = await fake.stop();
      assert.equal(code, 0, stderr);
      for (const url of [ready.mas, ready.nats, ready.natsWebsocket, ready.natsMonitor, ready.admin]) {
        await assertRefused(portOf(url));
      }
      await assert.rejects(Deno.stat(String(ready.natsLog)), Deno.errors.NotFound);
      assert.ok((await Deno.stat(String(ready.cert))).isFile, "--pki-dir copies are kept");
    } finally {
      await fake.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
