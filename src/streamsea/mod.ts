/**
 * stream-sea (Portchain) over Web Streams: the seed client's HTTP calls
 * (`publish`, `describeStream`, `defineStream`, `getSchemaVersionsVector`),
 * schemas with {@linkcode validate}, WebSocket subscriptions with consumer
 * groups, fanout, debatching, reconnection with backoff and jitter, a
 * bounded buffer with an overflow policy, JWT minting for front ends, and
 * {@linkcode StreamSeaPubSub}, the adapter to the library's `PubSub`
 * contract.
 *
 * Web platform only (`fetch`, `WebSocket`, WebCrypto): it loads in
 * browsers and edge functions. The subscription WebSocket's frames alone,
 * for writing a server, a fake or a proxy, are `@x/pubsub/streamsea/wire`.
 *
 * @example Define, subscribe, publish
 * ```ts ignore
 * import { StreamSeaClient } from "@x/pubsub/streamsea";
 *
 * const client = new StreamSeaClient({ remoteHost: "localhost", remotePort: 3104, clientId: "abc", clientSecret: "def123" });
 * await client.defineStream({ name: "boiler_data", version: 1, fields: [{ name: "temperature", type: "integer" }] });
 * const sub = client.subscribe("boiler_data", { fanout: true });
 * await sub.ready;
 * await client.publish("boiler_data", { temperature: 80 }, { validate: true });
 * for await (const msg of sub) {
 *   console.log(msg.payload); // { temperature: 80 }
 *   break;
 * }
 * await client.close();
 * ```
 *
 * @module
 */

export { type StreamSeaPayloadFormat, StreamSeaPubSub, type StreamSeaPubSubOptions } from "./adapter.ts";
export type { ReconnectOptions } from "../core/backoff.ts";
export { type MessageFactory, StreamSeaClient, type StreamSeaClientOptions } from "./client.ts";
export type { BasicCredentials, CredentialOptions, JwtCredentials } from "./codec.ts";
export { SchemaValidationError, StreamSeaError } from "./errors.ts";
export type { FilterExpression } from "./filter.ts";
export {
  defineStream,
  describeStream,
  getSchemaVersionsVector,
  publish,
  type PublishRequestOptions,
  type RequestOptions,
  setJwtPublicKey,
  type StreamSeaConnectionOptions,
} from "./http.ts";
export { createStreamSeaJwt, type StreamSeaJwtClaims } from "./jwt.ts";
export { StreamSeaMessage, type StreamSeaMessageInit } from "./message.ts";
export {
  checkSchemaDefinition,
  type EnumSchemaField,
  FieldType,
  formatStreamSeaDate,
  isSchemaDefinition,
  isStreamSeaDate,
  type ObjectSchemaField,
  type PlainFieldType,
  type PlainSchemaField,
  type SchemaDefinition,
  type SchemaField,
  type SchemaViolation,
  validate,
  type ValidateOptions,
} from "./schema.ts";
export type { StreamSeaSubscribeOptions } from "./subscription.ts";
