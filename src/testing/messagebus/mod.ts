/**
 * Test helpers for jetblack-messagebus: {@linkcode FakeMessageBus}, a
 * loopback server (TCP or TLS) that follows the server semantics of the
 * protocol spec, with password-file or JWT authentication in either
 * credential dialect.
 *
 * @example
 * ```ts ignore
 * import { FakeMessageBus } from "@x/pubsub/testing/messagebus";
 * import { MessageBusPubSub } from "@x/pubsub/messagebus";
 *
 * await using server = await FakeMessageBus.start();
 * const ps = await MessageBusPubSub.connect("127.0.0.1", server.port);
 * await ps.close();
 * ```
 *
 * @module
 */

export type {
  FakeAuthentication,
  FakeClientInfo,
  FakeFeedConfig,
  FakeMessageBusEvent,
  FakeMessageBusOptions,
  FakeMessageBusSubscription,
  FakePublishOptions,
} from "./options.ts";
export { FakeMessageBus } from "./fake_server.ts";
export type { BusMessage, DataPacket } from "../../messagebus/codec.ts";
