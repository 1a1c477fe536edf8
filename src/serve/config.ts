/**
 * The `pubsub serve` configuration: JSON with comments, read into checked
 * routes. Every mistake is refused with its line and the reason.
 *
 * @module
 */

import { type JsoncArray, type JsoncNode, JsoncSyntaxError, parseJsonc, plainValue } from "./jsonc.ts";
import { ConfigError } from "./config_error.ts";
import { type ConfigContext, endpoint, expand } from "./config_endpoint.ts";
import { Fields, kind, Place } from "./config_fields.ts";
import { compileTopicTemplate, type TopicTemplate } from "./topic_template.ts";

/** Where a route reads or writes: a system opened by URL. */
export interface EndpointConfig {
  /** The URL to open, with the environment's values in place (holds secrets: never print it). */
  readonly url: string;
  /** The URL as written in the file (`${VAR}` references shown, never their values). */
  readonly display: string;
  /** NATS only: every server of the cluster, when the file lists several URLs. */
  readonly servers: readonly string[] | undefined;
  /** The system the URL's scheme picks (`nats`, `mdb`, `streamsea`, ...). */
  readonly system: string;
  /** NATS: whether the URL asks for JetStream. */
  readonly jetstream: boolean;
  /** Whether messages from it can be settled (JetStream, MDB with `ack=manual`, `memory:?settle`). */
  readonly settles: boolean;
  /** The line of the URL in the file. */
  readonly line: number;
}

/** A route's source. */
export interface SourceConfig extends EndpointConfig {
  /** The topic or pattern, in the source's wildcard syntax. */
  readonly topic: string;
  /** The group the replicas share: JetStream durable consumer, NATS queue group, stream-sea group. */
  readonly group: string;
  /** How many messages are fetched ahead of the route (a pull source's read-ahead, a push source's buffer). */
  readonly highWaterMark: number;
  /** The separator of the source's topics, for `{N}` in templates. */
  readonly separator: string;
  /**
   * JetStream consumer options (`deliver`, `ackWaitMs`, `maxDeliver`, `stream`, `expiresMs`, `confirmAcks`;
   * `confirmAcks` is true unless the file says `false`).
   */
  readonly consumer: Readonly<Record<string, unknown>>;
}

/** A route's target (or dead-letter target). */
export interface TargetConfig extends EndpointConfig {
  /** The target topic, built from the source topic. */
  readonly topic: TopicTemplate;
}

/** A route's transform module. */
export interface TransformConfig {
  /** The module, resolved against the file's directory. */
  readonly specifier: string;
  /** What the file says under `transform.options`, handed to the factory. */
  readonly options: unknown;
  /** The line of the transform in the file. */
  readonly line: number;
}

/** How failed publishes are retried before the message is dead-lettered or nak'd. */
export interface RetryConfig {
  /** Publish attempts per output, the first included. */
  readonly attempts: number;
  /** The wait before the first retry; doubled each time. */
  readonly delayMs: number;
  /** The longest wait between two attempts. */
  readonly maxDelayMs: number;
}

/** One route: a source topic into a target. */
export interface RouteConfig {
  /** Its name: metrics label, log prefix and default group. */
  readonly name: string;
  /** The line where the route starts. */
  readonly line: number;
  /** Where it reads. */
  readonly from: SourceConfig;
  /** Where it publishes. */
  readonly to: TargetConfig;
  /** Where messages the target refuses (or the transform fails on) go, if anywhere. */
  readonly deadLetter: TargetConfig | undefined;
  /** The transform, if any. */
  readonly transform: TransformConfig | undefined;
  /** Source messages being forwarded at once, at most. */
  readonly maxInFlight: number;
  /** The retry policy. */
  readonly retry: RetryConfig;
  /** The redelivery delay asked of the source for a nak'd message. */
  readonly nakDelayMs: number;
}

/** The whole configuration. */
export interface ServeConfig {
  /** The file, as given (for messages). */
  readonly file: string;
  /** How many copies of this configuration run (checked against what each source can share). */
  readonly replicas: number;
  /** Where the health and metrics listener binds (`hostname`, `port`), or `undefined` for none. */
  readonly listen: { readonly hostname: string; readonly port: number } | undefined;
  /** How long a drain may take after SIGTERM or SIGINT. */
  readonly drainTimeoutMs: number;
  /** The routes. */
  readonly routes: readonly RouteConfig[];
}

/** What {@linkcode parseConfig} needs besides the text. */
export interface ParseConfigOptions {
  /** The file name shown in errors; its directory resolves relative transform paths. */
  file?: string | undefined;
  /** The directory relative transform paths are resolved against, as a `file:` URL. Default: the file's. */
  baseUrl?: string | URL | undefined;
  /** Reads an environment variable; default `Deno.env.get`. */
  env?: ((name: string) => string | undefined) | undefined;
}

/** The listener's default address: loopback, the port OpenTelemetry's Prometheus exporter uses. */
export const DEFAULT_LISTEN = "127.0.0.1:9464";

const ROUTE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const NATS_CONSUMER_KEYS = ["deliver", "ackWaitMs", "maxDeliver", "stream", "expiresMs", "confirmAcks"] as const;

