// Not a test file: run by multicast_test.ts inside `unshare --net` (a network namespace with loopback up and no
// route at all). Prints one JSON line with what it saw. Nothing here leaves the namespace.
import type { StatusEvent } from "../../src/core/status.ts";
import { Nameserver } from "../../src/posttroll/nameserver.ts";
import { getPubAddress } from "../../src/posttroll/nameserver_client.ts";
import { NoisyPublisher } from "../../src/posttroll/publisher.ts";

const GROUP = "225.0.0.212";
const cfg = { nameserverPort: 0, addressPublishPort: 0, mcGroup: GROUP, mcTtl: 1 };

/** The next event of a type, or a rejection after 10 s (so a missing event fails fast, not at the outer timeout). */
function next(target: EventTarget, type: string): Promise<StatusEvent> {
  const p = new Promise<StatusEvent>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${type}" event within 10 s`)), 10_000);
    target.addEventListener(type, (e) => {
      clearTimeout(timer);
      resolve(e as StatusEvent);
    }, { once: true });
  });
  p.catch(() => {}); // awaited later, or never when an earlier step failed
  return p;
}

const out: Record<string, unknown> = {};
const ns = new Nameserver({ multicast: true, multicastRetryInterval: 100, config: { ...cfg } });
const nsError = next(ns.status, "error");
const listening = next(ns.status, "listening");
const added = next(ns.status, "add");
let pub: NoisyPublisher | undefined;
try {
  await ns.start();
  out.started = true;
  const e = await nsError;
  out.nameserverError = { name: (e.error as Error)?.name, message: (e.error as Error)?.message, detail: e.detail };
  // Queries are answered while the intake is down.
  out.queryAnswer = await getPubAddress("", {
    nameserver: "127.0.0.1",
    config: { nameserverPort: ns.ports.nameserver },
    timeout: 5000,
  });
  pub = new NoisyPublisher({
    name: "mcsvc",
    host: "127.0.0.1",
    advertisedAddress: "127.0.0.1",
    broadcastInterval: 100,
    config: { ...cfg },
  });
  await pub.start();
  const pubError = await next(pub.broadcaster!.status, "error");
  out.publisherError = { name: (pubError.error as Error)?.name, message: (pubError.error as Error)?.message };
  // The route comes: the nameserver's next try joins, the publisher's next announcement goes out.
  const ip = await new Deno.Command("ip", { args: ["route", "add", "224.0.0.0/4", "dev", "lo"] }).output();
  out.routeAdded = ip.success;
  out.listening = (await listening).detail;
  out.added = (await added).detail;
  out.found = (await getPubAddress("mcsvc", {
    nameserver: "127.0.0.1",
    config: { nameserverPort: ns.ports.nameserver },
    timeout: 5000,
  })).map((e) => e.URI);
} catch (err) {
  out.failure = String(err);
} finally {
  await pub?.close();
  await ns.close();
}
console.log(JSON.stringify(out));
Deno.exit(0); // the deadline timers of events that never came are not waited for
