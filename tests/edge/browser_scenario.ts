// The part of the edge proof that runs inside headless Chromium. It is bundled
// on its own with the package's entry points left external (`@x/pubsub`,
// `@x/pubsub/httppubsub`, `@x/pubsub/streamsea`, `@x/pubsub/nats` and the two
// wire entries); the page's
// import map points those at the bundles of the entry points, as a web app
// would. Only web standards are used: WebSocket, crypto.subtle, Web Streams.
import { type Bridge, bridge, type BridgeStats, createMessage, type Message, type Subscription } from "@x/pubsub";
import { hmacAuth, type HttpPubSubSubscription, WebsocketPubSubClient } from "@x/pubsub/httppubsub";
import { StreamSeaClient, type StreamSeaMessage } from "@x/pubsub/streamsea";
import { NatsPubSub } from "@x/pubsub/nats";
import { decodeSubscribeRequest, encodeSubscribeRequest } from "@x/pubsub/httppubsub/wire";
import { decodeClientFrame, encodeSubscribe } from "@x/pubsub/streamsea/wire";

/** Where the loopback peers are, and the credentials the page gets. */
export interface EdgeConfig {
  streamsea: { remoteHost: string; remotePort: number; clientId: string; jwt: string; stream: string };
  httppubsub: { url: string; toBroadcaster: string; toSubscriber: string; topic: string; echo: string };
  nats: { wsUrl: string; ping: string; reply: string; bridged: string };
  timeoutMs: number;
}

/** What the page saw, for the test to check. */
export interface EdgeResult {
  userAgent: string;
  hasDeno: boolean;
  streamsea: { stream: string; payload: unknown };
  httppubsub: { notified: number };
  nats: { subject: string; text: string };
  bridge: BridgeStats;
  /** What the wire entries encoded and decoded in the page. */
  wire: { httppubsub: number[]; httppubsubUrl: string; streamsea: string; streamseaStream: string };
}

interface State {
  config: EdgeConfig;
  sea: StreamSeaClient;
  seaSub: Subscription<StreamSeaMessage>;
  hp: WebsocketPubSubClient;
  hpSub: HttpPubSubSubscription;
  nats: NatsPubSub;
  replies: Subscription<Message>;
  bridge: Bridge;
}

let state: State | undefined;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function readOne<M>(stream: ReadableStream<M>, ms: number, what: string): Promise<M> {
  const reader = stream.getReader();
  try {
    const r = await within(reader.read(), ms, what);
    if (r.done) throw new Error(`${what}: the stream ended`);
    return r.value;
  } finally {
    reader.releaseLock();
  }
}

/**
 * Connects to the three peers, subscribes, and bridges the httppubsub
 * subscription into NATS with the core `bridge()`.
 *
 * @param config The peers.
 */
export async function setup(config: EdgeConfig): Promise<void> {
  const ms = config.timeoutMs;
  const sea = new StreamSeaClient({
    remoteHost: config.streamsea.remoteHost,
    remotePort: config.streamsea.remotePort,
    clientId: config.streamsea.clientId,
    credentials: { type: "jwt", clientId: config.streamsea.clientId, jwt: config.streamsea.jwt },
  });
  const seaSub = sea.subscribe(config.streamsea.stream, { fanout: true, reconnect: false });

  const hp = new WebsocketPubSubClient({
    broadcasters: [config.httppubsub.url],
    sendAuth: hmacAuth(config.httppubsub.toBroadcaster),
    receiveAuth: hmacAuth(config.httppubsub.toSubscriber),
  });
  const hpSub = hp.subscribeExact(config.httppubsub.topic);

  const nats = await within(NatsPubSub.connect(config.nats.wsUrl), ms, "Connecting to NATS over WebSocket");
  const replies = nats.subscribe(config.nats.reply);
  await within(Promise.all([seaSub.ready, hpSub.ready, replies.ready]), ms, "Subscribing");

  const bridged = bridge(hpSub, nats, {
    topic: config.nats.bridged,
    transform: (m) => createMessage(m.topic, m.data, { "x-from": m.topic, "x-runtime": "chromium" }),
    onError: "stop",
  });
  state = { config, sea, seaSub, hp, hpSub, nats, replies, bridge: bridged };
}

/**
 * Reads the stream-sea message the test published, does a NATS round trip,
 * and waits for the bridge to have forwarded one message.
 *
 * @returns What was seen.
 */
export async function exchange(): Promise<EdgeResult> {
  if (state === undefined) throw new Error("setup() was not run");
  const { config, seaSub, hp, nats, replies } = state;
  const ms = config.timeoutMs;
  const sea = await readOne(seaSub, ms, "Reading the stream-sea subscription");
  const notified = await within(
    hp.notify({ topic: config.httppubsub.echo, data: "hello from chromium" }),
    ms,
    "Notifying over httppubsub",
  );
  await nats.publish(config.nats.ping, "hello from chromium");
  const reply = await readOne(replies, ms, "Reading the NATS reply");
  const deadline = Date.now() + ms;
  while (state.bridge.stats.written + state.bridge.stats.confirmed < 1) {
    if (Date.now() > deadline) throw new Error("The bridge forwarded nothing in time");
    await new Promise((r) => setTimeout(r, 10));
  }
  const body = encodeSubscribeRequest({ url: "http://me/#1", key: "t", recovery: "", tracing: new Uint8Array() });
  const frame = encodeSubscribe(3, config.streamsea.stream);
  const decoded = decodeClientFrame(frame);
  return {
    wire: {
      httppubsub: [...body],
      httppubsubUrl: decodeSubscribeRequest(body).url,
      streamsea: frame,
      streamseaStream: decoded.action === "subscribe" && "stream" in decoded ? decoded.stream : "",
    },
    userAgent: navigator.userAgent,
    hasDeno: "Deno" in globalThis,
    streamsea: { stream: sea.stream, payload: sea.payload },
    httppubsub: { notified: notified.notified },
    nats: { subject: reply.topic, text: reply.text() },
    bridge: { ...state.bridge.stats },
  };
}

/**
 * Stops the bridge and closes every client.
 *
 * @returns The bridge's final counters.
 */
export async function teardown(): Promise<BridgeStats> {
  if (state === undefined) throw new Error("setup() was not run");
  const { config, sea, hp, nats, bridge: b } = state;
  state = undefined;
  const stats = await within(b.stop(), config.timeoutMs, "Stopping the bridge");
  await within(Promise.all([sea.close(), hp.close(), nats.close()]), config.timeoutMs, "Closing the clients");
  return { ...stats };
}
