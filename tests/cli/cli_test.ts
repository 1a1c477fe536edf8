import assert from "node:assert/strict";
import { AuthError, ConnectionError, ProtocolError, TimeoutError } from "../../src/core/errors.ts";
import { intOption, parseArgs, parseHeaders, UsageError } from "../../src/cli/args.ts";
import { percentile, redactUrl } from "../../src/cli/format.ts";
import { BENCH_MIN_SIZE, benchPayload, benchSequence } from "../../src/cli/bench_command.ts";
import { ExitCode } from "../../src/cli/context.ts";
import type { MemoryMessage } from "../../src/memory/mod.ts";
import { cli, Collector, SharedBroker, stdinOf } from "./helpers.ts";

const enc = new TextEncoder();
const CLEAR = "\r\x1b[2K";

async function take(sub: ReadableStream<MemoryMessage>, n: number): Promise<MemoryMessage[]> {
  const out: MemoryMessage[] = [];
  const reader = sub.getReader();
  while (out.length < n) {
    const r = await reader.read();
    if (r.done) break;
    out.push(r.value);
  }
  reader.releaseLock();
  return out;
}

// ------------------------------------------------------------------------------------------------ argument parsing

Deno.test("args: long, short, inline and repeated options, -- and - as positionals", () => {
  const p = parseArgs(["a", "--count", "3", "-j", "--header=X: 1", "-H", "Y: 2", "-", "--", "--json"], {
    count: { type: "string", short: "n" },
    json: { type: "boolean", short: "j" },
    header: { type: "string", short: "H", multiple: true },
  });
  assert.deepEqual(p.positionals, ["a", "-", "--json"]);
  assert.ok(p.flags.has("json"));
  assert.deepEqual(p.values.get("header"), ["X: 1", "Y: 2"]);
  assert.equal(intOption(p, "count", 1), 3);
  assert.deepEqual(parseHeaders(p.values.get("header")!), [["X", "1"], ["Y", "2"]]);
});

Deno.test("args: mistakes are UsageErrors naming the option and value", () => {
  const spec = { count: { type: "string" as const }, json: { type: "boolean" as const } };
  assert.throws(
    () => parseArgs(["--nope"], spec),
    (e: unknown) => e instanceof UsageError && /"--nope"/.test(e.message),
  );
  assert.throws(() => parseArgs(["-x"], spec), UsageError);
  assert.throws(() => parseArgs(["--count"], spec), /--count needs a value/);
  assert.throws(() => parseArgs(["--json=1"], spec), /takes no value/);
  assert.throws(() => parseArgs(["--count", "1", "--count", "2"], spec), /more than once/);
  for (const bad of ["abc", "-1", "1.5", "0", "1e3", ""]) {
    assert.throws(() => intOption(parseArgs(["--count", bad], spec), "count", 1), /--count must be a whole number/);
  }
  assert.throws(() => parseHeaders(["no colon"]), /--header must look like/);
  assert.throws(() => parseHeaders([": empty name"]), UsageError);
});

Deno.test("format: percentiles by nearest rank, URL redaction", () => {
  const s = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(s, 50), 50);
  assert.equal(percentile(s, 99), 99);
  assert.equal(percentile(s, 100), 100);
  assert.equal(percentile([7], 90), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  const r = redactUrl("nats://alice:s3cret@127.0.0.1:4222/?token=abc&x=1");
  assert.ok(!r.includes("s3cret") && !r.includes("abc"), r);
  assert.ok(r.includes("x=1"));
  assert.ok(!redactUrl("nats://tok3n@127.0.0.1:4222").includes("tok3n"));
  assert.equal(redactUrl("not a url"), "<invalid URL>");
});

Deno.test("bench payloads: JSON of exactly the size asked, read back only for the same run", () => {
  for (const size of [BENCH_MIN_SIZE, 65, 128, 4096]) {
    const p = benchPayload("0badf00d", 4_000_000_000, size);
    assert.equal(p.length, size);
    assert.equal(benchSequence(p, "0badf00d"), 4_000_000_000);
    assert.equal(benchSequence(p, "0badf00e"), undefined);
  }
  const reformatted = enc.encode(JSON.stringify(JSON.parse(new TextDecoder().decode(benchPayload("a", 7, 80)))));
  assert.equal(benchSequence(reformatted, "a"), 7);
  for (const other of ["", "x", "null", "[1]", '{"pubsubBench":"a","seq":-1}', '{"pubsubBench":"a","seq":"1"}']) {
    assert.equal(benchSequence(enc.encode(other), "a"), undefined, other);
  }
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const valid = benchPayload("a", 3, 64);
  for (let i = 0; i < 500; i++) {
    const m = valid.slice();
    m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
    const seq = benchSequence(m, "a");
    assert.ok(seq === undefined || (Number.isSafeInteger(seq) && seq >= 0));
  }
});

