import assert from "node:assert/strict";
import { configFromEnv, configFromFiles, configPaths, literalEval, resolveConfig } from "../../src/posttroll/config.ts";
import { baseOptions } from "../../src/posttroll/socket_security.ts";
import { PosttrollMessage } from "../../src/posttroll/message.ts";
import { Publisher } from "../../src/posttroll/publisher.ts";
import { delay } from "../../src/core/async.ts";

Deno.test("literalEval() reads values as ast.literal_eval, else keeps the string", () => {
  assert.equal(literalEval("5557"), 5557);
  assert.equal(literalEval("-1"), -1);
  assert.equal(literalEval("2.5"), 2.5);
  assert.deepEqual(literalEval("['a', 'b']"), ["a", "b"]);
  assert.deepEqual(literalEval("('a', 1)"), ["a", 1]);
  assert.equal(literalEval("True"), true);
  assert.equal(literalEval("None"), null);
  assert.equal(literalEval("'quoted'"), "quoted");
  assert.equal(literalEval("secure_zmq"), "secure_zmq");
  assert.equal(literalEval("225.0.0.212"), "225.0.0.212");
  assert.equal(literalEval("/etc/keys/server.key_secret"), "/etc/keys/server.key_secret");
});

Deno.test("configFromEnv() reads POSTTROLL_* and the legacy variables", () => {
  const cfg = configFromEnv({
    POSTTROLL_BACKEND: "secure_zmq",
    POSTTROLL_MESSAGE_VERSION: "v1.01",
    POSTTROLL_NAMESERVER_PORT: "15557",
    POSTTROLL_TCP_KEEPALIVE: "1",
    POSTTROLL_TCP_KEEPALIVE_CNT: "10",
    POSTTROLL_TCP_KEEPALIVE_IDLE: "60",
    POSTTROLL_TCP_KEEPALIVE_INTVL: "5",
    POSTTROLL_AUTHORIZED_CLIENT_ADDRESSES: "['127.0.0.1']",
    POSTTROLL_SERVER_PUBLIC_KEY_FILE: "/k/server.key",
    PYTROLL_MC_GROUP: "225.1.1.1",
    PYTROLL_MC_TTL: "4",
    UNRELATED: "x",
  });
  assert.deepEqual(cfg, {
    backend: "secure_zmq",
    messageVersion: "v1.01",
    nameserverPort: 15557,
    tcpKeepalive: 1,
    tcpKeepaliveCnt: 10,
    tcpKeepaliveIdle: 60,
    tcpKeepaliveIntvl: 5,
    authorizedClientAddresses: ["127.0.0.1"],
    serverPublicKeyFile: "/k/server.key",
    mcGroup: "225.1.1.1",
    mcTtl: 4,
  });
  // POSTTROLL_NAMESERVER_PORT wins over the legacy NAMESERVER_PORT.
  assert.equal(configFromEnv({ NAMESERVER_PORT: "1", POSTTROLL_NAMESERVER_PORT: "2" }).nameserverPort, 2);
  assert.equal(configFromEnv({ NAMESERVER_PORT: "1" }).nameserverPort, 1);
  // A bare string allow-list is iterated character by character, as in Python.
  assert.deepEqual(configFromEnv({ POSTTROLL_AUTHORIZED_CLIENT_ADDRESSES: "ab" }).authorizedClientAddresses, [
    "a",
    "b",
  ]);
  assert.throws(() => configFromEnv({ POSTTROLL_BACKEND: "zmq" }), TypeError);
  assert.throws(() => configFromEnv({ POSTTROLL_NAMESERVER_PORT: "many" }), TypeError);
  assert.throws(() => configFromEnv({ POSTTROLL_NAMESERVER_PORT: "99999" }), RangeError);
});

Deno.test("resolveConfig() layers defaults, environment and code", () => {
  const cfg = resolveConfig({ broadcastPort: 1, mcTtl: undefined }, {
    POSTTROLL_BROADCAST_PORT: "2",
    PYTROLL_MC_TTL: "3",
  });
  assert.equal(cfg.broadcastPort, 1);
  assert.equal(cfg.mcTtl, 3);
  assert.equal(cfg.nameserverPort, 5557);
  assert.equal(cfg.addressPublishPort, 16543);
  assert.equal(cfg.mcGroup, "225.0.0.212");
  assert.throws(() => resolveConfig({ bogus: 1 } as never, {}), TypeError);
  assert.throws(() => resolveConfig({ nameserverPort: 1.5 }, {}), TypeError);
});

