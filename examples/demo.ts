/**
 * `deno task demo`: the five systems of @x/pubsub on loopback, each against
 * an embedded peer started here (stream-sea, httppubsub and messagebus
 * fakes, a PostTroll nameserver, and nats-server for NATS and MDB when it is
 * on PATH), then bridges with the core `bridge()`: stream-sea into
 * messagebus, and (with nats-server) JetStream into httppubsub, at least
 * once; and the in-memory broker. Everything it starts, it stops: the
 * program ends by itself, with exit code 0, or 1 when a step failed.
 *
 * @module
 */
import { bridge, createMessage, type Message } from "../mod.ts";
import { generateSecret, hmacAuth, HttpPubSub } from "../src/httppubsub/mod.ts";
import { Offset } from "../src/mdb/mod.ts";
import { MessageBusPubSub } from "../src/messagebus/mod.ts";
import { NatsPubSub } from "../src/nats/mod.ts";
import {
  type PosttrollMessage,
  publish as posttrollPublish,
  subscribe as posttrollSubscribe,
} from "../src/posttroll/mod.ts";
import { SchemaValidationError, StreamSeaPubSub } from "../src/streamsea/mod.ts";
import { MemoryPubSub } from "../src/testing/mod.ts";
import { FakeBroadcaster } from "../src/testing/httppubsub/mod.ts";
import { MdbTestBed } from "../src/testing/mdb/mod.ts";
import { FakeMessageBus } from "../src/testing/messagebus/mod.ts";
import { NatsServer, natsServerPath } from "../src/testing/nats/mod.ts";
import { startTestNameserver } from "../src/testing/posttroll/mod.ts";
import { FakeStreamSea } from "../src/testing/streamsea/mod.ts";
import { jetstreamManager } from "@nats-io/jetstream";

const STEP_MS = 10_000;
const started = performance.now();
const cleanups: (() => Promise<unknown>)[] = [];
let sectionStart = 0;

function section(n: number, title: string): void {
  sectionStart = performance.now();
  console.log(`\n${n}. ${title}`);
}
function show(label: string, text: string): void {
  console.log(`   ${label.padEnd(11)} ${text}`);
}
function sectionDone(): void {
  show("", `(${Math.round(performance.now() - sectionStart)} ms)`);
}

