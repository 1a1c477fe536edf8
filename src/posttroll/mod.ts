/**
 * PostTroll (pytroll) over ZeroMQ, byte-compatible with Python posttroll
 * 1.16: the `pytroll://` message format, publishers that announce their
 * address, subscribers that find them through a nameserver and follow its
 * address feed, the nameserver itself, UDP multicast announcements, and
 * the CURVE-secured `secure_zmq` backend with a ZAP handler.
 *
 * Runs on Deno and Node (`npm:zeromq`, `node:dgram`).
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
export {
  AddressBroadcaster,
  type AddressBroadcasterOptions,
  announcement,
  type AnnouncementInit,
  getOwnIp,
} from "./broadcaster.ts";
export { type CurveCertificate, formatCertificate, isZ85Key, parseCertificate } from "./certificate.ts";
export {
  checkField,
  checkVersion,
  CURRENT_MESSAGE_VERSION,
  type DecodedFrame,
  decodeFrame,
  encodeData,
  encodeFrame,
  type FrameInit,
  frameText,
  isTruthy,
  MAGIC,
  type PosttrollMime,
  renderVersion,
} from "./codec.ts";
export {
  configFromEnv,
  configFromFiles,
  configPaths,
  DEFAULT_CONFIG,
  literalEval,
  type LiteralValue,
  type PosttrollBackend,
  type PosttrollConfig,
  type PosttrollConfigInit,
  resolveConfig,
} from "./config.ts";
export { type ConfigValue, parseConfigText } from "./config_file.ts";
export { parseIsoformat, PyDateTime, type PyDateTimeFields } from "./datetime.ts";
export {
  containsDatetime,
  floatRepr,
  pyDumps,
  type PyDumpsOptions,
  pyEntries,
  PyFloat,
  pyLoads,
  type PyLoadsOptions,
  pyQuote,
  type PyValue,
} from "./json.ts";
export { type GeneratedKeys, generateKeys, loadCertificate } from "./keys.ts";
export { encodeMessage, PosttrollMessage, type PosttrollMessageInit } from "./message.ts";
export { Nameserver, type NameserverOptions } from "./nameserver.ts";
export {
  type AddressEntry,
  getPubAddress,
  getPubAddresses,
  type GetPubAddressOptions,
  nameserverUrl,
} from "./nameserver_client.ts";
export {
  NoisyPublisher,
  type NoisyPublisherOptions,
  publish,
  Publisher,
  type PublisherInput,
  type PublisherOptions,
  type PublishFactoryOptions,
} from "./publisher.ts";
export { defaultSender } from "./sender.ts";
export {
  type AddressedSource,
  normalizeTopic,
  type PosttrollSubscribeOptions,
  PosttrollSubscription,
  subscribe,
} from "./subscriber.ts";

// The core types this entry's API refers to, so it documents on its own.
export { BasicMessage, type Message, type MessageInit } from "../core/message.ts";
export type {
  Capabilities,
  DeliveryGuarantee,
  PublishChunk,
  PublishData,
  PublishOptions,
  PublishReceipt,
  PubSub,
  SubscribeOptions,
  WritableOptions,
} from "../core/pubsub.ts";
export { StatusChannel, StatusEvent, type StatusType } from "../core/status.ts";
export {
  type OverflowPolicy,
  type PushController,
  type PushSource,
  type StreamOptions,
  Subscription,
} from "../core/subscription.ts";