Deno.test("TCP keepalive settings apply to sockets, as zeromq options", async () => {
  const cfg = resolveConfig({ tcpKeepalive: 1, tcpKeepaliveCnt: 3, tcpKeepaliveIdle: 30, tcpKeepaliveIntvl: 4 }, {});
  assert.deepEqual(baseOptions(cfg), {
    linger: 0,
    tcpKeepalive: 1,
    tcpKeepaliveCount: 3,
    tcpKeepaliveIdle: 30,
    tcpKeepaliveInterval: 4,
  });
  // A publisher built with them binds (zeromq accepts the options).
  await using pub = await new Publisher({ host: "127.0.0.1", config: { tcpKeepalive: 1, tcpKeepaliveIdle: 30 } })
    .start();
  assert.ok(pub.port > 0);
});

Deno.test("The message_version setting applies when a message sets none", () => {
  const t = new Date("2024-01-02T03:04:05Z");
  const m = new PosttrollMessage({ subject: "/a", sender: "u@h", time: t, data: { t }, messageVersion: "v1.01" });
  assert.equal(
    m.encode(),
    'pytroll://a info u@h 2024-01-02T03:04:05 v1.01 application/json {"t": "2024-01-02T03:04:05"}',
  );
  const own = new PosttrollMessage({
    subject: "/a",
    sender: "u@h",
    time: t,
    data: "x",
    version: "v1.2",
    messageVersion: "v1.01",
  });
  assert.equal(own.version, "v1.2");
});

Deno.test("Publisher picks a port in [pubMinPort, pubMaxPort) when the range is set", async () => {
  await using pub = await new Publisher({ host: "127.0.0.1", config: { pubMinPort: 40100, pubMaxPort: 40200 } })
    .start();
  assert.ok(pub.port >= 40100 && pub.port < 40200, String(pub.port));
});

Deno.test("authorizedClientAddresses admits only the listed client addresses (ZAP on a plain socket)", async () => {
  const { subscribe } = await import("../../src/posttroll/subscriber.ts");
  await using open = await new Publisher({ host: "127.0.0.1", config: { authorizedClientAddresses: ["127.0.0.1"] } })
    .start();
  await using closed = await new Publisher({ host: "127.0.0.1", config: { authorizedClientAddresses: ["10.9.9.9"] } })
    .start();
  const a = subscribe({ addresses: [open.url], nameserver: false });
  const b = subscribe({ addresses: [closed.url], nameserver: false });
  await Promise.all([a.ready, b.ready]);
  let bGot = 0;
  const draining = (async () => {
    for await (const _ of b) bGot++;
  })();
  const reader = a.getReader();
  let got = false;
  const reading = reader.read().then(() => got = true);
  for (let i = 0; i < 100 && !got; i++) {
    await open.send({ subject: "/a", data: "x" });
    await closed.send({ subject: "/a", data: "x" });
    await delay(20);
  }
  await reading;
  for (let i = 0; i < 10; i++) {
    await closed.send({ subject: "/a", data: "x" });
    await delay(10);
  }
  assert.equal(bGot, 0);
  reader.releaseLock();
  await Promise.all([a.close(), b.close()]);
  await draining;
});

