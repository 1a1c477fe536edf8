import assert from "node:assert/strict";
import { natsServerPath } from "../../src/testing/nats/mod.ts";

const ROOT = new URL("../../", import.meta.url);
const LIMIT_MS = 60_000;

/** Runs `deno run <flags> examples/demo.ts`, killing it after LIMIT_MS. */
async function runDemo(flags: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, "examples/demo.ts"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), LIMIT_MS);
  try {
    const out = await child.output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr), ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** The lines of the output, trimmed, with runs of spaces collapsed. */
const lines = (text: string) => text.split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter((l) => l !== "");

Deno.test("deno task demo shows the five systems and bridges on loopback, then ends by itself", async () => {
  const run = await runDemo(["-A"]);
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assert.ok(run.ms < LIMIT_MS, `the demo took ${run.ms} ms`);
  assert.doesNotMatch(run.stderr, /cleanup:|demo failed/);
  const out = lines(run.stdout);
  const has = (line: string | RegExp) =>
    assert.ok(
      out.some((l) => typeof line === "string" ? l === line : line.test(l)),
      `missing ${line} in:\n${run.stdout}`,
    );

  // stream-sea: confirmed publishes, both read back, the schema refusing a bad payload.
  has('published boiler {"celsius":81.5,"side":"port"} (confirmed true)');
  has('received boiler {"celsius":81.5,"side":"port"}');
  has('received boiler {"celsius":79.25,"side":"starboard"}');
  has(/^refused \{"celsius":"hot","side":"aft"\}: [1-9]\d* schema violations$/);
  // httppubsub: each notify confirmed by the webhook subscriber, then read.
  has(/^webhook http:\/\/127\.0\.0\.1:\d+\/\S* subscribed to orders\/\*$/);
  has("notified orders/1001 (confirmed true: the subscriber answered, signed)");
  has("received orders/1001 kettle x1");
  has("received orders/1002 teapot x2");
  // messagebus: written, not confirmed; the sender's user and host come with each message.
  has("published PRICES/EURUSD 1.0801 (confirmed false: TCP has no receipt)");
  has(/^received PRICES\/EURUSD 1\.0802 from \S+@\S+$/);
  // PostTroll: the publisher found through the nameserver, a message in the pytroll:// format.
  has(/^discovered demo_sensor at tcp:\/\/127\.0\.0\.1:\d+ through the nameserver$/);
  has(
    /^received pytroll:\/\/weather\/oslo info \S+@\S+ \d{4}-\d\d-\d\dT[\d:.]+ v1\.01 application\/json \{"celsius": -3\.5, "station": \d+\}$/,
  );
  if (natsServerPath() === undefined) {
    has("5. NATS + JetStream: skipped (nats-server is not on PATH: apt-get install nats-server)");
    has("6. Autobahn MDB: skipped (nats-server is not on PATH)");
    has("8. bridge(): JetStream into httppubsub: skipped (nats-server is not on PATH)");
  } else {
    for (const [i, item] of ["kettle", "teapot", "mugs"].entries()) {
      has(`stored orders.new {"item":"${item}"} as sequence ${i + 1}`);
      has(`acked orders.new {"item":"${item}"} (sequence ${i + 1})`);
    }
    has(/^consumer [0-9a-f]{32} on stream EVENTS_weather, from the beginning$/);
    has('received #1 {"celsius":12.5}');
    has('received #2 {"celsius":13}');
    // At least once: every order confirmed by the httppubsub subscriber, then acked on JetStream.
    for (const item of ["kettle", "teapot", "mugs"]) has(`arrived shipping/orders {"item":"${item}"}`);
    has("counters received 3, confirmed 3, acked 3, failed 0");
  }
  // The bridge: what stream-sea got arrives on messagebus, and the counters say "written".
  has('arrived PLANT/boiler boiler says {"celsius":82,"side":"port"}');
  has('arrived PLANT/boiler boiler says {"celsius":83,"side":"port"}');
  has("counters received 2, written 2, confirmed 0, failed 0 (messagebus only reports written)");
  has("received sensors/kitchen/temperature 21.5");
  for (let n = 1; n <= 9; n++) has(new RegExp(`^${n}\\. `));
  has(/^done in \d+\.\d s: \d+ servers and clients stopped, nothing left running\.$/);
});

Deno.test({
  name: "deno task demo exits 1 with a readable message when a step fails, and stops what it started",
  // Denying subprocesses makes starting nats-server (section 5) fail after four systems are up.
  ignore: natsServerPath() === undefined,
  async fn() {
    const run = await runDemo(["-A", "--deny-run"]);
    assert.equal(run.code, 1, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, /^demo failed: NotCapable: .*run/m);
    assert.doesNotMatch(run.stderr, /cleanup:/);
    assert.match(run.stdout, /^4\. PostTroll/m);
    const stopped = Number(/^failed in \d+\.\d s: (\d+) servers and clients stopped/m.exec(run.stdout)?.[1]);
    assert.ok(stopped >= 8, `only ${stopped} stopped:\n${run.stdout}`);
  },
});
