import assert from "node:assert/strict";
import * as zmq from "zeromq";
import { ProtocolError, TimeoutError } from "../../src/core/errors.ts";
import { publish, Publisher } from "../../src/posttroll/publisher.ts";
import { subscribe } from "../../src/posttroll/subscriber.ts";
import { normalizeTopic } from "../../src/posttroll/subscriber_source.ts";
import type { PosttrollMessage } from "../../src/posttroll/message.ts";
import { startTestNameserver } from "../../src/testing/posttroll/mod.ts";
import { delay } from "../../src/core/async.ts";

/**
 * Keeps sending until `n` messages were read (ZeroMQ drops what a PUB sends before a SUB is
 * connected), then returns them.
 */
async function collect(
  send: (i: number) => Promise<void>,
  reader: ReadableStreamDefaultReader<PosttrollMessage>,
  n: number,
  ms = 10_000,
): Promise<PosttrollMessage[]> {
  const got: PosttrollMessage[] = [];
  let failed: unknown;
  const reading = (async () => {
    while (got.length < n) {
      const r = await reader.read();
      if (r.done) return;
      got.push(r.value);
    }
  })().catch((err) => failed = err);
  const deadline = Date.now() + ms;
  let i = 0;
  while (got.length < n && failed === undefined) {
    if (Date.now() > deadline) throw new Error(`Only ${got.length} of ${n} messages arrived`);
    await send(i++);
    await delay(20);
  }
  await reading;
  if (failed !== undefined) throw failed;
  return got;
}

Deno.test("normalizeTopic() maps topics to pytroll:/ prefixes as Python does", () => {
  assert.equal(normalizeTopic("counter"), "pytroll://counter");
  assert.equal(normalizeTopic("/counter"), "pytroll://counter");
  assert.equal(normalizeTopic("pytroll://x"), "pytroll://x");
  assert.equal(normalizeTopic("pytroll:/"), "pytroll:/");
});

Deno.test("subscribe() finds a NoisyPublisher through the nameserver and filters topics as prefixes", async () => {
  await using ns = await startTestNameserver();
  await using pub = await publish("a_service", { ...ns.publisherOptions, aliases: ["alias1"], port: 0 });
  await using sub = subscribe({ services: "alias1", topics: "counter", ...ns.subscriberOptions, timeout: 10_000 });
  await sub.ready;
  assert.deepEqual(sub.addresses, [`tcp://127.0.0.1:${pub.port}`]);
  const reader = sub.getReader();
  const got = await collect(
    async (i) => {
      await pub.send({ subject: "/other", data: "no" });
      await pub.send({ subject: i % 2 === 0 ? "/counter" : "/counterfoo/json", data: { i } });
    },
    reader,
    4,
  );
  for (const m of got) {
    assert.ok(m.subject === "/counter" || m.subject === "/counterfoo/json", m.subject);
    assert.equal(m.mime, "application/json");
  }
  reader.releaseLock();
  await sub.close();
});

Deno.test("subscribe() with addresses and no nameserver connects directly", async () => {
  await using pub = await new Publisher({ host: "127.0.0.1", name: "direct" }).start();
  await using sub = subscribe({ addresses: [pub.url], nameserver: false, services: null });
  await sub.ready;
  const reader = sub.getReader();
  const [m] = await collect(() => pub.send({ subject: "/x", type: "file", data: { uri: "file:///a" } }), reader, 1);
  assert.equal(m?.type, "file");
  assert.deepEqual(m?.payload, { uri: "file:///a" });
  reader.releaseLock();
  await sub.close();
});

Deno.test("subscribe() rejects ready with TimeoutError when no nameserver answers", async () => {
  // A bound REP that never answers stands in for a dead nameserver.
  const silent = new zmq.Reply({ linger: 0 });
  await silent.bind("tcp://127.0.0.1:*");
  const port = Number(silent.lastEndpoint!.split(":").at(-1));
  await using sub = subscribe({
    services: "x",
    nameserver: "127.0.0.1",
    config: { nameserverPort: port },
    timeout: 300,
  });
  await assert.rejects(sub.ready, TimeoutError);
  assert.ok((await sub.closed) instanceof TimeoutError);
  silent.close();
});

