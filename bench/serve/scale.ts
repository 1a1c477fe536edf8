// `pubsub serve` at scale, on a 3-node nats-server cluster with R3 streams (JetStream → JetStream):
//
//   deno run -A bench/serve/scale.ts [messages (100000)] [--skip-faults] [--unconfirmed-acks]
//
// 1. Throughput: a raw nats.js bridge in its own process (consume(), publish, ack after the PubAck, 32 in flight:
//    the floor), then 1 and then 3 `pubsub serve` replicas (separate processes, maxInFlight 32). Each run gets fresh
//    streams; the bridges start idle, then the messages are published (256 in flight) and the clock runs from the
//    first publish until the source consumer has nothing pending or unacked and the target stream holds them all.
// 2. Faults: 3 replicas again; one is SIGKILLed at 25 % and the node leading the consumer is stopped at 50 %; every
//    message is checked in the target stream and the duplicates counted.
// With --unconfirmed-acks, 1 and 3 replicas run again with `"confirmAcks": false` (acks not waited for: the cost of
// serve's default). The machine may be shared: compare the ratios of one run, not figures across runs.
import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { createMessage } from "../../src/core/message.ts";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { NatsCluster } from "../../src/testing/nats/mod.ts";
import { countPayloads, Replica, stopAll, until } from "../../tests/serve/_replica.ts";

const N = Number(Deno.args.find((a) => /^\d+$/.test(a)) ?? 100_000);
const faults = !Deno.args.includes("--skip-faults");
const compareAcks = Deno.args.includes("--unconfirmed-acks");
const IN_FLIGHT = 32;
const payload = (i: number) => String(i).padStart(12, "0") + "x".repeat(116); // 128 bytes

const cluster = await NatsCluster.start();
const ps = await NatsPubSub.connect({ servers: cluster.urls, jetstream: true, maxReconnectAttempts: -1 });
const jsm: JetStreamManager = await ps.jetstreamManager();
const dir = await Deno.makeTempDir({ prefix: "x-pubsub-bench-" });
const results: string[] = [];

async function freshStreams(): Promise<void> {
  for (const name of ["SRC", "DST"]) await jsm.streams.delete(name).catch(() => {});
  await jsm.streams.add({ name: "SRC", subjects: ["src.>"], num_replicas: 3 });
  await jsm.streams.add({ name: "DST", subjects: ["dst.>"], num_replicas: 3 });
}

async function stored(): Promise<number> {
  try {
    return (await jsm.streams.info("DST")).state.messages;
  } catch {
    return 0;
  }
}

async function done(durable: string): Promise<boolean> {
  try {
    const c = await jsm.consumers.info("SRC", durable);
    return c.num_pending === 0 && c.num_ack_pending === 0 && await stored() >= N;
  } catch {
    return false;
  }
}

async function publishAll(): Promise<void> {
  const w = ps.writable(undefined, { maxInFlight: 256 }).getWriter();
  for (let i = 0; i < N; i++) await w.write(createMessage(`src.${i % 10}.x`, payload(i)));
  await w.close();
}

async function configFile(confirmAcks = true): Promise<string> {
  const urls = JSON.stringify(cluster.urls.map((u) => `${u}?jetstream&maxReconnectAttempts=-1`));
  const file = `${dir}/bridge.jsonc`;
  await Deno.writeTextFile(
    file,
    `{ "replicas": 3, "drainTimeoutMs": 10000, "routes": [{ "name": "r",
        "from": { "url": ${urls}, "topic": "src.>", "deliver": "all", "ackWaitMs": 10000, "highWaterMark": ${IN_FLIGHT},
                  "confirmAcks": ${confirmAcks} },
        "to": { "url": ${urls}, "topic": "dst.{2..}" },
        "maxInFlight": ${IN_FLIGHT}, "retry": { "attempts": 10, "delayMs": 100, "maxDelayMs": 2000 } }] }`,
  );
  return file;
}

function line(what: string, ms: number, extra = ""): void {
  const rate = Math.round(N / (ms / 1000));
  const text = `| ${what} | ${N} | ${(ms / 1000).toFixed(1)} s | ${rate} msg/s | ${extra} |`;
  results.push(text);
  console.log(text);
}

