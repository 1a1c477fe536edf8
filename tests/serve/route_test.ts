// A route in-process (serve() with doubles): the source's own record of acks and naks, and the target's own record of
// what it confirmed, are the truth the counters are checked against.
import assert from "node:assert/strict";
import { ConnectionError } from "../../src/core/errors.ts";
import { parseConfig, type ServeConfig } from "../../src/serve/config.ts";
import { serve, type Service } from "../../src/serve/service.ts";
import { deferred, FakeSource, FakeTarget, opener, type Published, until } from "./_fakes.ts";

function config(route: Record<string, unknown> = {}, top: Record<string, unknown> = {}): ServeConfig {
  return parseConfig(
    JSON.stringify({
      listen: false,
      ...top,
      routes: [{
        name: "r",
        from: { url: "memory:?settle", topic: "in.>" },
        to: { url: "memory:", topic: "out/{2}" },
        retry: { attempts: 3, delayMs: 1, maxDelayMs: 5 },
        nakDelayMs: 1,
        ...route,
      }],
    }),
    { env: () => undefined, baseUrl: import.meta.url },
  );
}

async function start(
  cfg: ServeConfig,
  map: Record<string, FakeSource | FakeTarget>,
): Promise<{ service: Service; log: string[] }> {
  const log: string[] = [];
  const service = await serve(cfg, { open: opener(map), log: (l) => log.push(l) });
  await service.started;
  return { service, log };
}

function stats(service: Service) {
  return service.routes()[0]!.stats;
}

Deno.test("serve() acks each source message only after the target confirmed it, and keeps the window", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  const gates: { p: Published; go: () => void }[] = [];
  target.behaviour = (p) => {
    const d = deferred();
    gates.push({ p, go: () => d.resolve() });
    return d.promise;
  };
  const { service } = await start(config({ maxInFlight: 4 }), { "memory:?settle": source, "memory:": target });
  try {
    for (let i = 0; i < 10; i++) source.emit(`m${i}`);
    await until(() => gates.length === 4, 5000, "4 publishes");
    assert.equal(target.current, 4);
    assert.deepEqual(source.log, [], "nothing acked before the target confirmed");
    assert.equal(service.routes()[0]!.status.inFlight, 4);
    gates[2]!.go();
    await until(() => source.log.length === 1, 5000, "one ack");
    assert.deepEqual(source.log, [["m2", "ack", 0]]);
    await until(() => gates.length === 5, 5000, "a fifth publish");
    while (gates.some((g) => g)) {
      const open = gates.splice(0);
      for (const g of open) g.go();
      await until(() => gates.length > 0 || source.log.length === 10, 5000, "more");
      if (source.log.length === 10) break;
    }
    await until(() => source.log.length === 10);
    assert.ok(target.most <= 4, `at most 4 in flight, saw ${target.most}`);
    assert.deepEqual(source.acked().sort(), Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
    assert.deepEqual(target.confirmed.map((p) => p.topic), Array(10).fill("out/a"));
    const s = stats(service);
    assert.deepEqual([s.received, s.confirmed, s.acked, s.naked, s.failed], [10, 10, 10, 0, 0]);
  } finally {
    await service.drain();
    source.dispose();
  }
});

Deno.test("serve() retries a failed publish, then naks it, and forwards it once the target is back", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  let down = true;
  target.behaviour = () => down ? Promise.reject(new ConnectionError("down")) : Promise.resolve();
  const { service } = await start(config({ retry: { attempts: 2, delayMs: 1 } }), {
    "memory:?settle": source,
    "memory:": target,
  });
  try {
    source.emit("x");
    await until(() => source.log.length >= 2, 5000, "two naks");
    assert.deepEqual(source.log.slice(0, 2).map(([d, how, delay]) => [d, how, delay]), [["x", "nak", 1], [
      "x",
      "nak",
      1,
    ]]);
    down = false;
    await until(() => source.acked().length === 1, 5000, "the ack");
    const s = stats(service);
    assert.ok(s.retries >= 2 && s.failed >= 2 && s.naked === s.failed, JSON.stringify(s));
    assert.equal(s.redelivered, s.received - 1);
    assert.equal(s.acked, 1);
    assert.equal(s.deadLettered, 0);
    assert.deepEqual(target.confirmed.map((p) => p.data), ["x"]);
  } finally {
    await service.drain();
    source.dispose();
  }
});

