import { ByteReader } from "../../src/core/byte_reader.ts";
import { readNotifyPrefix } from "../../src/httppubsub/requests_to_broadcaster.ts";
import { HttpPubSub } from "../../src/httppubsub/mod.ts";
import { type ConformanceTarget, runConformance } from "../../src/testing/conformance.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";

const report = Deno.env.get("CONFORMANCE_REPORT") === "1" ? console.log : undefined;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The fake broadcaster served by this test's own listener, so that the
 * suite can hold notify answers (the fake has already fanned the message
 * out) and restart the server on the same port: nothing listens for a
 * moment, and the stored subscriptions are kept, as lonelypss keeps them in
 * its database.
 */
function target(): ConformanceTarget {
  // A held receive (a full buffer under "block") waits for the reader well beyond any test's stall.
  const fake = new FakeBroadcaster({ receiveTimeoutMs: 10_000 });
  const accepted = new Set<string>();
  let held: { promise: Promise<void>; release: () => void } | undefined;
  const handler = async (req: Request): Promise<Response> => {
    const notify = req.method === "POST" && new URL(req.url).pathname === "/v1/notify";
    // The body read once and handed on (Request.clone() would touch the request's signal, which Deno warns about).
    const body = notify ? new Uint8Array(await req.arrayBuffer()) : undefined;
    const res = await fake.app.fetch(
      body === undefined ? req : new Request(req.url, { method: req.method, headers: req.headers, body }),
    );
    if (body !== undefined && res.status === 200) {
      const p = readNotifyPrefix(new ByteReader(body));
      accepted.add(`${hex(p.topic)}:${hex(p.sha512)}`);
    }
    const wait = held?.promise;
    if (notify && wait !== undefined) await wait;
    return res;
  };
  // Deno.serve binds at once (addr is known on return).
  const listen = (port: number) => Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
  let server = listen(0);
  const port = server.addr.port;
  const pubsub = new HttpPubSub({
    broadcasters: [`http://127.0.0.1:${port}`],
    bind: { type: "serve" },
    retries: 8,
    backoffMs: 100,
  }, { maxPayload: 1024 * 1024 });
  const receiver = () => fake.subscriptions().length;
  return {
    pubsub,
    probe: {
      subscriptions: () => Promise.resolve(receiver()),
      has: async (topic, data) => {
        const sha = new Uint8Array(await crypto.subtle.digest("SHA-512", data as Uint8Array<ArrayBuffer>));
        return accepted.has(`${hex(new TextEncoder().encode(topic))}:${hex(sha)}`);
      },
      hold: () => {
        let release!: () => void;
        const promise = new Promise<void>((resolve) => release = resolve);
        held = { promise, release };
        return Promise.resolve();
      },
      release: () => {
        held?.release();
        held = undefined;
        return Promise.resolve();
      },
    },
    restart: async () => {
      await server.shutdown();
      server = listen(port);
    },
    cleanup: async () => {
      held?.release();
      await fake.close();
      await server.shutdown();
    },
  };
}

await runConformance("HttpPubSub", target, { messages: 2000, report });