/** Reads `n` messages, failing after STEP_MS. */
async function take<M>(stream: ReadableStream<M>, n: number, what: string): Promise<M[]> {
  const reader = stream.getReader();
  const timer = setTimeout(() => reader.cancel(new Error(`${what} took more than ${STEP_MS} ms`)), STEP_MS);
  try {
    const out: M[] = [];
    while (out.length < n) {
      const r = await reader.read();
      if (r.done) throw new Error(`${what}: the stream ended after ${out.length} of ${n} messages`);
      out.push(r.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

const messageLine = (m: Message) => `${m.topic}  ${m.text()}`;

async function main(): Promise<void> {
  console.log("@x/pubsub demo: five pub/sub systems on loopback, each against an embedded peer");

  // 1. stream-sea ------------------------------------------------------------
  section(1, "stream-sea  (FakeStreamSea: HTTP publish, WebSocket subscription)");
  const seaServer = await FakeStreamSea.start({ clients: [{ clientId: "demo", clientSecret: "demo-secret" }] });
  cleanups.push(() => seaServer.close());
  const sea = new StreamSeaPubSub({ ...seaServer.connection, clientId: "demo", clientSecret: "demo-secret" });
  cleanups.push(() => sea.close());
  await sea.client.defineStream({
    name: "boiler",
    version: 1,
    fields: [{ name: "celsius", type: "float" }, { name: "side", type: "enum", enum: ["port", "starboard"] }],
  });
  show("schema", "boiler v1 { celsius: float, side: port|starboard }");
  const boiler = sea.subscribe("boiler");
  await boiler.ready;
  const boilerReads = take(boiler, 2, "Reading stream-sea");
  for (const reading of [{ celsius: 81.5, side: "port" }, { celsius: 79.25, side: "starboard" }]) {
    const receipt = await sea.publish("boiler", JSON.stringify(reading));
    show("published", `boiler ${JSON.stringify(reading)} (confirmed ${receipt.confirmed})`);
  }
  for (const m of await boilerReads) show("received", messageLine(m));
  try {
    await sea.client.publish("boiler", { celsius: "hot", side: "aft" }, { validate: true });
  } catch (err) {
    if (!(err instanceof SchemaValidationError)) throw err;
    show("refused", `${JSON.stringify({ celsius: "hot", side: "aft" })}: ${err.violations.length} schema violations`);
  }
  await boiler.close();
  sectionDone();

  // 2. httppubsub ------------------------------------------------------------
  section(2, "httppubsub  (FakeBroadcaster: webhook subscriber, HMAC both ways)");
  const toBroadcaster = generateSecret();
  const toSubscriber = generateSecret();
  const broadcaster = new FakeBroadcaster({
    toBroadcasterAuth: hmacAuth(toBroadcaster),
    toSubscriberAuth: hmacAuth(toSubscriber),
  });
  const broadcasterUrl = await broadcaster.serve();
  cleanups.push(() => broadcaster.close());
  const http = new HttpPubSub({
    broadcasters: [broadcasterUrl],
    bind: { type: "serve", hostname: "127.0.0.1", port: 0 },
    sendAuth: hmacAuth(toBroadcaster),
    receiveAuth: hmacAuth(toSubscriber),
  });
  cleanups.push(() => http.close());
  const orders = http.subscribe("orders/*");
  await orders.ready;
  show("webhook", `${http.client.receiveUrl} subscribed to orders/*`);
  const orderReads = take(orders, 2, "Reading httppubsub");
  for (const [topic, text] of [["orders/1001", "kettle x1"], ["orders/1002", "teapot x2"]] as const) {
    const receipt = await http.publish(topic, text);
    show("notified", `${topic} (confirmed ${receipt.confirmed}: the subscriber answered, signed)`);
  }
  for (const m of await orderReads) show("received", messageLine(m));
  await orders.close();
  sectionDone();

  // 3. messagebus ------------------------------------------------------------
  section(3, "jetblack-messagebus  (FakeMessageBus: binary protocol over TCP)");
  const busServer = await FakeMessageBus.start();
  cleanups.push(() => busServer.close());
  const bus = await MessageBusPubSub.connect("127.0.0.1", busServer.port);
  cleanups.push(() => bus.close());
  const prices = bus.subscribe("PRICES/EURUSD");
  await prices.ready;
  const priceReads = take(prices, 2, "Reading messagebus");
  for (const price of ["1.0801", "1.0802"]) {
    const receipt = await bus.publish("PRICES/EURUSD", price);
    show("published", `PRICES/EURUSD ${price} (confirmed ${receipt.confirmed}: TCP has no receipt)`);
  }
  for (const m of await priceReads) show("received", `${messageLine(m)}  from ${m.user}@${m.host}`);
  await prices.close();
  sectionDone();

  // 4. PostTroll -------------------------------------------------------------
  section(4, "PostTroll  (nameserver, publisher and subscriber over ZeroMQ)");
  const ns = await startTestNameserver();
  cleanups.push(() => ns.close());
  const publisher = await posttrollPublish("demo_sensor", { ...ns.publisherOptions, port: 0 });
  cleanups.push(() => publisher.close());
  const weather = posttrollSubscribe({
    services: "demo_sensor",
    topics: "/weather",
    ...ns.subscriberOptions,
    timeout: STEP_MS,
  });
  cleanups.push(() => weather.close());
  await weather.ready;
  show("discovered", `demo_sensor at ${weather.addresses.join(", ")} through the nameserver`);
  // PUB/SUB drops what is sent before the subscriber has joined: send until one arrives.
  const weatherRead = take(weather, 1, "Reading PostTroll");
  let got: PosttrollMessage[] | undefined;
  void weatherRead.then((m) => got = m, () => {});
  for (let i = 0; got === undefined && i < STEP_MS / 50; i++) {
    await publisher.send({ subject: "/weather/oslo", type: "info", data: { celsius: -3.5, station: i } });
    await new Promise((r) => setTimeout(r, 50));
  }
  const [frame] = await weatherRead;
  show("received", frame!.encode());
  sectionDone();

  // 5. NATS and JetStream ----------------------------------------------------
  const nats = natsServerPath();
  let js: NatsPubSub | undefined;
  if (nats === undefined) {
    section(5, "NATS + JetStream: skipped (nats-server is not on PATH: apt-get install nats-server)");
  } else {
    section(5, `NATS + JetStream over WebSocket  (${nats})`);
    const server = await NatsServer.start();
    cleanups.push(() => server.stop());
    js = await NatsPubSub.connect({ servers: server.wsUrl!, jetstream: true });
    const jsClient = js;
    cleanups.push(() => jsClient.close());
    await (await jetstreamManager(js.connection)).streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    for (const item of ["kettle", "teapot", "mugs"]) {
      const receipt = await js.publish("orders.new", JSON.stringify({ item }));
      show("stored", `orders.new ${JSON.stringify({ item })} as sequence ${receipt.sequence}`);
    }
    const billing = js.consume("orders.>", { durable: "billing", deliver: "all" });
    for (const m of await take(billing, 3, "Reading JetStream")) {
      await m.ack();
      show("acked", `${messageLine(m)}  (sequence ${m.sequence})`);
    }
    await billing.close();
    sectionDone();
  }

  // 6. MDB -------------------------------------------------------------------
  if (nats === undefined) {
    section(6, "Autobahn MDB: skipped (nats-server is not on PATH)");
  } else {
    section(6, "Autobahn MDB  (MdbTestBed: fake MAS with mTLS, nats-server in operator mode)");
    const bed = await MdbTestBed.start();
    cleanups.push(() => bed.stop());
    await bed.createDataset("weather");
    for (const t of [12.5, 13.0]) await bed.publish("weather", JSON.stringify({ celsius: t }));
    const conn = await bed.connect();
    cleanups.push(() => conn.close());
    const sub = await conn.subscribe("weather", { offset: Offset.BEGIN });
    show("consumer", `${sub.durable} on stream ${sub.stream}, from the beginning`);
    for (const m of await take(sub, 2, "Reading MDB")) show("received", `#${m.sequence} ${m.text()}`);
    await sub.close();
    sectionDone();
  }

  // 7. Bridges --------------------------------------------------------------
  section(7, "bridge(): stream-sea `boiler` into messagebus `PLANT/boiler`");
  const plant = bus.subscribe("PLANT/boiler");
  await plant.ready;
  const source = sea.subscribe("boiler");
  await source.ready;
  const forwarding = bridge(source, bus, {
    topic: "PLANT/boiler",
    transform: (m) => createMessage(m.topic, `boiler says ${m.text()}`),
  });
  const plantReads = take(plant, 2, "Reading the bridged messages");
  for (const celsius of [82, 83]) await sea.publish("boiler", JSON.stringify({ celsius, side: "port" }));
  for (const m of await plantReads) show("arrived", messageLine(m));
  const stats = await forwarding.stop();
  show(
    "counters",
    `received ${stats.received}, written ${stats.written}, confirmed ${stats.confirmed}, failed ${stats.failed}` +
      " (messagebus only reports written)",
  );
  await plant.close();
  sectionDone();

  if (js === undefined) {
    section(8, "bridge(): JetStream into httppubsub: skipped (nats-server is not on PATH)");
  } else {
    section(8, "bridge(): JetStream `orders.>` into httppubsub `shipping/orders`, at least once");
    const shipping = http.subscribe("shipping/*");
    await shipping.ready;
    const shippingReads = take(shipping, 3, "Reading the bridged orders");
    // Each JetStream message is acked only once the httppubsub subscriber confirmed it.
    const atLeastOnce = bridge(js.consume("orders.>", { durable: "shipping", deliver: "all" }), http, {
      topic: "shipping/orders",
    });
    for (const m of await shippingReads) show("arrived", messageLine(m));
    const deadline = Date.now() + STEP_MS;
    while (atLeastOnce.stats.acked < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const js2http = await atLeastOnce.stop();
    show(
      "counters",
      `received ${js2http.received}, confirmed ${js2http.confirmed}, acked ${js2http.acked}, failed ${js2http.failed}`,
    );
    await shipping.close();
    sectionDone();
  }

  // 9. The in-memory broker --------------------------------------------------
  section(9, "MemoryPubSub  (in-process, for tests)");
  const memory = new MemoryPubSub();
  cleanups.push(() => memory.close());
  const rooms = memory.subscribe("sensors/*/temperature");
  const roomReads = take(rooms, 2, "Reading the memory broker");
  await memory.publish("sensors/kitchen/temperature", "21.5");
  await memory.publish("sensors/attic/temperature", "17.0");
  for (const m of await roomReads) show("received", messageLine(m));
  await rooms.close();
  sectionDone();
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`\ndemo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
} finally {
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((err) => console.error("cleanup:", err));
  }
}
console.log(
  `\n${failed ? "failed" : "done"} in ${((performance.now() - started) / 1000).toFixed(1)} s: ` +
    `${cleanups.length} servers and clients stopped, nothing left running.`,
);
if (failed) Deno.exitCode = 1;
