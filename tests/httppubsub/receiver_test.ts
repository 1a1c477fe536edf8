import assert from "node:assert/strict";
import { Hono } from "hono";
import { ProtocolError } from "../../mod.ts";
import {
  type AuthConfig,
  generateSecret,
  hmacAuth,
  HttpPubSubClient,
  type HttpPubSubMessage,
  type HttpPubSubSubscription,
} from "../../src/httppubsub/mod.ts";
import {
  decodeSubscriberResponse,
  encodeMissedRequest,
  encodeReceivePrefix,
  formatReprDigest,
} from "../../src/httppubsub/wire.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";

const HOST = "http://127.0.0.1:3002/pubsub#1";
const RECEIVE = "http://127.0.0.1:3002/pubsub/v1/receive#1";
const RECOVER = "http://127.0.0.1:3002/pubsub/v1/recover#1";
const te = new TextEncoder();
const sha = async (b: Uint8Array) =>
  new Uint8Array(await crypto.subtle.digest("SHA-512", b as Uint8Array<ArrayBuffer>));

interface Bed {
  client: HttpPubSubClient;
  root: Hono;
  toSubscriber: string;
  toBroadcaster: string;
  close(): Promise<void>;
}

/** A client whose broadcaster is an in-process fake; the receiver is mounted under /pubsub. */
function bed(bufferLimit = 1024 * 1024): Bed {
  const toSubscriber = generateSecret();
  const toBroadcaster = generateSecret();
  const root = new Hono();
  const fake = new FakeBroadcaster({
    toBroadcasterAuth: hmacAuth(toBroadcaster),
    toSubscriberAuth: hmacAuth(toSubscriber),
    fetch: (input, init) => Promise.resolve(root.request(input as string, init)),
  });
  const client = new HttpPubSubClient({
    host: HOST,
    broadcasters: ["http://127.0.0.1:9"],
    sendAuth: hmacAuth(toBroadcaster),
    receiveAuth: hmacAuth(toSubscriber),
    bufferLimit,
    fetch: (input, init) => Promise.resolve(fake.app.request(input as string, init)),
  });
  root.mount("/pubsub", client.app.fetch);
  return { client, root, toSubscriber, toBroadcaster, close: () => client.close().then(() => fake.close()) };
}

interface ReceiveInit {
  topic?: string;
  data?: Uint8Array;
  signer?: AuthConfig | undefined;
  signedUrl?: string;
  digest?: Uint8Array | null;
  body?: Uint8Array;
  contentLength?: string;
}

async function receive(b: Bed, init: ReceiveInit = {}): Promise<Response> {
  const topic = init.topic ?? "a/b";
  const data = init.data ?? te.encode("hello");
  // Bodies given whole use the all-zero identifier of the test's own prefix.
  const identifier = init.body === undefined ? crypto.getRandomValues(new Uint8Array(8)) : new Uint8Array(8);
  const digest = init.digest === undefined ? await sha(data) : init.digest;
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  if (digest !== null) headers["repr-digest"] = formatReprDigest(digest);
  const signer = "signer" in init ? init.signer : hmacAuth(b.toSubscriber);
  const auth = await signer?.authorize({
    type: "receive",
    url: init.signedUrl ?? RECEIVE,
    topic,
    identifier,
    sha512: digest ?? new Uint8Array(64),
  });
  if (auth !== undefined) headers.authorization = auth;
  if (init.contentLength !== undefined) headers["content-length"] = init.contentLength;
  const prefix = encodeReceivePrefix({ tracing: new Uint8Array(0), topic, identifier, length: data.length });
  const body = init.body ?? new Uint8Array([...prefix, ...data]);
  return await b.root.request("/pubsub/v1/receive", { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> });
}

async function readOne(sub: HttpPubSubSubscription): Promise<HttpPubSubMessage> {
  const reader = sub.getReader();
  const r = await reader.read();
  reader.releaseLock();
  assert.ok(!r.done);
  return r.value;
}

