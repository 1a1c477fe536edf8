// FakeMessageBus's handles for driving it from outside (what `pubsub fake messagebus` uses): subscriptions,
// publish(), disconnect(), the observer and the hostname option.

import assert from "node:assert/strict";
import { BasicAuthenticator, MessageBusClient } from "../../src/messagebus/mod.ts";
import { FakeMessageBus, type FakeMessageBusEvent } from "../../src/testing/messagebus/mod.ts";
import { sleep, take, utf8, within } from "./_helpers.ts";

const USERS = { alice: "a-pw", bob: "b-pw", auth: "z-pw" };

async function until(cond: () => boolean, what: string): Promise<void> {
  await within(
    (async () => {
      while (!cond()) await sleep(5);
    })(),
    5000,
    what,
  );
}

async function login(server: FakeMessageBus, user: keyof typeof USERS): Promise<MessageBusClient> {
  const client = await MessageBusClient.create("127.0.0.1", server.port, {
    authenticator: new BasicAuthenticator(user, USERS[user]),
    reconnect: false,
  });
  await client.start();
  return client;
}

Deno.test("FakeMessageBus.subscriptions lists each client's subscriptions with counts; disconnect() drops one client", async () => {
  await using server = await FakeMessageBus.start({ authentication: { kind: "password", users: USERS } });
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  try {
    const a1 = alice.subscribe("PRICES", "EURUSD", { sync: true });
    const a2 = alice.subscribe("PRICES", "EURUSD", { sync: true });
    const b1 = bob.subscribe("PRICES", "GBPUSD", { sync: true });
    await Promise.all([a1.ready, a2.ready, b1.ready]);
    const [aliceId, bobId] = ["alice", "bob"].map((u) => server.clients.find((c) => c.user === u)!.id);
    const sorted = server.subscriptions.sort((x, y) => x.topic.localeCompare(y.topic));
    assert.deepEqual(sorted, [
      { clientId: aliceId, user: "alice", feed: "PRICES", topic: "EURUSD", refCount: 2 },
      { clientId: bobId, user: "bob", feed: "PRICES", topic: "GBPUSD", refCount: 1 },
    ]);

    const ended = alice.closed;
    assert.equal(server.disconnect(aliceId!), true);
    assert.ok((await within(ended, 5000, "alice's client noticing")) !== undefined, "ended with an error");
    await until(() => server.subscriptions.length === 1, "alice's subscriptions gone");
    assert.deepEqual(server.clients.map((c) => c.user), ["bob"]);
    assert.equal(server.disconnect(aliceId!), false);
    assert.equal(server.disconnect("no-such-client"), false);
  } finally {
    await alice.stop();
    await bob.stop();
  }
});

Deno.test("FakeMessageBus.publish() reaches every subscriber, each one's packets filtered by its entitlements", async () => {
  await using server = await FakeMessageBus.start({
    authentication: { kind: "password", users: USERS },
    feeds: { SECURE: { isAuthorizationRequired: true, authorizers: ["auth"] } },
  });
  const authorizer = await login(server, "auth");
  const alice = await login(server, "alice");
  const bob = await login(server, "bob");
  try {
    const requests = authorizer.authorizationRequests();
    const answering = (async () => {
      for await (const r of requests) {
        await authorizer.authorize(r.clientId, r.feed, r.topic, true, new Set([r.user === "alice" ? 1 : 2]));
      }
    })();
    const a = alice.subscribe("SECURE", "T");
    const b = bob.subscribe("SECURE", "T");
    const open = bob.subscribe("OPEN", "T", { sync: true });
    await open.ready;
    await until(() => server.subscriptions.filter((s) => s.feed === "SECURE").length === 2, "both authorized");

    const packets = [
      { entitlements: new Set([1]), data: utf8("for 1") },
      { entitlements: new Set([2]), data: utf8("for 2") },
      { entitlements: null, data: utf8("for nobody entitled") },
    ];
    assert.equal(server.publish("SECURE", "T", packets, { isImage: true, user: "feeder" }), 2);
    const [[ma], [mb]] = await Promise.all([take(a, 1), take(b, 1)]);
    assert.deepEqual(ma!.packets?.map((p) => new TextDecoder().decode(p.data!)), ["for 1"]);
    assert.deepEqual(mb!.packets?.map((p) => new TextDecoder().decode(p.data!)), ["for 2"]);
    assert.deepEqual([ma!.user, ma!.host, ma!.isImage], ["feeder", server.clients[0]!.host, true]);

    // Without authorization every packet goes; the default publisher is "admin"; nobody subscribed: 0.
    assert.equal(server.publish("OPEN", "T", packets), 1);
    const [mo] = await take(open, 1);
    assert.deepEqual([mo!.user, mo!.isImage, mo!.packets?.length], ["admin", false, 3]);
    assert.equal(server.publish("OPEN", "nobody", packets), 0);
    await requests.close();
    await answering;
  } finally {
    await Promise.all([authorizer.stop(), alice.stop(), bob.stop()]);
  }
});

Deno.test("FakeMessageBus observer is told of logins, failed logins, messages and disconnects; hostname binds there", async () => {
  const events: FakeMessageBusEvent[] = [];
  await using server = await FakeMessageBus.start({
    hostname: "127.0.0.2",
    authentication: { kind: "password", users: USERS },
    onAuthFailure: "close",
    observer: (e) => {
      events.push(e);
      throw new Error("an observer that throws does not break the fake");
    },
  });
  assert.equal(server.hostname, "127.0.0.2");
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.port }), Deno.errors.ConnectionRefused);

  const alice = await MessageBusClient.create("127.0.0.2", server.port, {
    authenticator: new BasicAuthenticator("alice", "a-pw"),
    reconnect: false,
  });
  await alice.start();
  const s = alice.subscribe("F", "T", { sync: true });
  await s.ready;
  await alice.stop();
  const intruder = await MessageBusClient.create("127.0.0.2", server.port, {
    authenticator: new BasicAuthenticator("alice", "wrong"),
    reconnect: false,
    loginTimeoutMs: 2000,
  });
  await assert.rejects(intruder.start());
  await intruder.stop();
  await until(() => events.some((e) => e.type === "login-failed"), "the failed login");
  await until(() => events.some((e) => e.type === "disconnect"), "the disconnect");

  const types = events.map((e) => e.type);
  assert.equal(types[0], "login");
  assert.equal(types.at(-1), "login-failed");
  assert.ok(types.indexOf("disconnect") > types.indexOf("message"));
  const adds = events.filter((e) =>
    e.type === "message" && e.message.type === 5 && e.message.feed === "F" && e.message.topic === "T" &&
    e.message.isAdd
  );
  assert.equal(adds.length, 1, "the subscription request for F/T");
  const first = events[0]!;
  assert.ok(first.type === "login" && first.client.user === "alice" && typeof first.client.id === "string");
});
