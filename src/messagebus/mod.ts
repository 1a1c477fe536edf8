/**
 * jetblack-messagebus over TCP or TLS: a client modelled on the Python
 * client 3.0.1 (`create`, `start`, handlers, `publish`, `send`,
 * `authorize`, subscriptions and notifications) with Web Streams beside the
 * handlers, and {@linkcode MessageBusPubSub}, the core contract's adapter.
 * The wire codec (for writing a peer, a fake or a proxy) is
 * `@x/pubsub/messagebus/wire`.
 *
 * The protocol has no acknowledgements: every promise here means "written
 * to the socket", except `ping()` and the login probe, which make a round
 * trip through the server.
 *
 * @example Subscribe, publish, read
 * ```ts ignore
 * import { MessageBusClient } from "@x/pubsub/messagebus";
 *
 * const client = await MessageBusClient.create("127.0.0.1", 9091);
 * await client.start();
 * const sub = client.subscribe("TEST", "FOO", { sync: true });
 * await sub.ready;
 * await client.publish("TEST", "FOO", false, [{ entitlements: null, data: new TextEncoder().encode("hi") }]);
 * for await (const msg of sub) {
 *   console.log(msg.user, msg.feed, msg.topic, msg.text());
 *   break;
 * }
 * await client.stop();
 * ```
 *
 * @module
 */

export {
  type Authenticator,
  type AuthenticatorOptions,
  BasicAuthenticator,
  TokenAuthenticator,
} from "./authenticator.ts";
export type { AuthDialect, DataPacket, ImageField } from "./codec.ts";
export type { Credentials } from "./credentials.ts";
export { MessageBusClient } from "./client.ts";
export type {
  AuthorizationHandler,
  DataHandler,
  MessageBusClientOptions,
  MessageBusStreamOptions,
  MessageBusTlsOptions,
  NotificationHandler,
  ReconnectOptions,
} from "./options.ts";
export { type AuthorizationRequestEvent, DataMessage, type DataMessageInit, type Notification } from "./message.ts";
export { MessageBusPubSub, type MessageBusPubSubOptions } from "./adapter.ts";
