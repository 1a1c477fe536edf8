import assert from "node:assert/strict";

async function graph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: { specifier: string }[] };
  return info.modules.map((m) => m.specifier);
}

Deno.test("./nats loads no node: module, no TCP transport and no Deno-only code", async () => {
  const modules = await graph(new URL("../../src/nats/mod.ts", import.meta.url).href);
  assert.ok(modules.some((s) => s.includes("@nats-io/nats-core")));
  for (const s of modules) {
    assert.ok(!s.startsWith("node:"), s);
    assert.ok(!s.includes("transport-node"), s);
    if (s.startsWith("file:")) {
      const source = await Deno.readTextFile(new URL(s));
      assert.ok(!/\bDeno\./.test(source), `${s} uses Deno.*`);
    }
  }
});

Deno.test("./nats/tcp uses the node transport", async () => {
  const modules = await graph(new URL("../../src/nats/tcp.ts", import.meta.url).href);
  assert.ok(modules.some((s) => s.includes("@nats-io/transport-node")));
});
