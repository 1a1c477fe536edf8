// bridge() from a JetStream durable consumer into targets that confirm (httppubsub
// notify, stream-sea publish, JetStream PubAck), the target's server restarted
// mid-way on the same port: the counters agree, duplicates are counted, and
// each test's name says who makes every message arrive (the client, or, for
// stream-sea, a server gated on its subscriber's return).
import assert from "node:assert/strict";
import type { PublishData, PublishOptions } from "../../src/core/pubsub.ts";
import { HttpPubSub, RefusedError } from "../../src/httppubsub/mod.ts";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { StreamSeaPubSub } from "../../src/streamsea/mod.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";
import { NatsServer } from "../../src/testing/nats/mod.ts";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import {
  checkArrivals,
  checkCounters,
  collect,
  ignore,
  jetStreamSource,
  N,
  RecordingTarget,
  runBridge,
  settleAll,
  sleep,
  until,
} from "./_helpers.ts";

/**
 * The target's listener on 127.0.0.1: serves a fake's handler on a port
 * (a free one, or the one given); while `refusing`, the requests `gate`
 * picks are answered 503.
 */
class Listener {
  refusing = false;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  constructor(
    handler: (req: Request) => Response | Promise<Response>,
    gate: (req: Request) => boolean,
    port = 0,
  ) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      (req) => this.refusing && gate(req) ? new Response(null, { status: 503 }) : handler(req),
    );
  }
  get port(): number {
    return this.#server.addr.port;
  }
  shutdown(): Promise<void> {
    return this.#server.shutdown();
  }
}

const isPublish = (req: Request) => req.method === "POST" && new URL(req.url).pathname.endsWith("/publish");

Deno.test(
  {
    name: "bridge() from JetStream into httppubsub with requireSubscriber loses nothing across a broadcaster restart",
    ignore,
  },
  async () => {
    await using source = await jetStreamSource();
    const fake1 = new FakeBroadcaster();
    const base = await fake1.serve();
    const port = Number(new URL(base).port);
    const options = {
      broadcasters: [base],
      bind: { type: "serve" as const },
      backoffMs: 10,
      timeoutMs: 2_000,
    };
    const receiver = new HttpPubSub(options);
    // The client's promise, not the test's: a notify the broadcaster confirmed but no subscriber took
    // (notified: 0) rejects, so the bridge naks it and it comes again.
    const publisher = new HttpPubSub(options, { requireSubscriber: true });
    let refused = 0;
    const counting = {
      publish: (topic: string, data: PublishData, options?: PublishOptions) =>
        publisher.publish(topic, data, options).catch((err) => {
          if (err instanceof RefusedError) refused++;
          throw err;
        }),
    };
    let fake2: FakeBroadcaster | undefined;
    try {
      const got: string[] = [];
      const sub = receiver.subscribe("bridged");
      await sub.ready;
      const reading = collect(sub, got);
      const target = new RecordingTarget(counting);
      const b = runBridge(source, target, "bridged");
      await until(() => got.length >= N / 4, 15_000, "the first quarter");
      assert.ok(got.length < N, "the restart happens mid-way");
      // The broadcaster goes away with its subscriptions: notifies fail, the bridge naks.
      await fake1.close();
      const failuresBefore = target.failures;
      await until(() => target.failures > failuresBefore, 10_000, "a failed publish while the broadcaster is down");
      // A new broadcaster on the same port, taking notifies at once. It knows no subscriber: it confirms
      // notifies with notified 0, which the publisher refuses, until the receiver registers again (an
      // application's periodic checkSubscriptions(); here once such refusals were seen).
      const f2 = fake2 = new FakeBroadcaster();
      await f2.serve({ port });
      await until(() => refused > 0, 10_000, "a notify no subscriber took, refused");
      assert.equal(await receiver.client.checkSubscriptions(), false, "the new broadcaster had lost the registration");
      assert.equal(f2.subscriptions().length, 1);
      await settleAll(source, target, b);
      const stats = await b.stop();
      checkCounters(stats, target, "confirmed");
      assert.ok(stats.failed >= refused && refused > 0, `refusals nak'd: ${JSON.stringify(stats)}`);
      // Each acked message was confirmed with a subscriber reached, so each is here (no waiting for stragglers:
      // the broadcaster confirms a notify once the receiver answered it).
      const { duplicates } = checkArrivals("httppubsub", got);
      console.log(`httppubsub: stats ${JSON.stringify(stats)}, ${refused} refused for want of a subscriber`);
      // A copy comes from a redelivery, or from a notify that reached the receiver and then failed (the old
      // broadcaster answers 503 to a notify whose fan-out its close cut short).
      assert.ok(duplicates <= stats.failed + (stats.acked - N), "no copy without a failed publish or a redelivery");
      await reading.stop();
    } finally {
      await publisher.close();
      await receiver.close();
      await fake1.close();
      await fake2?.close();
    }
  },
);

/** The payloads a stream-sea fake answered 200 to (its own record of accepted publishes). */
function accepted(fake: FakeStreamSea): string[] {
  const out: string[] = [];
  for (const r of fake.requests) {
    if (!r.path.endsWith("/publish") || r.status !== 200) continue;
    const data = (r.body as { payload?: { $data?: unknown } }).payload?.$data;
    if (typeof data === "string") out.push(atob(data));
  }
  return out;
}

