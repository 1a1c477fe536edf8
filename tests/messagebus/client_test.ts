import assert from "node:assert/strict";
import { ClosedError } from "../../src/core/errors.ts";
import { type AuthorizationRequestEvent, type DataPacket, MessageBusClient } from "../../src/messagebus/mod.ts";
import { encodeCredentials, encodeMessage } from "../../src/messagebus/wire.ts";
import { FakeMessageBus } from "../../src/testing/messagebus/mod.ts";
import { sleep, take, toHex, utf8, within } from "./_helpers.ts";

const text = (p: DataPacket) => (p.data === null ? null : new TextDecoder().decode(p.data));

async function connect(server: FakeMessageBus, options = {}): Promise<MessageBusClient> {
  const client = await MessageBusClient.create("127.0.0.1", server.port, { reconnect: false, ...options });
  await client.start();
  return client;
}

Deno.test("MessageBusClient.subscribe() delivers what another client publishes, with user, host and packets", async () => {
  await using server = await FakeMessageBus.start({ hostName: "hosta" });
  const sub = await connect(server);
  const pub = await connect(server);
  const stream = sub.subscribe("TEST", "FOO", { sync: true });
  await stream.ready;
  await pub.publish("TEST", "FOO", true, [{ entitlements: new Set([1]), data: utf8("image") }]);
  await pub.publish("TEST", "FOO", false, [{ entitlements: null, data: utf8("d1") }, {
    entitlements: null,
    data: utf8("d2"),
  }]);
  await pub.publish("TEST", "OTHER", false, [{ entitlements: null, data: utf8("not for us") }]);
  await pub.publish("TEST", "FOO", false, null);
  const [a, b, c] = await take(stream, 3);
  assert.equal(a?.user, "unknown");
  assert.equal(a?.host, "hosta");
  assert.equal(a?.feed, "TEST");
  assert.equal(a?.topic, "FOO");
  assert.equal(a?.isImage, true);
  assert.equal(a?.contentType, null);
  assert.deepEqual(a?.packets?.[0]?.entitlements, new Set([1]));
  assert.equal(a?.text(), "image");
  assert.equal(b?.isImage, false);
  assert.deepEqual(b?.packets?.map(text), ["d1", "d2"]);
  assert.equal(b?.text(), "d1d2");
  assert.equal(c?.packets, null);
  assert.equal(c?.data.length, 0);
  await pub.stop();
  await sub.stop();
});

Deno.test("MessageBusClient data handlers are awaited in registration order, for multicast and unicast", async () => {
  await using server = await FakeMessageBus.start();
  const sub = await connect(server);
  const pub = await connect(server);
  const calls: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  sub.dataHandlers.push(async (user, _host, feed, topic, packets, isImage) => {
    calls.push(`first ${user} ${feed}/${topic} ${isImage} ${packets?.map(text).join(",")}`);
    await gate;
  });
  sub.dataHandlers.push((_u, _h, _f, _t, packets) => void calls.push(`second ${packets?.map(text).join(",")}`));
  const notes = pub.notifications("TEST");
  await sub.addSubscription("TEST", "FOO");
  const [added] = await take(notes, 1);
  assert.ok(added?.isAdd);
  await pub.publish("TEST", "FOO", false, [{ entitlements: null, data: utf8("m") }]);
  await pub.send(added!.clientId, "TEST", "FOO", true, [{ entitlements: null, data: utf8("u") }]);
  await sleep(50);
  assert.deepEqual(calls, ["first unknown TEST/FOO false m"]);
  release();
  await within(
    (async () => {
      while (calls.length < 4) await sleep(5);
    })(),
    2000,
    "all handler calls",
  );
  assert.deepEqual(calls, ["first unknown TEST/FOO false m", "second m", "first unknown TEST/FOO true u", "second u"]);
  await notes.close();
  await pub.stop();
  await sub.stop();
});