Deno.test("subscribe() with addrListener connects a publisher that starts later and drops one that stops", async () => {
  await using ns = await startTestNameserver({ maxAge: 800 });
  await using sub = subscribe({ services: "late", addrListener: true, ...ns.subscriberOptions, timeout: 2000 });
  await sub.ready;
  assert.deepEqual(sub.addresses, []);
  await using pub = await publish("late", { ...ns.publisherOptions, broadcastInterval: 200 });
  const reader = sub.getReader();
  const [m] = await collect(() => pub.send({ subject: "/late", data: "hi" }), reader, 1);
  assert.equal(m?.payload, "hi");
  assert.deepEqual(sub.addresses, [`tcp://127.0.0.1:${pub.port}`]);
  await pub.close();
  const deadline = Date.now() + 5000;
  while (sub.addresses.length > 0 && Date.now() < deadline) await delay(50);
  assert.deepEqual(sub.addresses, [], "the stopped publisher was not dropped");
  reader.releaseLock();
  await sub.close();
});

Deno.test("subscribe() resumes after the publisher restarts on the same port", async () => {
  await using first = await new Publisher({ host: "127.0.0.1" }).start();
  const port = first.port;
  await using sub = subscribe({ addresses: [first.url], nameserver: false });
  await sub.ready;
  const reader = sub.getReader();
  await collect(() => first.send({ subject: "/a", data: "before" }), reader, 1);
  // close() resolves once libzmq released the port, so the new publisher binds it at once.
  await first.close();
  await using second = await new Publisher({ host: "127.0.0.1", port }).start();
  // Copies of "before" sent while connecting may still be queued: read until "after" arrives.
  let after = false;
  while (!after) {
    const got = await collect(() => second.send({ subject: "/a", data: "after" }), reader, 1);
    after = got.some((m) => m.payload === "after");
  }
  reader.releaseLock();
  await sub.close();
});

Deno.test("subscribe() fails with ProtocolError on a malformed frame, or skips it with malformed: drop", async () => {
  const raw = new zmq.Publisher({ linger: 0 });
  await raw.bind("tcp://127.0.0.1:*");
  const url = raw.lastEndpoint!;
  await using strict = subscribe({ addresses: [url], nameserver: false });
  await using lenient = subscribe({ addresses: [url], nameserver: false, malformed: "drop" });
  await Promise.all([strict.ready, lenient.ready]);
  const good = "pytroll://a info u@h 2024-01-01T00:00:00 v1.01 text/ascii ok";
  const burst = async () => {
    await raw.send("pytroll://a info u@h 2024-01-01T00:00:00 v9 text/ascii bad");
    await raw.send(new Uint8Array([0x70, 0x79, 0xff]));
    await raw.send(good);
  };
  // The strict subscription reads until it fails: joining in the middle of a burst, it may get a good frame first.
  let strictEnd: unknown;
  const strictReader = strict.getReader();
  const strictRead = (async () => {
    while (!(await strictReader.read()).done) { /* a good frame */ }
  })().then(() => strictEnd = "the stream ended without an error", (err) => strictEnd = err);
  const lenientReader = lenient.getReader();
  const got = await collect(burst, lenientReader, 1);
  assert.equal(got[0]?.payload, "ok");
  const deadline = Date.now() + 10_000;
  while (strictEnd === undefined) {
    assert.ok(Date.now() < deadline, "the strict subscription never failed");
    await burst();
    await delay(20);
  }
  await strictRead;
  assert.ok(strictEnd instanceof ProtocolError, String(strictEnd));
  assert.ok((await strict.closed) instanceof ProtocolError);
  lenientReader.releaseLock();
  await lenient.close();
  raw.close();
});

