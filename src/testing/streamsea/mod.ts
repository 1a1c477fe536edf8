/**
 * A faithful fake stream-sea server for tests: {@linkcode FakeStreamSea}
 * serves the HTTP API and the WebSocket protocol on `127.0.0.1` (a free
 * port), with Basic and JWT auth, schemas, validation, consumer groups,
 * pings, gzip bodies, switches for the spec's open questions and fault
 * injection. Deno only (`Deno.serve`).
 *
 * @example
 * ```ts
 * import { FakeStreamSea } from "@x/pubsub/testing/streamsea";
 * import { StreamSeaClient } from "@x/pubsub/streamsea";
 *
 * const fake = await FakeStreamSea.start();
 * const client = new StreamSeaClient({ ...fake.connection, clientId: "abc", clientSecret: "def123" });
 * const sub = client.subscribe("boiler_data", { fanout: true });
 * await sub.ready;
 * await client.publish("boiler_data", { temperature: 80 });
 * const { value } = await sub.getReader().read();
 * console.log(value?.payload); // { temperature: 80 }
 * await client.close();
 * await fake.close();
 * ```
 *
 * @module
 */

export { FakeStreamSea } from "./fake.ts";
export type { FakeConnectionInfo, FakeFrameRecord, FakeSubscriptionInfo } from "./fake_connections.ts";
export type { FakeRequestRecord } from "./fake_http.ts";
export type { FakeClient, FakeStreamSeaOptions, FakeStreamSeaSettings } from "./fake_options.ts";
export { toSpkiPem } from "./keys.ts";
