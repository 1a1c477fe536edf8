import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { loadCertificate } from "../../src/posttroll/keys.ts";
import { getPubAddress } from "../../src/posttroll/nameserver_client.ts";

const root = new URL("../../", import.meta.url);

Deno.test("The nameserver program serves on the ports from POSTTROLL_* and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "examples/posttroll_nameserver.ts",
      "--no-multicast",
      "--host",
      "127.0.0.1",
      "--advertise",
      "127.0.0.1",
      "-v",
    ],
    cwd: root,
    env: { POSTTROLL_NAMESERVER_PORT: "0", POSTTROLL_BROADCAST_PORT: "0", POSTTROLL_ADDRESS_PUBLISH_PORT: "0" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const r = await lines.read();
    if (r.done) break;
    out += r.value;
  }
  const ports = JSON.parse(out.slice(out.indexOf("{"), out.indexOf("\n"))) as Record<string, number>;
  const found = await getPubAddress("addresses", {
    nameserver: "127.0.0.1",
    config: { nameserverPort: ports.nameserver },
    timeout: 3000,
  });
  assert.deepEqual(found.map((e) => e.URI), [`tcp://127.0.0.1:${ports.addressPublish}`]);
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0);
  await lines.cancel();
  const log = await new Response(child.stderr).text();
  assert.match(log, /Query for "addresses": 1 found/);
});

Deno.test("The posttroll-generate-keys program writes NAME.key and NAME.key_secret", async () => {
  const dir = await Deno.makeTempDir({ prefix: "posttroll-gen-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "examples/posttroll_generate_keys.ts", "server", "-d", dir],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const pub = await loadCertificate(`${dir}/server.key`);
    const sec = await loadCertificate(`${dir}/server.key_secret`);
    assert.equal(pub.publicKey, sec.publicKey);
    assert.equal(typeof sec.secretKey, "string");
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "examples/posttroll_generate_keys.ts"],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bad.code, 2);
  } finally {
    await rm(dir, { recursive: true });
  }
});
