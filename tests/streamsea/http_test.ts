import assert from "node:assert/strict";
import { AuthError, ClosedError, ConnectionError, ProtocolError, TimeoutError } from "../../src/core/errors.ts";
import {
  defineStream,
  describeStream,
  getSchemaVersionsVector,
  publish,
  type SchemaDefinition,
  SchemaValidationError,
  StreamSeaClient,
  StreamSeaError,
} from "../../src/streamsea/mod.ts";
import { FakeStreamSea } from "../../src/testing/streamsea/mod.ts";
import { CLIENT, env } from "./_helpers.ts";

const BOILER: SchemaDefinition = {
  name: "boiler_data",
  version: 1,
  fields: [
    { name: "temperature", type: "integer" },
    { name: "side", type: "enum", enum: ["port", "starboard"] },
    { name: "moves", type: "array<object>", fields: [{ name: "load", type: "string" }] },
  ],
};

for (const gzip of [false, true]) {
  const label = gzip ? "gzip" : "plain";
  Deno.test(`seed functions define, describe, vector and publish against the fake (${label} bodies)`, async () => {
    await using fake = await FakeStreamSea.start();
    const conn = { ...fake.connection, ...CLIENT, gzip };
    assert.equal(await describeStream({ ...conn, stream: "boiler_data" }), null);
    await defineStream({ ...conn, schema: BOILER });
    assert.deepEqual(await describeStream({ ...conn, stream: "boiler_data" }), BOILER);
    assert.deepEqual(await getSchemaVersionsVector({ ...conn, streams: ["boiler_data", "unknown"] }), [1, null]);
    await publish({ ...conn, stream: "boiler_data", payload: { temperature: 80, side: "port", moves: [] } });
    await publish({
      ...conn,
      stream: "boiler_data",
      payload: [{ temperature: 1, side: "port", moves: [] }, { temperature: 2, side: "starboard", moves: [] }],
    });
    const posts = fake.requests.filter((r) => r.method === "POST");
    assert.ok(posts.length >= 4);
    for (const r of posts) assert.equal(r.contentEncoding, gzip ? "gzip" : null);
    const last = posts.at(-1)!;
    assert.equal(last.path, "/api/v1/streams/boiler_data/publish");
    assert.equal((last.body as { payload: unknown[] }).payload.length, 2);
    const define = fake.requests.find((r) => r.path.endsWith("/define"))!;
    assert.deepEqual(define.body, BOILER);
    assert.ok(fake.requests.every((r) => r.status === 200 || r.status === 404));
  });
}

Deno.test("StreamSeaClient.defineStream() keeps the version rules: same version never overwritten", async () => {
  await using e = await env();
  const c = e.client;
  await c.defineStream(BOILER);
  await c.defineStream(structuredClone(BOILER)); // identical: accepted, nothing changes
  const changed = { ...BOILER, fields: [{ name: "temperature", type: "float" as const }] };
  const same = await c.defineStream(changed).catch((err) => err);
  assert.ok(same instanceof StreamSeaError && same.status === 400, String(same));
  assert.deepEqual(await c.describeStream("boiler_data"), BOILER);
  await c.defineStream({ ...changed, version: 3 });
  assert.deepEqual(await c.getSchemaVersionsVector(["boiler_data"]), [3]);
  const lower = await c.defineStream({ ...BOILER, version: 2 }).catch((err) => err);
  assert.ok(lower instanceof StreamSeaError);
  assert.equal(lower.status, 400);
  assert.match(
    lower.message,
    /The version pushed for the schema \[boiler_data\] is \[2\] but there is already an older version defined \[3\]/,
  );
  assert.equal((await c.describeStream("boiler_data"))?.version, 3);
});

Deno.test("StreamSeaClient.publish() maps a validation failure to StreamSeaError with errors[]", async () => {
  await using e = await env();
  await e.client.defineStream(BOILER);
  const err = await e.client.publish("boiler_data", { temperature: "hot", side: "aft", moves: [] }).catch((x) => x);
  assert.ok(err instanceof StreamSeaError, String(err));
  assert.equal(err.status, 400);
  assert.deepEqual(err.errors, [
    'temperature is the string "hot", not an integer',
    'side is the string "aft", not one of port, starboard',
  ]);
  const batch = await e.client.publish("boiler_data", [{ temperature: 1, side: "port", moves: [] }, {}]).catch((x) =>
    x
  );
  assert.ok(batch instanceof StreamSeaError);
  assert.deepEqual(batch.errors, ["[1].temperature is missing", "[1].side is missing", "[1].moves is missing"]);
});

Deno.test("StreamSeaClient.publish() with validate checks before sending and sends nothing on a violation", async () => {
  await using e = await env();
  await e.client.defineStream(BOILER);
  const before = e.fake.requests.filter((r) => r.path.endsWith("/publish")).length;
  const err = await e.client.publish("boiler_data", { temperature: 1.5, side: "port", moves: [{ load: 3 }] }, {
    validate: true,
  }).catch((x) => x);
  assert.ok(err instanceof SchemaValidationError && err instanceof TypeError, String(err));
  assert.deepEqual(err.violations.map((v) => v.path), ["temperature", "moves[0].load"]);
  assert.equal(e.fake.requests.filter((r) => r.path.endsWith("/publish")).length, before);
  await e.client.publish("boiler_data", { temperature: 1, side: "port", moves: [] }, { validate: BOILER });
  assert.equal(e.fake.requests.filter((r) => r.path.endsWith("/publish")).length, before + 1);
});

