import assert from "node:assert/strict";
import { AuthorizationError, jwtAuthenticator, wsconnect } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import {
  ignoreLateSocketResets,
  NatsServer,
  natsServerPath,
  natsServerSkipReason,
} from "../../src/testing/nats/mod.ts";

const skip = natsServerSkipReason();
if (skip !== undefined) console.log(skip);
const ignore = skip !== undefined;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function reachable(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({ name: "natsServerPath() finds an executable nats-server", ignore }, async () => {
  const path = natsServerPath();
  assert.ok(path !== undefined);
  const out = await new Deno.Command(path, { args: ["--version"], stdout: "piped", stderr: "piped" }).output();
  assert.match(new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr), /nats-server: v\d/);
});

Deno.test("natsServerSkipReason() throws under CI=true when nats-server is missing", () => {
  const path = Deno.env.get("PATH");
  const ci = Deno.env.get("CI");
  const hidden = natsServerPath() === "/usr/sbin/nats-server" || natsServerPath() === undefined;
  try {
    Deno.env.set("PATH", "/nonexistent");
    Deno.env.set("CI", "true");
    if (natsServerPath() === undefined) {
      assert.throws(() => natsServerSkipReason(), /CI=true/);
      Deno.env.set("CI", "false");
      assert.match(natsServerSkipReason() ?? "", /nats-server is not on PATH/);
    } else {
      // The fixed fallback location holds one: never a skip.
      assert.ok(hidden);
      assert.equal(natsServerSkipReason(), undefined);
    }
  } finally {
    if (path === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", path);
    if (ci === undefined) Deno.env.delete("CI");
    else Deno.env.set("CI", ci);
  }
});

Deno.test({ name: "NatsServer.start() writes a config nats-server accepts with -t", ignore }, async () => {
  for (const options of [{}, { operator: true }, { jetstream: false, websocket: false }]) {
    const server = await NatsServer.start(options);
    try {
      const out = await new Deno.Command(natsServerPath()!, {
        args: ["-t", "-c", server.configFile],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, text);
      assert.match(text, /configuration file .* is valid/);
    } finally {
      await server.stop();
    }
  }
});

Deno.test({ name: "NatsServer.start() listens on loopback ports and stop() releases them", ignore }, async () => {
  const server = await NatsServer.start();
  const dir = server.configFile.replace(/\/[^/]+$/, "");
  assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
  assert.equal(server.wsUrl, `ws://127.0.0.1:${server.wsPort}`);
  assert.equal(server.accountPublicKey, undefined);
  assert.ok(await reachable(server.port));
  assert.ok(await reachable(server.wsPort!));
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  assert.equal((await jsm.getAccountInfo()).streams, 0);
  await nc.close();
  await server.stop();
  assert.equal(await reachable(server.port), false);
  assert.equal(await exists(dir), false);
  await assert.rejects(() => server.mintUser({ name: "x" }), /not in operator mode/);
});

Deno.test({ name: "NatsServer.start() fails at once with nats-server's own words when it exits", ignore }, async () => {
  // nats-server exits at its config check: the wait for readiness notices the exit, not the 15 s deadline.
  const started = Date.now();
  await assert.rejects(
    () => NatsServer.start({ tls: { certFile: "/nonexistent-x-pubsub.pem", keyFile: "/nonexistent-x-pubsub.key" } }),
    /Starting nats-server failed: it exited with code 1: .*nonexistent-x-pubsub\.pem/,
  );
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
});

Deno.test({ name: "NatsServer.start() without websocket or jetstream leaves them off", ignore }, async () => {
  const server = await NatsServer.start({ jetstream: false, websocket: false });
  try {
    assert.equal(server.wsUrl, undefined);
    assert.equal(server.wsPort, undefined);
    const nc = await connect({ servers: server.url });
    assert.equal(nc.info?.jetstream ?? false, false);
    await nc.close();
  } finally {
    await server.stop();
  }
});

Deno.test(
  { name: "NatsServer in operator mode accepts bearer and admin users and refuses others", ignore },
  async () => {
    await using _resets = ignoreLateSocketResets();
    const server = await NatsServer.start({ operator: true });
    try {
      assert.match(server.accountPublicKey ?? "", /^A[A-Z0-9]{55}$/);
      // No credentials: refused.
      await assert.rejects(() => connect({ servers: server.url, reconnect: false }), AuthorizationError);

      // A bearer JWT works over WebSocket without a signature.
      const bearer = await server.mintUser({ name: "reader", bearer: true, expiresInSeconds: 60 });
      assert.match(bearer.seed, /^SU/);
      const ws = await wsconnect({ servers: server.wsUrl!, authenticator: jwtAuthenticator(bearer.jwt) });
      assert.equal(ws.info?.jetstream, true);
      await ws.close();

      // A non-bearer JWT with an empty signature is refused.
      const plain = await server.mintUser({ name: "plain" });
      await assert.rejects(
        () =>
          wsconnect({
            servers: server.wsUrl!,
            reconnect: false,
            authenticator: () => ({ jwt: plain.jwt, sig: "" } as unknown as { jwt: string }),
          }),
        AuthorizationError,
      );

      // The admin user manages JetStream.
      const admin = await server.adminCredentials();
      assert.strictEqual(await server.adminCredentials(), admin);
      const nc = await connect({ servers: server.url, authenticator: jwtAuthenticator(admin.jwt, admin.seed) });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "EVENTS_demo", subjects: ["EVENTS.demo"] });
      assert.equal((await jsm.getAccountInfo()).streams, 1);
      await nc.close();
    } finally {
      await server.stop();
    }
  },
);

