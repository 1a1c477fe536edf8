// What a module loads, read from `deno info --json`: shared by the tests that prove an entry point's module graph
// (tests/open/graph_test.ts: open()'s lazy loading; tests/posttroll/wire_graph_test.ts: the wire entry's imports).
import assert from "node:assert/strict";

/** The repository's root folder. */
export const ROOT = new URL("../", import.meta.url);

/** The `src/` folder's URL, as module specifiers spell it. */
export const SRC: string = new URL("src/", ROOT).href;

/** A local module's path under `src/` (`nats/mod.ts`), whatever folder holds the checkout; any other specifier as is. */
export function inSrc(specifier: string): string {
  return specifier.startsWith(SRC) ? specifier.slice(SRC.length) : specifier;
}

/** One module of `deno info --json`. */
export interface InfoModule {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

/** `deno info --json`'s answer. */
export interface Info {
  roots: string[];
  modules: InfoModule[];
  redirects?: Record<string, string>;
}

/** Runs `deno info --json` on a file of the repository (`path` relative to its root). */
export async function info(path: string): Promise<Info> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(path, ROOT).pathname],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Info;
}

/** The modules a file loads before running: static `import`s (not `import type`, not `import()`), transitively. */
export async function staticGraph(path: string): Promise<Set<string>> {
  const graph = await info(path);
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const redirects = graph.redirects ?? {};
  const seen = new Set<string>();
  const todo = [...graph.roots];
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
