// FakeStreamSea against the spec's words: deliveries only after subscribing (§8, §15.1), `fields` an unordered
// set with identical re-defines accepted (§6.1, §6.3), a JWT public key that must be an RSA key (§5.3, §11), and
// pings at the interval the fake is given (§9).
import assert from "node:assert/strict";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import { within } from "./_helpers.ts";
import { delay } from "../../src/core/async.ts";

const AUTH = `Basic ${btoa("abc:def123")}`;

async function call(fake: FakeStreamSea, method: string, path: string, body?: unknown) {
  const init: RequestInit = { method, headers: { Authorization: AUTH, "Content-Type": "application/json" } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fake.handler(new Request(`http://fake.test/api/v1${path}`, init));
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
}

/** An authenticated raw WebSocket (§7.2), reading JSON frames. */
async function authenticated(fake: FakeStreamSea) {
  const ws = new WebSocket(`ws://127.0.0.1:${fake.port}/api/v1/streams`);
  const inbox: { id: number; payload: unknown }[] = [];
  let wake: (() => void) | undefined;
  ws.onmessage = (ev) => {
    inbox.push(JSON.parse(ev.data));
    wake?.();
  };
  const closed = new Promise((r) => ws.onclose = r);
  await new Promise((r) => ws.onopen = r);
  const next = async () => {
    while (inbox.length === 0) await within(new Promise<void>((r) => wake = r), 5000, "a frame");
    return inbox.shift()!;
  };
  ws.send(JSON.stringify({
    id: 1,
    action: "authenticate",
    payload: { type: "basic", clientId: "abc", clientSecret: "def123" },
  }));
  await next();
  return {
    next,
    send: (v: unknown) => ws.send(JSON.stringify(v)),
    close: async () => {
      ws.close();
      await closed;
    },
  };
}

Deno.test("FakeStreamSea never delivers a message published before the subscription, however late its timers run", async () => {
  // Zero-delay timers are held back 200 ms while this runs: a fan-out deferred to one would reach the
  // subscription made after the publisher's 200. The spec's contract holds whatever the scheduling.
  const original = globalThis.setTimeout;
  const late = (fn: () => void, ms?: number) => original(fn, ms === undefined || ms === 0 ? 200 : ms);
  globalThis.setTimeout = late as typeof setTimeout;
  const fake = await FakeStreamSea.start();
  try {
    const c = await authenticated(fake);
    assert.equal((await call(fake, "POST", "/streams/s/publish", { payload: { n: "before" } })).status, 200);
    c.send({ id: 2, action: "subscribe", payload: "s" });
    assert.equal((await c.next()).payload, 2, "the confirmation");
    assert.equal((await call(fake, "POST", "/streams/s/publish", { payload: { n: "after" } })).status, 200);
    assert.deepEqual((await c.next()).payload, { n: "after" });
    await c.close();
  } finally {
    globalThis.setTimeout = original;
    await fake.close();
  }
});

Deno.test("FakeStreamSea still delivers a publish to a subscription made before it", async () => {
  await using fake = await FakeStreamSea.start();
  const c = await authenticated(fake);
  c.send({ id: 2, action: "subscribe", payload: "s" });
  await c.next();
  assert.equal((await call(fake, "POST", "/streams/s/publish", { payload: { n: 1 } })).status, 200);
  assert.deepEqual((await c.next()).payload, { n: 1 });
  await c.close();
});

const SCHEMA = {
  version: 1,
  fields: [
    { name: "temperature", type: "integer" },
    { name: "side", type: "enum", enum: ["port", "starboard"] },
    { name: "moves", type: "array<object>", fields: [{ name: "load", type: "string" }, { name: "at", type: "date" }] },
  ],
};

Deno.test("FakeStreamSea takes fields as an unordered set: an identical re-define in another order succeeds and changes nothing", async () => {
  const fake = new FakeStreamSea();
  assert.equal((await call(fake, "POST", "/streams/b/define", SCHEMA)).status, 200);
  const reordered = {
    fields: [
      {
        fields: [{ type: "date", name: "at" }, { type: "string", name: "load" }],
        type: "array<object>",
        name: "moves",
      },
      { enum: ["starboard", "port"], type: "enum", name: "side" },
      { type: "integer", name: "temperature" },
    ],
    version: 1,
  };
  assert.equal((await call(fake, "POST", "/streams/b/define", reordered)).status, 200);
  assert.deepEqual((await call(fake, "GET", "/streams/b/schema")).body, { name: "b", ...SCHEMA }, "not overwritten");
  // A different definition at the same version is still refused (§6.3).
  const other = structuredClone(SCHEMA);
  other.fields[0]!.type = "float";
  assert.equal((await call(fake, "POST", "/streams/b/define", other)).status, 400);
  const fewer = { version: 1, fields: SCHEMA.fields.slice(1) };
  assert.equal((await call(fake, "POST", "/streams/b/define", fewer)).status, 400);
  const nested = structuredClone(SCHEMA);
  nested.fields[2]!.fields![0]!.name = "weight";
  assert.equal((await call(fake, "POST", "/streams/b/define", nested)).status, 400);
});

Deno.test("FakeStreamSea refuses a JWT public key that is not an RSA public key, whatever its PEM label", async () => {
  const fake = new FakeStreamSea();
  const put = (jwtPublicKey: unknown) => call(fake, "PUT", "/client/abc/jwt-public-key", { jwtPublicKey });
  const garbage = btoa("not a key at all, just bytes").replace(/.{1,64}/g, "$&\n");
  assert.equal((await put(`-----BEGIN PUBLIC KEY-----\n${garbage}-----END PUBLIC KEY-----\n`)).status, 400);
  assert.equal((await put(`-----BEGIN RSA PUBLIC KEY-----\n${garbage}-----END RSA PUBLIC KEY-----\n`)).status, 400);
  // An EC key is a well-formed SPKI, but RS512 needs RSA.
  const ec = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  assert.equal((await put(await pem(ec.publicKey))).status, 400);
  const rsa = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-512" },
    true,
    ["sign", "verify"],
  );
  const good = await pem(rsa.publicKey);
  assert.deepEqual(await put(good), { status: 200, body: { givenId: "abc", jwtPublicKey: good } });
  assert.equal((await put(null)).status, 200);
});

