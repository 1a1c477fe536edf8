/**
 * `@x/pubsub`: one Web Streams API over five pub/sub systems.
 *
 * This entry holds the core contract every system implements: a
 * {@linkcode Subscription} is a `ReadableStream` of {@linkcode Message}s;
 * publishing is `publish()` or a `WritableStream`, so one system can be
 * piped into another. It loads in browsers and edge functions: no `node:`
 * or `Deno`-only code.
 *
 * @example Subscribe, publish, read
 * ```ts
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const ps = new MemoryPubSub();
 * const sub = ps.subscribe("greetings");
 * await ps.publish("greetings", "hello");
 * for await (const msg of sub) {
 *   console.log(msg.topic, msg.text()); // greetings hello
 *   break;
 * }
 * await ps.close();
 * ```
 *
 * @module
 */

export {
  AuthError,
  ClosedError,
  ConnectionError,
  OverflowError,
  ProtocolError,
  PubSubError,
  type PubSubErrorOptions,
  TimeoutError,
} from "./src/core/errors.ts";
export {
  BasicMessage,
  createMessage,
  isMessage,
  isSettleable,
  type Message,
  type MessageInit,
  type Settleable,
  type SettleableMessage,
} from "./src/core/message.ts";
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
} from "./src/core/pubsub.ts";
export { checkPublishData, type Publisher, publishWritable } from "./src/core/sink.ts";
export { StatusChannel, StatusEvent, type StatusType } from "./src/core/status.ts";
export {
  checkHighWaterMark,
  checkOverflow,
  OVERFLOW_POLICIES,
  type OverflowPolicy,
  type PullSource,
  type PushController,
  type PushOptions,
  type PushSource,
  type Source,
  type SourceContext,
  type StreamOptions,
  Subscription,
} from "./src/core/subscription.ts";
export { checkTopic, compileTopicPattern, isTopicPattern, matchTopic } from "./src/core/topic.ts";
export {
  ByteReader,
  ByteWriter,
  ChunkedReader,
  type ChunkedReaderOptions,
  NEED_MORE,
  type PrefixWidth,
  TruncatedInputError,
} from "./src/core/bytes.ts";
export { hasRawSockets, NoDelayWebSocket, type NoDelayWebSocketOptions } from "./src/core/no_delay_web_socket.ts";
export { isPausable, type PausableWebSocket, type WebSocketConstructor } from "./src/core/open_web_socket.ts";
export { WebSocketProtocolError } from "./src/core/websocket_codec.ts";
export {
  type Bridge,
  bridge,
  type BridgeOptions,
  type BridgeStats,
  type BridgeTarget,
  type BridgeTransformResult,
} from "./src/core/bridge.ts";
export {
  type EnvSource,
  open,
  type OpenHttpPubSubOptions,
  type OpenMdbOptions,
  type OpenMemoryOptions,
  type OpenMessageBusOptions,
  type OpenNatsOptions,
  type OpenOptions,
  type OpenPosttrollOptions,
  type OpenStreamSeaOptions,
} from "./src/open.ts";
