import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { Nameserver } from "../../src/posttroll/nameserver.ts";
import { getPubAddress } from "../../src/posttroll/nameserver_client.ts";
import { publish } from "../../src/posttroll/publisher.ts";

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
      if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(found.length, 1);
    assert.match(found[0]!.URI, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  },
});

Deno.test("AddressBroadcaster refuses a group outside 224-239, as Python does", async () => {
  const { AddressBroadcaster, announcement } = await import("../../src/posttroll/broadcaster.ts");
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
