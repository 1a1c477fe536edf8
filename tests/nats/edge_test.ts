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

Deno.test("./nats alone refuses a nats:// URL with a TypeError naming ./nats/tcp; with ./nats/tcp loaded, the same class dials TCP", async () => {
  const mod = new URL("../../src/nats/mod.ts", import.meta.url).href;
  const tcp = new URL("../../src/nats/tcp.ts", import.meta.url).href;
  // A fresh process: nothing has loaded the TCP transport.
  const script = `
    const { NatsPubSub } = await import(${JSON.stringify(mod)});
    try {
      await NatsPubSub.connect({ servers: "nats://127.0.0.1:1", reconnect: false, timeoutMs: 500 });
      console.log("connected");
    } catch (err) {
      console.log(err.name + ": " + err.message);
    }
    const tcp = await import(${JSON.stringify(tcp)});
    console.log(tcp.NatsPubSub === NatsPubSub);
    try {
      await NatsPubSub.connect({ servers: "nats://127.0.0.1:1", reconnect: false, timeoutMs: 500 });
    } catch (err) {
      console.log(err.name);
    }
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  assert.match(lines[0]!, /^TypeError: .*nats:\/\/127\.0\.0\.1:1 .*needs @x\/pubsub\/nats\/tcp/);
  assert.equal(lines[1], "true", "./nats and ./nats/tcp export one class");
  assert.equal(lines[2], "ConnectionError", "once ./nats/tcp is loaded, the nats:// URL is dialled over TCP");
});
