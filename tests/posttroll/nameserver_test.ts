import assert from "node:assert/strict";
import * as zmq from "zeromq";
import { Nameserver } from "../../src/posttroll/nameserver.ts";
import {
  getPubAddress,
  getPubAddresses,
  nameserverUrl,
  waitForPubAddress,
} from "../../src/posttroll/nameserver_client.ts";
import { PosttrollMessage } from "../../src/posttroll/message.ts";
import { resolveConfig } from "../../src/posttroll/config.ts";
import { request } from "../../src/posttroll/sockets.ts";
import { startTestNameserver } from "../../src/testing/posttroll/mod.ts";
import { delay } from "../../src/core/async.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** The next frame of a SUB socket, or undefined after `ms` (polling `readable`: see the zeromq pitfall). */
async function nextFrame(socket: zmq.Subscriber, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  while (!socket.readable) {
    if (Date.now() > deadline) return undefined;
    await delay(5);
  }
  return text((await socket.receive())[0]!);
}

const PROBE = "/address/feed-probe";
const isProbe = (frame: string) => frame.startsWith(`pytroll:/${PROBE}`);

/**
 * Waits until a SUB socket on the address feed gets what the nameserver
 * publishes (ZeroMQ's slow joiner): announces new probe addresses until one's
 * add notice arrives. Probe notices that follow are the caller's to skip.
 */
async function joined(feed: zmq.Subscriber, intake: string): Promise<void> {
  for (let k = 0; k < 100; k++) {
    await request(intake, announce(`feed-probe`, `tcp://127.0.0.1:${60000 + k}`, ["feed-probe"]), { linger: 0 }, 2000);
    const frame = await nextFrame(feed, 100);
    if (frame !== undefined && isProbe(frame)) return;
  }
  throw new Error("The address feed never delivered a probe's add notice");
}

function announce(name: string, uri: string, services: string[]): string {
  return new PosttrollMessage({
    subject: `/address/${name}`,
    data: { URI: uri, service: services, supported_message_version: "v1.2", backend: "unsecure_zmq" },
    sender: "root@vm",
  }).encode();
}

Deno.test("nameserverUrl() builds the query URL as Python does", () => {
  const cfg = resolveConfig({}, {});
  assert.equal(nameserverUrl("localhost", cfg), "tcp://localhost:5557");
  assert.equal(nameserverUrl("tcp://h", cfg), "tcp://h:5557");
  assert.equal(nameserverUrl("tcp://h:1234", cfg), "tcp://h:1234");
  assert.equal(nameserverUrl("ipc:///tmp/ns", cfg), "ipc:///tmp/ns");
  assert.equal(nameserverUrl("h", resolveConfig({ backend: "secure_zmq" }, {})), "tcp://h:5558");
});

