// stream-sea end to end against the fake server: define a schema, subscribe
// with a consumer group and in fanout mode, publish (validated), read, and
// mint a JWT for a front end. Run: deno run -A examples/streamsea.ts
import { createStreamSeaJwt, SchemaValidationError, StreamSeaClient } from "../src/streamsea/mod.ts";
import { FakeStreamSea } from "../src/testing/streamsea/mod.ts";

const { privateKey, publicKey } = await crypto.subtle.generateKey(
  { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-512" },
  true,
  ["sign", "verify"],
);
const spki = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.exportKey("spki", publicKey))));
const jwtPublicKey = `-----BEGIN PUBLIC KEY-----\n${spki.replace(/.{1,64}/g, "$&\n")}-----END PUBLIC KEY-----\n`;

const fake = await FakeStreamSea.start({ clients: [{ clientId: "abc", clientSecret: "def123", jwtPublicKey }] });
const backend = new StreamSeaClient({ ...fake.connection, clientId: "abc", clientSecret: "def123" });

await backend.defineStream({
  name: "boiler_data",
  version: 1,
  fields: [
    { name: "temperature", type: "integer" },
    { name: "side", type: "enum", enum: ["port", "starboard"] },
  ],
});
console.log("schema:", await backend.describeStream("boiler_data"));
console.log("versions:", await backend.getSchemaVersionsVector(["boiler_data", "unknown"]));

// Two workers share the stream; a front end with a JWT sees everything.
const workerA = backend.subscribe("boiler_data", { group: "workers" });
const workerB = backend.subscribe("boiler_data", { group: "workers" });
const jwt = await createStreamSeaJwt(privateKey, { exp: new Date(Date.now() + 60_000), mustFanout: true });
const front = new StreamSeaClient({
  ...fake.connection,
  clientId: "abc",
  credentials: { type: "jwt", clientId: "abc", jwt },
});
const dashboard = front.subscribe("boiler_data", { fanout: true });
await Promise.all([workerA.ready, workerB.ready, dashboard.ready]);

for (let i = 0; i < 4; i++) {
  await backend.publish("boiler_data", { temperature: 80 + i, side: i % 2 ? "port" : "starboard" }, { validate: true });
}
try {
  await backend.publish("boiler_data", { temperature: "hot", side: "aft" }, { validate: true });
} catch (err) {
  if (err instanceof SchemaValidationError) console.log("refused:", err.violations);
}

let seen = 0;
for await (const msg of dashboard) {
  console.log("dashboard:", msg.payload);
  if (++seen === 4) break;
}
console.log("worker A got", workerA.buffered, "and worker B got", workerB.buffered, "of 4");

await front.close();
await backend.close();
await fake.close();
