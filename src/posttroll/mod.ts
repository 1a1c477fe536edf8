/**
 * PostTroll (pytroll) over ZeroMQ, byte-compatible with Python posttroll
 * 1.16: the `pytroll://` message format, publishers that announce their
 * address, subscribers that find them through a nameserver and follow its
 * address feed, the nameserver itself, UDP multicast announcements, and
 * the CURVE-secured `secure_zmq` backend with a ZAP handler.
 *
 * Runs on Deno and Node (`npm:zeromq`, `node:dgram`). The wire format
 * alone (frames, Python's `json` and `datetime`, announcements,
 * certificate files) is `@x/pubsub/posttroll/wire`.
 *
 * @example Publish and subscribe through a nameserver
 * ```ts ignore
 * import { Nameserver, publish, subscribe } from "@x/pubsub/posttroll";
 *
 * await using ns = new Nameserver({ multicast: false });
 * await ns.start();
 * await using pub = await publish("a_service", { aliases: ["alias1"], nameservers: ["localhost"] });
 * const sub = subscribe({ services: "alias1", topics: "counter" });
 * await pub.send({ subject: "/counter", type: "info", data: "0" });
 * for await (const msg of sub) {
 *   console.log(msg.subject, msg.payload);
 *   break;
 * }
 * ```
 *
 * @example Encode and decode messages
 * ```ts
 * import { PosttrollMessage } from "@x/pubsub/posttroll";
 *
 * const frame = new PosttrollMessage({ subject: "/x/y", data: { k: [1, 2.5, null, true, "é"] } }).encode();
 * console.log(PosttrollMessage.decode(frame).payload); // { k: [ 1, 2.5, null, true, "é" ] }
 * ```
 *
 * @module
 */

export { PosttrollPubSub, type PosttrollPubSubOptions } from "./adapter.ts";
export { AddressBroadcaster, type AddressBroadcasterOptions } from "./broadcaster.ts";
export type { CurveCertificate } from "./certificate.ts";
export type { PosttrollMime } from "./codec.ts";
export { type PosttrollBackend, type PosttrollConfig, type PosttrollConfigInit, resolveConfig } from "./config.ts";
export { PyDateTime, type PyDateTimeFields } from "./datetime.ts";
export { pyEntries, PyFloat, type PyValue } from "./json.ts";
export { type GeneratedKeys, generateKeys, loadCertificate } from "./keys.ts";
export { PosttrollMessage, type PosttrollMessageInit } from "./message.ts";
export { Nameserver, type NameserverOptions } from "./nameserver.ts";
export { type AddressEntry, getPubAddress, getPubAddresses, type GetPubAddressOptions } from "./nameserver_client.ts";
export {
  NoisyPublisher,
  type NoisyPublisherOptions,
  publish,
  Publisher,
  type PublisherInput,
  type PublisherOptions,
  type PublishFactoryOptions,
} from "./publisher.ts";
export { type PosttrollSubscribeOptions, PosttrollSubscription, subscribe } from "./subscriber.ts";
export type { AddressedSource } from "./subscriber_source.ts";