async function pem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey("spki", key));
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  return `-----BEGIN PUBLIC KEY-----\n${btoa(bin).replace(/.{1,64}/g, "$&\n")}-----END PUBLIC KEY-----\n`;
}

/**
 * A WebSocket client on a bare TCP connection (RFC 6455), so the test sees the
 * server's ping frames (a WHATWG WebSocket cannot) and answers each with a pong.
 */
async function pingCounter(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(new TextEncoder().encode(
    `GET /api/v1/streams HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  let buf = new Uint8Array(0);
  const more = async () => {
    const chunk = new Uint8Array(4096);
    const n = await conn.read(chunk);
    if (n === null) return false;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    return true;
  };
  // The 101 answer ends with an empty line.
  for (;;) {
    const text = new TextDecoder().decode(buf);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      assert.match(text, /^HTTP\/1\.1 101/);
      buf = buf.slice(end + 4);
      break;
    }
    if (!(await more())) throw new Error("closed during the handshake");
  }
  const pings: number[] = [];
  const pong = async (payload: Uint8Array) => {
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const frame = new Uint8Array(6 + payload.length);
    frame.set([0x8a, 0x80 | payload.length, ...mask]);
    payload.forEach((b, i) => frame[6 + i] = b ^ mask[i % 4]!);
    await conn.write(frame);
  };
  const run = (async () => {
    for (;;) {
      while (buf.length < 2 || buf.length < 2 + (buf[1]! & 0x7f)) if (!(await more())) return "closed";
      const opcode = buf[0]! & 0x0f;
      const len = buf[1]! & 0x7f; // control frames carry at most 125 bytes
      const payload = buf.slice(2, 2 + len);
      buf = buf.slice(2 + len);
      if (opcode === 0x8) return "closed";
      if (opcode === 0x9) {
        pings.push(performance.now());
        await pong(payload);
      }
    }
  })();
  return { pings, run, close: () => conn.close() };
}

Deno.test("FakeStreamSea pings every pingIntervalSeconds and keeps a socket that answers", async () => {
  await using fake = await FakeStreamSea.start({ pingIntervalSeconds: 1 });
  const opened = performance.now();
  const client = await pingCounter(fake.port);
  try {
    const deadline = Date.now() + 20_000;
    while (client.pings.length < 3) {
      if (Date.now() > deadline) throw new Error(`only ${client.pings.length} pings in 20 s`);
      await delay(50);
    }
    // Timers never fire early, so a load on the machine can only lengthen these gaps.
    const gaps = [client.pings[0]! - opened, client.pings[1]! - client.pings[0]!, client.pings[2]! - client.pings[1]!];
    for (const g of gaps) assert.ok(g >= 950, `a ping ${Math.round(g)} ms after the last frame, not 1000`);
    assert.equal(fake.connectionCount, 1, "answered pings keep the socket");
  } finally {
    client.close();
    await client.run.catch(() => {});
  }
});
