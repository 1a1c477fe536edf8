import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { fileURLToPath } from "node:url";
import { Nameserver } from "../../src/posttroll/nameserver.ts";
import { getPubAddress } from "../../src/posttroll/nameserver_client.ts";
import { publish } from "../../src/posttroll/publisher.ts";
import { delay } from "../../src/core/async.ts";

/**
 * Multicast confined to loopback: the group is joined and sent to through 127.0.0.1 only
 * (IP_MULTICAST_IF), with TTL 1, so nothing leaves the host. Where the system cannot join a
 * group on the loopback interface, the test is skipped.
 */
const GROUP = "225.0.0.212";
const multicastOnLoopback = await new Promise<boolean>((resolve) => {
  const probe = createSocket({ type: "udp4", reuseAddr: true });
  probe.on("error", () => probe.close(() => resolve(false)));
  probe.bind(0, GROUP, () => {
    try {
      probe.addMembership(GROUP, "127.0.0.1");
      probe.close(() => resolve(true));
    } catch {
      probe.close(() => resolve(false));
    }
  });
});

Deno.test({
  name: "NoisyPublisher announces by multicast and the Nameserver takes it (confined to loopback)",
  ignore: !multicastOnLoopback,
  async fn() {
    const cfg = { nameserverPort: 0, addressPublishPort: 0, multicastInterface: "127.0.0.1", mcTtl: 1, mcGroup: GROUP };
    await using ns = new Nameserver({ host: "127.0.0.1", multicast: true, config: { ...cfg, broadcastPort: 0 } });
    await ns.start();
    await using _pub = await publish("mcsvc", {
      host: "127.0.0.1",
      advertisedAddress: "127.0.0.1",
      nameservers: [],
      broadcastInterval: 100,
      config: { ...cfg, broadcastPort: ns.ports.broadcast },
    });
    const deadline = Date.now() + 5000;
    let found: { URI: string }[] = [];
    while (found.length === 0 && Date.now() < deadline) {
      found = await getPubAddress("mcsvc", {
        nameserver: "127.0.0.1",
        config: { nameserverPort: ns.ports.nameserver },
        timeout: 2000,
      });
      if (found.length === 0) await delay(100);
    }
    assert.equal(found.length, 1);
    assert.match(found[0]!.URI, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  },
});

Deno.test("AddressBroadcaster refuses a group outside 224-239, as Python does", async () => {
  const { AddressBroadcaster } = await import("../../src/posttroll/broadcaster.ts");
  const { announcement } = await import("../../src/posttroll/announcement.ts");
  const { resolveConfig } = await import("../../src/posttroll/config.ts");
  const msg = announcement({ name: "x", services: ["x"], uri: "tcp://127.0.0.1:1", backend: "unsecure_zmq" });
  assert.throws(() => new AddressBroadcaster(msg, resolveConfig({ mcGroup: "10.0.0.1" }, {})), RangeError);
  // With nameservers there is no multicast, so the group does not matter.
  const b = new AddressBroadcaster(msg, resolveConfig({ mcGroup: "10.0.0.1" }, {}), { nameservers: ["127.0.0.1:1"] });
  await b.stop();
  // An announcement over 1024 bytes is refused.
  assert.throws(
    () => announcement({ name: "x", services: ["a".repeat(1100)], uri: "tcp://127.0.0.1:1", backend: "unsecure_zmq" }),
    RangeError,
  );
});

/** Whether this process may make a network namespace (root, or unprivileged user namespaces) with `ip` in it. */
const canUnshare = await (async () => {
  try {
    const probe = await new Deno.Command("unshare", {
      args: ["--net", "ip", "link", "set", "lo", "up"],
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.success;
  } catch {
    return false;
  }
})();
if (!canUnshare) console.log("Skipping the no-multicast-route test: `unshare --net` with `ip` is not available here");

Deno.test({
  name: "Nameserver without a multicast route keeps answering, reports the group and the missing route, and joins " +
    "once the route exists (inside unshare --net)",
  ignore: !canUnshare,
  async fn() {
    // A namespace with loopback up and no route at all: as a host without a default or multicast route.
    const script = fileURLToPath(new URL("./_no_multicast_route.ts", import.meta.url));
    const out = await new Deno.Command("unshare", {
      args: ["--net", "sh", "-c", 'ip link set lo up && exec "$0" run -A "$1"', Deno.execPath(), script],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, `the scenario failed: ${text}\n${new TextDecoder().decode(out.stderr)}`);
    const r = JSON.parse(text.trim().split("\n").at(-1)!);
    assert.equal(r.failure, undefined);
    // start() resolved (it used to reject with a bare "addMembership EINVAL") and queries were answered.
    assert.equal(r.started, true);
    assert.deepEqual(r.queryAnswer, []);
    assert.equal(r.nameserverError.name, "ConnectionError");
    assert.match(r.nameserverError.message, /^Joining the multicast group 225\.0\.0\.212 on port 21200 failed: /);
    assert.match(r.nameserverError.message, /no route to the multicast group 225\.0\.0\.212/);
    assert.deepEqual(r.nameserverError.detail, { group: GROUP, port: 21200, retryInMs: 100 });
    // The publisher's "send UNKNOWN 225.0.0.212:21200" names the group and the route.
    assert.equal(r.publisherError.name, "ConnectionError");
    assert.match(r.publisherError.message, /^Announcing by multicast to 225\.0\.0\.212:21200 failed: .*no route/);
    // With the route, the retry joins and the announcement is taken.
    assert.equal(r.routeAdded, true);
    assert.deepEqual(r.listening, { group: GROUP, port: 21200 });
    assert.deepEqual(r.added.service, ["mcsvc"]);
    assert.equal(r.found.length, 1);
    assert.equal(r.found[0], r.added.uri);
  },
});
