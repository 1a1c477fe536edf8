// End to end: the `pubsub` program run as a subprocess (`deno run -A src/cli/mod.ts …`, the real `open()`), against
// the faithful stream-sea fake started here on loopback.

import assert from "node:assert/strict";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import { StreamSeaPubSub } from "../../src/streamsea/mod.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";
import { ExitCode } from "../../src/cli/mod.ts";

const ENTRY = new URL("../../src/cli/mod.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** A running `pubsub` process, its stderr read as it comes. */
class Pubsub {
  readonly child: Deno.ChildProcess;
  stderr = "";
  readonly #stdout: Promise<string>;
  readonly #stderrDone: Promise<void>;

  constructor(args: string[], stdin?: string) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--config", CONFIG, ENTRY, ...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.child = child;
    if (stdin !== undefined) {
      const w = this.child.stdin.getWriter();
      void w.write(new TextEncoder().encode(stdin)).then(() => w.close());
    }
    this.#stdout = new Response(this.child.stdout).text();
    this.#stderrDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) this.stderr += chunk;
    })();
  }

  /** Resolves once stderr matches (or throws after `ms`). */
  async waitForStderr(pattern: RegExp, ms = 20_000): Promise<void> {
    const until = Date.now() + ms;
    while (!pattern.test(this.stderr)) {
      if (Date.now() > until) throw new Error(`stderr never matched ${pattern}: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async result(): Promise<{ code: number; stdout: string; stderr: string }> {
    const [status, stdout] = await Promise.all([this.child.status, this.#stdout, this.#stderrDone]);
    return { code: status.code, stdout, stderr: this.stderr };
  }
}

function pubsub(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Pubsub(args, stdin).result();
}

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("e2e: sub prints what pub publishes (argument and stdin), through the real open()", async () => {
  const fake = await FakeStreamSea.start();
  try {
    const url = `streamsea+ws://abc:def123@127.0.0.1:${fake.port}`;
    const sub = new Pubsub(["sub", url, "boiler_data", "--count", "2", "--json"]);
    await sub.waitForStderr(/subscribed to boiler_data/);
    const one = await pubsub(["pub", url, "boiler_data", '{"temperature":80}', "--json"]);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout), { topic: "boiler_data", confirmed: true });
    const two = await pubsub(["pub", url, "boiler_data", "-"], '{"temperature":81}\n');
    assert.equal(two.code, 0, two.stderr);
    const r = await sub.result();
    assert.equal(r.code, 0, r.stderr);
    const got = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(got.map((m) => [m.topic, JSON.parse(m.text)]), [
      ["boiler_data", { temperature: 80 }],
      ["boiler_data", { temperature: 81 }],
    ]);
    assert.ok(!r.stderr.includes("def123"), r.stderr);
  } finally {
    await fake.close();
  }
});

Deno.test("e2e: exit codes: wrong credentials 4, connection refused 3, bad URL or arguments 2, help 0", async () => {
  const fake = await FakeStreamSea.start();
  try {
    const wrong = `streamsea+ws://abc:WRONGSECRET@127.0.0.1:${fake.port}`;
    const refused = `streamsea+ws://abc:def123@127.0.0.1:${closedPort()}`;
    const results = await Promise.all([
      pubsub(["pub", wrong, "boiler_data", "{}"]),
      pubsub(["sub", wrong, "boiler_data", "--timeout", "10000"]),
      pubsub(["pub", refused, "boiler_data", "{}"]),
      pubsub(["sub", refused, "boiler_data", "--timeout", "10000"]),
      pubsub(["sub", "bogus://127.0.0.1/", "t"]),
      pubsub(["pub", `streamsea+ws://abc:def123@127.0.0.1:${fake.port}`, "boiler_data", "not json"]),
      pubsub(["bench", "memory:", "--count", "x"]),
      pubsub([]),
      pubsub(["bridge", "--help"]),
    ]);
    const codes = results.map((r) => r.code);
    assert.deepEqual(codes, [
      ExitCode.Auth,
      ExitCode.Auth,
      ExitCode.Connection,
      ExitCode.Connection,
      ExitCode.Usage,
      ExitCode.Usage,
      ExitCode.Usage,
      ExitCode.Usage,
      ExitCode.Ok,
    ], results.map((r) => r.stderr).join("\n"));
    for (const r of results.slice(0, 2)) {
      assert.match(r.stderr, /AuthError/);
      assert.ok(!r.stderr.includes("WRONGSECRET"), r.stderr);
    }
    for (const r of results.slice(2, 4)) assert.match(r.stderr, /ConnectionError/);
    assert.match(results[4]!.stderr, /^pubsub sub: TypeError: Opening bogus:/);
    assert.match(results[8]!.stdout, /^Usage: pubsub bridge FROM TO TOPIC/);
    for (const r of results.slice(0, 7)) assert.match(r.stderr, /^pubsub [a-z]+: [^\n]+\n$/);
    assert.match(results[7]!.stderr, /^pubsub: one command line/);
  } finally {
    await fake.close();
  }
});