Deno.test("MessageBusClient.send() reaches only the addressed subscriber, marked as unicast", async () => {
  await using server = await FakeMessageBus.start();
  const publisher = await connect(server);
  const notes = publisher.notifications("TEST", { sync: true });
  await notes.ready;
  const a = await connect(server);
  const b = await connect(server);
  const sa = a.subscribe("TEST", "FOO");
  const [na] = await take(notes, 1);
  const sb = b.subscribe("TEST", "FOO");
  const [nb] = await take(notes, 1);
  assert.notEqual(na!.clientId, nb!.clientId);
  // Unicast to a client that is not subscribed to this topic is dropped.
  await publisher.send(na!.clientId, "TEST", "NOPE", true, [{ entitlements: null, data: utf8("dropped") }]);
  await publisher.send(na!.clientId, "TEST", "FOO", true, [{ entitlements: null, data: utf8("for one") }]);
  await publisher.publish("TEST", "FOO", false, [{ entitlements: null, data: utf8("for all") }]);
  const gotA = await take(sa, 2);
  const gotB = await take(sb, 1);
  assert.deepEqual(gotA.map((m) => [m.text(), m.unicast]), [["for one", true], ["for all", false]]);
  assert.deepEqual(gotB.map((m) => [m.text(), m.unicast]), [["for all", false]]);
  await Promise.all([a.stop(), b.stop(), publisher.stop()]);
});

Deno.test("MessageBusClient.notifications() replays current subscribers, then adds, removes and disconnects", async () => {
  await using server = await FakeMessageBus.start();
  const early = await connect(server);
  await early.addSubscription("SEL", "A");
  await early.addSubscription("SEL", "A");
  await early.addSubscription("SEL", "B");
  await early.ping();
  const watcher = await connect(server);
  const notes = watcher.notifications("SEL");
  const replay = await take(notes, 2);
  // One replay per (topic, client), not per reference count.
  assert.deepEqual(replay.map((n) => `${n.topic} ${n.isAdd} ${n.user}`).sort(), ["A true unknown", "B true unknown"]);
  const late = await connect(server);
  await late.addSubscription("SEL", "A");
  await late.removeSubscription("SEL", "A");
  // Every remove request is forwarded, even for a subscription that never existed.
  await late.removeSubscription("SEL", "NEVER");
  const live = await take(notes, 3);
  assert.deepEqual(live.map((n) => `${n.topic} ${n.isAdd}`), ["A true", "A false", "NEVER false"]);
  assert.notEqual(live[0]!.clientId, replay[0]!.clientId);
  await early.stop();
  const gone = await take(notes, 2);
  assert.deepEqual(gone.map((n) => `${n.topic} ${n.isAdd}`).sort(), ["A false", "B false"]);
  assert.equal(gone[0]!.clientId, replay[0]!.clientId);
  await Promise.all([late.stop(), watcher.stop()]);
});

Deno.test("MessageBusClient select-feed flow: image by unicast on add, deltas by multicast, stale when the publisher leaves", async () => {
  await using server = await FakeMessageBus.start();
  const publisher = await connect(server);
  publisher.notificationHandlers.push(async (clientId, _user, _host, feed, topic, isAdd) => {
    if (isAdd) {
      await publisher.send(clientId, feed, topic, true, [{ entitlements: null, data: utf8(`image of ${topic}`) }]);
    }
  });
  await publisher.addNotification("PRICES");
  await publisher.ping();
  const subscriber = await connect(server);
  const stream = subscriber.subscribe("PRICES", "EUR");
  const [image] = await take(stream, 1);
  assert.equal(image?.text(), "image of EUR");
  assert.equal(image?.isImage, true);
  assert.equal(image?.unicast, true);
  await publisher.publish("PRICES", "EUR", false, [{ entitlements: null, data: utf8("delta 1") }]);
  const [delta] = await take(stream, 1);
  assert.equal(delta?.text(), "delta 1");
  assert.equal(delta?.isImage, false);
  await publisher.stop();
  const [stale] = await take(stream, 1);
  assert.equal(stale?.isServerNotice, true);
  assert.equal(stale?.isImage, true);
  assert.equal(stale?.packets, null);
  await subscriber.stop();
});

