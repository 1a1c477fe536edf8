import assert from "node:assert/strict";
import { type BusMessage, encodeCredentials, encodeMessage, MessageDecoder } from "../../src/messagebus/wire.ts";
import { FakeMessageBus } from "../../src/testing/messagebus/mod.ts";
import { hex, sleep, toHex, utf8, within } from "./_helpers.ts";

const TEST = "00000004 54455354";
const FOO = "00000003 464f4f";

/** A hand-driven peer: writes raw bytes, reads raw bytes and decoded messages. */
class Raw {
  readonly decoder = new MessageDecoder();
  readonly bytes: number[] = [];
  readonly messages: BusMessage[] = [];
  closed = false;
  readonly #reading: Promise<void>;
  private constructor(readonly conn: Deno.Conn) {
    this.#reading = (async () => {
      try {
        for (;;) {
          const buf = new Uint8Array(65536);
          const n = await conn.read(buf);
          if (n === null) break;
          this.bytes.push(...buf.subarray(0, n));
          this.messages.push(...this.decoder.push(buf.slice(0, n)));
        }
      } catch { /* closed */ }
      this.closed = true;
    })();
  }
  static async connect(server: FakeMessageBus, credentials?: Uint8Array): Promise<Raw> {
    const raw = new Raw(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    if (credentials !== undefined) await raw.write(credentials);
    return raw;
  }
  async write(bytes: Uint8Array | string): Promise<void> {
    const b = typeof bytes === "string" ? hex(bytes) : bytes;
    let at = 0;
    while (at < b.length) at += await this.conn.write(b.subarray(at));
  }
  async waitFor(n: number): Promise<BusMessage[]> {
    await within(
      (async () => {
        while (this.messages.length < n) await sleep(5);
      })(),
      3000,
      `${n} messages`,
    );
    return this.messages.splice(0, n);
  }
  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* closed */ }
    await this.#reading;
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  await within(
    (async () => {
      while (!cond()) await sleep(5);
    })(),
    3000,
    what,
  );
}

Deno.test("FakeMessageBus reads the spec's client vectors and answers with the spec's server layouts", async () => {
  await using server = await FakeMessageBus.start({
    hostName: "hostb",
    authentication: { kind: "password", users: { u: "p", bob: "b" } },
  });
  const v3u = encodeCredentials({ kind: "basic", username: "u", password: "p" }, "v3");
  assert.equal(toHex(v3u), toHex(hex("00000001 75 00000001 70 00000000 00000000")));
  const notifier = await Raw.connect(server, v3u);
  await notifier.write(`04 ${TEST} 01`); // NotificationRequest(TEST, add)
  const bob = await Raw.connect(server, encodeCredentials({ kind: "basic", username: "bob", password: "b" }, "v3"));
  await bob.write(`05 ${TEST} ${FOO} 01`); // SubscriptionRequest(TEST, FOO, add)
  await until(() => notifier.bytes.length > 0 && server.clients.length === 2, "the notification");
  const bobId = server.clients.find((c) => c.user === "bob")!.id;
  const idBytes = toHex(
    encodeMessage({ type: 6, clientId: bobId, host: "", user: "", feed: "", topic: "" }).subarray(1, 17),
  );
  // ForwardedSubscriptionRequest(bob, hostb, id, TEST, FOO, add), byte for byte.
  await until(() => notifier.bytes.length >= 1 + 7 + 9 + 16 + 8 + 7 + 1, "all its bytes");
  assert.equal(
    toHex(new Uint8Array(notifier.bytes)),
    toHex(hex(`03 00000003 626f62 00000005 686f737462 ${idBytes} ${TEST} ${FOO} 01`)),
  );
  // MulticastData(TEST, FOO, image, [({7}, "xy"), (null, null)]) from the notifier reaches bob unfiltered.
  await notifier.write(`01 ${TEST} ${FOO} 01 00000002 00000001 00000007 00000002 7879 00000000 00000000`);
  await until(() => bob.bytes.length > 0, "the data");
  const expected =
    `08 00000001 75 00000005 686f737462 ${TEST} ${FOO} 01 00000002 00000001 00000007 00000002 7879 00000000 00000000`;
  await until(() => bob.bytes.length >= hex(expected).length, "all the data");
  assert.equal(toHex(new Uint8Array(bob.bytes)), toHex(hex(expected)));
  await Promise.all([notifier.close(), bob.close()]);
});

