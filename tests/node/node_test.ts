// The Node claim, proven: the entry points README marks for Node are bundled as a Node user of the published package
// would get them (JavaScript, npm dependencies inlined, zeromq's native addon from node_modules), and
// tests/node/smoke.node.mjs runs them under Node's own test runner against a real nats-server and the fakes.
// Skips with a reason where `node` (or nats-server) is missing, except under CI=true, where it fails.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The entries README marks for Node, and the file name each is bundled to. */
const ENTRIES: Record<string, string> = {
  mod: "mod.ts",
  nats: "src/nats/mod.ts",
  nats_tcp: "src/nats/tcp.ts",
  httppubsub: "src/httppubsub/mod.ts",
  streamsea: "src/streamsea/mod.ts",
  posttroll: "src/posttroll/mod.ts",
  httppubsub_wire: "src/httppubsub/wire.ts",
  streamsea_wire: "src/streamsea/wire.ts",
  messagebus_wire: "src/messagebus/wire.ts",
  posttroll_wire: "src/posttroll/wire.ts",
};

async function run(cmd: string, args: string[], options: Deno.CommandOptions = {}): Promise<Deno.CommandOutput> {
  return await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...options }).output();
}

async function nodeVersion(): Promise<string | undefined> {
  try {
    const out = await run("node", ["--version"]);
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

const version = await nodeVersion();
const natsSkip = natsServerSkipReason();
const skip = version === undefined ? "node is not installed" : natsSkip;
if (skip !== undefined) {
  if (Deno.env.get("CI") === "true") throw new Error(`The Node smoke test cannot run under CI: ${skip}`);
  console.log(`tests/node skipped: ${skip}`);
}

/** Where Deno keeps an npm package (its cache holds zeromq with its prebuilt addon). */
async function npmPackageDir(name: string, version: string): Promise<string> {
  const out = await run(Deno.execPath(), ["info", "--json"]);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { npmCache: string };
  return join(info.npmCache, "registry.npmjs.org", name, version);
}

async function bundle(outDir: string): Promise<void> {
  // Code splitting keeps open()'s lazy imports lazy, as the published modules are; zeromq stays external (native).
  const out = await run(Deno.execPath(), [
    "bundle",
    "--platform",
    "deno",
    "--code-splitting",
    "--external",
    "zeromq",
    "--outdir",
    outDir,
    ...Object.values(ENTRIES),
  ], { cwd: root });
  assert.ok(out.success, `deno bundle failed:\n${new TextDecoder().decode(out.stderr)}`);
  // Name each entry's output after its key, so the Node side imports `entry_<key>.js`.
  for (const [key, path] of Object.entries(ENTRIES)) {
    const produced = join(outDir, path.replace(/\.ts$/, ".js"));
    await Deno.writeTextFile(
      join(outDir, `entry_${key}.js`),
      `export * from ${JSON.stringify("./" + path.replace(/\.ts$/, ".js"))};\n`,
    );
    await Deno.stat(produced);
  }
  await Deno.writeTextFile(join(outDir, "package.json"), JSON.stringify({ type: "module" }));
  const modules = join(outDir, "node_modules");
  await Deno.mkdir(modules);
  await Deno.symlink(await npmPackageDir("zeromq", "6.8.0"), join(modules, "zeromq"));
  await Deno.symlink(await npmPackageDir("cmake-ts", "1.0.2"), join(modules, "cmake-ts"));
}

Deno.test({
  name: "the Node entry points pass their smoke test under Node's own test runner",
  ignore: skip !== undefined,
  async fn() {
    const outDir = await Deno.makeTempDir({ prefix: "pubsub-node-" });
    const server = await NatsServer.start({ jetstream: true, websocket: true });
    const streamsea = await FakeStreamSea.start();
    const broadcaster = new FakeBroadcaster();
    const broadcasterUrl = await broadcaster.serve({ hostname: "127.0.0.1", port: 0 });
    try {
      const { jetstreamManager } = await import("@nats-io/jetstream");
      const { connect } = await import("@nats-io/transport-node");
      const admin = await connect({ servers: server.url });
      try {
        const jsm = await jetstreamManager(admin);
        await jsm.streams.add({ name: "NODE_JS_STREAM", subjects: ["node.js.>"] });
      } finally {
        await admin.close();
      }
      await bundle(outDir);
      // Node 22 has a global WebSocket (undici); Node 20 exposes the same one behind this flag.
      const major = Number(version!.replace(/^v/, "").split(".")[0]);
      const flags = major < 22 ? ["--experimental-websocket"] : [];
      const out = await run("node", [
        ...flags,
        "--preserve-symlinks",
        "--test",
        "--test-reporter=spec",
        join(root, "tests", "node", "smoke.node.mjs"),
      ], {
        env: {
          PUBSUB_BUNDLE_DIR: outDir,
          NATS_URL: server.url,
          NATS_WS_URL: server.wsUrl!,
          STREAMSEA_PORT: String(streamsea.port),
          HTTPPUBSUB_URL: broadcasterUrl,
          NODE_PATH: join(outDir, "node_modules"),
        },
      });
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.ok(out.success, `node --test failed (exit ${out.code}):\n${text}`);
      // The runner's own summary: every test ran and passed (none skipped or cancelled).
      assert.match(text, /ℹ tests 9\b/, text);
      assert.match(text, /ℹ pass 9\b/, text);
    } finally {
      await broadcaster.close();
      await streamsea.close();
      await server.stop();
      await Deno.remove(outDir, { recursive: true });
    }
  },
});