Deno.test("MessageBusClient authorizer grants entitlements and packets are filtered per recipient", async () => {
  await using server = await FakeMessageBus.start({
    authentication: { kind: "password", users: { auth: "a", level1: "p1", level2: "p2", pub: "pp" } },
    feeds: { MKT: { isAuthorizationRequired: true, authorizers: ["auth"] } },
  });
  const { BasicAuthenticator } = await import("../../src/messagebus/mod.ts");
  const login = (u: string, p: string) => connect(server, { authenticator: new BasicAuthenticator(u, p) });
  const authorizer = await login("auth", "a");
  const requests = authorizer.authorizationRequests();
  const granted: Record<string, Set<number> | null> = { level1: new Set([42]), level2: new Set([42, 43]), pub: null };
  const answering = (async () => {
    for await (const r of requests) {
      await authorizer.authorize(r.clientId, r.feed, r.topic, true, granted[r.user] ?? null);
    }
  })();
  const l1 = await login("level1", "p1");
  const l2 = await login("level2", "p2");
  const pub = await login("pub", "pp");
  const s1 = l1.subscribe("MKT", "X");
  const s2 = l2.subscribe("MKT", "X");
  const s3 = pub.subscribe("MKT", "X");
  // The unentitled subscriber gets the "not entitled" notice and no subscription.
  const [refused] = await take(s3, 1);
  assert.equal(refused?.isServerNotice, true);
  await within(
    (async () => {
      while (server.clients.filter((c) => server.refCount(c.id, "MKT", "X") > 0).length < 2) await sleep(5);
    })(),
    2000,
    "both subscriptions authorized",
  );
  await pub.publish("MKT", "X", false, [
    { entitlements: new Set([42]), data: utf8("level 1") },
    { entitlements: new Set([42, 43]), data: utf8("level 2") },
    { entitlements: null, data: utf8("untagged") },
  ]);
  await pub.publish("MKT", "X", false, [{ entitlements: new Set([99]), data: utf8("nobody") }]);
  const [a1, a2] = await take(s1, 2);
  const [b1, b2] = await take(s2, 2);
  assert.deepEqual(a1?.packets?.map(text), ["level 1"]);
  assert.deepEqual(b1?.packets?.map(text), ["level 1", "level 2"]);
  // Nothing left after filtering: the message still arrives, with no packets.
  assert.equal(a2?.packets, null);
  assert.equal(b2?.packets, null);
  assert.equal(a2?.user, "pub");
  await requests.close();
  await answering;
  await Promise.all([l1.stop(), l2.stop(), pub.stop(), authorizer.stop()]);
});

Deno.test("MessageBusClient.authorizationRequests() and handlers get host and user in wire order", async () => {
  await using server = await FakeMessageBus.start({
    hostName: "the-host",
    authentication: { kind: "password", users: { auth: "a", bob: "b" } },
    feeds: { F: { isAuthorizationRequired: true, authorizers: ["auth"] } },
  });
  const { BasicAuthenticator } = await import("../../src/messagebus/mod.ts");
  const authorizer = await connect(server, { authenticator: new BasicAuthenticator("auth", "a") });
  const seen: string[] = [];
  authorizer.authorizationHandlers.push((_id, host, user, feed, topic) =>
    void seen.push(`${host} ${user} ${feed}/${topic}`)
  );
  const stream = authorizer.authorizationRequests();
  const bob = await connect(server, { authenticator: new BasicAuthenticator("bob", "b") });
  await bob.addSubscription("F", "T");
  const [r] = await take(stream, 1) as AuthorizationRequestEvent[];
  assert.deepEqual({ host: r?.host, user: r?.user, feed: r?.feed, topic: r?.topic }, {
    host: "the-host",
    user: "bob",
    feed: "F",
    topic: "T",
  });
  assert.deepEqual(seen, ["the-host bob F/T"]);
  await Promise.all([bob.stop(), authorizer.stop()]);
});