Deno.test("Publisher.heartbeat() sends the first beat and then only after minInterval", async () => {
  await using pub = await new Publisher({ host: "127.0.0.1", name: "svc2" }).start();
  await using sub = subscribe({ addresses: [pub.url], nameserver: false, topics: "/heartbeat" });
  await sub.ready;
  const reader = sub.getReader();
  const [beat] = await collect(async () => void await pub.heartbeat(0), reader, 1);
  assert.equal(beat?.subject, "/heartbeat/svc2");
  assert.equal(beat?.type, "beat");
  assert.deepEqual(beat?.payload, { min_interval: 0 });
  assert.equal(await pub.heartbeat(60), false, "a beat went out within min_interval");
  await using fresh = await new Publisher({ host: "127.0.0.1" }).start();
  assert.equal(await fresh.heartbeat(60), true, "the first beat was not sent");
  reader.releaseLock();
  await sub.close();
});

Deno.test("Publisher.writable() sends each piped chunk", async () => {
  await using pub = await new Publisher({ host: "127.0.0.1" }).start();
  await using sub = subscribe({ addresses: [pub.url], nameserver: false });
  await sub.ready;
  const reader = sub.getReader();
  // Make sure the subscription is connected before piping.
  await collect(() => pub.send({ subject: "/warmup", data: "w" }), reader, 1);
  await ReadableStream.from(["a", "b"]).pipeTo(pub.writable("/piped"));
  const got: string[] = [];
  while (got.length < 2) {
    const r = await reader.read();
    if (r.value?.subject === "/piped") got.push(r.value.payload as string);
  }
  assert.deepEqual(got, ["a", "b"]);
  reader.releaseLock();
  await sub.close();
});

Deno.test("Publisher refuses bad ports and sending when closed", async () => {
  assert.throws(() => new Publisher({ port: 70000 }), RangeError);
  assert.throws(() => new Publisher({ port: -1 }), RangeError);
  const pub = new Publisher({ host: "127.0.0.1" });
  await assert.rejects(pub.send("x"), /not started/);
  await pub.start();
  await pub.close();
  await assert.rejects(pub.send({ subject: "/a" }), /closed/);
});

Deno.test("No PostTroll source uses zeromq's receiveTimeout (it crashes Deno 2.9.6)", async () => {
  for await (const entry of Deno.readDir(new URL("../../src/posttroll/", import.meta.url))) {
    if (!entry.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(`../../src/posttroll/${entry.name}`, import.meta.url));
    assert.ok(!/receiveTimeout\s*:/.test(text), `${entry.name} sets receiveTimeout`);
  }
});

Deno.test("request() gets a reply that comes late, without receiveTimeout", async () => {
  const { request } = await import("../../src/posttroll/sockets.ts");
  const rep = new zmq.Reply({ linger: 0 });
  await rep.bind("tcp://127.0.0.1:*");
  const serving = (async () => {
    while (!rep.readable) await delay(5);
    await rep.receive();
    await delay(300);
    await rep.send("late");
  })();
  const reply = await request(rep.lastEndpoint!, "q", { linger: 0 }, 3000);
  assert.equal(new TextDecoder().decode(reply), "late");
  await serving;
  rep.close();
});

Deno.test("subscribe() skips publishers whose supported_message_version is above v1.2", async () => {
  const { request } = await import("../../src/posttroll/sockets.ts");
  const { PosttrollMessage } = await import("../../src/posttroll/message.ts");
  await using ns = await startTestNameserver();
  for (const [uri, version] of [["tcp://127.0.0.1:40010", "v1.3"], ["tcp://127.0.0.1:40011", "v1.2"]]) {
    const frame = new PosttrollMessage({
      subject: "/address/svc",
      data: { URI: uri, service: ["svc"], supported_message_version: version, backend: "unsecure_zmq" },
    }).encode();
    await request(`tcp://127.0.0.1:${ns.config.broadcastPort}`, frame, { linger: 0 }, 2000);
  }
  await using sub = subscribe({ services: "svc", ...ns.subscriberOptions, timeout: 2000 });
  await sub.ready;
  assert.deepEqual(sub.addresses, ["tcp://127.0.0.1:40011"]);
  await sub.close();
});