Deno.test("e2e: bridge forwards into another stream and prints the counters; bench measures round trips", async () => {
  const fake = await FakeStreamSea.start();
  const observer = new StreamSeaPubSub({ ...fake.connection, clientId: "abc", clientSecret: "def123" });
  try {
    const url = `streamsea+ws://abc:def123@127.0.0.1:${fake.port}`;
    const copies = observer.subscribe("copies");
    await copies.ready;
    const b = new Pubsub(["bridge", url, url, "orders", "--to-topic", "copies", "--count", "2", "--json"]);
    await b.waitForStderr(/bridging orders from streamsea\+ws:\/\/abc:\*\*\*@127\.0\.0\.1/);
    fake.publishLocal("orders", { id: 1 });
    fake.publishLocal("orders", { id: 2 });
    const r = await b.result();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      received: 2,
      confirmed: 2,
      written: 0,
      skipped: 0,
      failed: 0,
      acked: 0,
      naked: 0,
    });
    const reader = copies.getReader();
    const got = [(await reader.read()).value?.json(), (await reader.read()).value?.json()];
    reader.releaseLock();
    assert.deepEqual(got, [{ id: 1 }, { id: 2 }]);

    const bench = await pubsub(["bench", url, "--count", "100", "--in-flight", "4", "--json"]);
    assert.equal(bench.code, 0, bench.stderr);
    const res = JSON.parse(bench.stdout);
    assert.equal(res.received, 100);
    assert.ok(res.latencyMs.p50 > 0 && res.latencyMs.p50 <= res.latencyMs.p99);
  } finally {
    await observer.close();
    await fake.close();
  }
});

Deno.test("e2e: a cross-system bridge, stream-sea into httppubsub, seen by a sub of httppubsub", async () => {
  const sea = await FakeStreamSea.start();
  const broadcaster = new FakeBroadcaster();
  try {
    const from = `streamsea+ws://abc:def123@127.0.0.1:${sea.port}`;
    const to = `httppubsub+${await broadcaster.serve()}`;
    const sub = new Pubsub(["sub", to, "greetings", "--count", "2"]);
    const b = new Pubsub(["bridge", from, to, "orders", "--to-topic", "greetings", "--count", "2"]);
    await Promise.all([sub.waitForStderr(/subscribed to greetings/), b.waitForStderr(/bridging orders/)]);
    sea.publishLocal("orders", { n: 1 });
    sea.publishLocal("orders", { n: 2 });
    const [s, r] = await Promise.all([sub.result(), b.result()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "received 2  confirmed 2  written 0  skipped 0  failed 0  acked 0  naked 0\n");
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(s.stdout.trimEnd().split("\n").map((l) => JSON.parse(l)), [{ n: 1 }, { n: 2 }]);

    const bench = await pubsub(["bench", to, "--count", "50", "--json"]);
    assert.equal(bench.code, 0, bench.stderr);
    assert.equal(JSON.parse(bench.stdout).received, 50);
  } finally {
    await broadcaster.close();
    await sea.close();
  }
});

Deno.test("e2e: SIGINT ends a running sub with 130 and no error message", async () => {
  const fake = await FakeStreamSea.start();
  try {
    const sub = new Pubsub(["sub", `streamsea+ws://abc:def123@127.0.0.1:${fake.port}`, "boiler_data"]);
    await sub.waitForStderr(/subscribed/);
    sub.child.kill("SIGINT");
    const r = await sub.result();
    assert.equal(r.code, ExitCode.Interrupted);
    assert.doesNotMatch(r.stderr, /Error/);
  } finally {
    await fake.close();
  }
});