function template(ctx: ConfigContext, f: Fields, key: string, separator: string, fallback?: string): TopicTemplate {
  const s = f.string(key, fallback === undefined);
  const text = s?.value ?? fallback!;
  try {
    return compileTopicTemplate(text, separator);
  } catch (err) {
    return ctx.place.fail(s?.node ?? f.node, f.path(key), (err as Error).message);
  }
}

function source(
  ctx: ConfigContext,
  node: JsoncNode,
  path: string,
  routeName: string,
  maxInFlight: number,
): SourceConfig {
  const f = new Fields(node, path, ctx.place);
  const ep = endpoint(ctx, f, path);
  const topic = f.string("topic", true).value;
  const groupField = f.string("group");
  const group = groupField?.value ?? routeName;
  if (!ROUTE_NAME.test(group)) {
    ctx.place.fail(groupField!.node, f.path("group"), "must be letters, digits, - and _ (at most 64)");
  }
  const highWaterMark = f.integer("highWaterMark", 1, 100_000, maxInFlight);
  const consumer: Record<string, unknown> = {};
  // A bridge waits for the server's confirmation of each ack (and sends it again if none comes): fewer copies when a
  // node stops.
  if (ep.jetstream) consumer.confirmAcks = true;
  for (const key of NATS_CONSUMER_KEYS) {
    const n = f.get(key);
    if (n === undefined) continue;
    if (!ep.jetstream) {
      ctx.place.fail(n, f.path(key), "is a JetStream consumer option: the URL must ask for JetStream (?jetstream)");
    }
    if (key === "stream") consumer.stream = f.string(key)!.value;
    else if (key === "confirmAcks") {
      if (n.type !== "boolean") ctx.place.fail(n, f.path(key), `must be true or false, not ${kind(n)}`);
      consumer.confirmAcks = n.value;
    } else if (key === "deliver") {
      const v = plainValue(n);
      const ok = v === "all" || v === "new" || v === "last" || v === "last-per-subject" ||
        (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 &&
          ((Number.isInteger((v as { sequence?: unknown }).sequence) && (v as { sequence: number }).sequence >= 1) ||
            (typeof (v as { time?: unknown }).time === "string" &&
              !isNaN(Date.parse((v as { time: string }).time)))));
      if (!ok) {
        ctx.place.fail(
          n,
          f.path(key),
          'must be "all", "new", "last", "last-per-subject", {"sequence": N} or {"time": ISO}',
        );
      }
      const t = (v as { time?: string }).time;
      consumer.deliver = typeof t === "string" ? { time: new Date(t) } : v;
    } else if (key === "maxDeliver") consumer.maxDeliver = f.integer(key, -1, 1_000_000, -1);
    else consumer[key] = f.integer(key, 1, 86_400_000, 0);
  }
  f.done();
  return { ...ep, topic, group, highWaterMark, separator: ep.system === "nats" ? "." : "/", consumer };
}

function target(ctx: ConfigContext, node: JsoncNode, path: string, separator: string, fallbackUrl?: EndpointConfig) {
  const f = new Fields(node, path, ctx.place);
  const ep = fallbackUrl !== undefined && f.get("url") === undefined ? fallbackUrl : endpoint(ctx, f, path);
  const topic = template(ctx, f, "topic", separator, fallbackUrl === undefined ? "{topic}" : undefined);
  f.done();
  return { ...ep, topic };
}

function transformConfig(ctx: ConfigContext, node: JsoncNode, path: string): TransformConfig {
  let specifier: string;
  let options: unknown;
  if (node.type === "string") {
    specifier = node.value as string;
  } else {
    const f = new Fields(node, path, ctx.place);
    specifier = f.string("module", true).value;
    const o = f.get("options");
    options = o === undefined ? undefined : plainValue(o);
    f.done();
  }
  if (specifier === "") ctx.place.fail(node, path, "must name a module");
  let resolved: string;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(specifier) && !/^[A-Za-z]:[\\/]/.test(specifier)) {
    resolved = specifier; // file:, https:, npm:, jsr:
  } else if (ctx.baseUrl === undefined) {
    ctx.place.fail(node, path, "a relative module path needs the configuration's file");
  } else {
    resolved = new URL(specifier, ctx.baseUrl).href;
  }
  return { specifier: resolved, options, line: node.line };
}