Deno.test("Nameserver takes announcements by REQ with ok, answers queries and publishes the add", async () => {
  await using ns = await startTestNameserver();
  const feed = new zmq.Subscriber({ linger: 0 });
  feed.subscribe("pytroll://address");
  feed.connect(`tcp://127.0.0.1:${ns.config.addressPublishPort}`);
  const intake = `tcp://127.0.0.1:${ns.config.broadcastPort}`;
  await joined(feed, intake);
  const opts = { linger: 0 };
  const ok = await request(intake, announce("svc2", "tcp://127.0.0.1:40000", ["svc2", "aliasB"]), opts, 2000);
  assert.equal(text(ok), "ok");
  // A repeat only refreshes the entry: one add on the feed.
  await request(intake, announce("svc2", "tcp://127.0.0.1:40000", ["svc2", "aliasB"]), opts, 2000);
  let add: string | undefined;
  while ((add = await nextFrame(feed, 2000)) !== undefined && isProbe(add));
  assert.ok(add !== undefined, "no add notice");
  const notice = PosttrollMessage.decode(new TextEncoder().encode(add));
  assert.equal(notice.subject, "/address/svc2");
  assert.equal(notice.version, "v1.01");
  assert.ok(
    notice.raw().endsWith(
      'application/json {"URI": "tcp://127.0.0.1:40000", "service": ["svc2", "aliasB"], "supported_message_version": "v1.2", "backend": "unsecure_zmq", "status": true}',
    ),
    notice.raw(),
  );
  const found = await getPubAddress("aliasB", { nameserver: "127.0.0.1", config: ns.config, timeout: 2000 });
  assert.equal(found.length, 1);
  assert.deepEqual(Object.keys(found[0]!), [
    "URI",
    "service",
    "supported_message_version",
    "backend",
    "status",
    "name",
    "receive_time",
  ]);
  assert.equal(found[0]!.name, "address");
  assert.deepEqual(await getPubAddress("nobody", { nameserver: "127.0.0.1", config: ns.config, timeout: 2000 }), []);
  // "" lists everything, including the feed's own registration.
  const all = (await getPubAddress("", { nameserver: "127.0.0.1", config: ns.config, timeout: 2000 }))
    .filter((e) => !JSON.stringify(e.service).includes("feed-probe"));
  assert.deepEqual(
    all.map((e) => e.URI).sort(),
    [
      "tcp://127.0.0.1:40000",
      `tcp://127.0.0.1:${ns.config.addressPublishPort}`,
    ].sort(),
  );
  // The raw reply: /oper/ns info, the request's version, receive_time with +00:00.
  const req = new PosttrollMessage({
    subject: "/oper/ns",
    type: "request",
    data: { service: "svc2" },
    version: "v1.2",
  });
  const reply = PosttrollMessage.decode(
    await request(`tcp://127.0.0.1:${ns.config.nameserverPort}`, req.encode(), opts, 2000),
  );
  assert.equal(reply.subject, "/oper/ns");
  assert.equal(reply.type, "info");
  assert.equal(reply.version, "v1.2");
  assert.match(reply.raw(), /"receive_time": "\d{4}-\d\d-\d\dT[\d:.]+\+00:00"\}\]$/);
  feed.close();
});

Deno.test("Nameserver ages out stale addresses and publishes the removal as Python does", async () => {
  await using ns = await startTestNameserver({ maxAge: 300 });
  const feed = new zmq.Subscriber({ linger: 0 });
  feed.subscribe("pytroll://address");
  feed.connect(`tcp://127.0.0.1:${ns.config.addressPublishPort}`);
  await joined(feed, `tcp://127.0.0.1:${ns.config.broadcastPort}`);
  await request(
    `tcp://127.0.0.1:${ns.config.broadcastPort}`,
    announce("svc2", "tcp://127.0.0.1:40000", ["svc2", "aliasB"]),
    { linger: 0 },
    2000,
  );
  const frames: string[] = [];
  const deadline = Date.now() + 5000;
  const isRemoval = (f: string) => f.includes('"status": false') && f.includes(":40000");
  while (!frames.some(isRemoval) && Date.now() < deadline) {
    if (feed.readable) frames.push(text((await feed.receive())[0]!));
    else await delay(20);
  }
  const removal = frames.find(isRemoval);
  assert.ok(removal !== undefined, "no removal notice");
  assert.match(
    removal,
    /^pytroll:\/\/address\/address info \S+@\S+ [\d\-T:.]+ v1\.01 application\/json \{"status": false, "URI": "tcp:\/\/127\.0\.0\.1:40000", "service": \["svc2", "aliasB"\]\}$/,
  );
  assert.deepEqual(await getPubAddress("svc2", { nameserver: "127.0.0.1", config: ns.config, timeout: 2000 }), []);
  // The feed's own registration is refreshed, so it is never aged out.
  assert.ok(!frames.some((f) => f.includes('"status": false') && f.includes("address_receiver")));
  feed.close();
});