Deno.test(
  {
    // stream-sea keeps nothing and its publish answer says nothing of subscribers, so no client can promise that
    // a restart loses nothing: what a new server accepts before the subscriber is back reaches no one. This test
    // proves the bridge's part (a refused publish is nak'd and redelivered until a server accepts each message, the
    // counters agree) and the subscriber's (it reconnects by itself and gets what is accepted after it is back); the
    // gate that keeps the new server refusing until then stands in for a deployment that does the same.
    name: "bridge() from JetStream into stream-sea redelivers what a restarting server refused, and a server gated " +
      "on the subscriber's return delivers every message",
    ignore,
  },
  async () => {
    await using source = await jetStreamSource();
    const fake1 = new FakeStreamSea();
    const l1 = new Listener((req) => fake1.handler(req), isPublish);
    const port = l1.port;
    const conn = { remoteHost: "127.0.0.1", remotePort: port, clientId: "abc", clientSecret: "def123" };
    const receiver = new StreamSeaPubSub({
      ...conn,
      format: "envelope",
      subscribe: { reconnect: { delayMs: 50, maxDelayMs: 200 } },
    });
    const publisher = new StreamSeaPubSub({ ...conn, format: "envelope", timeoutMs: 2_000 });
    let fake2: FakeStreamSea | undefined;
    let l2: Listener | undefined;
    try {
      const got: string[] = [];
      const sub = receiver.subscribe("bridged");
      await sub.ready;
      const reading = collect(sub, got);
      const target = new RecordingTarget(publisher);
      const b = runBridge(source, target, "bridged");
      await until(() => got.length >= N / 4, 15_000, "the first quarter");
      assert.ok(got.length < N, "the restart happens mid-way");
      // The server stops taking publishes, hands out what it accepted, then
      // goes away with its sockets.
      l1.refusing = true;
      await until(() => target.failures > 0, 10_000, "a failed publish while the server stops");
      await sleep(50);
      await Promise.all([l1.shutdown(), fake1.close()]);
      const failuresWhileUp = target.failures;
      await until(() => target.failures > failuresWhileUp, 10_000, "a failed publish while the server is down");
      // stream-sea keeps nothing: until the receiver subscribed again, the new
      // server refuses publishes (503), since one it accepted would reach no one.
      const f2 = fake2 = new FakeStreamSea();
      l2 = new Listener((req) => f2.handler(req), isPublish, port);
      l2.refusing = true;
      await until(
        () => f2.subscriptions.some((s) => s.stream === "bridged"),
        10_000,
        "the receiver to subscribe again",
      );
      l2.refusing = false;
      await settleAll(source, target, b);
      const stats = await b.stop();
      checkCounters(stats, target, "confirmed");
      assert.ok(stats.failed > 0 && stats.naked > 0, `the restart made publishes fail: ${JSON.stringify(stats)}`);
      // What the servers accepted (their own record): every message, one copy per confirmed publish.
      const onServers = [...accepted(fake1), ...accepted(f2)];
      assert.equal(onServers.length, stats.confirmed, "each confirmed publish is a publish the server accepted");
      checkArrivals("stream-sea (servers)", onServers);
      await until(() => new Set(got).size >= N, 10_000, "the receiver to get every message");
      await sleep(100);
      const { duplicates } = checkArrivals("stream-sea (receiver)", got);
      console.log(`stream-sea: stats ${JSON.stringify(stats)}`);
      assert.ok(duplicates <= stats.acked - N, "no more copies arrived than were published");
      await reading.stop();
    } finally {
      await publisher.close();
      await receiver.close();
      await fake1.close();
      await l1.shutdown();
      await fake2?.close();
      await l2?.shutdown();
    }
  },
);

Deno.test(
  { name: "bridge() from JetStream into JetStream loses nothing across a target restart", ignore },
  async () => {
    await using source = await jetStreamSource();
    await using server = await NatsServer.start({ websocket: false });
    const publisher = await NatsPubSub.connect({
      servers: server.url,
      jetstream: { timeoutMs: 1_000 },
      reconnectTimeWaitMs: 50,
      maxReconnectAttempts: -1,
    });
    const events: string[] = [];
    publisher.status.addEventListener("disconnected", () => events.push("disconnected"));
    publisher.status.addEventListener("reconnected", () => events.push("reconnected"));
    try {
      const jsm = await publisher.jetstreamManager();
      await jsm.streams.add({ name: "TGT", subjects: ["t.>"] });
      const target = new RecordingTarget(publisher);
      const b = runBridge(source, target, "t.bridged");
      await until(() => target.successes >= N / 4, 15_000, "the first quarter");
      assert.ok(target.ok.size < N, "the restart happens mid-way");
      // Same ports, same store: what was stored stays, the publisher reconnects.
      await server.restart();
      await settleAll(source, target, b);
      const stats = await b.stop();
      checkCounters(stats, target, "confirmed");
      assert.deepEqual(events.slice(0, 2), ["disconnected", "reconnected"]);
      // What the target stream holds: every message, copies counted.
      const info = await jsm.streams.info("TGT");
      const got: string[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage("TGT", { seq });
        if (m !== null) got.push(m.string());
      }
      const { duplicates } = checkArrivals("JetStream", got);
      console.log(`JetStream: stats ${JSON.stringify(stats)}`);
      assert.ok(stats.acked >= N);
      // A copy is stored either by a publish that failed (its PubAck lost) or by a redelivery.
      assert.ok(duplicates <= stats.failed + (stats.acked - N), "no copy without a failed publish or a redelivery");
    } finally {
      await publisher.close();
    }
  },
);
