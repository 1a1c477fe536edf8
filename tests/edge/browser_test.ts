// The edge proof: the entry points `.`, `./httppubsub`, `./streamsea`,
// `./nats`, `./httppubsub/wire` and `./streamsea/wire` are bundled for the browser (`deno bundle --platform browser`) and
// run in headless Chromium against loopback peers started here: a stream-sea
// subscription (FakeStreamSea), an httppubsub WebSocket subscription bridged
// into NATS with the core `bridge()` (FakeBroadcaster), and a NATS-over-
// WebSocket round trip (a real nats-server); the page also encodes and
// decodes with the two wire entries.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import type { BridgeStats, Message } from "../../mod.ts";
import { generateSecret, hmacAuth, WebsocketPubSubClient } from "../../src/httppubsub/mod.ts";
import { NatsPubSub } from "../../src/nats/mod.ts";
import { createStreamSeaJwt, StreamSeaClient } from "../../src/streamsea/mod.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";
import { NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import type { EdgeConfig, EdgeResult } from "./browser_scenario.ts";

type EdgeApi = typeof import("./browser_scenario.ts");

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ROOT = new URL("../../", import.meta.url);
/** The entry points that must run in a browser, and the bare names a web app imports them by. */
const ENTRIES: Record<string, string> = {
  "@x/pubsub": "mod.ts",
  "@x/pubsub/httppubsub": "src/httppubsub/mod.ts",
  "@x/pubsub/streamsea": "src/streamsea/mod.ts",
  "@x/pubsub/nats": "src/nats/mod.ts",
  "@x/pubsub/httppubsub/wire": "src/httppubsub/wire.ts",
  "@x/pubsub/streamsea/wire": "src/streamsea/wire.ts",
};
const STEP_MS = 10_000;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Why the test cannot run here, or `undefined`; under CI=true nothing may be missing (the test then fails). */
function missing(): string | undefined {
  const reasons: string[] = [];
  try {
    if (!Deno.statSync(CHROMIUM).isFile) reasons.push(`${CHROMIUM} is not a file`);
  } catch {
    reasons.push(`chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`);
  }
  try {
    const nats = natsServerSkipReason();
    if (nats !== undefined) reasons.push(nats);
  } catch (err) {
    reasons.push((err as Error).message);
  }
  return reasons.length === 0 ? undefined : reasons.join("; ");
}

const why = missing();
const ci = env("CI") === "true";
if (why !== undefined && !ci) console.log(`skipping the Chromium edge proof: ${why}`);

async function deno(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) {
    throw new Error(`deno ${args[0]} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...await listFiles(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    else out.push(`${prefix}${e.name}`);
  }
  return out;
}

/** Bundles the entry points (shared code split into chunks) and the page's scenario (entries left external). */
async function build(dir: string): Promise<{ files: Map<string, string>; importMap: Record<string, string> }> {
  const common = ["bundle", "--quiet", "--platform", "browser", "--format", "esm"];
  await deno([...common, "--code-splitting", "--outdir", `${dir}/pkg`, ...Object.values(ENTRIES)]);
  await deno([
    ...common,
    "--external",
    "@x/pubsub",
    "--external",
    "@x/pubsub/*",
    "--output",
    `${dir}/scenario.js`,
    "tests/edge/browser_scenario.ts",
  ]);
  const files = new Map<string, string>();
  for (const f of await listFiles(dir)) files.set(`/${f}`, await Deno.readTextFile(`${dir}/${f}`));
  const importMap: Record<string, string> = {};
  for (const [name, path] of Object.entries(ENTRIES)) {
    const js = `/pkg/${path.replace(/\.ts$/, ".js")}`;
    assert.ok(files.has(js), `the bundle has no ${js} for ${name}: ${[...files.keys()].join(", ")}`);
    importMap[name] = js;
  }
  return { files, importMap };
}

function servePage(files: Map<string, string>, importMap: Record<string, string>) {
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>@x/pubsub edge proof</title>
<script type="importmap">${JSON.stringify({ imports: importMap })}</script>
<script type="module">import * as edge from "/scenario.js"; globalThis.edge = edge;</script>
</head><body></body></html>`;
  const served: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    served.push(path);
    if (path === "/") return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
    const body = files.get(path);
    if (body === undefined) return new Response("not found", { status: 404 });
    return new Response(body, { headers: { "content-type": "text/javascript; charset=utf-8" } });
  });
  return { server, served, origin: `http://127.0.0.1:${server.addr.port}` };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = STEP_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Waiting for ${what} took more than ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function readOne(stream: ReadableStream<Message>, what: string): Promise<Message> {
  const reader = stream.getReader();
  const timer = setTimeout(() => reader.cancel(new Error(`${what} took more than ${STEP_MS} ms`)), STEP_MS);
  try {
    const r = await reader.read();
    assert.ok(!r.done, `${what}: the stream ended first`);
    return r.value;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

async function rsaKeys(): Promise<{ privateKey: CryptoKey; pem: string }> {
  const { privateKey, publicKey } = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-512" },
    true,
    ["sign", "verify"],
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  const b64 = btoa(String.fromCharCode(...spki)).replace(/.{1,64}/g, "$&\n");
  return { privateKey, pem: `-----BEGIN PUBLIC KEY-----\n${b64}-----END PUBLIC KEY-----\n` };
}

const NODE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']node:/;

Deno.test({
  name: "the browser entry points run in headless Chromium against stream-sea, httppubsub and NATS peers",
  ignore: why !== undefined && !ci,
  async fn() {
    if (why !== undefined) assert.fail(`CI=true and the edge proof cannot run: ${why}`);
    const dir = await Deno.makeTempDir({ prefix: "pubsub-edge-" });
    const cleanups: (() => Promise<unknown>)[] = [() => Deno.remove(dir, { recursive: true })];
    const cleanup = async () => {
      for (const c of cleanups.reverse()) await c().catch((err) => console.error("cleanup:", err));
    };
    try {
      // The peers, all on loopback and free ports.
      const { privateKey, pem } = await rsaKeys();
      const sea = await FakeStreamSea.start({
        clients: [{ clientId: "edge", clientSecret: "edge-secret", jwtPublicKey: pem }],
      });
      cleanups.push(() => sea.close());
      const toBroadcaster = generateSecret();
      const toSubscriber = generateSecret();
      const broadcaster = new FakeBroadcaster({
        toBroadcasterAuth: hmacAuth(toBroadcaster),
        toSubscriberAuth: hmacAuth(toSubscriber),
      });
      const broadcasterUrl = await broadcaster.serve();
      cleanups.push(() => broadcaster.close());
      const natsServer = await NatsServer.start({ jetstream: false });
      cleanups.push(() => natsServer.stop());

      // The Deno side: a stream-sea backend, an httppubsub notifier, a NATS responder.
      const backend = new StreamSeaClient({ ...sea.connection, clientId: "edge", clientSecret: "edge-secret" });
      cleanups.push(() => backend.close());
      const notifier = new WebsocketPubSubClient({
        broadcasters: [broadcasterUrl],
        sendAuth: hmacAuth(toBroadcaster),
        receiveAuth: hmacAuth(toSubscriber),
      });
      cleanups.push(() => notifier.close());
      const nats = await NatsPubSub.connect(natsServer.wsUrl!);
      cleanups.push(() => nats.close());
      const pings = nats.subscribe("edge.ping");
      const bridged = nats.subscribe("edge.bridged");
      await Promise.all([pings.ready, bridged.ready]);
      const responder = (async () => {
        for await (const msg of pings) await nats.publish("edge.reply", msg.text().toUpperCase());
      })();
      cleanups.push(async () => {
        await pings.close();
        await responder;
      });

      // The bundles and the page.
      const { files, importMap } = await build(dir);
      const page = servePage(files, importMap);
      cleanups.push(() => page.server.shutdown());

      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
      cleanups.push(() => browser.close());
      const tab = await browser.newPage();
      tab.setDefaultTimeout(STEP_MS);
      const errors: string[] = [];
      const requests: string[] = [];
      const sockets: string[] = [];
      tab.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
      tab.on("console", (m) => {
        if (m.type() === "error") errors.push(`console error: ${m.text()}`);
      });
      tab.on("request", (r) => requests.push(r.url()));
      tab.on("websocket", (ws) => sockets.push(ws.url()));

      await tab.goto(page.origin);
      await tab.waitForFunction(() => "edge" in globalThis).catch((err) => {
        throw new Error(`The page did not load its modules: ${errors.join("; ") || err}`, { cause: err });
      });
      const jwt = await createStreamSeaJwt(privateKey, { exp: new Date(Date.now() + 120_000), mustFanout: true });
      const config: EdgeConfig = {
        streamsea: { ...sea.connection, clientId: "edge", jwt, stream: "edge_readings" },
        httppubsub: { url: broadcasterUrl, toBroadcaster, toSubscriber, topic: "edge/alerts", echo: "edge/echo" },
        nats: { wsUrl: natsServer.wsUrl!, ping: "edge.ping", reply: "edge.reply", bridged: "edge.bridged" },
        timeoutMs: STEP_MS,
      };
      await tab.evaluate((c) => (globalThis as unknown as { edge: EdgeApi }).edge.setup(c), config);

      // The browser is subscribed everywhere: publish from Deno.
      assert.equal(sea.subscriptions.length, 1, "the browser's stream-sea subscription is on the server");
      await backend.publish("edge_readings", { room: "attic", celsius: 17.5 });
      const notified = await notifier.notify({ topic: "edge/alerts", data: "door open" });
      assert.equal(notified.notified, 1, "the browser took the signed delivery");
      const forwarded = await readOne(bridged, "Reading what the browser bridged into NATS");
      assert.equal(forwarded.text(), "door open");
      assert.equal(forwarded.headers.get("x-from"), "edge/alerts");
      assert.equal(forwarded.headers.get("x-runtime"), "chromium");

      const echo = notifier.subscribeExact("edge/echo");
      await echo.ready;
      const echoed = readOne(echo, "Reading what the browser notified");
      const result: EdgeResult = await tab.evaluate(() => (globalThis as unknown as { edge: EdgeApi }).edge.exchange());
      assert.match(result.userAgent, /HeadlessChrome\//);
      assert.equal(result.hasDeno, false, "the page has no Deno global");
      // The wire entries ran in the page. A subscribe request body is four u16-length-prefixed fields (url, topic,
      // recovery, tracing); a stream-sea subscribe frame is {id, action, payload}: written out here by hand.
      const url = [...new TextEncoder().encode("http://me/#1")];
      assert.deepEqual(result.wire.httppubsub, [0, url.length, ...url, 0, 1, 0x74, 0, 0, 0, 0]);
      assert.equal(result.wire.httppubsubUrl, "http://me/#1");
      assert.equal(result.wire.streamsea, '{"id":3,"action":"subscribe","payload":"edge_readings"}');
      assert.equal(result.wire.streamseaStream, "edge_readings");
      assert.deepEqual(result.streamsea, { stream: "edge_readings", payload: { room: "attic", celsius: 17.5 } });
      assert.deepEqual(result.httppubsub, { notified: 1 }, "the Deno subscriber confirmed the browser's notify");
      const fromBrowser = await echoed;
      assert.equal(fromBrowser.topic, "edge/echo");
      assert.equal(fromBrowser.text(), "hello from chromium");
      await echo.close();
      assert.deepEqual(result.nats, { subject: "edge.reply", text: "HELLO FROM CHROMIUM" });
      assert.deepEqual(
        { received: result.bridge.received, written: result.bridge.written, failed: result.bridge.failed },
        { received: 1, written: 1, failed: 0 },
        "NATS core only reports written",
      );

      assert.equal(broadcaster.websocketPeers.length, 2, "the browser and the Deno notifier are connected");
      const final: BridgeStats = await tab.evaluate(() => (globalThis as unknown as { edge: EdgeApi }).edge.teardown());
      assert.equal(final.received, 1);
      // Closing in the browser released every connection on the peers.
      await until("the stream-sea fake to see the socket closed", () => sea.connectionCount === 0);
      await until("the broadcaster to see the socket closed", () => broadcaster.websocketPeers.length === 1);
      await until("nats-server to count only the Deno connection", async () => {
        const connz = await (await fetch(`${natsServer.monitorUrl}/connz`)).json() as { num_connections: number };
        return connz.num_connections === 1;
      });

      // Nothing but loopback, nothing but the bundles, no node: module anywhere the page loaded.
      // nats-server before 2.10.24 (Debian 12 ships 2.9.10) answers a close frame without a status with status
      // 1005, which the spec reserves (nats-io/nats-server#6259): Chromium logs that one error for its socket.
      const natsCloseQuirk = `WebSocket connection to '${natsServer.wsUrl}/' failed: ` +
        "Received a broken close frame containing a reserved status code.";
      assert.deepEqual(errors.filter((e) => e !== `console error: ${natsCloseQuirk}`), []);
      for (const url of requests) assert.ok(url.startsWith(`${page.origin}/`), `the page fetched ${url}`);
      assert.equal(sockets.length, 3, sockets.join(", "));
      for (const url of sockets) assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\//);
      for (const js of Object.values(importMap)) assert.ok(page.served.includes(js), `the page did not load ${js}`);
      for (const path of page.served) {
        const body = files.get(path);
        if (body !== undefined) assert.doesNotMatch(body, NODE_IMPORT, `${path} imports a node: module`);
      }
    } finally {
      await cleanup();
    }
  },
});