Deno.test("configFromFiles() reads YAML and JSON files as donfig does: name order, later files win, - and _ alike", () => {
  const root = Deno.makeTempDirSync();
  const dir = `${root}/etc`;
  Deno.mkdirSync(dir);
  try {
    Deno.writeTextFileSync(
      `${dir}/10-base.yaml`,
      "# site settings\nbackend: secure_zmq\nnameserver_port: 15557\ntcp-keepalive: 1\n" +
        "authorized_client_addresses:\n  - 127.0.0.1\n  - 10.0.0.1\nunrelated:\n  a: 1\nmc_ttl: 3\n",
    );
    Deno.writeTextFileSync(`${dir}/20-more.json`, '{"nameserver_port": 25557, "message_version": "v1.01"}');
    Deno.writeTextFileSync(`${dir}/ignored.txt`, "backend: nonsense");
    Deno.writeTextFileSync(`${root}/main.yml`, "broadcast_port: 0x5334\nmessage_version: null\n");
    const cfg = configFromFiles([dir, `${root}/missing`, `${root}/main.yml`]);
    assert.deepEqual(cfg, {
      backend: "secure_zmq",
      nameserverPort: 25557,
      tcpKeepalive: 1,
      authorizedClientAddresses: ["127.0.0.1", "10.0.0.1"],
      broadcastPort: 21300,
    });
    // Files below the environment, the environment below code.
    const all = resolveConfig({ tcpKeepalive: 0 }, { POSTTROLL_NAMESERVER_PORT: "35557" }, [dir]);
    assert.equal(all.backend, "secure_zmq");
    assert.equal(all.nameserverPort, 35557);
    assert.equal(all.tcpKeepalive, 0);
    assert.equal(all.mcTtl, 31, "the TTL comes from PYTROLL_MC_TTL only");
    // The default paths follow the environment, POSTTROLL_CONFIG last.
    const env = { POSTTROLL_ROOT_CONFIG: dir, HOME: `${root}/home`, POSTTROLL_CONFIG: `${root}/main.yml` };
    assert.deepEqual(configPaths(env), [dir, `${root}/home/.config/posttroll`, `${root}/main.yml`]);
    assert.equal(resolveConfig({}, env).nameserverPort, 25557);
    assert.equal(resolveConfig({}, env).broadcastPort, 21300);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("configFromFiles() refuses a malformed file, a list at the top, or a wrong type, naming the file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (
      const [text, pattern] of [
        ["backend: [unclosed\n", /posttroll\.yaml failed/],
        ["- a\n- b\n", /top level is not a mapping/],
        ["nameserver_port: many\n", /nameserverPort .*posttroll\.yaml failed: "many" is not an integer/],
        ["backend: plain_zmq\n", /is not unsecure_zmq or secure_zmq/],
      ] as const
    ) {
      Deno.writeTextFileSync(`${dir}/posttroll.yaml`, text);
      assert.throws(() => configFromFiles([dir]), (e) => e instanceof TypeError && pattern.test(e.message), text);
    }
    // An empty file sets nothing.
    Deno.writeTextFileSync(`${dir}/posttroll.yaml`, "");
    assert.deepEqual(configFromFiles([dir]), {});
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("configFromFiles() skips paths it may not read without asking", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/posttroll.yaml`, "nameserver_port: 15557\n");
    const script = `${dir}/probe.ts`;
    const config = new URL("../../src/posttroll/config.ts", import.meta.url).href;
    Deno.writeTextFileSync(
      script,
      `import { configFromFiles } from ${JSON.stringify(config)};\n` +
        `console.log(JSON.stringify(configFromFiles([${JSON.stringify(dir)}])));\n`,
    );
    const run = (...flags: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--config",
          new URL("../../deno.json", import.meta.url).pathname,
          ...flags,
          script,
        ],
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).output();
    // No read permission: the file is skipped, and nothing prompts (stdin is closed, --no-prompt would fail loudly).
    const denied = await run();
    assert.equal(new TextDecoder().decode(denied.stdout).trim(), "{}", new TextDecoder().decode(denied.stderr));
    const granted = await run(`--allow-read=${dir}`);
    assert.equal(new TextDecoder().decode(granted.stdout).trim(), '{"nameserverPort":15557}');
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("resolveConfig() gives settings it made back as they are, without reading files and environment again", () => {
  const cfg = resolveConfig({ nameserverPort: 15557 }, {}, []);
  assert.equal(resolveConfig(cfg), cfg);
  // Given an environment or paths, it resolves afresh.
  const again = resolveConfig(cfg, { POSTTROLL_MESSAGE_VERSION: "v1.01" }, []);
  assert.notEqual(again, cfg);
  assert.equal(again.messageVersion, "v1.01");
  assert.equal(again.nameserverPort, 15557);
});