/** The floor: a bridge written directly on nats.js, in its own process (bench/serve/raw_bridge.ts). */
async function rawBridge(): Promise<number> {
  await freshStreams();
  await jsm.consumers.add("SRC", {
    durable_name: "raw",
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: "src.>",
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      new URL("./raw_bridge.ts", import.meta.url).pathname,
      String(IN_FLIGHT),
      ...cluster.urls,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  while (!err.includes("ready")) {
    const r = await reader.read();
    if (r.done) throw new Error(`The raw bridge exited: ${err}`);
    err += r.value;
  }
  const t0 = performance.now();
  await publishAll();
  await until(() => done("raw"), 30 * 60_000, "the raw bridge");
  const ms = performance.now() - t0;
  child.kill("SIGTERM");
  await reader.cancel();
  await child.status;
  return ms;
}

async function serveRun(replicas: number, confirmAcks = true): Promise<number> {
  await freshStreams();
  const file = await configFile(confirmAcks);
  const running = Array.from({ length: replicas }, (_, i) => new Replica(`replica ${i}`, file));
  try {
    await Promise.all(running.map((r) => r.ready()));
    const t0 = performance.now();
    await publishAll();
    await until(() => done("r"), 30 * 60_000, `${replicas} replicas`);
    const ms = performance.now() - t0;
    for (const r of running) r.kill("SIGTERM");
    await Promise.all(running.map((r) => r.exited()));
    return ms;
  } finally {
    await stopAll(running);
  }
}

async function faultRun(): Promise<void> {
  await freshStreams();
  const file = await configFile();
  const running = Array.from({ length: 3 }, (_, i) => new Replica(`replica ${i}`, file));
  try {
    await Promise.all(running.map((r) => r.ready()));
    const t0 = performance.now();
    const publishing = publishAll();
    const victim = running[1]!;
    await until(async () => await stored() >= N / 4, 30 * 60_000, "a quarter");
    const held = await victim.metric("in_flight");
    victim.kill("SIGKILL");
    await until(async () => await stored() >= N / 2, 30 * 60_000, "half");
    const leader = (await jsm.consumers.info("SRC", "r")).cluster?.leader;
    await cluster.stopNode(cluster.nodes.findIndex((n) => n.name === leader));
    await publishing;
    await until(() => done("r"), 30 * 60_000, "every message");
    const ms = performance.now() - t0;
    const seen = await countPayloads(ps, "dst.>", await stored());
    let missing = 0;
    for (let i = 0; i < N; i++) if (!seen.has(payload(i))) missing++;
    const copies = [...seen.values()].reduce((a, b) => a + b, 0) - seen.size;
    line(
      "3 replicas, one SIGKILLed, consumer leader node stopped",
      ms,
      `missing ${missing}, duplicates ${copies} (killed replica held ${held} in flight; windows ${2 * IN_FLIGHT} each)`,
    );
    for (const r of [running[0]!, running[2]!]) r.kill("SIGTERM");
    await Promise.all(running.map((r) => r.exited()));
  } finally {
    await stopAll(running);
  }
}

try {
  console.log("| bridge | messages | time | throughput | notes |");
  console.log("| --- | --- | --- | --- | --- |");
  const raw = await rawBridge();
  line("raw nats.js bridge (floor, own process)", raw);
  const one = await serveRun(1);
  line("`pubsub serve`, 1 replica", one, `${(raw / one * 100).toFixed(0)} % of the floor`);
  const three = await serveRun(3);
  line("`pubsub serve`, 3 replicas", three, `${(one / three).toFixed(2)}× one replica`);
  if (compareAcks) {
    const oneU = await serveRun(1, false);
    line(
      "`pubsub serve`, 1 replica, acks not confirmed",
      oneU,
      `with confirmed acks: ${(oneU / one * 100).toFixed(0)} % of this`,
    );
    const threeU = await serveRun(3, false);
    line(
      "`pubsub serve`, 3 replicas, acks not confirmed",
      threeU,
      `with confirmed acks: ${(threeU / three * 100).toFixed(0)} % of this`,
    );
  }
  if (faults) await faultRun();
} finally {
  await ps.close();
  await cluster.stop();
  await Deno.remove(dir, { recursive: true });
}
