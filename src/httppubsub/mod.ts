/**
 * httppubsub (the lonelypsp protocol of lonelypss / lonelypsc): subscribe
 * without holding a connection. The broadcaster POSTs each message to this
 * process's receiver, a Hono app you can mount anywhere; `notify()` posts to
 * one of several broadcasters with retries. Auth per direction: none, token
 * or HMAC-SHA512. Loads in browsers and edge functions (`bind: { type:
 * "serve" }` needs Deno at run time).
 *
 * The wire format (request and response bodies, authorization headers,
 * websocket frames) is in `@x/pubsub/httppubsub/wire`, for writing a peer, a
 * fake or a proxy.
 *
 * @example Subscribing and notifying
 * ```ts ignore
 * import { HttpPubSubClient, authConfigFromFile } from "@x/pubsub/httppubsub";
 *
 * const client = new HttpPubSubClient({
 *   broadcasters: [{ host: "http://127.0.0.1:3003" }],
 *   bind: { type: "serve", hostname: "127.0.0.1", port: 3002 },
 *   host: "http://127.0.0.1:3002#worker-1",
 *   ...(await authConfigFromFile("subscriber-secrets.json")),
 * });
 * const sub = client.subscribeGlob("orders/*");
 * await sub.ready;
 * for await (const msg of sub.withTimeout(5000)) {
 *   if (msg === null) continue; // nothing for 5 s
 *   console.log(msg.topic, msg.streamed ? await msg.bytes() : msg.text());
 * }
 * await client.close();
 * ```
 *
 * @module
 */

export { HttpPubSub, type HttpPubSubOptions, type HttpPubSubReceipt } from "./adapter.ts";
export {
  type AuthConfig,
  authConfigFromFile,
  authConfigFromSecrets,
  type AuthPair,
  type AuthResult,
  type AuthScheme,
  generateSecret,
  generateSecrets,
  hmacAuth,
  type HmacAuthOptions,
  noneAuth,
  type SecretEntry,
  type SecretsFile,
  setupSecrets,
  tokenAuth,
} from "./auth.ts";
export {
  type BindConfig,
  type BroadcasterConfig,
  HttpPubSubClient,
  type HttpPubSubClientOptions,
  type NotifyData,
  type NotifyOptions,
  type NotifyResult,
} from "./client.ts";
export type { AuthDocument } from "./auth_document.ts";
export { AmbiguousError, RefusedError, RetriesExhaustedError } from "./errors.ts";
export { escapeGlob, matchGlob } from "./glob.ts";
export { HttpPubSubMessage } from "./message.ts";
export type { ReceiverApp } from "./receiver.ts";
export { type HttpPubSubSubscribeOptions, HttpPubSubSubscription, MultiSubscription } from "./subscription.ts";
export { WebsocketPubSubClient, type WebsocketPubSubClientOptions } from "./websocket_client.ts";