Deno.test("MessageBusClient writes the credentials, then calls made before start(), in call order", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const { BasicAuthenticator } = await import("../../src/messagebus/mod.ts");
  const client = await MessageBusClient.create("127.0.0.1", (listener.addr as Deno.NetAddr).port, {
    authenticator: new BasicAuthenticator("u", "p"),
    loginTimeoutMs: 0,
    monitorHeartbeat: true,
    reconnect: false,
  });
  const conn = await accepted;
  const p1 = client.addSubscription("TEST", "FOO");
  const p2 = client.publish("TEST", "FOO", false, null);
  const p3 = client.addNotification("TEST");
  await sleep(30);
  // Nothing is written before start().
  const early = new Uint8Array(4096);
  const firstRead = conn.read(early);
  const none = await Promise.race([firstRead, sleep(30).then(() => "nothing" as const)]);
  assert.equal(none, "nothing");
  await client.start();
  await Promise.all([p1, p2, p3]);
  const expected = [
    encodeCredentials({ kind: "basic", username: "u", password: "p" }, "v3"),
    encodeMessage({ type: 5, feed: "TEST", topic: "FOO", isAdd: true }),
    encodeMessage({ type: 1, feed: "TEST", topic: "FOO", isImage: false, contentType: null, packets: null }),
    encodeMessage({ type: 4, feed: "TEST", isAdd: true }),
    encodeMessage({ type: 5, feed: "__admin__", topic: "heartbeat", isAdd: true }),
  ];
  const want = expected.reduce((n, b) => n + b.length, 0);
  const got: number[] = [];
  // The read (still pending from above) gets the first bytes.
  const first = await within(firstRead, 2000, "the first bytes");
  got.push(...early.subarray(0, first ?? 0));
  while (got.length < want) {
    const buf = new Uint8Array(4096);
    const n = await within(conn.read(buf), 2000, "reading what the client wrote");
    if (n === null) break;
    got.push(...buf.subarray(0, n));
  }
  assert.equal(toHex(new Uint8Array(got)), expected.map(toHex).join(""));
  await client.stop();
  conn.close();
  listener.close();
});

Deno.test("MessageBusClient calls reject with TypeError or RangeError on bad arguments, ClosedError after stop()", async () => {
  await using server = await FakeMessageBus.start();
  const client = await connect(server);
  await assert.rejects(client.publish("", "T", false, null), TypeError);
  await assert.rejects(
    client.publish("F", "T", "image" as unknown as boolean, null),
    /isImage "image" is not a boolean/,
  );
  await assert.rejects(client.send("nope", "F", "T", false, null), TypeError);
  await assert.rejects(
    client.authorize("00112233-4455-6677-8899-aabbccddeeff", "F", "T", true, new Set([2 ** 40])),
    RangeError,
  );
  await assert.rejects(
    client.publish("F", "T", false, [{ entitlements: [1] as unknown as Set<number>, data: null }]),
    TypeError,
  );
  assert.throws(() => client.subscribe("F", ""), TypeError);
  assert.throws(() => client.subscribe("F", "T", { highWaterMark: -1 }), RangeError);
  await assert.rejects(MessageBusClient.create("127.0.0.1", 70000), RangeError);
  await assert.rejects(MessageBusClient.create("127.0.0.1", 1, { auth: "v5" as "v3" }), TypeError);
  await client.stop();
  await assert.rejects(client.publish("F", "T", false, null), ClosedError);
  assert.throws(() => client.subscribe("F", "T"), ClosedError);
  assert.equal(await client.closed, undefined);
});

Deno.test("MessageBusClient.stop() ends live streams and the status channel", async () => {
  await using server = await FakeMessageBus.start();
  const client = await connect(server);
  const stream = client.subscribe("F", "T");
  const notes = client.notifications("F");
  const events: string[] = [];
  client.status.addEventListener("closed", () => events.push("closed"));
  const reader = stream.getReader();
  const pending = reader.read();
  await client.stop();
  assert.equal((await pending).done, true);
  assert.equal(await notes.closed, undefined);
  assert.deepEqual(events, ["closed"]);
});

Deno.test("MessageBusClient in the contentType dialect carries content types end to end", async () => {
  await using server = await FakeMessageBus.start({ imageField: "contentType" });
  const a = await connect(server, { imageField: "contentType" });
  const stream = a.subscribe("F", "T", { sync: true });
  await stream.ready;
  const types: (boolean | string)[] = [];
  a.dataHandlers.push((_u, _h, _f, _t, _p, image) => void types.push(image));
  await a.publish("F", "T", "application/json", [{ entitlements: null, data: utf8("{}") }]);
  const [m] = await take(stream, 1);
  assert.equal(m?.contentType, "application/json");
  assert.equal(m?.isImage, null);
  assert.deepEqual(types, ["application/json"]);
  await assert.rejects(a.publish("F", "T", true, null), /content type true is not a string/);
  await a.stop();
});