Deno.test("serve() dead-letters what the target refuses, with the reason, and acks it", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  const dlq = new FakeTarget();
  target.behaviour = (p) =>
    p.data === "too big" ? Promise.reject(new RangeError("the payload is too large")) : Promise.resolve();
  const cfg = config({ deadLetter: { url: "memory:?maxPayload=99", topic: "refused/{topic}" } });
  const { service } = await start(cfg, { "memory:?settle": source, "memory:": target, "memory:?maxPayload=99": dlq });
  try {
    source.emit("fine");
    source.emit("too big", { "x-trace": "7" });
    await until(() => source.log.length === 2, 5000, "both settled");
    assert.deepEqual(source.log.map(([d, how]) => [d, how]).sort(), [["fine", "ack"], ["too big", "ack"]]);
    assert.equal(target.attempts, 2, "a refusal (RangeError) is not retried");
    assert.equal(dlq.confirmed.length, 1);
    const dead = dlq.confirmed[0]!;
    assert.equal(dead.topic, "refused/in/a");
    assert.equal(dead.data, "too big");
    assert.equal(dead.headers?.get("x-pubsub-route"), "r");
    assert.equal(dead.headers?.get("x-pubsub-source-topic"), "in/a");
    assert.match(dead.headers?.get("x-pubsub-error") ?? "", /RangeError: the payload is too large/);
    assert.equal(dead.headers?.get("x-trace"), "7");
    const s = stats(service);
    assert.deepEqual([s.failed, s.deadLettered, s.acked, s.naked, s.confirmed], [1, 1, 2, 0, 1]);
  } finally {
    await service.drain();
    source.dispose();
  }
});

Deno.test("serve() never dead-letters a transient failure: it naks it", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  const dlq = new FakeTarget();
  let fails = 3;
  target.behaviour = () => fails-- > 0 ? Promise.reject(new ConnectionError("reset")) : Promise.resolve();
  const cfg = config({ retry: { attempts: 1 }, deadLetter: { url: "memory:?maxPayload=99", topic: "dl" } });
  const { service } = await start(cfg, { "memory:?settle": source, "memory:": target, "memory:?maxPayload=99": dlq });
  try {
    source.emit("x");
    await until(() => source.acked().length === 1, 5000, "the ack");
    assert.equal(dlq.confirmed.length, 0);
    assert.equal(source.log.filter(([, how]) => how === "nak").length, 3);
  } finally {
    await service.drain();
    source.dispose();
  }
});

