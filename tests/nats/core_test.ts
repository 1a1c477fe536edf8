import assert from "node:assert/strict";
import { jwtAuthenticator } from "@nats-io/nats-core";
import {
  AuthError,
  ClosedError,
  ConnectionError,
  isSettleable,
  OverflowError,
  PubSubError,
  TimeoutError,
} from "../../mod.ts";
import { type NatsMessage, NatsPubSub as WsNatsPubSub } from "../../src/nats/mod.ts";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { ignoreLateSocketResets, NatsServer } from "../../src/testing/nats/mod.ts";
import { env, ignore, sleep, until } from "./helpers.ts";

async function read(sub: ReadableStream<NatsMessage>, n: number): Promise<NatsMessage[]> {
  const out: NatsMessage[] = [];
  const reader = sub.getReader();
  while (out.length < n) {
    const r = await reader.read();
    if (r.done) break;
    out.push(r.value);
  }
  reader.releaseLock();
  return out;
}

async function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return await Promise.resolve(port);
}

Deno.test({ name: "NatsPubSub core mode publishes unconfirmed and matches NATS wildcards", ignore }, async () => {
  await using e = await env({ jetstream: false });
  const ps = await WsNatsPubSub.connect(e.server.wsUrl!);
  try {
    assert.equal(ps.capabilities.settle, false);
    assert.equal(ps.capabilities.confirmedPublish, false);
    assert.equal(ps.capabilities.replay, false);
    assert.equal(ps.capabilities.wildcards, "nats");
    assert.equal(ps.capabilities.maxPayload, e.admin.info!.max_payload);
    const star = ps.subscribe("a.*");
    const tail = ps.subscribe("a.>");
    await Promise.all([star.ready, tail.ready]);
    assert.deepEqual(await ps.publish("a.b", "1", { headers: { "x-h": "v" } }), { topic: "a.b", confirmed: false });
    await ps.publish("a.b.c", "2");
    const [m] = await read(star, 1);
    assert.equal(m?.subject, "a.b");
    assert.equal(m?.headers.get("x-h"), "v");
    assert.equal(m?.sequence, undefined);
    assert.equal(m?.redelivered, false);
    assert.equal(isSettleable(m!), false);
    assert.deepEqual((await read(tail, 2)).map((x) => x.subject), ["a.b", "a.b.c"]);
    assert.throws(() => ps.subscribe("a.>.b"), TypeError);
    assert.throws(() => ps.subscribe("a..b"), TypeError);
    assert.throws(() => ps.subscribe("a b"), TypeError);
    await assert.rejects(() => ps.publish("a.*", "x"), TypeError);
    await assert.rejects(() => ps.publish("a.b", new Uint8Array(ps.capabilities.maxPayload + 1)), RangeError);
    assert.throws(() => ps.subscribe("a", { group: "" }), TypeError);
    assert.throws(() => ps.subscribe("a", { overflow: "block" }), TypeError);
  } finally {
    await ps.close();
  }
});

Deno.test({ name: "NatsPubSub core queue groups share messages; others still get all", ignore }, async () => {
  await using e = await env({ jetstream: false, websocket: false });
  const ps = await NatsPubSub.connect(e.server.url);
  try {
    const a = ps.subscribe("q", { group: "g", highWaterMark: 100 });
    const b = ps.subscribe("q", { group: "g", highWaterMark: 100 });
    const all = ps.subscribe("q", { highWaterMark: 100 });
    await Promise.all([a.ready, b.ready, all.ready]);
    for (let i = 0; i < 60; i++) await ps.publish("q", `${i}`);
    await ps.connection.flush();
    await until(() => a.buffered + b.buffered === 60 && all.buffered === 60, 5000, "deliveries");
    assert.ok(a.buffered > 0 && b.buffered > 0);
    const got = [...await read(a, a.buffered), ...await read(b, b.buffered)].map((m) => Number(m.text()));
    assert.deepEqual(got.sort((x, y) => x - y), Array.from({ length: 60 }, (_, i) => i));
    await Promise.all([a.close(), b.close(), all.close()]);
  } finally {
    await ps.close();
  }
});

