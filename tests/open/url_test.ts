// open()'s URL mapping and its TypeErrors: each names the wrong part and never shows a password.
import assert from "node:assert/strict";
import { open } from "../../src/open.ts";
import { plan } from "../../src/open/plan.ts";

const SECRET = "pa55-w0rd-secret";

async function badUrl(url: string | URL, part: RegExp, options: Parameters<typeof open>[1] = { env: false }) {
  const err = await open(url, options).then(
    () => assert.fail(`open(${String(url)}) succeeded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TypeError, `${String(url)}: ${String(err)}`);
  assert.match(err.message, /^Opening .+ failed: /);
  assert.match(err.message, part, String(url));
  assert.ok(!err.message.includes(SECRET), err.message);
  assert.ok(!String(err.stack).includes(SECRET), err.message);
}

Deno.test("open() rejects a URL without a known scheme with a TypeError naming the scheme", async () => {
  await badUrl("no scheme here", /no scheme/);
  await badUrl(`kafka://user:${SECRET}@host:9092`, /the scheme kafka: is not one of nats:, nats\+tcp:/);
  await badUrl(`nats+udp://host`, /the scheme nats\+udp:/);
  await assert.rejects(open(42 as unknown as string), TypeError);
  await assert.rejects(open("memory:", null as unknown as undefined), TypeError);
});

Deno.test("open() rejects a bad nats: URL naming the host, port, path, or query parameter", async () => {
  await badUrl(`nats://user:${SECRET}@:4222`, /the host is missing/);
  await badUrl(`nats://user:${SECRET}@host:99999`, /the port is not a number from 1 to 65535/);
  await badUrl(`nats://user:${SECRET}@host:port`, /the port is not a number/);
  await badUrl(`nats://user:${SECRET}@host:0`, /the port 0/);
  await badUrl(`nats://user:${SECRET}@host/some/path`, /the path "\/some\/path" is not allowed/);
  await badUrl(
    `nats+tcp://user:${SECRET}@host?jetstream=maybe`,
    /the query parameter jetstream "maybe" is not true or false/,
  );
  await badUrl(
    `nats+ws://user:${SECRET}@host?timeoutMs=-1`,
    /the query parameter timeoutMs "-1" is not an integer of 1/,
  );
  await badUrl(`nats+wss://user:${SECRET}@host?colour=red`, /the query parameter colour is unknown/);
  await badUrl(`nats+wss://user:${SECRET}@host?jetstream=false&domain=hub`, /jetstream is false, but domain/);
  await badUrl(`nats://user:${SECRET}@host?name=a&name=b`, /the query parameter name is given 2 times/);
  // A token in the user name is a secret too.
  await badUrl(`nats://${SECRET}@host?bogus`, /the query parameter bogus is unknown/);
  await badUrl(`nats://${SECRET}@host:port`, /the port/);
  // A malformed URL whose password holds a "/" looks like host:port; neither is echoed.
  await badUrl(`nats://user:${SECRET.slice(0, 4)}/${SECRET.slice(4)}@host`, /the port is not a number/);
  await badUrl(`nats://user:${SECRET}@ho st:4222`, /the host is not valid/);
});

Deno.test("open() rejects a bad mdb+https: URL naming the part", async () => {
  await badUrl("mdb+https:///", /the host is missing/);
  await badUrl("mdb+https://mas.example/api/v1", /the path "\/api\/v1" is not allowed/);
  await badUrl(`mdb+https://me:${SECRET}@mas.example/`, /user name or password, but MDB authenticates with a client/);
  await badUrl("mdb+https://mas.example/?offset=yesterday", /offset "yesterday" is not one of begin, now/);
  await badUrl("mdb+https://mas.example/?ack=later", /ack "later" is not one of auto, manual/);
  await badUrl("mdb+https://mas.example/?batch=0", /batch "0" is not an integer of 1 or more/);
  await badUrl("mdb+https://mas.example/?subjects=x", /subjects "x"/);
  await badUrl("mdb+http://mas.example/", /the scheme mdb\+http:/);
});

Deno.test("open() rejects a bad httppubsub+http(s): URL naming the part", async () => {
  await badUrl(`httppubsub+http://:${SECRET}@/`, /the host is missing/);
  await badUrl(
    `httppubsub+https://:${SECRET}@b:3003/?bind=everywhere`,
    /bind "everywhere" is not "manual" or host:port/,
  );
  await badUrl(`httppubsub+http://:${SECRET}@b:3003/?receiver=not%20a%20url`, /receiver "not a url" is not a URL/);
  await badUrl(`httppubsub+http://:${SECRET}@b:3003/?retries=0`, /retries "0" is not an integer of 1 or more/);
  await badUrl(`httppubsub+http://:${SECRET}@b:3003/?topic=x`, /the query parameter topic is unknown/);
  await badUrl(`httppubsub+http://${SECRET}@b:3003/?topic=x`, /the query parameter topic is unknown/);
});

Deno.test("open() rejects a bad streamsea+ URL naming the part", async () => {
  await badUrl(`streamsea+wss://id:${SECRET}@/`, /the host is missing/);
  await badUrl(`streamsea+wss://:${SECRET}@host`, /the client id is missing/);
  await badUrl(`streamsea+ws://id:${SECRET}@host/streams`, /the path "\/streams" is not allowed/);
  await badUrl(`streamsea+https://id:${SECRET}@host?format=xml`, /format "xml" is not one of json, envelope/);
  await badUrl(`streamsea+http://id:${SECRET}@host:70000`, /the port is not a number/);
});

Deno.test("open() rejects a bad messagebus: URL naming the part", async () => {
  await badUrl(`messagebus://alice:${SECRET}@host`, /the port is missing/);
  await badUrl(`messagebus+tls://alice:${SECRET}@:9001`, /the host is missing/);
  await badUrl(`messagebus://alice:${SECRET}@host:9001/feed`, /the path "\/feed" is not allowed/);
  await badUrl("messagebus://alice@host:9001", /a user name but no password/);
  await badUrl(`messagebus://alice:${SECRET}@host:9001?auth=v5`, /auth "v5" is not one of v3, v4/);
  await badUrl(`messagebus://:${SECRET}@host:9001?imageField=int`, /imageField "int"/);
});

Deno.test("open() rejects a bad posttroll: URL naming the part", async () => {
  await badUrl(`posttroll://me:${SECRET}@ns/svc`, /PostTroll has no passwords/);
  await badUrl("posttroll://ns/my%20svc", /the path \(service\) "my svc" has whitespace/);
  await badUrl("posttroll:///svc?register=nameserver", /the host \(nameserver\) is missing/);
  await badUrl("posttroll://ns/svc?register=gossip", /register "gossip" is not one of nameserver, multicast, none/);
  await badUrl("posttroll://ns/svc?address=udp://x:1", /address "udp:\/\/x:1" is not tcp:\/\/host:port/);
  await badUrl("posttroll://ns/svc?port=-3", /port "-3" is not an integer of 0 or more/);
});

Deno.test("open() rejects a bad memory: URL naming the part", async () => {
  await badUrl("memory:shared", /the path is not allowed/);
  await badUrl("memory:?settle=perhaps", /settle "perhaps" is not true or false/);
  await badUrl("memory:?size=3", /the query parameter size is unknown/);
});

Deno.test("open() keeps passwords and tokens out of the messages of errors from the system", async () => {
  // Nothing listens on this port: the connection error names the URL without the password.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  for (
    const url of [
      `messagebus://alice:${SECRET}@127.0.0.1:${port}?reconnect=false&connectTimeoutMs=2000`,
      `nats+ws://alice:${SECRET}@127.0.0.1:${port}?reconnect=false&timeoutMs=2000`,
      `nats+ws://${SECRET}@127.0.0.1:${port}?reconnect=false&timeoutMs=2000`,
    ]
  ) {
    const err = await open(url, { env: false }).then(() => assert.fail(`${url} opened`), (e: unknown) => e);
    assert.ok(err instanceof Error, String(err));
    assert.ok(!(err instanceof TypeError), `${url}: ${err.message}`);
    for (let e: unknown = err; e instanceof Error; e = e.cause) {
      assert.ok(!e.message.includes(SECRET), e.message);
    }
  }
});