Deno.test({ name: "NatsServer.mintUser() limits publish permissions", ignore }, async () => {
  const server = await NatsServer.start({ operator: true, jetstream: false });
  try {
    const u = await server.mintUser({ name: "limited", bearer: true, pub: ["allowed.>"], sub: ["allowed.>"] });
    const nc = await connect({ servers: server.url, authenticator: jwtAuthenticator(u.jwt) });
    const errors: string[] = [];
    (async () => {
      for await (const s of nc.status()) if (s.type === "error") errors.push(String(s.error));
    })();
    nc.publish("denied.x", "no");
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    await nc.close();
    assert.ok(errors.some((e) => /Permissions Violation/i.test(e)), errors.join("; "));
    await assert.rejects(() => server.mintUser({ name: "x", expiresInSeconds: 0 }), RangeError);
  } finally {
    await server.stop();
  }
});

Deno.test({ name: "NatsServer.restart() keeps the ports and the JetStream store", ignore }, async () => {
  const server = await NatsServer.start();
  try {
    const port = server.port;
    let nc = await connect({ servers: server.url });
    let jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "KEEP", subjects: ["keep.>"] });
    const js = jsm.jetstream();
    await js.publish("keep.a", "one");
    await nc.close();
    await server.restart();
    assert.equal(server.port, port);
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info("KEEP");
    assert.equal(info.state.messages, 1);
    await nc.close();
  } finally {
    await server.stop();
  }
  await assert.rejects(() => server.restart(), /stopped/);
});

Deno.test({ name: "NatsServer with storeDir keeps the store across instances", ignore }, async () => {
  const storeDir = await Deno.makeTempDir({ prefix: "x-pubsub-nats-store-" });
  try {
    let server = await NatsServer.start({ storeDir, websocket: false });
    let nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({ name: "SHARED", subjects: ["shared"] });
    await nc.close();
    await server.stop();
    assert.ok(await exists(storeDir));
    server = await NatsServer.start({ storeDir, websocket: false });
    nc = await connect({ servers: server.url });
    const names = await (await jetstreamManager(nc)).streams.names().next();
    assert.deepEqual(names, ["SHARED"]);
    await nc.close();
    await server.stop();
  } finally {
    await Deno.remove(storeDir, { recursive: true });
  }
});

Deno.test("ignoreLateSocketResets() swallows only ECONNRESET, until disposed", async () => {
  const seen: string[] = [];
  const after = (ev: ErrorEvent) => void seen.push(`${String(ev.error)} prevented=${ev.defaultPrevented}`);
  {
    await using guard = ignoreLateSocketResets(10);
    // Registered after the guard, so it sees what the guard lets through.
    globalThis.addEventListener("error", after);
    const reset = new ErrorEvent("error", { error: new Error("read ECONNRESET"), cancelable: true });
    globalThis.dispatchEvent(reset);
    assert.equal(reset.defaultPrevented, true);
    assert.equal(guard.resets, 1);
    const other = new ErrorEvent("error", { error: new Error("something else"), cancelable: true });
    globalThis.dispatchEvent(other);
    assert.equal(guard.resets, 1);
  }
  const later = new ErrorEvent("error", { error: new Error("read ECONNRESET"), cancelable: true });
  globalThis.dispatchEvent(later);
  globalThis.removeEventListener("error", after);
  assert.deepEqual(seen, [
    "Error: read ECONNRESET prevented=true",
    "Error: something else prevented=false",
    "Error: read ECONNRESET prevented=false",
  ]);
});
