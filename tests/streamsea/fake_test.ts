import assert from "node:assert/strict";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import { until, within } from "./_helpers.ts";

const AUTH = `Basic ${btoa("abc:def123")}`;
const BASE = "http://fake.test/api/v1";

async function gzip(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const s = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

async function call(
  fake: FakeStreamSea,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const init: RequestInit = {
    method,
    headers: { Authorization: AUTH, "Content-Type": "application/json", ...headers },
  };
  if (body !== undefined) {
    init.body = body instanceof Uint8Array ? body as Uint8Array<ArrayBuffer> : JSON.stringify(body);
  }
  const res = await fake.handler(new Request(`${BASE}${path}`, init));
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
}

const SCHEMA = {
  name: "boiler_data",
  version: 1,
  fields: [
    { name: "temperature", type: "integer" },
    { name: "side", type: "enum", enum: ["port", "starboard"] },
    { name: "moves", type: "array<object>", fields: [{ name: "load", type: "string" }] },
  ],
};

Deno.test("FakeStreamSea.handler() answers the spec's HTTP vectors in-process", async () => {
  const fake = new FakeStreamSea();
  // JS-style define: no name in the body, the name comes from the path.
  assert.equal((await call(fake, "POST", "/streams/a/define", { version: 3, fields: [] })).status, 200);
  assert.deepEqual(await call(fake, "POST", "/schema-versions-vector", { schemaNames: ["a", "b"] }), {
    status: 200,
    body: { versionsVector: [3, null] },
  });
  assert.equal((await call(fake, "POST", "/streams/boiler_data/define", SCHEMA)).status, 200);
  const described = await call(fake, "GET", "/streams/boiler_data/schema");
  assert.deepEqual(described, { status: 200, body: SCHEMA });
  assert.deepEqual(Object.keys(described.body as object), ["name", "version", "fields"]);
  assert.equal((await call(fake, "GET", "/streams/nothing/schema")).status, 404);
  assert.deepEqual(
    await call(fake, "GET", "/streams/a/schema", undefined, { Authorization: `Basic ${btoa("abc:x")}` }),
    {
      status: 401,
      body: { message: "The credentials are present and well formed but invalid." },
    },
  );
  assert.equal((await call(fake, "GET", "/streams/a/schema", undefined, { Authorization: "Bearer x" })).status, 401);
  const invalid = await call(fake, "POST", "/streams/boiler_data/publish", {
    payload: { temperature: 1, side: "port", moves: [{ load: 1 }], date: "x" },
  });
  assert.deepEqual(invalid, {
    status: 400,
    body: {
      message: "The payload does not match the schema of boiler_data",
      errors: ["moves[0].load is the number 1, not a string"],
    },
  });
  assert.deepEqual(
    await call(fake, "POST", "/streams/boiler_data/publish", { payload: { temperature: 1, side: "port", moves: [] } }),
    {
      status: 200,
      body: {},
    },
  );
  assert.equal((await call(fake, "POST", "/streams/x/define", { name: "y", version: 1, fields: [] })).status, 400);
  assert.equal(
    (await call(fake, "POST", "/streams/x/define", { version: 1, fields: [{ name: "a", type: "text" }] })).status,
    400,
  );
  assert.equal((await call(fake, "POST", "/streams/x/publish", { payload: "text" })).status, 400);
  assert.equal((await call(fake, "POST", "/nowhere", {})).status, 404);
});

Deno.test("FakeStreamSea.handler() accepts gzip and plain bodies, and gzip headers on empty GETs", async () => {
  const fake = new FakeStreamSea();
  const gz = await gzip(JSON.stringify(SCHEMA));
  assert.equal(
    (await call(fake, "POST", "/streams/boiler_data/define", gz, { "Content-Encoding": "gzip" })).status,
    200,
  );
  // The Python client sends Content-Encoding: gzip on a GET with no body.
  assert.deepEqual(await call(fake, "GET", "/streams/boiler_data/schema", undefined, { "Content-Encoding": "gzip" }), {
    status: 200,
    body: SCHEMA,
  });
  assert.equal(
    (await call(fake, "POST", "/streams/boiler_data/define", new Uint8Array([1, 2, 3]), { "Content-Encoding": "gzip" }))
      .status,
    400,
  );
  assert.equal((await call(fake, "POST", "/streams/b/define", new TextEncoder().encode("{"))).status, 400);
  const small = new FakeStreamSea({ maxBodyBytes: 100 });
  const big = { payload: { text: "x".repeat(200) } };
  assert.equal((await call(small, "POST", "/streams/s/publish", big)).status, 413);
  assert.equal(
    (await call(small, "POST", "/streams/s/publish", await gzip(JSON.stringify(big)), { "Content-Encoding": "gzip" }))
      .status,
    413,
  );
  assert.deepEqual(fake.requests.map((r) => r.contentEncoding), ["gzip", "gzip", "gzip", null]);
});

Deno.test("FakeStreamSea refuses publishing to a stream without schema when told to", async () => {
  const fake = new FakeStreamSea({ publishWithoutSchema: false });
  assert.equal((await call(fake, "POST", "/streams/s/publish", { payload: { a: 1 } })).status, 404);
  fake.settings.publishWithoutSchema = true;
  assert.equal((await call(fake, "POST", "/streams/s/publish", { payload: { a: 1 } })).status, 200);
});

Deno.test("FakeStreamSea.close() refuses publishes from the moment it starts, so none is confirmed and lost", async () => {
  const fake = new FakeStreamSea();
  assert.equal((await call(fake, "POST", "/streams/s/publish", { payload: { a: 1 } })).status, 200);
  const closing = fake.close();
  assert.equal((await call(fake, "POST", "/streams/s/publish", { payload: { a: 2 } })).status, 503);
  await closing;
});

/** A raw WebSocket peer, to drive the fake with frames a client would not send. */
async function raw(fake: FakeStreamSea) {
  const ws = new WebSocket(`ws://127.0.0.1:${fake.port}/api/v1/streams`);
  const inbox: unknown[] = [];
  let wake: (() => void) | undefined;
  const closed = new Promise<number>((resolve) => ws.onclose = (ev) => resolve(ev.code));
  ws.onmessage = (ev) => {
    inbox.push(JSON.parse(ev.data));
    wake?.();
  };
  await new Promise((resolve) => ws.onopen = resolve);
  return {
    send: (v: unknown) => ws.send(typeof v === "string" ? v : JSON.stringify(v)),
    async next(): Promise<unknown> {
      while (inbox.length === 0) await within(new Promise<void>((r) => wake = r), 2000, "a reply");
      return inbox.shift();
    },
    closed: () => within(closed, 2000, "the close"),
    close: async () => {
      ws.close();
      await closed;
    },
  };
}

const BASIC = { type: "basic", clientId: "abc", clientSecret: "def123" };

Deno.test("FakeStreamSea answers the golden frames and never uses an id the client did not", async () => {
  await using fake = await FakeStreamSea.start();
  const c = await raw(fake);
  c.send({ id: 1, action: "authenticate", payload: BASIC });
  assert.deepEqual(await c.next(), { id: 1, action: "authenticate", success: true, payload: { jailId: "some_jail" } });
  c.send({ id: 2, action: "subscribe", payload: "boiler_data" });
  assert.deepEqual(await c.next(), {
    id: 2,
    action: "subscription",
    success: true,
    streamName: "boiler_data",
    payload: 2,
  });
  fake.publishLocal("boiler_data", { temperature: 80 });
  assert.deepEqual(await c.next(), {
    id: 2,
    action: "subscription",
    streamName: "boiler_data",
    payload: { temperature: 80 },
  });
  await c.close();
});

Deno.test("FakeStreamSea refuses protocol violations with an error reply and a close", async () => {
  await using fake = await FakeStreamSea.start();
  const cases: [unknown[], unknown][] = [
    [[{ id: 1, action: "subscribe", payload: "s" }], {
      id: 1,
      action: "subscribe",
      success: false,
      error: { message: "Not authenticated" },
    }],
    [
      [{ id: 1, action: "authenticate", payload: BASIC }, { id: 2, action: "authenticate", payload: BASIC }],
      { id: 2, action: "authenticate", success: false, error: { message: "Already authenticated" } },
    ],
    [[{ id: 2, action: "authenticate", payload: BASIC }], {
      id: 2,
      action: "authenticate",
      success: false,
      error: { message: "Expected id 1, got 2" },
    }],
    [
      [{ id: 1, action: "authenticate", payload: { ...BASIC, clientSecret: "no" } }],
      { id: 1, action: "authenticate", success: false, error: { message: "Invalid credentials" } },
    ],
    [
      [{ id: 1, action: "authenticate", payload: BASIC }, { id: 2, action: "unsubscribe", payload: "s" }],
      { id: 2, action: "unsubscribe", success: false, error: { message: "Unknown action unsubscribe" } },
    ],
  ];
  for (const [frames, reply] of cases) {
    const c = await raw(fake);
    for (const f of frames) c.send(f);
    let got = await c.next();
    if ((got as { success?: boolean }).success === true) got = await c.next();
    assert.deepEqual(got, reply);
    assert.equal(await c.closed(), 1008);
  }
  const c = await raw(fake);
  c.send("{not json");
  assert.equal(await c.closed(), 1007);
  await until(() => fake.connectionCount === 0);
});

Deno.test("FakeStreamSea closes connections on killAfterMs", async () => {
  await using fake = await FakeStreamSea.start({ killAfterMs: 30 });
  const c = await raw(fake);
  c.send({ id: 1, action: "authenticate", payload: BASIC });
  await c.next();
  assert.equal(await c.closed(), 1012);
});

Deno.test("FakeStreamSea rejects a bad ping interval", () => {
  assert.throws(() => new FakeStreamSea({ pingIntervalSeconds: 0 }), RangeError);
});
