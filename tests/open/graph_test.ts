// open() loads a system's entry only when its scheme is opened: proved on the static module graph (deno info) and
// at run time, in a child process where zeromq, NATS over TCP and node: built-ins are mapped to modules that throw.
import assert from "node:assert/strict";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";

const ROOT = new URL("../../", import.meta.url);
const SRC = new URL("src/", ROOT).href;

interface InfoModule {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The modules a file loads before running: static `import`s (not `import type`, not `import()`), transitively. */
async function staticGraph(path: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(path, ROOT).pathname],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { roots: string[]; modules: InfoModule[] };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const redirects = (info as { redirects?: Record<string, string> }).redirects ?? {};
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length > 0) {
    const s0 = todo.pop() as string;
    const s = redirects[s0] ?? s0;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      if (d.code !== undefined && d.isDynamic !== true) todo.push(d.code.specifier);
    }
  }
  return seen;
}

function offending(graph: Set<string>): string[] {
  return [...graph].filter((s) =>
    s.startsWith("node:") || /zeromq|transport-node/.test(s) ||
    /\/src\/(posttroll|messagebus|mdb)\//.test(s) || s.endsWith("/src/nats/tcp.ts")
  );
}

Deno.test("open() module graph: src/open.ts statically loads no system, no npm package and no node: module", async () => {
  const graph = await staticGraph("src/open.ts");
  const local = [...graph].filter((s) => s.startsWith(SRC)).map((s) => s.slice(SRC.length)).sort();
  assert.deepEqual(local, ["core/url.ts", "open.ts", "open/env.ts", "open/plan.ts", "open/scrub.ts"]);
  assert.deepEqual([...graph].filter((s) => !s.startsWith("file:")), []);
});

Deno.test("open() module graph: the web entries' connectors load no zeromq, NATS TCP, node: or Deno-only system", async () => {
  for (const path of ["connect_streamsea", "connect_nats_ws", "connect_httppubsub", "connect_memory"]) {
    const graph = await staticGraph(`src/open/${path}.ts`);
    assert.deepEqual(offending(graph), [], path);
  }
  // streamsea loads stream-sea only: no NATS at all.
  const sea = await staticGraph("src/open/connect_streamsea.ts");
  assert.deepEqual([...sea].filter((s) => /nats|httppubsub|\/src\/testing\//.test(s)), []);
  // The check can fail: the PostTroll and NATS TCP connectors do load zeromq / transport-node.
  assert.ok(offending(await staticGraph("src/open/connect_posttroll.ts")).some((s) => s.includes("zeromq")));
  assert.ok(offending(await staticGraph("src/open/connect_nats_tcp.ts")).some((s) => s.includes("transport-node")));
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