Deno.test("createReceiverApp() delivers a signed message and answers a signed confirmation after the read", async () => {
  const b = bed();
  try {
    const sub = b.client.subscribeExact("a/b");
    await sub.ready;
    let answered = false;
    const res = receive(b).then((r) => (answered = true, r));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(answered, false, "the answer waits for the reader");
    const msg = await readOne(sub);
    assert.equal(msg.topic, "a/b");
    assert.equal(msg.text(), "hello");
    assert.deepEqual(msg.sha512, await sha(te.encode("hello")));
    const r = await res;
    assert.equal(r.status, 200);
    const answer = decodeSubscriberResponse(new Uint8Array(await r.arrayBuffer()));
    assert.equal(answer.type, "confirm-receive");
    if (answer.type !== "confirm-receive") return;
    assert.equal(answer.numSubscribers, 1);
    const ok = await hmacAuth(b.toBroadcaster).verify(
      { type: "confirm-receive", identifier: answer.identifier, numSubscribers: 1, url: RECEIVE },
      answer.authorization,
      answer.tracing,
    );
    assert.equal(ok, "ok");
  } finally {
    await b.close();
  }
});

Deno.test("createReceiverApp() refuses missing, forged, replayed, stale and wrong-url signatures with nothing delivered", async () => {
  const b = bed();
  try {
    const sub = b.client.subscribeExact("a/b");
    await sub.ready;
    assert.equal((await receive(b, { signer: undefined })).status, 401);
    assert.equal((await receive(b, { signer: hmacAuth(generateSecret()) })).status, 403);
    assert.equal(
      (await receive(b, { signer: hmacAuth(b.toSubscriber, { now: () => Date.now() / 1000 - 300 }) })).status,
      403,
    );
    assert.equal((await receive(b, { signedUrl: "http://127.0.0.1:3002/pubsub/v1/receive" })).status, 403);
    // A replay: the same request twice; the first is delivered, the copy refused.
    const identifier = new Uint8Array(8);
    const data = te.encode("once");
    const digest = await sha(data);
    const header = await hmacAuth(b.toSubscriber).authorize({
      type: "receive",
      url: RECEIVE,
      topic: "a/b",
      identifier,
      sha512: digest,
    });
    const body = new Uint8Array([
      ...encodeReceivePrefix({ tracing: new Uint8Array(0), topic: "a/b", identifier, length: 4 }),
      ...data,
    ]);
    const send = () =>
      b.root.request("/pubsub/v1/receive", {
        method: "POST",
        headers: { authorization: header!, "repr-digest": formatReprDigest(digest) },
        body,
      });
    const first = send();
    assert.equal((await readOne(sub)).text(), "once");
    assert.equal((await first).status, 200);
    assert.equal((await send()).status, 403);
    assert.equal(sub.buffered, 0);
  } finally {
    await b.close();
  }
});

Deno.test("createReceiverApp() answers 400 to truncated, oversized, misdigested and malformed bodies and keeps serving", async () => {
  const b = bed();
  try {
    const sub = b.client.subscribeExact("a/b");
    await sub.ready;
    const data = te.encode("hello");
    const prefix = encodeReceivePrefix({
      tracing: new Uint8Array(0),
      topic: "a/b",
      identifier: new Uint8Array(8),
      length: 5,
    });
    assert.equal((await receive(b, { digest: null })).status, 400, "no Repr-Digest");
    assert.equal(
      (await receive(b, { body: new Uint8Array([...prefix, ...data.subarray(0, 3)]) })).status,
      400,
      "truncated",
    );
    assert.equal((await receive(b, { body: new Uint8Array([...prefix, ...data, 1]) })).status, 400, "longer");
    assert.equal((await receive(b, { digest: await sha(te.encode("other")) })).status, 400, "wrong digest");
    assert.equal((await receive(b, { contentLength: "999" })).status, 400, "wrong content-length");
    assert.equal((await receive(b, { body: prefix.subarray(0, 5) })).status, 400, "prefix cut short");
    assert.equal((await receive(b, { body: new Uint8Array([0xff, 0xff, 1]) })).status, 400, "garbage");
    assert.equal(sub.buffered, 0);
    const ok = receive(b, { data: te.encode("after") });
    assert.equal((await readOne(sub)).text(), "after");
    assert.equal((await ok).status, 200);
  } finally {
    await b.close();
  }
});