Deno.test("MessageBusClient counts subscriptions like the server: one delivery per message, removal per add", async () => {
  await using server = await FakeMessageBus.start();
  const c = await connect(server);
  const s1 = c.subscribe("F", "T", { sync: true });
  const s2 = c.subscribe("F", "T", { sync: true });
  await Promise.all([s1.ready, s2.ready]);
  const id = server.clients[0]!.id;
  assert.equal(server.refCount(id, "F", "T"), 2);
  await c.publish("F", "T", false, [{ entitlements: null, data: utf8("x") }]);
  assert.equal((await take(s1, 1))[0]?.text(), "x");
  assert.equal((await take(s2, 1))[0]?.text(), "x");
  await s1.close();
  await c.ping();
  assert.equal(server.refCount(id, "F", "T"), 1);
  await c.publish("F", "T", false, [{ entitlements: null, data: utf8("y") }]);
  assert.equal((await take(s2, 1))[0]?.text(), "y");
  await s2.close();
  await c.ping();
  assert.equal(server.refCount(id, "F", "T"), 0);
  await c.stop();
});

Deno.test("MessageBusClient keeps the heartbeat flowing to data handlers with monitorHeartbeat", async () => {
  await using server = await FakeMessageBus.start({ heartbeatIntervalMs: 20 });
  const c = await connect(server, { monitorHeartbeat: true, heartbeatTimeoutMs: 1000 });
  const beats: string[] = [];
  c.dataHandlers.push((user, host, feed, topic, packets, isImage) =>
    void beats.push(`${user} ${host} ${feed}/${topic} ${isImage} ${packets}`)
  );
  await within(
    (async () => {
      while (beats.length < 2) await sleep(10);
    })(),
    2000,
    "two heartbeats",
  );
  assert.equal(beats[0], "admin localhost __admin__/heartbeat true null");
  await c.stop();
});

Deno.test("MessageBusClient reports a throwing handler as an error event and keeps dispatching", async () => {
  await using server = await FakeMessageBus.start();
  const c = await connect(server);
  const errors: unknown[] = [];
  c.status.addEventListener("error", (e) => errors.push((e as unknown as { error: unknown }).error));
  const seen: string[] = [];
  c.dataHandlers.push(() => {
    throw new Error("handler bug");
  });
  c.dataHandlers.push((_u, _h, _f, _t, packets) => void seen.push(text(packets![0]!) ?? ""));
  const stream = c.subscribe("F", "T", { sync: true });
  await stream.ready;
  await c.publish("F", "T", false, [{ entitlements: null, data: utf8("one") }]);
  await c.publish("F", "T", false, [{ entitlements: null, data: utf8("two") }]);
  assert.deepEqual((await take(stream, 2)).map((m) => m.text()), ["one", "two"]);
  assert.deepEqual(seen, ["one", "two"]);
  assert.equal(errors.length, 2);
  assert.equal((errors[0] as Error).message, "handler bug");
  assert.ok(c.isConnected);
  await c.stop();
});

Deno.test("MessageBusClient publish(), send() and authorize() reject bad arguments, write nothing, and go on", async () => {
  const seen: number[] = [];
  await using server = await FakeMessageBus.start({
    observer: (e) => void (e.type === "message" && seen.push(e.message.type)),
  });
  const client = await connect(server);
  const id = "00112233-4455-6677-8899-aabbccddeeff";
  const calls: [string, () => Promise<void>, ErrorConstructor][] = [
    ["publish: empty feed", () => client.publish("", "T", false, null), TypeError],
    ["publish: empty topic", () => client.publish("F", "", false, null), TypeError],
    ["publish: isImage not a boolean", () => client.publish("F", "T", "text/plain", null), TypeError],
    ["publish: packets not an array", () => client.publish("F", "T", false, {} as never), TypeError],
    ["send: empty topic", () => client.send(id, "F", "", false, null), TypeError],
    ["send: client id not a UUID", () => client.send("nope", "F", "T", false, null), TypeError],
    ["authorize: empty feed", () => client.authorize(id, "", "T", false, null), TypeError],
    ["authorize: flag not a boolean", () => client.authorize(id, "F", "T", 1 as never, null), TypeError],
    ["authorize: entitlement over 32 bits", () => client.authorize(id, "F", "T", true, new Set([2 ** 31])), RangeError],
  ];
  for (const [what, call, type] of calls) {
    let promise: Promise<void> | undefined;
    assert.doesNotThrow(() => promise = call(), what); // a rejected promise, never a throw
    await assert.rejects(promise!, type, what);
  }
  // The connection still works, and nothing was written before this publish (type 1) and its probe (types 4, 5).
  await client.publish("F", "T", false, null);
  await client.ping();
  assert.equal(seen[0], 1);
  await client.stop();
});
