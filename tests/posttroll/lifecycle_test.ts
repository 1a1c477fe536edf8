import assert from "node:assert/strict";
import { Nameserver } from "../../src/posttroll/nameserver.ts";
import { Publisher } from "../../src/posttroll/publisher.ts";
import { subscribe } from "../../src/posttroll/subscriber.ts";

const root = new URL("../../", import.meta.url);

Deno.test("A subscription left open when a test file ends does not crash deno test at exit", async () => {
  // receive still pending on it, and touching the freed observer afterwards crashed the process with SIGSEGV.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "tests/posttroll/_leaked_subscription.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.signal, null, `the test process died of ${out.signal}:\n${text}`);
  assert.equal(out.code, 0, text);
  assert.match(text, /left open/);
  assert.match(text, /1 passed/);
});

Deno.test("Publisher.close() resolves once the port is free: a publisher restarted on it binds at once", async () => {
  // Each round has a subscriber connected (so libzmq has a connection to tear down too) and closes a
  // subscription first: closing one must never stall libzmq's threads, which would keep the port bound.
  let port = 0;
  for (let round = 0; round < 25; round++) {
    const pub = await new Publisher({ host: "127.0.0.1", port }).start();
    port = pub.port;
    const sub = subscribe({ addresses: [pub.url], nameserver: false });
    await sub.ready;
    const connected = new Promise((resolve) => sub.status.addEventListener("connected", resolve, { once: true }));
    await connected;
    await sub.close();
    await pub.close();
  }
  // And it is free for anyone, not only zeromq.
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  listener.close();
});

Deno.test("Nameserver.close() resolves once its ports are free: a nameserver restarted on them binds at once", async () => {
  let config = { nameserverPort: 0, broadcastPort: 0, addressPublishPort: 0 };
  for (let round = 0; round < 40; round++) {
    const ns = new Nameserver({ host: "127.0.0.1", advertisedAddress: "127.0.0.1", multicast: false, config });
    await ns.start();
    const { nameserver, broadcast, addressPublish } = ns.ports;
    config = { nameserverPort: nameserver, broadcastPort: broadcast, addressPublishPort: addressPublish };
    await ns.close();
  }
});

Deno.test("No PostTroll source iterates zeromq sockets or events with for await (it reads freed objects at exit)", async () => {
  for await (const entry of Deno.readDir(new URL("../../src/posttroll/", import.meta.url))) {
    if (!entry.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(`../../src/posttroll/${entry.name}`, import.meta.url));
    for (const line of text.split("\n")) {
      if (/^\s*(\*|\/\/)/.test(line)) continue; // documentation
      assert.ok(!/for await \(.* of [^)]*(socket|events|\.events)\b/.test(line), `${entry.name}: ${line.trim()}`);
    }
  }
});
