import { runConformance } from "../../src/testing/conformance.ts";
import { PosttrollPubSub } from "../../src/posttroll/adapter.ts";

const report = Deno.env.get("CONFORMANCE_REPORT") === "1" ? console.log : undefined;

/**
 * The publisher's view of its subscribers, from the kernel: a subscription
 * is a SUB socket connected to the adapter's PUB socket, so the established
 * TCP connections accepted on the publisher's port count them (Linux
 * `/proc/net/tcp`).
 */
async function connectionsTo(port: number): Promise<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hex}`) && state === "01") n++;
    }
  }
  return n;
}

const procfs = await Deno.stat("/proc/net/tcp").then(() => true, () => false);

await runConformance("PosttrollPubSub", () => {
  const pubsub = new PosttrollPubSub({ host: "127.0.0.1" });
  return {
    pubsub,
    probe: procfs ? { subscriptions: () => connectionsTo(pubsub.publisher.port) } : undefined,
  };
}, { messages: 10_000, report });