Deno.test("FakeMessageBus sends AuthorizationRequest host first and applies AuthorizationResponse with its quirks", async () => {
  await using server = await FakeMessageBus.start({
    hostName: "hostb",
    authentication: { kind: "password", users: { auth: "a", bob: "b" } },
    feeds: { TEST: { isAuthorizationRequired: true, authorizers: ["auth"] } },
  });
  const authorizer = await Raw.connect(server, encodeCredentials({ kind: "basic", username: "auth", password: "a" }));
  const bob = await Raw.connect(server, encodeCredentials({ kind: "basic", username: "bob", password: "b" }));
  await until(() => server.clients.length === 2, "both logged in");
  await bob.write(`05 ${TEST} ${FOO} 01`);
  const [req] = await authorizer.waitFor(1);
  const bobId = server.clients.find((c) => c.user === "bob")!.id;
  assert.deepEqual(req, { type: 6, clientId: bobId, host: "hostb", user: "bob", feed: "TEST", topic: "FOO" });
  assert.equal(
    toHex(new Uint8Array(authorizer.bytes)).slice(34),
    toHex(hex(`00000005 686f737462 00000003 626f62 ${TEST} ${FOO}`)),
  );
  // No subscription until the authorizer answers.
  assert.equal(server.refCount(bobId, "TEST", "FOO"), 0);
  const grant = (entitlements: Set<number> | null) =>
    authorizer.write(
      encodeMessage({
        type: 7,
        clientId: bobId,
        feed: "TEST",
        topic: "FOO",
        isAuthorizationRequired: true,
        entitlements,
      }),
    );
  await grant(new Set([1, 2]));
  await until(() => server.refCount(bobId, "TEST", "FOO") === 1, "the subscription");
  // Quirk: a repeated response raises the count instead of updating the entitlements.
  await grant(new Set([1]));
  await until(() => server.refCount(bobId, "TEST", "FOO") === 2, "the count raised");
  await authorizer.write(encodeMessage({
    type: 1,
    feed: "TEST",
    topic: "FOO",
    isImage: false,
    contentType: null,
    packets: [{ entitlements: new Set([2]), data: utf8("two") }, { entitlements: new Set([3]), data: utf8("three") }],
  }));
  const [data] = await bob.waitFor(1);
  assert.deepEqual(data?.type === 8 && data.packets, [{ entitlements: new Set([2]), data: utf8("two") }]);
  // An empty grant with required=true is "not entitled": user and host empty, image, no packets.
  await bob.write(`05 ${TEST} 00000003 424152 01`);
  await authorizer.waitFor(1);
  await authorizer.write(
    encodeMessage({
      type: 7,
      clientId: bobId,
      feed: "TEST",
      topic: "BAR",
      isAuthorizationRequired: true,
      entitlements: null,
    }),
  );
  const [notEntitled] = await bob.waitFor(1);
  assert.deepEqual(notEntitled, {
    type: 8,
    user: "",
    host: "",
    feed: "TEST",
    topic: "BAR",
    isImage: true,
    contentType: null,
    packets: null,
  });
  assert.equal(server.refCount(bobId, "TEST", "BAR"), 0);
  await Promise.all([authorizer.close(), bob.close()]);
});

Deno.test("FakeMessageBus drops a subscription needing authorization when no authorizer is connected", async () => {
  await using server = await FakeMessageBus.start({ isAuthorizationRequired: true });
  const c = await Raw.connect(server);
  await c.write(`05 ${TEST} ${FOO} 01`);
  await sleep(50);
  assert.equal(server.refCount(server.clients[0]!.id, "TEST", "FOO"), 0);
  assert.equal(c.messages.length, 0);
  await c.close();
});

for (
  const [name, bytes] of [
    ["a negative string length", "05 ffffffff"],
    ["a negative entitlement count", `07 ${"00".repeat(16)} ${TEST} ${FOO} 01 ffffffff`],
    ["an unknown type code", "63"],
    ["EOF inside a message", `05 ${TEST} 0000`],
  ] as const
) {
  Deno.test(`FakeMessageBus disconnects a client on ${name}, telling notifiers`, async () => {
    await using server = await FakeMessageBus.start();
    const watcher = await Raw.connect(server);
    await watcher.write(`04 ${TEST} 01`);
    const bad = await Raw.connect(server);
    await bad.write(`05 ${TEST} ${FOO} 01`);
    const [added] = await watcher.waitFor(1);
    assert.equal(added?.type === 3 && added.isAdd, true);
    await bad.write(bytes);
    if (name.startsWith("EOF")) bad.conn.closeWrite();
    const [removed] = await watcher.waitFor(1);
    assert.equal(removed?.type === 3 && removed.isAdd, false);
    await until(() => bad.closed, "the bad client's socket closing");
    assert.equal(server.clients.length, 1);
    await Promise.all([watcher.close(), bad.close()]);
  });
}