Deno.test(
  { name: 'NatsPubSub core subscription drops the newest by default and fails under "error"', ignore },
  async () => {
    await using e = await env({ jetstream: false, websocket: false });
    const ps = await NatsPubSub.connect(e.server.url);
    try {
      assert.deepEqual(ps.capabilities.overflow, ["drop-newest", "drop-oldest", "error"]);
      const flood = ps.subscribe("flood", { highWaterMark: 2 });
      const failing = ps.subscribe("flood", { highWaterMark: 2, overflow: "error" });
      await Promise.all([flood.ready, failing.ready]);
      for (let i = 0; i < 20; i++) await ps.publish("flood", `${i}`);
      await ps.connection.flush();
      assert.ok((await failing.closed) instanceof OverflowError);
      await until(() => flood.dropped === 18, 5000, "drops");
      assert.equal(flood.buffered, 2);
      // The oldest two were kept, nothing waits anywhere else.
      assert.deepEqual((await read(flood, 2)).map((m) => Number(m.text())), [0, 1]);
      await flood.close();
    } finally {
      await ps.close();
    }
  },
);

Deno.test({ name: "NatsPubSub.connect() throws ConnectionError when nothing listens", ignore }, async () => {
  const port = await freePort();
  await assert.rejects(() => NatsPubSub.connect(`nats://127.0.0.1:${port}`), ConnectionError);
  await assert.rejects(() => WsNatsPubSub.connect(`ws://127.0.0.1:${port}`), ConnectionError);
  await assert.rejects(() => NatsPubSub.connect(""), TypeError);
  await assert.rejects(() => NatsPubSub.connect({ servers: [] }), TypeError);
  await assert.rejects(() => NatsPubSub.connect({ servers: "nats://127.0.0.1:1", timeoutMs: -1 }), RangeError);
  // One connection, one transport: a list mixing WebSocket and TCP URLs is refused before dialling.
  await assert.rejects(
    () => NatsPubSub.connect([`ws://127.0.0.1:${port}`, `nats://127.0.0.1:${port}`]),
    TypeError,
    "mixes WebSocket and TCP URLs",
  );
});

Deno.test({ name: "NatsPubSub.connect() throws TimeoutError when the server never answers", ignore }, async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const drains: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const c of listener) {
        conns.push(c);
        // Read what the client sends, so closing later ends with a FIN, not a reset.
        drains.push(c.readable.pipeTo(new WritableStream()).catch(() => {}));
      }
    } catch { /* closed */ }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const err = await NatsPubSub.connect({ servers: `nats://127.0.0.1:${port}`, timeoutMs: 300 }).catch((e) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.timeoutMs, 300);
    const ws = await WsNatsPubSub.connect({ servers: `ws://127.0.0.1:${port}`, timeoutMs: 300 }).catch((e) => e);
    assert.ok(ws instanceof TimeoutError, String(ws));
  } finally {
    listener.close();
    await accepting;
    for (const c of conns) {
      try {
        c.close();
      } catch { /* the pipe closed it */ }
    }
    await Promise.all(drains);
  }
});