Deno.test("publish() picks Publisher or NoisyPublisher as Python's Publish does", async () => {
  const { NoisyPublisher } = await import("../../src/posttroll/publisher.ts");
  await using plain = await publish("p", { host: "127.0.0.1", port: 0, nameservers: false });
  assert.ok(!(plain instanceof NoisyPublisher));
  await using quiet = await publish("q", { host: "127.0.0.1", broadcast: false });
  assert.ok(!(quiet instanceof NoisyPublisher));
  await using ns = await startTestNameserver();
  await using noisy = await publish("n", { ...ns.publisherOptions });
  assert.ok(noisy instanceof NoisyPublisher);
  assert.deepEqual(noisy.services, ["n"]);
  assert.throws(() => new NoisyPublisher({ name: "" }), TypeError);
  assert.throws(() => new NoisyPublisher({ name: "a b" }), TypeError);
});

Deno.test("subscribe() with maxMessageSize cuts off a publisher sending a bigger frame and goes on", async () => {
  const bad = new zmq.Publisher({ linger: 0 });
  await bad.bind("tcp://127.0.0.1:*");
  await using good = await new Publisher({ host: "127.0.0.1" }).start();
  assert.throws(() => subscribe({ addresses: [bad.lastEndpoint!], nameserver: false, maxMessageSize: 0 }), RangeError);
  await using sub = subscribe({ addresses: [bad.lastEndpoint!, good.url], nameserver: false, maxMessageSize: 1000 });
  await sub.ready;
  const reader = sub.getReader();
  const small = "pytroll://bad info u@h 2024-01-01T00:00:00 v1.01 text/ascii small";
  // Connected once a small frame arrives from each.
  await collect(() => bad.send(small), reader, 1);
  await collect(() => good.send({ subject: "/good", data: "ok" }), reader, 1);
  await bad.send(`pytroll://bad info u@h 2024-01-01T00:00:00 v1.01 text/ascii ${"x".repeat(2000)}`);
  // Copies of the warm-up frames may still come; the big one never does, and the good publisher goes on.
  let goodAfter = 0;
  while (goodAfter < 3) {
    const got = await collect(() => good.send({ subject: "/good", data: "after" }), reader, 1);
    for (const m of got) {
      assert.ok(m.raw().length < 1000, "a frame over maxMessageSize was delivered");
      if (m.payload === "after") goodAfter++;
    }
  }
  reader.releaseLock();
  await sub.close();
  bad.close();
});

Deno.test("Publisher.send() of fields uses the configured messageVersion unless the fields set one", async () => {
  const t = new Date("2024-01-02T03:04:05Z");
  for (
    const [messageVersion, version, expected] of [
      [undefined, undefined, "v1.2"],
      ["v1.01", undefined, "v1.01"],
      ["v1.01", "v1.2", "v1.2"],
    ] as const
  ) {
    await using pub = await new Publisher({ host: "127.0.0.1", config: { messageVersion } }).start();
    await using sub = subscribe({ addresses: [pub.url], nameserver: false, topics: "/v" });
    await sub.ready;
    const reader = sub.getReader();
    const [m] = await collect(
      () => pub.send({ subject: "/v", sender: "u@h", time: t, data: { t }, version }),
      reader,
      1,
    );
    assert.equal(m?.version, expected);
    assert.equal(
      m?.raw(),
      expected === "v1.01"
        ? 'pytroll://v info u@h 2024-01-02T03:04:05 v1.01 application/json {"t": "2024-01-02T03:04:05"}'
        : 'pytroll://v info u@h 2024-01-02T03:04:05+00:00 v1.2 application/json {"t": "2024-01-02T03:04:05+00:00"}',
    );
    await reader.cancel();
  }
});
