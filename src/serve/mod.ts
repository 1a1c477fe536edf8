/**
 * The bridge as a service (`pubsub serve --config FILE`): routes from a
 * JSON-with-comments file, each a source topic piped through an optional
 * transform into a target, with replicas sharing the work through the
 * sources' own consumer groups, retries and dead letters, a drain on
 * SIGTERM/SIGINT, `/healthz`, `/readyz` and `/metrics`, and W3C trace
 * context with OpenTelemetry spans. Deno only.
 *
 * Transform modules import their types from here:
 *
 * ```ts
 * import type { TransformFactory } from "@x/pubsub/serve";
 *
 * // Adds the route's name to every message, drops empty ones.
 * const enrich: TransformFactory = ({ route }) =>
 *   new TransformStream({
 *     transform(msg, out) {
 *       if (msg.data.length === 0) return;
 *       out.enqueue({ data: msg.data, headers: { "x-route": route } });
 *     },
 *   });
 * export default enrich;
 * ```
 *
 * @example Running a configuration in-process
 * ```ts
 * import { parseConfig, serve } from "@x/pubsub/serve";
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const broker = new MemoryPubSub();
 * const config = parseConfig(`{
 *   // no listener in this example
 *   "listen": false,
 *   "routes": [{ "name": "copy", "from": { "url": "memory:", "topic": "in" }, "to": { "url": "memory:", "topic": "out" } }],
 * }`);
 * const out = broker.subscribe("out");
 * const service = await serve(config, { open: () => Promise.resolve(broker), log: () => {} });
 * await service.started;
 * await broker.publish("in", "hello");
 * console.log((await out.getReader().read()).value?.text()); // hello
 * await service.drain();
 * await broker.close();
 * ```
 *
 * @module
 */

export { ConfigError } from "./config_error.ts";
export {
  type EndpointConfig,
  parseConfig,
  type ParseConfigOptions,
  type RetryConfig,
  type RouteConfig,
  type ServeConfig,
  type SourceConfig,
  type TargetConfig,
  type TransformConfig,
} from "./config.ts";
export type { TopicTemplate } from "./topic_template.ts";
export type { Opener, OpenerOptions } from "../cli/context.ts";
export type { RouteStats, RouteStatus } from "./route_status.ts";
export { serve, type ServeOptions, type Service } from "./service.ts";
export type { PublishInput, TransformContext, TransformFactory, TransformOutput } from "./transform.ts";