function route(ctx: ConfigContext, node: JsoncNode, path: string): RouteConfig {
  const f = new Fields(node, path, ctx.place);
  const nameField = f.string("name", true);
  if (!ROUTE_NAME.test(nameField.value)) {
    ctx.place.fail(nameField.node, f.path("name"), "must be letters, digits, - and _ (at most 64)");
  }
  const name = nameField.value;
  const maxInFlight = f.integer("maxInFlight", 1, 10_000, 16);
  const from = source(ctx, f.require("from"), f.path("from"), name, maxInFlight);
  const to = target(ctx, f.require("to"), f.path("to"), from.separator);
  const dl = f.get("deadLetter");
  const deadLetter = dl === undefined ? undefined : target(ctx, dl, f.path("deadLetter"), from.separator, to);
  const t = f.get("transform");
  const transform = t === undefined ? undefined : transformConfig(ctx, t, f.path("transform"));
  let retry: RetryConfig = { attempts: 3, delayMs: 200, maxDelayMs: 5_000 };
  const r = f.get("retry");
  if (r !== undefined) {
    const rf = new Fields(r, f.path("retry"), ctx.place);
    const delayMs = rf.integer("delayMs", 0, 3_600_000, retry.delayMs);
    retry = {
      attempts: rf.integer("attempts", 1, 1000, retry.attempts),
      delayMs,
      maxDelayMs: rf.integer("maxDelayMs", delayMs, 3_600_000, Math.max(delayMs, retry.maxDelayMs)),
    };
    rf.done();
  }
  const nakDelayMs = f.integer("nakDelayMs", 0, 3_600_000, 1_000);
  f.done();
  return { name, line: f.node.line, from, to, deadLetter, transform, maxInFlight, retry, nakDelayMs };
}

function listenAddress(ctx: ConfigContext, node: JsoncNode | undefined, fallback: string) {
  if (node !== undefined && node.type === "boolean" && node.value === false) return undefined;
  if (node !== undefined && node.type !== "string") {
    ctx.place.fail(node, "listen", `must be "host:port" or false, not ${kind(node)}`);
  }
  const raw = node === undefined ? fallback : expand(
    node.value as string,
    ctx.env,
    (reason) => ctx.place.fail(node, "listen", reason),
  );
  return parseListen(raw, (reason) => ctx.place.fail(node ?? { line: 1, column: 1 }, "listen", reason));
}

/**
 * Reads `host:port` (`[::1]:9464` for IPv6; port 0 picks a free one).
 *
 * @param text The address.
 * @param fail Called with the reason when it is not one.
 * @returns The host name and port.
 */
export function parseListen(text: string, fail: (reason: string) => never): { hostname: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (m === null || Number(m[2]) > 65535) fail(`${JSON.stringify(text)} is not host:port`);
  return { hostname: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

function defaultEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Reads a configuration: JSON with comments and trailing commas.
 *
 * ```jsonc
 * {
 *   "replicas": 3,                 // how many copies of this file run
 *   "listen": "127.0.0.1:9464",    // /healthz, /readyz, /metrics (false: none)
 *   "drainTimeoutMs": 10000,
 *   "routes": [{
 *     "name": "orders",
 *     "from": { "url": "nats://${NATS_TOKEN}@nats:4222?jetstream", "topic": "orders.>", "deliver": "all" },
 *     "to": { "url": "streamsea+wss://sea.example", "topic": "orders" },
 *     "transform": "./enrich.ts",
 *     "maxInFlight": 32,
 *     "retry": { "attempts": 5, "delayMs": 200, "maxDelayMs": 5000 },
 *     "deadLetter": { "topic": "orders-refused" }
 *   }]
 * }
 * ```
 *
 * `${NAME}` anywhere in a URL or in `listen` is the environment variable's
 * value; passwords, tokens and secret query parameters must be written that
 * way (a secret written in the file is refused).
 *
 * @param text The file's text.
 * @param options File name, base URL for transforms, environment.
 * @returns The checked configuration.
 * @throws {ConfigError} With the line, column and reason of the first mistake.
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): ServeConfig {
  const file = options.file ?? "<config>";
  const place = new Place(file);
  let baseUrl = options.baseUrl;
  if (baseUrl === undefined && options.file !== undefined) {
    try {
      baseUrl = new URL(".", new URL(options.file, `file://${Deno.cwd()}/`));
    } catch { /* no cwd access: relative transforms are refused */ }
  }
  const ctx: ConfigContext = { place, env: options.env ?? defaultEnv, baseUrl };
  let root: JsoncNode;
  try {
    root = parseJsonc(text);
  } catch (err) {
    if (err instanceof JsoncSyntaxError) throw new ConfigError(file, err.line, err.column, err.reason);
    throw err;
  }
  const f = new Fields(root, "", place);
  f.get("$schema");
  const replicas = f.integer("replicas", 1, 1000, 1);
  const listen = listenAddress(ctx, f.get("listen"), DEFAULT_LISTEN);
  const drainTimeoutMs = f.integer("drainTimeoutMs", 1, 3_600_000, 10_000);
  const routesNode = f.require("routes");
  if (routesNode.type !== "array" || routesNode.items.length === 0) {
    place.fail(routesNode, "routes", "must be a list of at least one route");
  }
  const routes: RouteConfig[] = [];
  const names = new Map<string, number>();
  (routesNode as JsoncArray).items.forEach((item, i) => {
    const r = route(ctx, item, `routes[${i}]`);
    const before = names.get(r.name);
    if (before !== undefined) {
      place.fail(
        item,
        `routes[${i}].name`,
        `${JSON.stringify(r.name)} is also the name of the route on line ${before}`,
      );
    }
    names.set(r.name, item.line);
    routes.push(r);
  });
  f.done();
  return { file, replicas, listen, drainTimeoutMs, routes };
}