Deno.test({ name: "NatsPubSub.connect() throws AuthError on wrong credentials in operator mode", ignore }, async () => {
  await using _resets = ignoreLateSocketResets();
  const server = await NatsServer.start({ operator: true, jetstream: false });
  const other = await NatsServer.start({ operator: true, jetstream: false, websocket: false });
  try {
    // No credentials at all.
    await assert.rejects(() => NatsPubSub.connect({ servers: server.url, reconnect: false }), AuthError);
    // A user of an account this server does not know.
    const stranger = await other.mintUser({ name: "stranger", bearer: true });
    for (
      const connect of [
        () => NatsPubSub.connect({ servers: server.url, authenticator: jwtAuthenticator(stranger.jwt) }),
        () => WsNatsPubSub.connect({ servers: server.wsUrl!, authenticator: jwtAuthenticator(stranger.jwt) }),
      ]
    ) {
      const err = await connect().catch((e) => e);
      assert.ok(err instanceof AuthError, String(err));
      assert.match(err.message, /refused the credentials/);
    }
    // A non-bearer JWT without a signature.
    const plain = await server.mintUser({ name: "plain" });
    await assert.rejects(
      () => WsNatsPubSub.connect({ servers: server.wsUrl!, authenticator: () => ({ jwt: plain.jwt, sig: "" }) }),
      AuthError,
    );
    // An expired JWT.
    const brief = await server.mintUser({ name: "brief", bearer: true, expiresInSeconds: 1 });
    await sleep(2100);
    for (
      const connect of [
        () => NatsPubSub.connect({ servers: server.url, authenticator: jwtAuthenticator(brief.jwt) }),
        () => WsNatsPubSub.connect({ servers: server.wsUrl!, authenticator: jwtAuthenticator(brief.jwt) }),
      ]
    ) {
      await assert.rejects(connect, AuthError);
    }
    // The right ones work.
    const good = await server.mintUser({ name: "good", bearer: true });
    const ps = await WsNatsPubSub.connect({ servers: server.wsUrl!, authenticator: jwtAuthenticator(good.jwt) });
    await ps.close();
  } finally {
    await server.stop();
    await other.stop();
  }
});

Deno.test({ name: "NatsPubSub subscription ends with AuthError on a permissions violation", ignore }, async () => {
  const server = await NatsServer.start({ operator: true, jetstream: false, websocket: false });
  try {
    const user = await server.mintUser({ name: "limited", bearer: true, pub: ["ok.>"], sub: ["ok.>", "_INBOX.>"] });
    const ps = await NatsPubSub.connect({ servers: server.url, authenticator: jwtAuthenticator(user.jwt) });
    const errors: unknown[] = [];
    ps.status.addEventListener("error", (ev) => errors.push((ev as unknown as { error: unknown }).error));
    try {
      const sub = ps.subscribe("secret.x");
      const reason = await sub.closed;
      assert.ok(reason instanceof AuthError, String(reason));
      const fine = ps.subscribe("ok.x");
      await fine.ready;
      await ps.publish("ok.x", "hi");
      assert.equal((await read(fine, 1))[0]?.text(), "hi");
      await ps.publish("secret.x", "no"); // not allowed: reported on status, the connection goes on
      await until(() => errors.some((e) => e instanceof AuthError), 3000, "the error event");
      await fine.close();
    } finally {
      await ps.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test(
  { name: "NatsPubSub ends subscriptions and refuses use once the server is gone for good", ignore },
  async () => {
    const server = await NatsServer.start({ jetstream: false, websocket: false });
    const ps = await NatsPubSub.connect({ servers: server.url, maxReconnectAttempts: 1, reconnectTimeWaitMs: 50 });
    const statuses: string[] = [];
    const watching = (async () => {
      for await (const ev of ps.status) statuses.push(ev.type);
    })();
    try {
      const sub = ps.subscribe("x");
      await sub.ready;
      await server.stop();
      const reason = await sub.closed;
      assert.ok(reason instanceof PubSubError, String(reason));
      await until(() => ps.connection.isClosed(), 5000, "the connection to close");
      await assert.rejects(() => ps.publish("x", "y"), ClosedError);
      assert.throws(() => ps.subscribe("x"), ClosedError);
    } finally {
      await ps.close();
      await watching;
    }
    assert.equal(statuses[0], "disconnected");
    assert.equal(statuses.at(-1), "closed");
  },
);

Deno.test({ name: "NatsPubSub.fromConnection() wraps a connection without owning it", ignore }, async () => {
  await using e = await env({ websocket: false });
  const ps = NatsPubSub.fromConnection(e.admin, { jetstream: true });
  const r = await ps.publish("s.wrapped", "x");
  assert.equal(r.confirmed, true);
  await ps.close();
  assert.equal(e.admin.isClosed(), false);
  await assert.rejects(() => ps.publish("s.wrapped", "x"), ClosedError);
});
