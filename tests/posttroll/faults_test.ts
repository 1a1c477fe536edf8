// PostTroll faults seen from a subscription: malformed frames dropped, a frame above maxMessageSize, a CURVE client
// holding the wrong server key, a publisher restarting. Each is reported on the subscription's status channel.
import assert from "node:assert/strict";
import { join } from "node:path";
import { AuthError, ProtocolError } from "../../src/core/errors.ts";
import type { StatusEvent } from "../../src/core/status.ts";
import { generateKeys } from "../../src/posttroll/keys.ts";
import type { PosttrollMessage } from "../../src/posttroll/message.ts";
import { Publisher } from "../../src/posttroll/publisher.ts";
import { type PosttrollSubscription, subscribe } from "../../src/posttroll/subscriber.ts";
import { delay } from "../../src/core/async.ts";

/** Rejects when `p` does not settle within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** The status events of a subscription, and a way to wait for one. */
function record(sub: PosttrollSubscription) {
  const events: StatusEvent[] = [];
  const waiters: { match: (e: StatusEvent) => boolean; resolve: (e: StatusEvent) => void }[] = [];
  for (const t of ["connected", "disconnected", "reconnected", "error", "malformed"]) {
    sub.status.addEventListener(t, (e) => {
      events.push(e as StatusEvent);
      for (const w of [...waiters]) {
        if (w.match(e as StatusEvent)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e as StatusEvent);
        }
      }
    });
  }
  return {
    events,
    /** The first event (past or future) that matches. */
    next(match: (e: StatusEvent) => boolean, what: string, ms = 10_000): Promise<StatusEvent> {
      const seen = events.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return within(new Promise((resolve) => waiters.push({ match, resolve })), ms, what);
    },
  };
}

/** Reads the stream into `into` in the background. */
function drain(sub: PosttrollSubscription, into: PosttrollMessage[]): Promise<void> {
  return (async () => {
    try {
      for await (const m of sub) into.push(m);
    } catch { /* ended */ }
  })();
}

/**
 * Sends `/probe` from `pub` until one arrived in `got` after index `since` (PUB/SUB drops what precedes the
 * subscription's arrival at the publisher).
 */
async function joined(pub: Publisher, got: PosttrollMessage[], since = got.length, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  const from = (m: PosttrollMessage) => m.subject === "/probe" && m.text() === pub.url;
  while (!got.slice(since).some(from)) {
    if (Date.now() > deadline) throw new Error(`${pub.url} never reached the subscriber`);
    await pub.send({ subject: "/probe", data: pub.url });
    await delay(20);
  }
}

const texts = (got: PosttrollMessage[], subject: string) =>
  got.filter((m) => m.subject === subject).map((m) => m.text());

Deno.test('subscribe() with malformed: "drop" counts each dropped frame and reports it as a status event', async () => {
  await using pub = await new Publisher({ host: "127.0.0.1" }).start();
  const sub = subscribe({ addresses: [pub.url], nameserver: false, malformed: "drop" });
  const status = record(sub);
  const got: PosttrollMessage[] = [];
  const reading = drain(sub, got);
  await joined(pub, got);
  await pub.send({ subject: "/x", data: "1" });
  await pub.send("pytroll://x info"); // too few fields
  await pub.send({ subject: "/x", data: "2" });
  await pub.send("pytroll://x info a@b 2026-01-01T00:00:00 v1.01 application/json {not json");
  await pub.send({ subject: "/x", data: "3" });
  await within(
    (async () => {
      while (texts(got, "/x").length < 3) await delay(5);
    })(),
    5000,
    "three good messages",
  );
  assert.deepEqual(texts(got, "/x"), ["1", "2", "3"]);
  assert.equal(sub.malformed, 2);
  const dropped = status.events.filter((e) => e.type === "malformed");
  assert.deepEqual(dropped.map((e) => e.detail.dropped), [1, 2]);
  assert.ok(dropped.every((e) => e.error instanceof ProtocolError));
  await sub.close();
  await reading;
});

Deno.test("subscribe() reports a frame above maxMessageSize, keeps the other publishers flowing and reconnects the sender", async () => {
  await using a = await new Publisher({ host: "127.0.0.1" }).start();
  await using b = await new Publisher({ host: "127.0.0.1" }).start();
  const sub = subscribe({ addresses: [a.url, b.url], nameserver: false, maxMessageSize: 4096 });
  const status = record(sub);
  const got: PosttrollMessage[] = [];
  const reading = drain(sub, got);
  await joined(a, got);
  await joined(b, got);
  await a.send({ subject: "/a", data: "before" });
  await a.send({ subject: "/a", data: "x".repeat(5000) }); // over 4096: libzmq drops the connection with it
  // B goes on while A is down, one message per round until the report came.
  let i = 0;
  const failure = status.next((e) => e.type === "error" && e.detail.uri === a.url, "the oversize report");
  let reported: StatusEvent | undefined;
  void failure.then((e) => reported = e, () => {});
  while (reported === undefined && i < 500) {
    await b.send({ subject: "/b", data: `${i++}` });
    await delay(10);
  }
  const e = await failure;
  assert.ok(e.error instanceof ProtocolError, String(e.error));
  assert.match((e.error as Error).message, /maxMessageSize \(4096 bytes\)/);
  assert.equal(e.detail.maxMessageSize, 4096);
  // Every B message sent so far arrives (they were sent after A's big frame).
  await b.send({ subject: "/b", data: "last" });
  await within(
    (async () => {
      while (!texts(got, "/b").includes("last")) await delay(5);
    })(),
    5000,
    "B's messages",
  );
  assert.deepEqual(texts(got, "/b"), [...Array.from({ length: i }, (_, k) => `${k}`), "last"]);
  // A is connected again by the subscription, and what it sends from then on arrives.
  await status.next((e) => e.type === "reconnected" && e.detail.uri === a.url, "A reconnected");
  await joined(a, got); // probes sent after the reconnection arrive
  assert.deepEqual(texts(got, "/a").filter((t) => t.length > 100), [], "the oversized frame never arrives");
  await sub.close();
  await reading;
});

