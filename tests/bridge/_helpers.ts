// Shared helpers of the bridge tests (not a test file): a JetStream source, a
// recording target wrapper, and the counter checks.
import assert from "node:assert/strict";
import { type Bridge, bridge, type BridgeStats, type BridgeTarget } from "../../src/core/bridge.ts";
import type { PublishData, PublishOptions, PublishReceipt } from "../../src/core/pubsub.ts";
import type { JetStreamMessage } from "../../src/nats/mod.ts";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";

export const skip: string | undefined = natsServerSkipReason();
if (skip !== undefined) console.log(skip);
/** True when nats-server is missing: every bridge test reads from JetStream. */
export const ignore: boolean = skip !== undefined;

/** How many messages each scenario bridges. */
export const N = 200;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `cond()` holds, polling; fails after `ms`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 15_000,
  what: string | (() => string) = "condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`Waiting for ${typeof what === "string" ? what : what()} timed out after ${ms} ms`);
    }
    await sleep(10);
  }
}

/** The JetStream side: a server, stream `SRC` on `src.>` holding `n` messages `"0"`..`"n-1"`, and a reader. */
export interface Source {
  server: NatsServer;
  ps: NatsPubSub;
  /** The durable pull consumer `bridge` reading `src.>` from the start. */
  sub: ReadableStream<JetStreamMessage>;
  /** Whether the consumer has nothing left: no pending and no unacknowledged message. */
  drained(): Promise<boolean>;
  /** The bridges reading it, stopped on disposal (before the connection closes). */
  bridges: Bridge[];
  [Symbol.asyncDispose](): Promise<void>;
}

export async function jetStreamSource(n: number = N): Promise<Source> {
  const server = await NatsServer.start({ websocket: false });
  let ps: NatsPubSub | undefined;
  try {
    ps = await NatsPubSub.connect({ servers: server.url, jetstream: true });
    const jsm = await ps.jetstreamManager();
    await jsm.streams.add({ name: "SRC", subjects: ["src.>"] });
    for (let i = 0; i < n; i++) await ps.publish(`src.${i % 7}`, `${i}`);
    const sub = ps.consume("src.>", { durable: "bridge", deliver: "all", highWaterMark: 16, expiresMs: 1000 });
    await sub.ready;
    const owned = ps;
    const bridges: Bridge[] = [];
    return {
      bridges,
      server,
      ps: owned,
      sub,
      async drained() {
        const info = await jsm.consumers.info("SRC", "bridge");
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      async [Symbol.asyncDispose]() {
        await Promise.all(bridges.map((b) => b.stop().catch(() => {})));
        await owned.close();
        await server.stop();
      },
    };
  } catch (err) {
    await ps?.close();
    await server.stop();
    throw err;
  }
}

/**
 * Wraps a target to count, per payload, the publishes that succeeded (the
 * bridge acks exactly those) and the ones that failed.
 */
export class RecordingTarget implements BridgeTarget {
  readonly ok = new Map<string, number>();
  failures = 0;
  constructor(readonly inner: BridgeTarget) {}

  async publish(topic: string, data: PublishData, options?: PublishOptions): Promise<PublishReceipt> {
    try {
      const r = await this.inner.publish(topic, data, options);
      const key = typeof data === "string" ? data : new TextDecoder().decode(data);
      this.ok.set(key, (this.ok.get(key) ?? 0) + 1);
      return r;
    } catch (err) {
      this.failures++;
      throw err;
    }
  }

  get successes(): number {
    let s = 0;
    for (const c of this.ok.values()) s += c;
    return s;
  }
}

/** Runs the bridge from the source into `target` (topic `topic`), naks retried after 50 ms. */
export function runBridge(source: Source, target: RecordingTarget, topic: string): Bridge {
  const b = bridge(source.sub, target, { topic, nakDelayMs: 50 });
  source.bridges.push(b);
  return b;
}

/** Waits until every one of `n` messages was published once at least and the source consumer is drained. */
export async function settleAll(source: Source, target: RecordingTarget, b: Bridge, n: number = N): Promise<void> {
  await until(
    async () => target.ok.size === n && b.stats.acked === target.successes && await source.drained(),
    30_000,
    () => `all ${n} messages to be published and acked (${target.ok.size} so far, stats ${JSON.stringify(b.stats)})`,
  );
}

/**
 * The counter invariants after a quiet stop: every read message was either
 * published (and acked) or failed (and nak'd); the publishes the target took
 * are the acks; `kind` says whether they count as confirmed or written.
 */
export function checkCounters(
  stats: BridgeStats,
  target: RecordingTarget,
  kind: "confirmed" | "written",
  n: number = N,
): void {
  assert.equal(stats.skipped, 0);
  assert.equal(stats.received, stats.acked + stats.naked, `received = acked + naked: ${JSON.stringify(stats)}`);
  assert.equal(stats.failed, stats.naked, `failed = naked: ${JSON.stringify(stats)}`);
  assert.equal(stats.failed, target.failures, "each failed publish was counted");
  assert.equal(stats.acked, target.successes, "acked = publishes the target took");
  assert.equal(stats[kind], stats.acked, `${kind} = acked: ${JSON.stringify(stats)}`);
  assert.equal(stats[kind === "confirmed" ? "written" : "confirmed"], 0);
  assert.equal(target.ok.size, n, "acked covers every distinct message");
  assert.ok(stats.acked >= n);
}

/** Counts of what a receiver got: each of 0..n-1 at least once, the extra copies counted. */
export function checkArrivals(label: string, got: readonly string[], n: number = N): { duplicates: number } {
  const counts = new Map<string, number>();
  for (const g of got) counts.set(g, (counts.get(g) ?? 0) + 1);
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!counts.has(`${i}`)) missing.push(i);
  assert.deepEqual(missing, [], `${label}: messages never arrived`);
  assert.equal(counts.size, n, `${label}: unexpected payloads ${[...counts.keys()].filter((k) => !(+k < n))}`);
  const duplicates = got.length - n;
  console.log(`${label}: ${n} distinct arrived, ${duplicates} duplicates`);
  return { duplicates };
}

/** Reads a stream into `into` until it ends or is cancelled; resolves when reading stopped. */
export function collect<M extends { text(): string }>(
  stream: ReadableStream<M>,
  into: string[],
): { done: Promise<void>; stop(): Promise<void> } {
  const reader = stream.getReader();
  const done = (async () => {
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        into.push(r.value.text());
      }
    } catch { /* cancelled or failed: the assertions tell */ }
  })();
  return {
    done,
    async stop() {
      await reader.cancel().catch(() => {});
      await done;
    },
  };
}
