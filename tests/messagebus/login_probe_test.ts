// The login probe and ping() against the roles of spec §8.2: Subscribe is checked on SubscriptionRequest, Publish on
// types 1 and 2, Notify never; a request failing its role check is dropped silently. So a valid user without a role
// gets silence, exactly like a refused login (§6): that must never be reported as refused by default.
import assert from "node:assert/strict";
import { AuthError, TimeoutError } from "../../mod.ts";
import { BasicAuthenticator, MessageBusClient } from "../../src/messagebus/mod.ts";
import { FakeMessageBus } from "../../src/testing/messagebus/mod.ts";
import { take } from "./_helpers.ts";

const USERS = { alice: "a-secret", reader: "r-secret", nobody: "n-secret" };

function server() {
  return FakeMessageBus.start({
    authentication: { kind: "password", users: USERS },
    // reader may subscribe to the probe feed but not publish there; nobody may do neither.
    feeds: { __probe__: { publishers: ["alice"], subscribers: ["alice", "reader"] } },
  });
}

Deno.test("MessageBusClient.start() with default options resolves for valid users whatever their roles", async () => {
  await using s = await server();
  for (const user of ["reader", "nobody"] as const) {
    const client = await MessageBusClient.create("127.0.0.1", s.port, {
      authenticator: new BasicAuthenticator(user, USERS[user]),
      reconnect: false,
    });
    try {
      await client.start(); // before: AuthError after 5 s ("silence usually means they were refused")
      assert.ok(client.isConnected);
    } finally {
      await client.stop();
    }
  }
  assert.equal(s.authFailures, 0);
});

Deno.test("MessageBusClient's opt-in login probe and ping() need no Publish role, only Subscribe on the probe feed", async () => {
  await using s = await server();
  const reader = await MessageBusClient.create("127.0.0.1", s.port, {
    authenticator: new BasicAuthenticator("reader", USERS.reader),
    loginTimeoutMs: 3000,
    reconnect: false,
  });
  try {
    await reader.start();
    assert.ok((await reader.ping()) >= 0);
    assert.ok((await reader.ping()) >= 0, "each ping answered by its own echo");
  } finally {
    await reader.stop();
  }
  // Without Subscribe on the probe feed the probe cannot be told from a refusal: the documented limit of the opt-in.
  const nobody = await MessageBusClient.create("127.0.0.1", s.port, {
    authenticator: new BasicAuthenticator("nobody", USERS.nobody),
    loginTimeoutMs: 300,
    reconnect: false,
  });
  await assert.rejects(nobody.start(), (err: unknown) => err instanceof AuthError && /__probe__/.test(err.message));
});

Deno.test("MessageBusClient.ping() leaves a notifications() stream of the probe feed registered and unaware of it", async () => {
  await using s = await server();
  const client = await MessageBusClient.create("127.0.0.1", s.port, {
    authenticator: new BasicAuthenticator("alice", USERS.alice),
    reconnect: false,
  });
  const other = await MessageBusClient.create("127.0.0.1", s.port, {
    authenticator: new BasicAuthenticator("reader", USERS.reader),
    reconnect: false,
  });
  try {
    await client.start();
    await other.start();
    const notes = client.notifications("__probe__");
    await notes.ready;
    await client.ping();
    // The probe's own add and remove never reach the stream; another client's subscription does.
    await other.addSubscription("__probe__", "visible");
    const [first] = await take(notes, 1);
    assert.equal(first?.topic, "visible");
    assert.equal(first?.isAdd, true);
    await notes.cancel();
  } finally {
    await other.stop();
    await client.stop();
  }
});

/**
 * A hand-driven server (no credentials, as the null authenticator): it parses the client's
 * NotificationRequest (4) and SubscriptionRequest (5) by the spec's layouts (§7.1) and sends
 * ForwardedSubscriptionRequest (3) only when the test says so.
 */
function heldEchoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const enc = new TextEncoder();
  const lp32 = (s: string) => {
    const b = enc.encode(s);
    return [(b.length >>> 24) & 0xff, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff, ...b];
  };
  const adds: string[] = []; // the topics of subscription adds, in order
  let conn: Deno.Conn | undefined;
  const accepted = listener.accept().then((c) => conn = c);
  const reading = accepted.then(async () => {
    let buf: number[] = [];
    const chunk = new Uint8Array(4096);
    for (;;) {
      const n = await conn!.read(chunk).catch(() => null);
      if (n === null) return;
      buf = buf.concat([...chunk.subarray(0, n)]);
      for (;;) {
        let at = 1;
        const str = () => {
          if (buf.length < at + 4) return undefined;
          const len = (buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!;
          if (buf.length < at + 4 + len) return undefined;
          const s = new TextDecoder().decode(new Uint8Array(buf.slice(at + 4, at + 4 + len)));
          at += 4 + len;
          return s;
        };
        if (buf.length === 0) break;
        const type = buf[0];
        assert.ok(type === 4 || type === 5, `type ${type}`);
        if (str() === undefined) break;
        const topic = type === 5 ? str() : "";
        if (topic === undefined || buf.length < at + 1) break;
        const isAdd = buf[at] === 1;
        at += 1;
        if (type === 5 && isAdd) adds.push(topic);
        buf = buf.slice(at);
      }
    }
  });
  return {
    port: (listener.addr as Deno.NetAddr).port,
    adds,
    /** ForwardedSubscriptionRequest(user, host, clientId, feed, topic, isAdd), as §13.3 lays it out. */
    notify: async (feed: string, topic: string) => {
      const uuid = new Array(16).fill(0x11);
      await conn!.write(
        new Uint8Array([3, ...lp32("bob"), ...lp32("hostb"), ...uuid, ...lp32(feed), ...lp32(topic), 1]),
      );
    },
    close: async () => {
      conn?.close();
      listener.close();
      await reading;
    },
  };
}

Deno.test("MessageBusClient.ping() takes a late echo for the ping that timed out, not for the next one", async () => {
  const server = heldEchoServer();
  const client = await MessageBusClient.create("127.0.0.1", server.port, { reconnect: false });
  try {
    await client.start();
    const notes = client.notifications("MARK");
    await assert.rejects(client.ping(50), TimeoutError);
    let second = false;
    const pinging = client.ping(10_000).then(() => second = true);
    while (server.adds.length < 2) await new Promise((r) => setTimeout(r, 5));
    const [probe] = server.adds;
    assert.equal(server.adds[1], probe, "one probe topic per client");
    // The first ping's echo, late; then a marker the client handles after it (one connection, in order).
    await server.notify("__probe__", probe!);
    await server.notify("MARK", "after-first-echo");
    assert.equal((await take(notes, 1))[0]?.topic, "after-first-echo");
    assert.equal(second, false, "the late echo answered the ping that gave up on it");
    await server.notify("__probe__", probe!);
    await pinging;
    assert.equal(second, true);
    await notes.cancel();
  } finally {
    await client.stop();
    await server.close();
  }
});