Deno.test("Nameserver answers malformed requests with an empty reply and keeps serving", async () => {
  await using ns = await startTestNameserver();
  const url = `tcp://127.0.0.1:${ns.config.nameserverPort}`;
  const opts = { linger: 0 };
  await request(
    `tcp://127.0.0.1:${ns.config.broadcastPort}`,
    announce("svc", "tcp://127.0.0.1:40001", ["svc"]),
    opts,
    2000,
  );
  const bad: (string | Uint8Array)[] = [
    "no magic at all",
    new Uint8Array([0xff, 0xfe, 0x00]),
    "pytroll://oper/ns request u@h 2024-01-01T00:00:00 v1.01 application/json [1, 2]",
    'pytroll://oper/ns request u@h 2024-01-01T00:00:00 v1.01 application/json {"service": 5}',
    'pytroll://oper/ns request u@h 2024-01-01T00:00:00 v1.01 application/json {"nothing": "svc"}',
    "pytroll://oper/ns request u@h not-a-time v1.01",
    "pytroll://oper/ns request u@h 2024-01-01T00:00:00 v1.01 text/ascii svc",
    "",
  ];
  for (const frame of bad) {
    const socket = new zmq.Request(opts);
    socket.connect(url);
    await socket.send(frame);
    const deadline = Date.now() + 2000;
    while (!socket.readable && Date.now() < deadline) await delay(5);
    assert.ok(socket.readable, `no reply to ${String(frame)}`);
    const reply = PosttrollMessage.decode((await socket.receive())[0]!);
    assert.equal(reply.subject, "/oper/ns");
    assert.equal(reply.mime, null);
    socket.close();
  }
  const found = await getPubAddresses(["svc"], { nameserver: "127.0.0.1", config: ns.config, timeout: 2000 });
  assert.deepEqual(found.map((e) => e.URI), ["tcp://127.0.0.1:40001"]);
});

Deno.test("Nameserver drops malformed announcements and keeps taking good ones", async () => {
  await using ns = await startTestNameserver();
  const intake = `tcp://127.0.0.1:${ns.config.broadcastPort}`;
  const opts = { linger: 0 };
  for (
    const frame of [
      "garbage",
      "pytroll://address/x info u@h 2024-01-01T00:00:00 v1.01 application/json [1]",
      'pytroll://address/x info u@h 2024-01-01T00:00:00 v1.01 application/json {"URI": 5}',
      "pytroll://address/x info u@h 2024-01-01T00:00:00 v1.01 text/ascii tcp://1.2.3.4:5",
    ]
  ) {
    assert.equal(text(await request(intake, frame, opts, 2000)), "ok");
  }
  await request(intake, announce("good", "tcp://127.0.0.1:40002", ["good"]), opts, 2000);
  const found = await getPubAddress("", { nameserver: "127.0.0.1", config: ns.config, timeout: 2000 });
  assert.deepEqual(found.map((e) => e.URI).filter((u) => u.endsWith(":40002")), ["tcp://127.0.0.1:40002"]);
  assert.equal(found.length, 2); // the good one and the feed's own registration
});

Deno.test("Nameserver refuses a non-positive maxAge and reports a port already bound", async () => {
  assert.throws(() => new Nameserver({ maxAge: 0 }), RangeError);
  await using ns = await startTestNameserver();
  const clash = new Nameserver({
    host: "127.0.0.1",
    multicast: false,
    config: { nameserverPort: ns.config.nameserverPort, broadcastPort: 0, addressPublishPort: 0 },
  });
  await assert.rejects(clash.start(), /Binding the nameserver/);
  await clash.close();
});