Deno.test("serve() with a transform: split outputs all confirmed before the ack; a throwing transform dead-letters", async () => {
  const dir = await Deno.makeTempDir();
  const source = new FakeSource();
  const target = new FakeTarget();
  const dlq = new FakeTarget();
  const held = deferred();
  target.behaviour = (p) => p.data === "b-2" ? held.promise : Promise.resolve();
  await Deno.writeTextFile(
    `${dir}/split.ts`,
    `export default ({ options }) => new TransformStream({
      transform(m, c) {
        const t = m.text();
        if (t === options.poison) throw new Error("cannot split " + t);
        if (t === "skip") return;
        for (let i = 1; i <= 3; i++) c.enqueue({ topic: "in/" + t + i, data: t + "-" + i });
      },
    });`,
  );
  const cfg = config({
    transform: { module: `file://${dir}/split.ts`, options: { poison: "p" } },
    deadLetter: { url: "memory:?maxPayload=99", topic: "dl" },
  });
  const { service } = await start(cfg, { "memory:?settle": source, "memory:": target, "memory:?maxPayload=99": dlq });
  try {
    source.emit("a");
    source.emit("b");
    source.emit("skip");
    source.emit("p");
    await until(() => source.log.length === 3, 5000, "a, skip and p settled");
    assert.deepEqual(source.log.map(([d]) => d).sort(), ["a", "p", "skip"], "b waits for its second output");
    held.resolve();
    await until(() => source.log.length === 4, 5000, "b settled");
    assert.deepEqual(target.confirmed.map((p) => [p.topic, p.data]).sort(), [
      ["out/a1", "a-1"],
      ["out/a2", "a-2"],
      ["out/a3", "a-3"],
      ["out/b1", "b-1"],
      ["out/b2", "b-2"],
      ["out/b3", "b-3"],
    ]);
    assert.deepEqual(dlq.confirmed.map((p) => [p.data, p.headers?.get("x-pubsub-error")]), [[
      "p",
      "TransformError: The transform failed: cannot split p",
    ]]);
    const s = stats(service);
    assert.deepEqual([s.received, s.confirmed, s.skipped, s.acked, s.deadLettered, s.failed], [4, 6, 1, 4, 1, 1]);
  } finally {
    await service.drain();
    source.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve() carries traceparent where the target takes headers, and none where it does not", async () => {
  const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const dir = await Deno.makeTempDir();
  // A transform whose outputs carry no headers of their own: the route still adds the trace context.
  await Deno.writeTextFile(
    `${dir}/bare.ts`,
    `export default () => new TransformStream({ transform(m, c) { c.enqueue({ data: m.data }); } });`,
  );
  try {
    for (const [headers, transform] of [[true, false], [false, false], [true, true]] as [boolean, boolean][]) {
      const source = new FakeSource();
      const target = new FakeTarget({ headers });
      const cfg = config(transform ? { transform: `file://${dir}/bare.ts` } : {});
      const { service } = await start(cfg, { "memory:?settle": source, "memory:": target });
      try {
        source.emit("x", { traceparent: tp, tracestate: "a=1", "x-other": "y" });
        source.emit("y");
        await until(() => target.confirmed.length === 2);
        const [x, y] = target.confirmed as [Published, Published];
        if (headers) {
          assert.equal(x.headers?.get("traceparent"), tp);
          assert.equal(x.headers?.get("tracestate"), "a=1");
          assert.equal(x.headers?.get("x-other"), transform ? null : "y");
          assert.equal(y.headers, undefined);
        } else {
          assert.equal(x.headers, undefined);
        }
      } finally {
        await service.drain();
        source.dispose();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve() counts a failed message from a source that cannot take it back as dropped", async () => {
  const source = new FakeSource({ settle: false });
  const target = new FakeTarget();
  target.behaviour = () => Promise.reject(new ConnectionError("down"));
  const { service } = await start(config({ from: { url: "memory:", topic: "in.>" }, to: { url: "memory:?settle" } }), {
    "memory:": source,
    "memory:?settle": target,
  });
  try {
    source.emit("x");
    await until(() => stats(service).dropped === 1);
    const s = stats(service);
    assert.deepEqual([s.received, s.failed, s.dropped, s.naked, s.acked], [1, 1, 1, 0, 0]);
  } finally {
    await service.drain();
    source.dispose();
  }
});

Deno.test("serve() reconnects a route whose source failed, and goes on", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  const open = opener({ "memory:?settle": source, "memory:": target });
  const log: string[] = [];
  const service = await serve(config(), { open, log: (l) => log.push(l) });
  try {
    await service.started;
    source.emit("1");
    await until(() => source.acked().length === 1);
    source.fail(new ConnectionError("connection lost"));
    await until(() => source.subscribed.length === 2, 10_000, "a second subscription");
    assert.ok(
      log.some((l) => /stopped: ConnectionError: connection lost; reconnecting in 500 ms/.test(l)),
      log.join("\n"),
    );
    assert.equal(target.closed, 1, "the old connections were closed");
    await until(() => service.routes()[0]!.status.ready);
    source.emit("2");
    await until(() => source.acked().length === 2);
    assert.deepEqual(open.opened, ["memory:?settle", "memory:", "memory:?settle", "memory:"]);
    assert.deepEqual(source.subscribed.map((o) => o.group), ["r", "r"]);
  } finally {
    await service.drain();
    source.dispose();
  }
});

Deno.test("serve() drain: naks what was fetched ahead at once, finishes what is in flight, then closes", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  const held = deferred();
  target.behaviour = () => held.promise;
  const cfg = config({ maxInFlight: 2, from: { url: "memory:?settle", topic: "in.>", highWaterMark: 8 } });
  const { service, log } = await start(cfg, { "memory:?settle": source, "memory:": target });
  for (let i = 0; i < 8; i++) source.emit(`m${i}`);
  await until(() => target.current === 2, 5000, "two in flight");
  await until(() => source.unsettled.size === 8, 5000, "all delivered");
  const drained = service.drain();
  await until(() => source.log.length === 6, 5000, "the six fetched ahead nak'd");
  assert.ok(source.log.every(([, how, delay]) => how === "nak" && delay === 0), JSON.stringify(source.log));
  assert.equal(target.closed, 0, "the target stays open while publishes are in flight");
  held.resolve();
  await drained;
  assert.deepEqual(source.acked().sort(), ["m0", "m1"]);
  assert.equal(target.closed, 1);
  assert.equal(service.routes()[0]!.status.inFlight, 0);
  assert.ok(log.some((l) => /^drained in \d+ ms; 6 handed back \(nak\), 0 left in flight$/.test(l)), log.join("\n"));
  source.dispose();
});

Deno.test("serve() drain past its deadline gives up on what is in flight (nak) and returns", async () => {
  for (const honours of [true, false]) {
    const source = new FakeSource();
    const target = new FakeTarget();
    // A publish that never confirms: one that gives up when its signal aborts, or one that ignores it.
    target.behaviour = (_p, _a, signal) =>
      new Promise<void>((_resolve, reject) => {
        if (honours) signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    const log: string[] = [];
    const cfg = config({ maxInFlight: 3 }, { drainTimeoutMs: 200 });
    const service = await serve(cfg, {
      open: opener({ "memory:?settle": source, "memory:": target }),
      log: (l) => log.push(l),
    });
    await service.started;
    for (let i = 0; i < 3; i++) source.emit(`m${i}`);
    await until(() => target.current === 3);
    const t0 = performance.now();
    await service.drain();
    const took = performance.now() - t0;
    assert.ok(took >= 190 && took < 200 + 1500, `drain took ${took} ms`);
    assert.ok(log.some((l) => /deadline passed/.test(l)), log.join("\n"));
    if (honours) {
      // Handed back at once, for another replica.
      assert.deepEqual(source.log.map(([, how, delay]) => [how, delay]), [["nak", 0], ["nak", 0], ["nak", 0]]);
    } else {
      // Left to the source's ack wait.
      assert.deepEqual(source.log, []);
    }
    source.dispose();
  }
});

Deno.test("serve() sends an ack again when the source did not confirm it, and acks each message once", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  const { service } = await start(config(), { "memory:?settle": source, "memory:": target });
  try {
    source.unconfirmed = 2; // the first two settlements are not confirmed (a stopped node, no consumer leader)
    source.emit("x");
    await until(() => source.log.length === 1, 5000, "the ack");
    assert.equal(source.unconfirmedSeen, 2);
    assert.deepEqual(source.log, [["x", "ack", 0]]);
    const s = stats(service);
    assert.deepEqual([s.received, s.confirmed, s.acked, s.naked, s.settleRetries], [1, 1, 1, 0, 2]);
    // Past the retry policy's attempts (3), the message is left to the source's redelivery: not counted as acked.
    source.unconfirmed = 3;
    source.emit("y");
    await until(() => source.unconfirmedSeen === 5 && service.routes()[0]!.status.inFlight === 0, 5000, "given up");
    assert.deepEqual(source.log, [["x", "ack", 0]]);
    assert.equal(stats(service).acked, 1);
    assert.match(service.routes()[0]!.status.lastError ?? "", /acking: TimeoutError/);
  } finally {
    await service.drain();
    source.dispose();
  }
});

Deno.test("serve() lets the next message through while an ack waits for its confirmation, maxInFlight of them", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  const { service } = await start(config({ maxInFlight: 1 }), { "memory:?settle": source, "memory:": target });
  try {
    const confirm = deferred();
    source.confirmGate = confirm.promise;
    for (let i = 0; i < 4; i++) source.emit(`m${i}`);
    // m0 forwarded, its ack waiting; m1 forwarded meanwhile, its ack waiting too; nothing more (1 + 1 at most).
    await until(() => target.confirmed.length >= 2, 5000, "two forwarded");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(target.confirmed.length, 2, "a third message went out while two acks waited");
    assert.equal(service.routes()[0]!.status.inFlight, 2);
    assert.deepEqual(source.log, []);
    confirm.resolve();
    await until(() => source.log.length === 4, 5000, "every ack");
    assert.deepEqual(source.acked().sort(), ["m0", "m1", "m2", "m3"]);
    assert.equal(stats(service).acked, 4);
  } finally {
    await service.drain();
    source.dispose();
  }
});

Deno.test("serve() reads a JetStream source's consumer state through consumerInfo() for /metrics", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  const url = "nats://127.0.0.1:4222?jetstream";
  const cfg = config({ from: { url, topic: "in.>", group: "g" }, to: { url: "memory:" } });
  const { service } = await start(cfg, { [url]: source, "memory:": target });
  try {
    // The subscription asked for confirmed acks, as serve does for every JetStream source.
    assert.equal((source.subscribed[0] as { confirmAcks?: boolean }).confirmAcks, true);
    assert.doesNotMatch(await service.metrics(), /source_pending/, "no figures while the server does not answer");
    source.state = { pending: 7, ackPending: 2, redelivered: 1 };
    const text = await service.metrics();
    assert.match(text, /pubsub_route_source_pending\{route="r"\} 7/);
    assert.match(text, /pubsub_route_source_ack_pending\{route="r"\} 2/);
    assert.match(text, /pubsub_route_source_redelivered\{route="r"\} 1/);
    assert.deepEqual(source.infoAsked.at(-1), ["g", { topic: "in.>" }]);
  } finally {
    await service.drain();
    source.dispose();
  }
});