Deno.test("HTTP calls with wrong credentials reject with AuthError carrying the 401", async () => {
  await using fake = await FakeStreamSea.start();
  const client = new StreamSeaClient({ ...fake.connection, clientId: "abc", clientSecret: "wrong" });
  for (
    const call of [
      () => client.describeStream("s"),
      () => client.publish("s", { a: 1 }),
      () => client.getSchemaVersionsVector(["s"]),
    ]
  ) {
    const err = await call().catch((x) => x);
    assert.ok(err instanceof AuthError, String(err));
    assert.equal(err.status, 401);
    assert.match(err.message, /The credentials are present and well formed but invalid\./);
  }
  await client.close();
});

Deno.test("HTTP calls reject bad arguments with TypeError or RangeError before any request", async () => {
  await using e = await env();
  await assert.rejects(() => e.client.publish("", { a: 1 }), TypeError);
  await assert.rejects(() => e.client.publish("s", "text"), TypeError);
  await assert.rejects(() => e.client.publish("s", []), TypeError);
  await assert.rejects(() => e.client.publish("s", [1]), TypeError);
  await assert.rejects(() => e.client.defineStream({ name: "s", version: 1.5, fields: [] }), TypeError);
  await assert.rejects(() => e.client.getSchemaVersionsVector("s" as unknown as string[]), TypeError);
  assert.throws(() => new StreamSeaClient({ remoteHost: "", ...CLIENT }), TypeError);
  assert.throws(() => new StreamSeaClient({ remoteHost: "h", remotePort: 70000, ...CLIENT }), RangeError);
  assert.throws(() => new StreamSeaClient({ remoteHost: "h", clientId: "" }), TypeError);
  const noSecret = new StreamSeaClient({ remoteHost: "127.0.0.1", remotePort: e.fake.port, clientId: "abc" });
  await assert.rejects(() => noSecret.describeStream("s"), TypeError);
  assert.equal(e.fake.requests.length, 0);
});

Deno.test("HTTP calls after close() reject with ClosedError", async () => {
  await using e = await env();
  await e.client.close();
  await assert.rejects(() => e.client.publish("s", { a: 1 }), ClosedError);
  await assert.rejects(() => e.client.describeStream("s"), ClosedError);
});

Deno.test("HTTP calls map an unreachable server to ConnectionError and a silent one to TimeoutError", async () => {
  const fake = await FakeStreamSea.start();
  const port = fake.port;
  await fake.close();
  const gone = new StreamSeaClient({ remoteHost: "127.0.0.1", remotePort: port, ...CLIENT });
  await assert.rejects(() => gone.describeStream("s"), ConnectionError);
  const silent = new StreamSeaClient({
    remoteHost: "127.0.0.1",
    remotePort: port,
    ...CLIENT,
    timeoutMs: 50,
    fetch: (_input, init) =>
      new Promise<Response>((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason))),
  });
  const err = await silent.describeStream("s").catch((x) => x);
  assert.ok(err instanceof TimeoutError, String(err));
  assert.equal(err.timeoutMs, 50);
  const aborted = new AbortController();
  aborted.abort(new Error("mine"));
  await assert.rejects(() => silent.describeStream("s", { signal: aborted.signal }), /mine/);
});

Deno.test("HTTP calls turn misshapen 2xx replies into ProtocolError", async () => {
  const replies = [
    "not json",
    JSON.stringify({ name: "s", version: "1", fields: [] }),
    JSON.stringify({ versionsVector: [1] }),
  ];
  let i = 0;
  const client = new StreamSeaClient({
    remoteHost: "127.0.0.1",
    ...CLIENT,
    fetch: () => Promise.resolve(new Response(replies[i++] ?? "", { status: 200 })),
  });
  await assert.rejects(() => client.describeStream("s"), ProtocolError);
  await assert.rejects(() => client.describeStream("s"), ProtocolError);
  await assert.rejects(() => client.getSchemaVersionsVector(["a", "b"]), ProtocolError);
});

Deno.test("HTTP errors other than 401 carry status, message and errors", async () => {
  const client = new StreamSeaClient({
    remoteHost: "127.0.0.1",
    ...CLIENT,
    fetch: () =>
      Promise.resolve(
        new Response(JSON.stringify({ message: "Invalid payload", errors: ["a", "b"] }), { status: 422 }),
      ),
  });
  const err = await client.publish("s", { x: 1 }).catch((x) => x);
  assert.ok(err instanceof StreamSeaError);
  assert.equal(err.status, 422);
  assert.deepEqual(err.errors, ["a", "b"]);
  assert.match(err.message, /Invalid payload/);
});

Deno.test("HTTP calls refuse a reply body over 16 MiB with ProtocolError", async () => {
  const chunk = new Uint8Array(1024 * 1024).fill(0x20);
  let sent = 0;
  const client = new StreamSeaClient({
    remoteHost: "127.0.0.1",
    ...CLIENT,
    fetch: () =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            pull(c) {
              if (sent++ < 40) c.enqueue(chunk);
              else c.close();
            },
          }),
        ),
      ),
  });
  await assert.rejects(
    () => client.describeStream("s"),
    (err) => err instanceof ProtocolError && /larger than 16777216 bytes/.test(err.message),
  );
  assert.ok(sent < 40, `read ${sent} MiB`);
});