Deno.test("FakeMessageBus reads v4 connection strings and refuses malformed ones", async () => {
  await using server = await FakeMessageBus.start({
    auth: "v4",
    onAuthFailure: "close",
    authentication: { kind: "password", users: { u: "p=q" } },
  });
  const cs = (s: string) => new Uint8Array([0, 0, 0, utf8(s).length, ...utf8(s)]);
  const good = await Raw.connect(server, cs("Username=u;Password=p=q"));
  await until(() => server.clients.length === 1, "the login");
  assert.equal(server.clients[0]?.user, "u");
  for (const bad of ["Username=u;Password=p=q;Username=u", "Username=u;Password", "username=u;password=p=q"]) {
    const raw = await Raw.connect(server, cs(bad));
    await until(() => raw.closed, `refusing ${bad}`);
    await raw.close();
  }
  assert.equal(server.authFailures, 3);
  await good.close();
});

Deno.test("FakeMessageBus stalls a refused login by default: no reply, no close", async () => {
  await using server = await FakeMessageBus.start({ authentication: { kind: "password", users: { u: "p" } } });
  const raw = await Raw.connect(server, encodeCredentials({ kind: "basic", username: "u", password: "x" }));
  await until(() => server.authFailures === 1, "the refusal");
  await raw.write(`05 ${TEST} ${FOO} 01`);
  await sleep(50);
  assert.equal(raw.closed, false);
  assert.equal(raw.bytes.length, 0);
  assert.equal(server.clients.length, 0);
  await raw.close();
});

Deno.test("FakeMessageBus enforces publish and subscribe roles per feed", async () => {
  await using server = await FakeMessageBus.start({
    authentication: { kind: "password", users: { a: "a", b: "b" } },
    feeds: { RO: { publishers: ["a"], subscribers: ["b"] } },
  });
  const a = await Raw.connect(server, encodeCredentials({ kind: "basic", username: "a", password: "a" }));
  const b = await Raw.connect(server, encodeCredentials({ kind: "basic", username: "b", password: "b" }));
  await until(() => server.clients.length === 2, "logins");
  const sub = encodeMessage({ type: 5, feed: "RO", topic: "T", isAdd: true });
  await a.write(sub); // a may not subscribe: dropped.
  await b.write(sub);
  const idOf = (u: string) => server.clients.find((c) => c.user === u)!.id;
  await until(() => server.refCount(idOf("b"), "RO", "T") === 1, "b's subscription");
  await sleep(20);
  assert.equal(server.refCount(idOf("a"), "RO", "T"), 0);
  const pub = encodeMessage({ type: 1, feed: "RO", topic: "T", isImage: false, contentType: null, packets: null });
  await b.write(pub); // b may not publish: dropped.
  await a.write(pub);
  const [m] = await b.waitFor(1);
  assert.equal(m?.type === 8 && m.user, "a");
  await sleep(30);
  assert.equal(a.messages.length, 0);
  assert.equal(b.messages.length, 0);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("FakeMessageBus names a 127.0.0.1 peer by the server's machine name (spec §6), not localhost", async () => {
  await using server = await FakeMessageBus.start(); // null authentication: user "unknown" in v3
  const notifier = await Raw.connect(server);
  await notifier.write(`04 ${TEST} 01`); // NotificationRequest(TEST, add)
  const sub = await Raw.connect(server);
  await sub.write(`05 ${TEST} ${FOO} 01`); // SubscriptionRequest(TEST, FOO, add)
  await until(() => notifier.bytes.length > 0 && server.clients.length === 2, "the notification");
  // ForwardedSubscriptionRequest: 03 lp32(user) lp32(host) ...
  const host = utf8(Deno.hostname());
  const lp32 = (b: Uint8Array) => [...hex((b.length >>> 0).toString(16).padStart(8, "0")), ...b];
  const expected = [3, ...lp32(utf8("unknown")), ...lp32(host)];
  assert.deepEqual(notifier.bytes.slice(0, expected.length), expected);
  await notifier.close();
  await sub.close();
});
