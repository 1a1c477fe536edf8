// `pubsub serve` in-process through the CLI's run(): exit codes, help, --check, the line of a mistake, and a signal
// that drains and exits 0.
import assert from "node:assert/strict";
import { run } from "../../src/cli/main.ts";
import { ExitCode } from "../../src/cli/context.ts";
import { FakeSource, FakeTarget, opener, until } from "./_fakes.ts";

const decoder = new TextDecoder();

function sink(): { stream: WritableStream<Uint8Array>; text: () => string } {
  let text = "";
  return {
    stream: new WritableStream({ write: (c) => void (text += decoder.decode(c)) }),
    text: () => text,
  };
}

async function withFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bridge.jsonc`, text);
    await fn(`${dir}/bridge.jsonc`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function cli(args: string[], open = opener({}), signal?: AbortSignal) {
  const out = sink();
  const err = sink();
  const code = await run(args, open, {
    stdout: out.stream,
    stderr: err.stream,
    stderrIsTerminal: false,
    ...(signal === undefined ? {} : { signal }),
  });
  return { code, stdout: out.text(), stderr: err.text() };
}

const CONFIG = `{
  "listen": "127.0.0.1:0",
  "drainTimeoutMs": 2000,
  "routes": [
    { "name": "r", "from": { "url": "memory:?settle", "topic": "in" }, "to": { "url": "memory:", "topic": "out" } }
  ]
}`;

Deno.test("pubsub serve runs until the signal, drains, and exits 0", async () => {
  await withFile(CONFIG, async (file) => {
    const source = new FakeSource();
    const target = new FakeTarget();
    const stop = new AbortController();
    const running = cli(
      ["serve", "--config", file],
      opener({ "memory:?settle": source, "memory:": target }),
      stop.signal,
    );
    source.emit("hello");
    await until(() => source.acked().length === 1, 10_000, "the ack");
    stop.abort();
    const r = await running;
    assert.equal(r.code, ExitCode.Ok, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^pubsub serve: route r: memory:\?settle in -> memory: out$/m);
    assert.match(r.stderr, /^pubsub serve: listening on http:\/\/127\.0\.0\.1:\d+ \(\/healthz \/readyz \/metrics\)$/m);
    assert.match(r.stderr, /^pubsub serve: ready: 1 route running$/m);
    assert.match(r.stderr, /^pubsub serve: draining \(deadline 2000 ms\)$/m);
    assert.match(r.stderr, /^pubsub serve: drained in \d+ ms; 0 handed back \(nak\), 0 left in flight$/m);
    assert.deepEqual(target.confirmed.map((p) => p.data), ["hello"]);
    source.dispose();
  });
});

Deno.test("pubsub serve refuses a bad file with exit 2 and the line of the mistake", async () => {
  await withFile(CONFIG.replace(`"topic": "out"`, `"topic": "out", "colour": "red"`), async (file) => {
    const r = await cli(["serve", "--config", file]);
    assert.equal(r.code, ExitCode.Usage);
    assert.equal(r.stderr, `pubsub serve: ConfigError: ${file}:5:114: routes[0].to: unknown key "colour"\n`);
  });
  await withFile(CONFIG.replace(`"drainTimeoutMs": 2000,`, `"drainTimeoutMs": 2000`), async (file) => {
    const r = await cli(["serve", "--config", file]);
    assert.equal(r.code, ExitCode.Usage);
    assert.match(r.stderr, /ConfigError: .*bridge\.jsonc:4:3: Unexpected "\\"": "," or "}" is expected\n$/);
  });
  const missing = await cli(["serve", "--config", "/nonexistent/bridge.jsonc"]);
  assert.equal(missing.code, ExitCode.Usage);
  assert.match(missing.stderr, /Reading the configuration \/nonexistent\/bridge\.jsonc failed/);
  assert.equal((await cli(["serve"])).code, ExitCode.Usage);
  assert.equal((await cli(["serve", "extra"])).code, ExitCode.Usage);
  assert.equal((await cli(["serve", "--config", "x", "--listen", "nope"])).code, ExitCode.Usage);
});

Deno.test("pubsub serve --check prints the routes and warns about sources that cannot share", async () => {
  const text = `{
    "replicas": 3,
    "routes": [
      { "name": "js", "from": { "url": "nats://\${NATS_TOKEN}@127.0.0.1:4222?jetstream", "topic": "a.>" },
        "to": { "url": "memory:" } },
      { "name": "troll", "from": { "url": "posttroll://ns.example/svc", "topic": "/a" }, "to": { "url": "memory:" } },
    ],
  }`;
  await withFile(text, async (file) => {
    Deno.env.set("NATS_TOKEN", "zz-secret");
    try {
      const r = await cli(["serve", "--config", file, "--check"]);
      assert.equal(r.code, ExitCode.Ok, r.stderr);
      assert.equal(
        r.stdout,
        `${file}: 2 routes, replicas 3
  js: nats://\${NATS_TOKEN}@127.0.0.1:4222?jetstream a.> -> memory: {topic}
    replicas share the JetStream durable consumer "js" (a dead replica's unacked messages go to the others after the ack wait)
  troll: posttroll://ns.example/svc /a -> memory: {topic}
    WARNING: posttroll has no consumer groups: this is a one-replica route, yet replicas is 3: each replica would forward every message (3 copies). Run it in one replica only
`,
      );
      assert.ok(!r.stdout.includes("zz-secret"));
    } finally {
      Deno.env.delete("NATS_TOKEN");
    }
  });
});

Deno.test("pubsub serve --help, and the overview lists serve", async () => {
  const h = await cli(["serve", "--help"]);
  assert.equal(h.code, ExitCode.Ok);
  assert.match(h.stdout, /^Usage: pubsub serve --config FILE \[options\]/);
  assert.match(h.stdout, /--drain-timeout MS/);
  const main = await cli(["--help"]);
  assert.match(main.stdout, /serve --config FILE +run the routes of FILE as a service/);
  const topic = await cli(["help", "serve"]);
  assert.equal(topic.stdout, h.stdout);
});