Deno.test("NoisyPublisher keeps registering when the nameserver starts late (REQ timeout, new socket)", async () => {
  const { NoisyPublisher } = await import("../../src/posttroll/publisher.ts");
  // Find a free port for the intake, then leave it closed for a while.
  const probe = new zmq.Reply({ linger: 0 });
  await probe.bind("tcp://127.0.0.1:*");
  const port = Number(probe.lastEndpoint!.split(":").at(-1));
  probe.close();
  await using pub = await new NoisyPublisher({
    name: "late_ns",
    host: "127.0.0.1",
    advertisedAddress: "127.0.0.1",
    nameservers: [`127.0.0.1:${port}`],
    broadcastInterval: 100,
  }).start();
  const errors: unknown[] = [];
  // Two failed attempts reported, each as an error event (no nameserver listens yet).
  await new Promise<void>((resolve) =>
    pub.broadcaster!.status.addEventListener("error", (e) => {
      errors.push(e);
      if (errors.length === 2) resolve();
    })
  );
  assert.equal(errors.length, 2);
  const registered = new Promise<void>((resolve) =>
    pub.broadcaster!.status.addEventListener("registered", () => resolve(), { once: true })
  );
  await using ns = new Nameserver({
    host: "127.0.0.1",
    multicast: false,
    advertisedAddress: "127.0.0.1",
    config: { nameserverPort: 0, broadcastPort: port, addressPublishPort: 0 },
  });
  await ns.start();
  await registered;
  const found = await getPubAddress("late_ns", {
    nameserver: "127.0.0.1",
    config: { nameserverPort: ns.ports.nameserver },
    timeout: 2000,
  });
  assert.deepEqual(found.map((e) => e.URI), [`tcp://127.0.0.1:${pub.port}`]);
});

Deno.test("Nameserver keeps at most maxEntries addresses", async () => {
  assert.throws(() => new Nameserver({ maxEntries: 0 }), RangeError);
  await using ns = new Nameserver({
    host: "127.0.0.1",
    multicast: false,
    advertisedAddress: "127.0.0.1",
    maxEntries: 3,
    config: { nameserverPort: 0, broadcastPort: 0, addressPublishPort: 0 },
  });
  await ns.start();
  const intake = `tcp://127.0.0.1:${ns.ports.broadcast}`;
  for (let i = 0; i < 5; i++) {
    await request(intake, announce(`s${i}`, `tcp://127.0.0.1:${41000 + i}`, [`s${i}`]), { linger: 0 }, 2000);
  }
  // The feed's own registration and the first two announcements.
  assert.equal(ns.addresses().length, 3);
  const found = await getPubAddress("s1", { nameserver: "127.0.0.1", config: { nameserverPort: ns.ports.nameserver } });
  assert.equal(found.length, 1);
  assert.deepEqual(
    await getPubAddress("s4", { nameserver: "127.0.0.1", config: { nameserverPort: ns.ports.nameserver } }),
    [],
  );
});

Deno.test("getPubAddresses() asks again until a publisher registers; waitForPubAddress(name, options, false) asks once", async () => {
  let empty = 0;
  let onEmpty: (() => void) | undefined;
  await using ns = new Nameserver({
    host: "127.0.0.1",
    multicast: false,
    advertisedAddress: "127.0.0.1",
    config: { nameserverPort: 0, broadcastPort: 0, addressPublishPort: 0 },
    log: (_level, message) => {
      if (message !== 'Query for "late": 0 found') return;
      empty++;
      onEmpty?.();
    },
  });
  await ns.start();
  const { nameserver, broadcast, addressPublish } = ns.ports;
  const config = { nameserverPort: nameserver, broadcastPort: broadcast, addressPublishPort: addressPublish };
  const where = { nameserver: "127.0.0.1", config };
  assert.deepEqual(await waitForPubAddress("late", { ...where, timeout: 5000 }, false), []);
  assert.equal(empty, 1);
  // The retrying lookup: once the nameserver answered its first ask with nothing, the publisher registers.
  const found = getPubAddresses(["late"], { ...where, timeout: 20_000 });
  await new Promise<void>((resolve) => {
    onEmpty = resolve;
    if (empty > 1) resolve();
  });
  await request(
    `tcp://127.0.0.1:${broadcast}`,
    announce("late", "tcp://127.0.0.1:40002", ["late"]),
    { linger: 0 },
    2000,
  );
  assert.deepEqual((await found).map((e) => e.URI), ["tcp://127.0.0.1:40002"]);
});