Deno.test("plan() maps nats URL parts onto NatsPubSub options, options winning, env filling credentials", () => {
  const p = plan("nats://alice:s3cret@nats.example:4333?jetstream&name=svc&timeoutMs=900&maxReconnectAttempts=-1", {
    env: false,
  });
  assert.equal(p.system, "nats");
  if (p.system !== "nats") return;
  assert.equal(p.transport, "tcp");
  assert.deepEqual(p.options, {
    servers: "nats://nats.example:4333",
    jetstream: true,
    name: "svc",
    timeoutMs: 900,
    maxReconnectAttempts: -1,
    user: "alice",
    pass: "s3cret",
  });
  assert.equal(
    p.display,
    "nats://alice:***@nats.example:4333?jetstream&name=svc&timeoutMs=900&maxReconnectAttempts=-1",
  );

  const ws = plan("nats+wss://tok123@nats.example/ws?domain=hub", { nats: { name: "over" }, env: false });
  assert.ok(ws.system === "nats");
  assert.equal(ws.transport, "ws");
  assert.deepEqual(ws.options, {
    servers: "wss://nats.example/ws",
    jetstream: { domain: "hub" },
    name: "over",
    token: "tok123",
  });
  assert.ok(!ws.display.includes("tok123"));

  // Credentials from the environment only when neither the URL nor the options give any.
  const env = { NATS_USER: "bob", NATS_PASSWORD: "pw", NATS_TOKEN: undefined };
  const e1 = plan("nats://h", { env });
  assert.ok(e1.system === "nats");
  assert.equal(e1.options.user, "bob");
  assert.equal(e1.options.pass, "pw");
  const e2 = plan("nats://h", { env: { NATS_TOKEN: "t0k", NATS_USER: "bob" } });
  assert.ok(e2.system === "nats");
  assert.equal(e2.options.token, "t0k");
  assert.equal(e2.options.user, undefined);
  const e3 = plan("nats://u:p@h", { env: { NATS_TOKEN: "t0k" } });
  assert.ok(e3.system === "nats");
  assert.equal(e3.options.token, undefined);
  const e4 = plan("nats://h", { env: { NATS_CREDS: "/x/u.creds" } });
  assert.ok(e4.system === "nats");
  assert.equal(e4.credsFile, "/x/u.creds");
  const e5 = plan("nats://h", { nats: { token: "opt" }, env: { NATS_CREDS: "/x/u.creds" } });
  assert.ok(e5.system === "nats");
  assert.equal(e5.credsFile, undefined);
  assert.equal(e5.options.token, "opt");
});