Deno.test("createReceiverApp() answers unsubscribe-immediately for a topic nobody here subscribes to", async () => {
  const b = bed();
  try {
    const sub = b.client.subscribeExact("a/b");
    await sub.ready;
    const res = await receive(b, { topic: "not/mine" });
    assert.equal(res.status, 200);
    assert.deepEqual([...new Uint8Array(await res.arrayBuffer())], [0, 10]);
  } finally {
    await b.close();
  }
});

Deno.test("createReceiverApp() streams a body over bufferLimit and checks it while the reader reads", async () => {
  const b = bed(1024);
  try {
    const sub = b.client.subscribeGlob("big/*");
    await sub.ready;
    const data = crypto.getRandomValues(new Uint8Array(60_000));
    const res = receive(b, { topic: "big/x/y", data });
    const msg = await readOne(sub);
    assert.equal(msg.streamed, true);
    assert.equal(msg.length, 60_000);
    assert.throws(() => msg.data, TypeError);
    assert.deepEqual(await msg.bytes(), data);
    assert.equal((await res).status, 200);

    const bad = receive(b, { topic: "big/z", data, digest: await sha(new Uint8Array(60_000)) });
    const msg2 = await readOne(sub);
    await assert.rejects(() => msg2.bytes(), ProtocolError);
    assert.equal((await bad).status, 400);
  } finally {
    await b.close();
  }
});

Deno.test("createReceiverApp() confirms missed notices, reports them once per burst, and refuses forged ones", async () => {
  const b = bed();
  try {
    const missed: string[] = [];
    const sub = b.client.subscribeGlob("m/*", { onMissed: (t) => missed.push(t) });
    await sub.ready;
    const events: string[] = [];
    b.client.status.addEventListener(
      "missed",
      (e) => events.push(String((e as CustomEvent & { detail: { topic: string } }).detail.topic)),
    );
    const notice = async (signer: AuthConfig | undefined, recovery = RECOVER) => {
      const headers: Record<string, string> = {};
      const a = await signer?.authorize({ type: "missed", recovery, topic: "m/1" });
      if (a !== undefined) headers.authorization = a;
      return await b.root.request("/pubsub/v1/recover", {
        method: "POST",
        headers,
        body: encodeMissedRequest({ tracing: new Uint8Array(0), topic: "m/1" }),
      });
    };
    for (let i = 0; i < 5; i++) {
      const res = await notice(hmacAuth(b.toSubscriber));
      assert.equal(res.status, 200);
      const answer = decodeSubscriberResponse(new Uint8Array(await res.arrayBuffer()));
      assert.equal(answer.type, "confirm-missed");
      if (answer.type !== "confirm-missed") return;
      assert.equal(
        await hmacAuth(b.toBroadcaster).verify(
          { type: "confirm-missed", topic: "m/1", url: RECOVER },
          answer.authorization,
        ),
        "ok",
      );
    }
    assert.deepEqual(events, ["m/1"]);
    assert.deepEqual(missed, ["m/1"]);
    assert.equal((await notice(undefined)).status, 401);
    assert.equal((await notice(hmacAuth(generateSecret()))).status, 403);
    assert.equal((await notice(hmacAuth(b.toSubscriber), "http://127.0.0.1:3002/pubsub/v1/recover")).status, 403);
    const huge = await b.root.request("/pubsub/v1/recover", { method: "POST", body: new Uint8Array(300_000) });
    assert.equal(huge.status, 400);
    void sub;
  } finally {
    await b.close();
  }
});
