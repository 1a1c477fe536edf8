// ./posttroll/wire is the codec alone: what it loads (deno info's static graph) holds no zeromq and no node: built-in
// but node:os, the one its docs name (the default sender's user and host names), so a peer or a fake written against
// it pulls in no sockets, no UDP and no file reading.
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

interface InfoModule {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The modules a file loads before running: static `import`s (not `import type`, not `import()`), transitively. */
async function staticGraph(path: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(path, ROOT).pathname],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects?: Record<string, string>;
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...graph.roots];
  while (todo.length > 0) {
    const s0 = todo.pop()!;
    const s = graph.redirects?.[s0] ?? s0;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      if (d.code !== undefined && d.isDynamic !== true) todo.push(d.code.specifier);
    }
  }
  return [...seen];
}

Deno.test("./posttroll/wire loads no zeromq and no node: built-in but node:os", async () => {
  const graph = await staticGraph("src/posttroll/wire.ts");
  assert.deepEqual(graph.filter((s) => s.startsWith("npm:")), []);
  assert.deepEqual(graph.filter((s) => s.startsWith("node:")), ["node:os"]);
  const local = graph.filter((s) => s.startsWith("file:")).map((s) => s.slice(new URL("src/", ROOT).href.length));
  for (const file of ["broadcaster.ts", "sockets.ts", "socket_security.ts", "zap.ts", "config.ts"]) {
    assert.ok(!local.includes(`posttroll/${file}`), `wire.ts loads posttroll/${file}`);
  }
});

Deno.test("./posttroll loads zeromq (the contrast: the graph above is read correctly)", async () => {
  const graph = await staticGraph("src/posttroll/mod.ts");
  assert.ok(graph.some((s) => s.startsWith("npm:") && s.includes("zeromq")), graph.join("\n"));
  assert.ok(graph.includes("node:dgram"));
});
