// open() loads a system's entry only when its scheme is opened: proved on the static module graph (deno info) and
// at run time, in a child process where zeromq, NATS over TCP and node: built-ins are mapped to modules that throw.
import assert from "node:assert/strict";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import { type Info, info, inSrc, ROOT, SRC, staticGraph } from "../_module_graph.ts";

/** A module's own imports that load code, static and dynamic, as paths under src/. */
function ownImports(graph: Info, path: string): { static: string[]; dynamic: string[] } {
  const m = graph.modules.find((x) => x.specifier === `${SRC}${path}`);
  assert.ok(m !== undefined, `${path} is not in the graph`);
  const deps = (m.dependencies ?? []).filter((d) => d.code !== undefined);
  return {
    static: deps.filter((d) => d.isDynamic !== true).map((d) => inSrc(d.code!.specifier)).sort(),
    dynamic: deps.filter((d) => d.isDynamic === true).map((d) => inSrc(d.code!.specifier)).sort(),
  };
}

function offending(graph: Set<string>): string[] {
  return [...graph].filter((s) =>
    s.startsWith("node:") || /zeromq|transport-node/.test(s) ||
    /\/src\/(posttroll|messagebus|mdb)\//.test(s) || s.endsWith("/src/nats/tcp.ts")
  );
}

/** Each system's planner, and what its connect() loads (by dynamic import()). */
const PLANNERS: Record<string, string[]> = {
  "httppubsub/open_url.ts": ["httppubsub/mod.ts"],
  "mdb/open_url.ts": ["mdb/mod.ts"],
  "memory/open_url.ts": ["memory/mod.ts"],
  "messagebus/open_url.ts": ["messagebus/mod.ts"],
  "nats/open_url.ts": ["nats/creds_file.ts", "nats/mod.ts", "nats/tcp.ts"],
  "posttroll/open_url.ts": ["posttroll/mod.ts"],
  "streamsea/open_url.ts": ["streamsea/mod.ts"],
};

Deno.test("open() module graph: src/open.ts statically loads core, open/ and the seven planners, no system, npm or node: module", async () => {
  const graph = await staticGraph("src/open.ts");
  const local = [...graph].filter((s) => s.startsWith(SRC)).map(inSrc).sort();
  const other = local.filter((s) => !/^(open\.ts|open\/[a-z_]+\.ts|core\/[a-z_]+\.ts)$/.test(s));
  assert.deepEqual(other, Object.keys(PLANNERS), "besides open.ts, open/ and core/, only the planners");
  assert.deepEqual([...graph].filter((s) => !s.startsWith("file:")), []);
  // Each planner's own static imports are core files only; what it loads comes by import() in connect().
  const full = await info("src/open.ts");
  for (const [planner, loads] of Object.entries(PLANNERS)) {
    const own = ownImports(full, planner);
    assert.deepEqual(own.static.filter((s) => !/^core\/[a-z_]+\.ts$/.test(s)), [], `${planner} imports beyond core`);
    assert.deepEqual(own.dynamic, loads, `what ${planner} loads when connecting`);
  }
});

Deno.test("open() module graph: what the web schemes' planners load has no zeromq, NATS TCP, node: or Deno-only system", async () => {
  for (const entry of ["streamsea/mod.ts", "nats/mod.ts", "httppubsub/mod.ts", "memory/mod.ts"]) {
    const graph = await staticGraph(`src/${entry}`);
    assert.deepEqual(offending(graph), [], entry);
  }
  // streamsea loads stream-sea only: no NATS at all; memory: nothing of the testing folder.
  const sea = await staticGraph("src/streamsea/mod.ts");
  // (Local files are matched by their path under src/, whatever folder holds the checkout.)
  assert.deepEqual([...sea].filter((s) => /nats|^(httppubsub|testing)\//.test(inSrc(s))), []);
  const memory = await staticGraph("src/memory/mod.ts");
  assert.deepEqual([...memory].filter((s) => s.startsWith(SRC) && !/\/src\/(core|memory)\//.test(s)), []);
  // The check can fail: PostTroll and NATS over TCP do load zeromq / transport-node.
  assert.ok(offending(await staticGraph("src/posttroll/mod.ts")).some((s) => s.includes("zeromq")));
  assert.ok(offending(await staticGraph("src/nats/tcp.ts")).some((s) => s.includes("transport-node")));
});

const BLOCKED = [
  "zeromq",
  "@nats-io/transport-node",
  ...[
    "assert",
    "buffer",
    "child_process",
    "crypto",
    "dgram",
    "dns",
    "events",
    "fs",
    "fs/promises",
    "http",
    "https",
    "net",
    "os",
    "path",
    "process",
    "stream",
    "timers",
    "tls",
    "url",
    "util",
    "worker_threads",
    "zlib",
  ].map((m) => `node:${m}`),
];

const SCRIPT = `
import { open } from ${JSON.stringify(new URL("src/open.ts", ROOT).href)};
async function roundTrip(url) {
  const ps = await open(url);
  const topic = "graph_probe";
  const sub = ps.subscribe(topic);
  await sub.ready;
  const reader = sub.getReader();
  const got = reader.read();
  await ps.publish(topic, "{\\"hello\\":1}");
  const { value } = await got;
  if (value.text() !== "{\\"hello\\":1}") throw new Error("wrong message " + value.text());
  reader.releaseLock();
  await sub.close();
  await ps.close();
}
for (const url of Deno.args) await roundTrip(url);
console.log("ok");
`;

/** Runs SCRIPT in a child whose import map turns every blocked module into one that throws when loaded. */
async function runBlocked(urls: string[]): Promise<{ success: boolean; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "open-graph-" });
  try {
    const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
      imports: Record<string, string>;
    };
    const imports: Record<string, string> = { ...config.imports };
    for (const b of BLOCKED) {
      imports[b] = `data:text/javascript,throw new Error(${encodeURIComponent(JSON.stringify(`loaded ${b}`))})`;
    }
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ imports }));
    await Deno.writeTextFile(`${dir}/main.js`, SCRIPT);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", "--config", `${dir}/deno.json`, "--allow-net=127.0.0.1", `${dir}/main.js`, ...urls],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const dec = new TextDecoder();
    return { success: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("open() at run time: memory: and streamsea+ws: work with zeromq, NATS TCP and node: modules unloadable", async () => {
  const fake = await FakeStreamSea.start();
  try {
    const r = await runBlocked(["memory:", `streamsea+ws://abc:def123@127.0.0.1:${fake.port}`]);
    assert.ok(r.success, r.stderr);
    assert.equal(r.stdout.trim(), "ok");
    // The harness does catch a load: opening PostTroll touches a blocked module and fails.
    const troll = await runBlocked(["posttroll:///svc?bind=127.0.0.1"]);
    assert.equal(troll.success, false);
    assert.match(troll.stderr, /loaded (zeromq|node:)|requested module 'node:/); // thrown, or refused at link time
  } finally {
    await fake.close();
  }
});
