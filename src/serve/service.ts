/**
 * `serve()`: runs every route of a configuration, the health and metrics
 * listener, and the drain.
 *
 * @module
 */

import type { ServeConfig, SourceConfig } from "./config.ts";
import { ConfigError } from "./config_error.ts";
import { healthApp } from "./health_app.ts";
import { renderMetrics, type RouteSample } from "./metrics.ts";
import type { Opener } from "../cli/context.ts";
import { Route } from "./route.ts";
import type { RouteStats, RouteStatus } from "./route_status.ts";
import { loadTransform, type TransformFactory } from "./transform.ts";

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /** Opens the routes' URLs; default the library's `open()`. */
  open?: Opener | undefined;
  /** Where log lines go (one line each, no newline); default stderr. */
  log?: ((line: string) => void) | undefined;
  /** Overrides the configuration's `listen`: `{ hostname, port }`, or `false` for no listener. */
  listen?: { hostname: string; port: number } | false | undefined;
  /** Overrides the configuration's `drainTimeoutMs`. */
  drainTimeoutMs?: number | undefined;
}

/** A running service. */
export interface Service {
  /** The listener's base URL (`http://127.0.0.1:9464`), when there is one. */
  readonly url: string | undefined;
  /** Resolves once every route has been running (connected and subscribed) at least once. */
  readonly started: Promise<void>;
  /** Whether {@linkcode Service.drain} was called. */
  readonly draining: boolean;
  /** Each route's counters and status, by name. */
  routes(): { name: string; stats: Readonly<RouteStats>; status: RouteStatus }[];
  /** The `/metrics` page. */
  metrics(): Promise<string>;
  /**
   * Stops taking messages, finishes (or, past the deadline, naks) what is in
   * flight, closes every connection and the listener. Safe to call twice.
   *
   * @returns When everything is closed.
   */
  drain(): Promise<void>;
  /** Calls `drain()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * What a source can share among replicas, one line for the start-up log;
 * `warn` when the configuration asks for more replicas than the source
 * can share with.
 *
 * @param from The route's source.
 * @param replicas How many replicas the configuration says run.
 * @returns The line, and whether it is a warning.
 */
export function sharingNote(from: SourceConfig, replicas: number): { line: string; warn: boolean } {
  const unsettled = "it does not settle: what a replica holds when it dies is lost";
  switch (from.system) {
    case "nats":
      return from.jetstream
        ? {
          line: `replicas share the JetStream durable consumer "${from.group}" (a dead replica's unacked messages ` +
            `go to the others after the ack wait)`,
          warn: false,
        }
        : { line: `replicas share the NATS queue group "${from.group}"; core NATS ${unsettled}`, warn: false };
    case "streamsea":
      return { line: `replicas share the stream-sea group "${from.group}"; stream-sea ${unsettled}`, warn: false };
    case "mdb":
      return from.settles
        ? {
          line: "replicas share the MDB user's durable consumer (every replica must use the same certificate)",
          warn: false,
        }
        : {
          line: "replicas share the MDB user's durable consumer, but ack=auto acks before forwarding: add " +
            "?ack=manual to the URL for at-least-once",
          warn: true,
        };
    case "memory":
      return { line: "the in-process broker is this process's own: nothing is shared", warn: replicas > 1 };
    default:
      return replicas > 1
        ? {
          line: `${from.system} has no consumer groups: this is a one-replica route, yet replicas is ${replicas}: ` +
            `each replica would forward every message (${replicas} copies). Run it in one replica only`,
          warn: true,
        }
        : { line: `${from.system} has no consumer groups: this is a one-replica route`, warn: false };
  }
}

function defaultLog(line: string): void {
  console.error(`pubsub serve: ${line}`);
}

async function defaultOpen(url: string, options?: Parameters<Opener>[1]) {
  const { open } = await import("../open.ts");
  return await open(url, options);
}

/**
 * Runs a configuration: loads the transforms, logs how each route's source
 * shares its work among replicas (a warning where it cannot), starts the
 * listener, and starts every route (each reconnects by itself after a
 * failure). Returns at once; `started` tells when every route runs.
 *
 * @example Two routes through an in-process broker
 * ```ts
 * import { parseConfig, serve } from "@x/pubsub/serve";
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const broker = new MemoryPubSub();
 * const config = parseConfig(`{
 *   "listen": false,
 *   "routes": [{ "name": "copy", "from": { "url": "memory:", "topic": "in" }, "to": { "url": "memory:", "topic": "out" } }]
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
 * @param config The configuration, from `parseConfig()`.
 * @param options Opener, logger, listener and drain overrides.
 * @returns The running service.
 * @throws {ConfigError} When a transform cannot be loaded (with its line).
 */
export async function serve(config: ServeConfig, options: ServeOptions = {}): Promise<Service> {
  const log = options.log ?? defaultLog;
  const open = options.open ?? defaultOpen;
  const factories = new Map<string, TransformFactory>();
  for (const r of config.routes) {
    if (r.transform === undefined) continue;
    try {
      factories.set(r.name, await loadTransform(r.transform.specifier));
    } catch (err) {
      throw new ConfigError(config.file, r.transform.line, 1, `routes: ${r.name}: ${(err as Error).message}`);
    }
  }
  const routes = config.routes.map((c) => new Route(c, { open, log, transform: factories.get(c.name) }));
  for (const r of routes) {
    const c = r.config;
    const note = sharingNote(c.from, config.replicas);
    log(`route ${c.name}: ${c.from.display} ${c.from.topic} -> ${c.to.display} ${c.to.topic.source}`);
    log(`route ${c.name}: ${note.warn ? "WARNING: " : ""}${note.line}`);
  }
  let draining = false;
  let drained: Promise<void> | undefined;
  const samples = async (): Promise<RouteSample[]> =>
    await Promise.all(routes.map(async (r) => ({
      name: r.config.name,
      stats: r.stats,
      status: r.status,
      source: await r.sourceInfo(),
    })));
  const metrics = async () => renderMetrics(await samples(), draining);
  const listen = options.listen ?? config.listen;
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  let url: string | undefined;
  if (listen !== undefined && listen !== false) {
    const app = healthApp({
      readiness: () => routes.map((r) => ({ name: r.config.name, notReady: r.status.notReady })),
      metrics,
    });
    server = Deno.serve({ hostname: listen.hostname, port: listen.port, onListen: () => {} }, app.fetch);
    const host = server.addr.hostname.includes(":") ? `[${server.addr.hostname}]` : server.addr.hostname;
    url = `http://${host}:${server.addr.port}`;
    log(`listening on ${url} (/healthz /readyz /metrics)`);
  }
  for (const r of routes) r.start();
  const started = Promise.all(routes.map((r) => r.started)).then(() => {
    if (!draining) log(`ready: ${routes.length} route${routes.length === 1 ? "" : "s"} running`);
  });
  const drainTimeoutMs = options.drainTimeoutMs ?? config.drainTimeoutMs;
  const drain = (): Promise<void> => {
    drained ??= (async () => {
      draining = true;
      const t0 = performance.now();
      const nakedBefore = routes.reduce((n, r) => n + r.stats.naked, 0);
      log(`draining (deadline ${drainTimeoutMs} ms)`);
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), drainTimeoutMs);
      try {
        await Promise.all(routes.map((r) => r.drain(deadline.signal)));
      } finally {
        clearTimeout(timer);
        await server?.shutdown();
      }
      const late = deadline.signal.aborted ? " (deadline passed: what was left was nak'd)" : "";
      const inFlight = routes.reduce((n, r) => n + r.status.inFlight, 0);
      const handedBack = routes.reduce((n, r) => n + r.stats.naked, 0) - nakedBefore;
      log(
        `drained in ${
          Math.round(performance.now() - t0)
        } ms${late}; ${handedBack} handed back (nak), ${inFlight} left in flight`,
      );
    })();
    return drained;
  };
  return {
    url,
    started,
    get draining() {
      return draining;
    },
    routes: () => routes.map((r) => ({ name: r.config.name, stats: r.stats, status: r.status })),
    metrics,
    drain,
    [Symbol.asyncDispose]: drain,
  };
}