// ------------------------------------------------------------------------------------------------------- help, usage

Deno.test("help: every command has --help, exit 0, with usage and exit codes", async () => {
  const b = new SharedBroker();
  for (const cmd of ["sub", "pub", "bridge", "bench"]) {
    for (const flag of ["--help", "-h"]) {
      const r = await cli([cmd, flag], b.open);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^Usage: pubsub ${cmd} `));
      assert.match(r.stdout, /130 +interrupted/);
    }
    const h = await cli(["help", cmd], b.open);
    assert.match(h.stdout, new RegExp(`^Usage: pubsub ${cmd} `));
  }
  const top = await cli(["--help"], b.open);
  assert.equal(top.code, 0);
  for (const cmd of ["sub", "pub", "bridge", "bench"]) assert.match(top.stdout, new RegExp(`^  ${cmd} `, "m"));
  const none = await cli([], b.open);
  assert.equal(none.code, ExitCode.Usage);
  assert.match(none.stderr, /Usage: pubsub <command>/);
  assert.equal(b.opened, 0);
  await b.close();
});

Deno.test("usage errors exit 2 with a message on stderr, and open nothing", async () => {
  const b = new SharedBroker();
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /Unknown command "frobnicate"/],
    [["help", "nope"], /Unknown command "nope"/],
    [["sub", "memory:"], /Missing TOPIC/],
    [["sub", "memory:", "t", "extra"], /Unexpected argument "extra"/],
    [["sub", "memory:", "t", "--count", "x"], /--count must be a whole number/],
    [["sub", "memory:", "t", "--bogus"], /Unknown option "--bogus"/],
    [["pub", "memory:"], /Missing TOPIC/],
    [["pub", "memory:", "t", "data", "--lines"], /--lines reads standard input/],
    [["pub", "memory:", "t", "x", "-H", "bad"], /--header must look like/],
    [["bridge", "memory:", "memory:"], /Missing TOPIC/],
    [["bridge", "memory:", "memory:", "a", "--topic", "b"], /either as TOPIC or as --topic/],
    [["bridge", "memory:", "memory:", "a", "--on-error", "explode"], /--on-error must be "nak" or "stop"/],
    [["bench"], /Missing URL/],
    [["bench", "memory:", "--size", "63"], /--size must be a whole number of at least 64/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args, b.open);
    assert.equal(r.code, ExitCode.Usage, args.join(" "));
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^pubsub( [a-z]+)?: /);
    assert.equal(r.stdout, "");
  }
  assert.equal(b.opened, 0);
  await b.close();
});

Deno.test("errors map to exit codes: bad URL 2, connection 3, auth 4, timeout 5, protocol 1", async () => {
  const cases: [unknown, number, RegExp][] = [
    [new TypeError('Opening the URL failed: unknown scheme "foo:"'), ExitCode.Usage, /TypeError: Opening/],
    [new ConnectionError("Connecting to 127.0.0.1:9 failed: refused"), ExitCode.Connection, /ConnectionError/],
    [new AuthError("Authenticating as bob failed: bad password"), ExitCode.Auth, /AuthError/],
    [new TimeoutError("Connecting timed out after 5 ms"), ExitCode.Timeout, /TimeoutError/],
    [new ProtocolError("Reading a frame failed: bad magic"), ExitCode.Failure, /ProtocolError/],
  ];
  for (const [error, code, message] of cases) {
    for (const args of [["sub", "x:", "t"], ["pub", "x:", "t", "d"], ["bridge", "x:", "y:", "t"], ["bench", "x:"]]) {
      const r = await cli(args, () => Promise.reject(error));
      assert.equal(r.code, code, `${args[0]} ${String(error)}`);
      assert.match(r.stderr, new RegExp(`^pubsub ${args[0]}: `));
      assert.match(r.stderr, message);
    }
  }
});

Deno.test("a failed bridge open closes what was already opened", async () => {
  const b = new SharedBroker();
  const r = await cli(["bridge", "memory:", "nope:", "t"], b.open);
  assert.equal(r.code, ExitCode.Usage);
  assert.equal(b.opened, 1);
  assert.equal(b.closed, 1);
  await b.close();
});

// ----------------------------------------------------------------------------------------------------------------- sub

Deno.test("sub: prints each payload on its own line, stops at --count, closes the connection", async () => {
  const b = new SharedBroker();
  const run = cli(["sub", "memory://alice:s3cret@x/", "orders/*", "--count", "3"], b.open);
  await b.subscribers(1);
  await b.broker.publish("orders/1", "one");
  await b.broker.publish("orders/2", "two\n");
  await b.broker.publish("elsewhere", "nope");
  await b.broker.publish("orders/3", "three");
  await b.broker.publish("orders/4", "four");
  const r = await run;
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "one\ntwo\nthree\n");
  assert.match(r.stderr, /subscribed to orders\/\* on memory:/);
  assert.ok(!r.stderr.includes("s3cret"));
  assert.equal(b.closed, 1);
  assert.equal(b.broker.subscriptionCount, 0);
  await b.close();
});

Deno.test("sub --json: topic, id, headers, text or base64 per line; --quiet prints nothing on stderr", async () => {
  const b = new SharedBroker();
  const run = cli(["sub", "memory:", "t", "--json", "-n", "2", "-q"], b.open);
  await b.subscribers(1);
  await b.broker.publish("t", '{"a":1}', { headers: { "x-trace": "7" } });
  await b.broker.publish("t", new Uint8Array([0xff, 0x00, 0x80]));
  const r = await run;
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  const [first, second] = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(first, { topic: "t", id: "1", headers: { "x-trace": "7" }, text: '{"a":1}' });
  assert.deepEqual(second, { topic: "t", id: "2", base64: "/wCA" });
  await b.close();
});

Deno.test("sub: raw payload bytes are written unchanged", async () => {
  const b = new SharedBroker();
  const run = cli(["sub", "memory:", "bin", "-n", "1", "-q"], b.open);
  await b.subscribers(1);
  const payload = new Uint8Array([0, 1, 2, 0xfe, 0xff, 0x0a]);
  await b.broker.publish("bin", payload);
  const r = await run;
  assert.deepEqual(r.out.bytes(), payload);
  await b.close();
});

Deno.test("sub --timeout: exit 5 when fewer than --count came, exit 0 without --count", async () => {
  const b = new SharedBroker();
  const run = cli(["sub", "memory:", "t", "--count", "2", "--timeout", "150"], b.open);
  await b.subscribers(1);
  await b.broker.publish("t", "only one");
  const r = await run;
  assert.equal(r.code, ExitCode.Timeout);
  assert.equal(r.stdout, "only one\n");
  assert.match(r.stderr, /TimeoutError: Waiting for 2 messages on t timed out after 150 ms/);
  assert.equal(b.broker.subscriptionCount, 0);

  const listen = await cli(["sub", "memory:", "t", "--timeout", "50"], b.open);
  assert.equal(listen.code, 0);
  await b.close();
});

Deno.test("sub: Ctrl-C exits 130 quietly; a subscription that ends before --count exits 1", async () => {
  const b = new SharedBroker();
  const ctrl = new AbortController();
  const run = cli(["sub", "memory:", "t"], b.open, { signal: ctrl.signal });
  await b.subscribers(1);
  await b.broker.publish("t", "a");
  ctrl.abort();
  const r = await run;
  assert.equal(r.code, ExitCode.Interrupted);
  assert.equal(r.stdout, "a\n");
  assert.doesNotMatch(r.stderr, /Error/);
  assert.equal(b.closed, 1);

  const ends = cli(["sub", "memory:", "t", "--count", "3"], b.open);
  await b.subscribers(1);
  await b.broker.publish("t", "b");
  await b.broker.close(); // ends every subscription
  const e = await ends;
  assert.equal(e.code, ExitCode.Failure);
  assert.match(e.stderr, /ended after 1 of 3 messages/);
});

Deno.test("sub: a broken stdout pipe ends the command with 0", async () => {
  const b = new SharedBroker();
  const { run } = await import("../../src/cli/main.ts");
  let writes = 0;
  const stdout = new WritableStream<Uint8Array>({
    write() {
      if (++writes > 1) throw new Error("Broken pipe");
    },
  });
  const done = run(["sub", "memory:", "t", "-q"], b.open, { stdout, stderr: new WritableStream() });
  await b.subscribers(1);
  await b.broker.publish("t", "a");
  await b.broker.publish("t", "b");
  assert.equal(await done, 0);
  assert.equal(b.broker.subscriptionCount, 0);
  await b.close();
});

// ----------------------------------------------------------------------------------------------------------------- pub

Deno.test("pub: DATA argument, headers, --json receipt", async () => {
  const b = new SharedBroker();
  const sub = b.broker.subscribe("orders/new");
  const r = await cli(["pub", "memory:", "orders/new", '{"id":1}', "-H", "x-trace: 42", "--json"], b.open);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), { topic: "orders/new", confirmed: true, id: "1", sequence: 1 });
  const [m] = await take(sub, 1);
  assert.equal(m?.text(), '{"id":1}');
  assert.equal(m?.headers.get("x-trace"), "42");
  assert.equal(b.closed, 1);
  await b.close();
});

Deno.test("pub -: publishes standard input as one message, bytes unchanged; no DATA means stdin too", async () => {
  const b = new SharedBroker();
  const sub = b.broker.subscribe("t");
  const bin = new Uint8Array([0, 0xff, 10, 13, 0x80]);
  assert.equal((await cli(["pub", "memory:", "t", "-"], b.open, { stdin: stdinOf("hello ", "world\n", bin) })).code, 0);
  assert.equal((await cli(["pub", "memory:", "t"], b.open, { stdin: stdinOf("second") })).code, 0);
  const [one, two] = await take(sub, 2);
  assert.deepEqual(one?.data, new Uint8Array([...enc.encode("hello world\n"), ...bin]));
  assert.equal(two?.text(), "second");
  await b.close();
});

Deno.test("pub --lines: one message per line, CRLF trimmed, last line without newline kept", async () => {
  const b = new SharedBroker();
  const sub = b.broker.subscribe("logs");
  const r = await cli(["pub", "memory:", "logs", "--lines", "-j"], b.open, { stdin: stdinOf("a\r\nb", "\n\nc") });
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trimEnd().split("\n").length, 4);
  const msgs = await take(sub, 4);
  assert.deepEqual(msgs.map((m) => m.text()), ["a", "b", "", "c"]);
  await b.close();
});

Deno.test("pub: a failing publish exits with its error's code; --timeout exits 5", async () => {
  const b = new SharedBroker();
  b.publishHook = () => Promise.reject(new ConnectionError("Publishing failed: the connection was lost"));
  const r = await cli(["pub", "memory:", "t", "x"], b.open);
  assert.equal(r.code, ExitCode.Connection);
  assert.match(r.stderr, /^pubsub pub: ConnectionError: Publishing failed/);
  assert.equal(b.closed, 1);

  b.publishHook = () => new Promise(() => {}); // never confirmed
  const t = await cli(["pub", "memory:", "t", "x", "--timeout", "80"], b.open);
  assert.equal(t.code, ExitCode.Timeout);
  assert.match(t.stderr, /Publishing to t timed out after 80 ms/);

  b.publishHook = undefined;
  const big = new SharedBroker({ maxPayload: 4 });
  const tooBig = await cli(["pub", "memory:", "t", "too large"], big.open);
  assert.equal(tooBig.code, ExitCode.Usage); // RangeError from the adapter
  await Promise.all([b.close(), big.close()]);
});

Deno.test("pub: standard input larger than the system's largest payload is refused (exit 2) without buffering it all", async () => {
  const b = new SharedBroker({ maxPayload: 10 });
  const sub = b.broker.subscribe("t");
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(enc.encode("0123456789"));
    },
  });
  const whole = await cli(["pub", "memory:", "t", "-"], b.open, { stdin: endless });
  assert.equal(whole.code, ExitCode.Usage);
  assert.match(whole.stderr, /RangeError: Publishing standard input failed: it holds more than .* \(10 bytes\)/);
  assert.ok(pulled < 5);
  const line = await cli(["pub", "memory:", "t", "--lines"], b.open, { stdin: stdinOf("ok\n", "x".repeat(11)) });
  assert.equal(line.code, ExitCode.Usage);
  const [m] = await take(sub, 1);
  assert.equal(m?.text(), "ok");
  assert.equal(b.broker.subscriptionCount, 1);
  await b.close();
});

Deno.test("main() without an opener resolves URLs with the library's open()", async () => {
  const { main } = await import("../../src/cli/mod.ts");
  const out = new Collector();
  const code = await main(["bench", "memory:", "-n", "50", "--json"], {
    stdout: out.stream,
    stderr: new WritableStream(),
  });
  assert.equal(code, 0);
  assert.equal(JSON.parse(out.text()).received, 50);
  const err = new Collector();
  const bad = await main(["sub", "nats+ws://", "t"], { stdout: new WritableStream(), stderr: err.stream });
  assert.equal(bad, ExitCode.Usage);
  assert.match(err.text(), /^pubsub sub: TypeError: Opening/);
});

// -------------------------------------------------------------------------------------------------------------- bridge

Deno.test("bridge: forwards, acks the source after each publish, prints the counters", async () => {
  const from = new SharedBroker({ settle: true });
  const to = new SharedBroker();
  const open = (url: string) => url === "memory:from" ? from.open(url) : to.open(url);
  const out = to.broker.subscribe("copy");
  const run = cli(["bridge", "memory:from", "memory:to", "orders", "--to-topic", "copy", "-n", "3"], open);
  await from.subscribers(1);
  for (const x of ["a", "b", "c", "d"]) await from.broker.publish("orders", x, { headers: { h: x } });
  const r = await run;
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "received 3  confirmed 3  written 0  skipped 0  failed 0  acked 3  naked 0\n");
  assert.match(r.stderr, /bridging orders from memory:from to memory:to/);
  const msgs = await take(out, 3);
  assert.deepEqual(msgs.map((m) => [m.topic, m.text(), m.headers.get("h")]), [
    ["copy", "a", "a"],
    ["copy", "b", "b"],
    ["copy", "c", "c"],
  ]);
  assert.equal(from.closed + to.closed, 2);
  assert.equal(from.broker.subscriptionCount, 0);
  await Promise.all([from.close(), to.close()]);
});

Deno.test("bridge --json --topic; a target failure with --on-error stop exits with its code and counts it", async () => {
  const from = new SharedBroker({ settle: true });
  const to = new SharedBroker();
  to.publishHook = () => Promise.reject(new AuthError("Publishing to orders failed: not authorized"));
  const open = (url: string) => url === "memory:from" ? from.open(url) : to.open(url);
  const run = cli(["bridge", "memory:from", "memory:to", "--topic", "orders", "--on-error", "stop", "--json"], open);
  await from.subscribers(1);
  await from.broker.publish("orders", "x");
  const r = await run;
  assert.equal(r.code, ExitCode.Auth);
  assert.match(r.stderr, /AuthError: Publishing to orders failed/);
  assert.equal(r.stdout, "");
  await Promise.all([from.close(), to.close()]);
});

Deno.test("bridge: nak mode keeps going; Ctrl-C stops it with 130 and still prints the counters", async () => {
  const from = new SharedBroker({ settle: true });
  const to = new SharedBroker();
  let fail = 1;
  to.publishHook = () => fail-- > 0 ? Promise.reject(new Error("Publishing failed: flaky")) : Promise.resolve();
  const out = to.broker.subscribe("orders");
  const open = (url: string) => url === "memory:from" ? from.open(url) : to.open(url);
  const ctrl = new AbortController();
  const run = cli(["bridge", "memory:from", "memory:to", "orders", "-j"], open, { signal: ctrl.signal });
  await from.subscribers(1);
  await from.broker.publish("orders", "once");
  const [m] = await take(out, 1); // nak'd, delivered again, then forwarded
  assert.equal(m?.text(), "once");
  ctrl.abort();
  const r = await run;
  assert.equal(r.code, ExitCode.Interrupted);
  const stats = JSON.parse(r.stdout);
  assert.deepEqual(stats, { received: 2, confirmed: 1, written: 0, skipped: 0, failed: 1, acked: 1, naked: 1 });
  await Promise.all([from.close(), to.close()]);
});

Deno.test("bridge: a live counter line on a terminal's stderr", async () => {
  const from = new SharedBroker();
  const to = new SharedBroker();
  const open = (url: string) => url === "memory:from" ? from.open(url) : to.open(url);
  const run = cli(["bridge", "memory:from", "memory:to", "t", "-t", "450", "-q"], open, { stderrIsTerminal: true });
  await from.subscribers(1);
  await from.broker.publish("t", "x");
  const r = await run;
  assert.equal(r.code, 0);
  assert.ok(r.stderr.includes(`${CLEAR}received 1  confirmed 1`), JSON.stringify(r.stderr));
  assert.ok(r.stderr.endsWith(CLEAR));
  await Promise.all([from.close(), to.close()]);
});

// --------------------------------------------------------------------------------------------------------------- bench

Deno.test("bench --json: every round trip counted, percentiles ordered, rate positive", async () => {
  const b = new SharedBroker();
  for (const window of ["1", "16"]) {
    const r = await cli(["bench", "memory:", "-n", "300", "-s", "64", "-w", window, "--json"], b.open);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.sent, 300);
    assert.equal(res.received, 300);
    assert.equal(res.duplicates, 0);
    assert.equal(res.size, 64);
    assert.equal(res.inFlight, Number(window));
    assert.match(res.topic, /^pubsub-bench-[0-9a-f]{8}$/);
    const l = res.latencyMs;
    assert.ok(l.min >= 0 && l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));
    assert.ok(res.rate > 0 && res.elapsedMs > 0);
  }
  assert.equal(b.broker.subscriptionCount, 0);
  assert.equal(b.closed, 2);
  await b.close();
});

Deno.test("bench: text report, and a live progress line when stderr is a terminal", async () => {
  const b = new SharedBroker();
  b.publishHook = () => new Promise((r) => setTimeout(r, 5));
  const r = await cli(["bench", "memory:", "-n", "80", "--topic", "bench/x"], b.open, { stderrIsTerminal: true });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^80 of 80 round trips of 128 bytes on bench\/x, 1 in flight\n/);
  assert.match(r.stdout, /^rate +\d+ msg\/s/m);
  assert.match(r.stdout, /^latency +min .* p50 .* p90 .* p99 .* max /m);
  assert.match(r.stderr.replaceAll(CLEAR, "|"), /\|sent \d+\/80 {2}received \d+/);
  await b.close();
});

Deno.test("bench: a failed publish exits with its code, lost messages time out with exit 5, too-large size is 2", async () => {
  const lossy = new SharedBroker();
  let n = 0;
  lossy.publishHook = () => ++n === 3 ? Promise.reject(new Error("dropped")) : Promise.resolve();
  const failed = await cli(["bench", "memory:", "-n", "10"], lossy.open);
  assert.equal(failed.code, ExitCode.Failure);
  assert.match(failed.stderr, /dropped/);

  const silent = new SharedBroker();
  const sent: string[] = [];
  silent.publishHook = (topic) => {
    sent.push(topic);
    return sent.length === 5 ? new Promise(() => {}) : Promise.resolve();
  };
  const t = await cli(["bench", "memory:", "-n", "10", "-w", "8", "--timeout", "150"], silent.open);
  assert.equal(t.code, ExitCode.Timeout);
  assert.match(t.stderr, /Benchmarking timed out: \d+ of \d+ messages came back, none for 150 ms/);

  const small = new SharedBroker({ maxPayload: 100 });
  const u = await cli(["bench", "memory:", "--size", "200"], small.open);
  assert.equal(u.code, ExitCode.Usage);
  assert.match(u.stderr, /--size 200 is larger than the system's largest payload \(100\)/);
  await Promise.all([lossy.close(), silent.close(), small.close()]);
});

Deno.test("bench: messages delivered twice are counted as duplicates, once as round trips", async () => {
  const b = new SharedBroker();
  let first = true;
  b.publishHook = async (topic, data) => {
    if (first) {
      first = false;
      await b.broker.publish(topic, data);
    }
  };
  const r = await cli(["bench", "memory:", "-n", "20", "-j"], b.open);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.received, 20);
  assert.equal(res.duplicates, 1);
  await b.close();
});

Deno.test("bench: Ctrl-C exits 130 and releases the subscription", async () => {
  const b = new SharedBroker();
  b.publishHook = () => new Promise((r) => setTimeout(r, 2));
  const ctrl = new AbortController();
  const run = cli(["bench", "memory:", "-n", "100000"], b.open, { signal: ctrl.signal });
  await b.subscribers(1);
  await new Promise((r) => setTimeout(r, 30));
  ctrl.abort();
  const r = await run;
  assert.equal(r.code, ExitCode.Interrupted);
  assert.equal(r.stdout, "");
  assert.equal(b.broker.subscriptionCount, 0);
  await b.close();
});
