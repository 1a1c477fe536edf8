// The HTTP side, in-process through app.request() first, then over a socket: /healthz, /readyz following the routes'
// state, /metrics in the Prometheus text format (checked line by line against the format's grammar).
import assert from "node:assert/strict";
import { ConnectionError } from "../../src/core/errors.ts";
import { healthApp } from "../../src/serve/health_app.ts";
import { renderMetrics } from "../../src/serve/metrics.ts";
import { parseConfig } from "../../src/serve/config.ts";
import { serve } from "../../src/serve/service.ts";
import { FakeSource, FakeTarget, opener, until } from "./_fakes.ts";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Parses the Prometheus text format (0.0.4) strictly: every sample after its family's HELP and TYPE. */
function parseExposition(text: string): Map<string, number> {
  assert.ok(text.endsWith("\n"), "ends with a newline");
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  let help: string | undefined;
  for (const line of text.slice(0, -1).split("\n")) {
    const h = /^# HELP (\S+) (.+)$/.exec(line);
    if (h !== null) {
      assert.match(h[1]!, NAME);
      help = h[1];
      continue;
    }
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t !== null) {
      assert.equal(t[1], help, `TYPE ${t[1]} follows its HELP`);
      assert.ok(!types.has(t[1]!), `one TYPE line for ${t[1]}`);
      types.set(t[1]!, t[2]!);
      continue;
    }
    const s =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*)\})? (\S+)$/
        .exec(line);
    assert.ok(s !== null, `a sample line: ${JSON.stringify(line)}`);
    const type = types.get(s[1]!);
    assert.ok(type !== undefined, `${s[1]} has a TYPE`);
    if (type === "counter") assert.match(s[1]!, /_total$/);
    const v = Number(s[4]);
    assert.ok(!isNaN(v), line);
    samples.set(s[1]! + (s[2] ?? ""), v);
  }
  return samples;
}

Deno.test("renderMetrics() writes every counter per route, in the Prometheus text format", () => {
  const zero = {
    received: 5,
    confirmed: 4,
    written: 0,
    skipped: 1,
    acked: 5,
    naked: 0,
    failed: 0,
    deadLettered: 0,
    redelivered: 0,
    retries: 0,
    dropped: 0,
    settleRetries: 0,
  };
  const text = renderMetrics([
    {
      name: "orders",
      stats: zero,
      status: { inFlight: 2, lastErrorTime: 1_700_000_000_500, lastError: "x", ready: true, notReady: undefined },
      source: { pending: 7, ackPending: 2, redelivered: 1 },
    },
    {
      name: "a-b_c",
      stats: { ...zero, received: 1 },
      status: { inFlight: 0, lastErrorTime: undefined, lastError: undefined, ready: false, notReady: "starting" },
      source: undefined,
    },
  ], false);
  const m = parseExposition(text);
  assert.equal(m.get('pubsub_route_received_total{route="orders"}'), 5);
  assert.equal(m.get('pubsub_route_received_total{route="a-b_c"}'), 1);
  assert.equal(m.get('pubsub_route_confirmed_total{route="orders"}'), 4);
  assert.equal(m.get('pubsub_route_in_flight{route="orders"}'), 2);
  assert.equal(m.get('pubsub_route_ready{route="a-b_c"}'), 0);
  assert.equal(m.get('pubsub_route_last_error_timestamp_seconds{route="orders"}'), 1_700_000_000.5);
  assert.equal(m.get('pubsub_route_source_pending{route="orders"}'), 7);
  assert.equal(m.get('pubsub_route_source_ack_pending{route="orders"}'), 2);
  assert.equal(m.has('pubsub_route_source_pending{route="a-b_c"}'), false);
  assert.equal(m.get("pubsub_serve_draining"), 0);
});

Deno.test("healthApp(): /healthz 200, /readyz 503 naming what is not ready, /metrics", async () => {
  let notReady: string | undefined = "source disconnected";
  const app = healthApp({
    readiness: () => [{ name: "a", notReady: undefined }, { name: "b", notReady }],
    metrics: () => Promise.resolve("# HELP x y\n# TYPE x gauge\nx 1\n"),
  });
  const health = await app.request("/healthz");
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "ok\n");
  const r1 = await app.request("/readyz");
  assert.equal(r1.status, 503);
  assert.equal(await r1.text(), "b: source disconnected\n");
  notReady = undefined;
  const r2 = await app.request("/readyz");
  assert.equal(r2.status, 200);
  assert.equal(await r2.text(), "ready: 2 routes\n");
  const metrics = await app.request("/metrics");
  assert.equal(metrics.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(await metrics.text(), "# HELP x y\n# TYPE x gauge\nx 1\n");
  assert.equal((await app.request("/nothing")).status, 404);
});

Deno.test("serve() listens on loopback: readiness follows the connections and the source, metrics count", async () => {
  const source = new FakeSource();
  const target = new FakeTarget();
  const cfg = parseConfig(
    JSON.stringify({
      listen: "127.0.0.1:0",
      routes: [{ name: "r", from: { url: "memory:?settle", topic: "in" }, to: { url: "memory:", topic: "out" } }],
    }),
    { env: () => undefined },
  );
  const service = await serve(cfg, { open: opener({ "memory:?settle": source, "memory:": target }), log: () => {} });
  try {
    assert.match(service.url ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
    await service.started;
    const ready = await fetch(`${service.url}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    target.status.emit("disconnected");
    const down = await fetch(`${service.url}/readyz`);
    assert.equal(down.status, 503);
    assert.equal(await down.text(), "r: target disconnected\n");
    target.status.emit("reconnected");
    assert.equal(await (await fetch(`${service.url}/readyz`)).text(), "ready: 1 routes\n");
    source.emit("x");
    await until(() => source.acked().length === 1);
    const m = parseExposition(await (await fetch(`${service.url}/metrics`)).text());
    assert.equal(m.get('pubsub_route_acked_total{route="r"}'), 1);
    assert.equal(m.get('pubsub_route_confirmed_total{route="r"}'), 1);
    source.fail(new ConnectionError("lost"));
    await until(() => !service.routes()[0]!.status.ready);
    const r = await fetch(`${service.url}/readyz`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /^r: (reconnecting \(stopped: ConnectionError: lost\)|starting)\n$/);
  } finally {
    await service.drain();
    source.dispose();
  }
  await assert.rejects(fetch(`${service.url}/healthz`), TypeError, "the listener is closed after the drain");
});