Deno.test("plan() maps the other schemes' URL parts onto their adapters' options", () => {
  const mdb = plan(
    "mdb+https://mas.example:8443/?websocket=false&subjects=slug&offset=begin&ack=manual&batch=7&prefetch=0",
    { mdb: { batch: 3, caBundle: "/ca.pem" } },
  );
  assert.ok(mdb.system === "mdb");
  assert.equal(mdb.url, "https://mas.example:8443/");
  assert.deepEqual(mdb.connect, { websocket: false, subjects: "slug", caBundle: "/ca.pem" });
  assert.deepEqual(mdb.pubsub, { offset: "begin", ack: "manual", batch: 3, prefetch: 0 });

  const hps = plan(
    "httppubsub+https://:tok@broadcaster:3003/prefix/?receiver=http://10.0.0.5:3002/r&bind=0.0.0.0:3002",
  );
  assert.ok(hps.system === "httppubsub");
  assert.deepEqual(hps.client, {
    broadcasters: ["https://broadcaster:3003/prefix"],
    bind: { type: "serve", hostname: "0.0.0.0", port: 3002 },
    host: "http://10.0.0.5:3002/r",
  });
  assert.equal(hps.sendToken, "tok");
  const manual = plan("httppubsub+http://b:3003?bind=manual&maxPayload=2048");
  assert.ok(manual.system === "httppubsub");
  assert.deepEqual(manual.client.bind, { type: "manual" });
  assert.equal(manual.client.bufferLimit, 2048);
  assert.deepEqual(manual.pubsub, { maxPayload: 2048 });
  const dflt = plan("httppubsub+http://b:3003");
  assert.ok(dflt.system === "httppubsub");
  assert.deepEqual(dflt.client.bind, { type: "serve", hostname: "127.0.0.1", port: 0 });

  const sea = plan("streamsea+wss://client-1:secret@streams.example:4443?format=envelope&gzip");
  assert.ok(sea.system === "streamsea");
  assert.deepEqual(sea.options, {
    remoteHost: "streams.example",
    remotePort: 4443,
    secure: true,
    format: "envelope",
    gzip: true,
    clientId: "client-1",
    clientSecret: "secret",
  });
  const seaHttp = plan("streamsea+http://client-1@streams.example");
  assert.ok(seaHttp.system === "streamsea");
  assert.equal(seaHttp.options.secure, false);
  assert.equal(seaHttp.options.remotePort, undefined);

  const bus = plan("messagebus+tls://alice:pw@bus.example:9001?feed=prices&auth=v4&imageField=contentType");
  assert.ok(bus.system === "messagebus");
  assert.equal(bus.host, "bus.example");
  assert.equal(bus.port, 9001);
  assert.deepEqual(bus.options, { feed: "prices", auth: "v4", imageField: "contentType", tls: true });
  assert.deepEqual(bus.basic, { username: "alice", password: "pw" });
  const busToken = plan("messagebus://:jwt.token.here@bus.example:9091");
  assert.ok(busToken.system === "messagebus");
  assert.equal(busToken.token, "jwt.token.here");
  assert.equal(busToken.basic, undefined);
  assert.equal(busToken.options.tls, undefined);

  const troll = plan("posttroll://ns.example:5600/svc-a,svc-b?bind=127.0.0.1&port=40000&address=tcp://10.0.0.9:9000");
  assert.ok(troll.system === "posttroll");
  assert.deepEqual(troll.options, {
    name: "svc-a",
    host: "127.0.0.1",
    port: 40000,
    nameserver: "ns.example",
    services: ["svc-a", "svc-b"],
    nameservers: ["ns.example"],
    addresses: ["tcp://10.0.0.9:9000"],
    config: { nameserverPort: 5600 },
  });
  const local = plan("posttroll:///?name=me");
  assert.ok(local.system === "posttroll");
  assert.equal(local.options.nameserver, false);
  assert.equal(local.options.nameservers, false);
  assert.equal(local.options.services, "");
  const mc = plan("posttroll://ns/svc?register=multicast");
  assert.ok(mc.system === "posttroll");
  assert.deepEqual(mc.options.nameservers, []);

  const mem = plan(new URL("memory:?settle=true"), { memory: { maxPayload: 5 } });
  assert.ok(mem.system === "memory");
  assert.deepEqual(mem.options, { settle: true, maxPayload: 5 });
});