Deno.test("subscribe() as a CURVE client holding the wrong server key reports an AuthError and delivers nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "posttroll-faults-" });
  try {
    const server = await generateKeys("server", dir);
    const client = await generateKeys("client", dir);
    const other = await generateKeys("other", dir);
    await Deno.mkdir(join(dir, "clients"));
    await Deno.copyFile(client.publicFile, join(dir, "clients", "client.key"));
    await using pub = await new Publisher({
      host: "127.0.0.1",
      config: {
        backend: "secure_zmq",
        serverSecretKeyFile: server.secretFile,
        clientsPublicKeysDirectory: join(dir, "clients"),
      },
    }).start();
    const clientSide = (serverKey: string) => ({
      backend: "secure_zmq" as const,
      clientSecretKeyFile: client.secretFile,
      serverPublicKeyFile: serverKey,
    });
    const good = subscribe({ addresses: [pub.url], nameserver: false, config: clientSide(server.publicFile) });
    const wrong = subscribe({ addresses: [pub.url], nameserver: false, config: clientSide(other.publicFile) });
    const status = record(wrong);
    const fine: PosttrollMessage[] = [];
    const bad: PosttrollMessage[] = [];
    const readings = [drain(good, fine), drain(wrong, bad)];
    const e = await status.next((e) => e.type === "error", "the wrong key's report");
    assert.ok(e.error instanceof AuthError, String(e.error));
    assert.match((e.error as Error).message, /server public key \(serverPublicKeyFile\) is most likely not this/);
    assert.equal(e.detail.uri, pub.url);
    // The right key gets messages sent from now on; the wrong one nothing, and only one report.
    await joined(pub, fine);
    for (let i = 0; i < 10; i++) await pub.send({ subject: "/secret", data: `${i}` });
    await within(
      (async () => {
        while (texts(fine, "/secret").length < 10) await delay(5);
      })(),
      5000,
      "the good client's messages",
    );
    assert.equal(bad.length, 0);
    assert.equal(status.events.filter((e) => e.type === "error").length, 1);
    assert.equal(status.events.filter((e) => e.type === "connected").length, 0);
    await Promise.all([good.close(), wrong.close()]);
    await Promise.all(readings);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A publisher restart: the subscriber reports the outage, and the new publisher counts what went to no one", async () => {
  const first = await new Publisher({ host: "127.0.0.1" }).start();
  const port = first.port;
  const uri = first.url;
  const sub = subscribe({ addresses: [uri], nameserver: false });
  const status = record(sub);
  const got: PosttrollMessage[] = [];
  const reading = drain(sub, got);
  await joined(first, got);
  await first.send({ subject: "/x", data: "before" });
  // close() resolves once libzmq released the port: the new publisher below binds it at once.
  await first.close();
  await status.next((e) => e.type === "disconnected" && e.detail.uri === uri, "the subscriber seeing the publisher go");
  // The new publisher on the same port sends at once, before the subscriber is back: PUB/SUB loses those, and the
  // publisher counts each frame that no subscription matched.
  await using second = await new Publisher({ host: "127.0.0.1", port }).start();
  const subscribed = new Promise<StatusEvent>((resolve) =>
    second.status.addEventListener("subscribed", (e) => resolve(e as StatusEvent), { once: true })
  );
  let joinedAt: StatusEvent | undefined;
  void subscribed.then((e) => joinedAt = e);
  const unheard: string[] = [];
  const heard: string[] = [];
  for (let i = 0; heard.length < 20 && i < 2000; i++) {
    const before = second.unheard;
    await second.send({ subject: "/x", data: `${i}` });
    (second.unheard > before ? unheard : heard).push(`${i}`);
    await delay(5);
  }
  assert.ok(joinedAt !== undefined, "the subscriber's subscription reached the new publisher");
  assert.ok(unheard.length > 0, "frames were sent before the subscriber came back");
  assert.equal(second.unheard, unheard.length);
  assert.equal(joinedAt.detail.unheard, unheard.length, "the subscribed event carries the count of the join");
  await second.send({ subject: "/x", data: "last" });
  await within(
    (async () => {
      while (!texts(got, "/x").includes("last")) await delay(5);
    })(),
    5000,
    "the last message",
  );
  // What the subscriber got is exactly what the publisher did not count as unheard (the frame sent as the
  // subscription arrived may go either way).
  const arrived = texts(got, "/x");
  assert.deepEqual(arrived.filter((t) => !unheard.includes(t)), ["before", ...heard, "last"]);
  assert.ok(arrived.filter((t) => unheard.includes(t)).every((t) => t === unheard.at(-1)), String(arrived));
  const back = await status.next((e) => e.type === "reconnected" && e.detail.uri === uri, "the reconnection");
  assert.ok((back.detail.downMs as number) >= 0);
  await sub.close();
  await reading;
});
