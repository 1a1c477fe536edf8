import { StreamSeaPubSub } from "../../src/streamsea/mod.ts";
import { type ConformanceTarget, runConformance } from "../../src/testing/conformance.ts";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";

const report = Deno.env.get("CONFORMANCE_REPORT") === "1" ? console.log : undefined;

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * The fake served by this test's own listener, so that the suite can hold
 * publish answers (the fake has already taken the message) and restart the
 * server on the same port: the sockets drop and nothing listens for a
 * moment, while the fake's state (accounts, schemas: the real server's
 * database) is kept.
 */
function target(): ConformanceTarget {
  // Its request log keeps bodies: a short one, so that the fake (in this process) holds little.
  const fake = new FakeStreamSea({ records: 16 });
  let held: { promise: Promise<void>; release: () => void } | undefined;
  const handler = async (req: Request): Promise<Response> => {
    const publish = req.method === "POST" && new URL(req.url).pathname.endsWith("/publish");
    const res = await fake.handler(req);
    const wait = held?.promise;
    if (publish && wait !== undefined) await wait;
    return res;
  };
  // Deno.serve binds at once (addr is known on return).
  const listen = (port: number) => Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
  let server = listen(0);
  const port = server.addr.port;
  const run = crypto.randomUUID().slice(0, 8);
  // The envelope format carries any bytes and headers; stream names are
  // identifier-like, as every stream-sea client assumes in URL paths.
  const pubsub = new StreamSeaPubSub({
    remoteHost: "127.0.0.1",
    remotePort: port,
    clientId: "abc",
    clientSecret: "def123",
    format: "envelope",
    subscribe: { reconnect: { delayMs: 50, maxDelayMs: 250 } },
  });
  return {
    pubsub,
    topic: (n) => `conformance_${run}_${n}`,
    probe: {
      subscriptions: () => Promise.resolve(fake.subscriptions.length),
      // The fake's own record of publishes it answered 200.
      has: (stream, data) => {
        const path = `/api/v1/streams/${encodeURIComponent(stream)}/publish`;
        const want = base64(data);
        return Promise.resolve(fake.requests.some((r) =>
          r.path === path && r.status === 200 &&
          (r.body as { payload?: { $data?: string } } | undefined)?.payload?.$data === want
        ));
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
      await fake.dropConnections(1012);
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

await runConformance("StreamSeaPubSub", target, { report });
