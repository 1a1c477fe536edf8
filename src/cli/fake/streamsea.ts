/**
 * `pubsub fake streamsea`: {@linkcode FakeStreamSea} as a standalone server,
 * with its admin actions and `--log` lines.
 *
 * @module
 */

import {
  type FakeClient,
  type FakeFrameRecord,
  type FakeRequestRecord,
  FakeStreamSea,
  type FakeStreamSeaOptions,
  type FakeStreamSeaSettings,
} from "../../testing/streamsea/mod.ts";
import { choiceOption, intOption, type ParsedArgs, UsageError } from "../args.ts";
import { AdminError } from "./admin_body.ts";
import { FAKE_HELP } from "./fake_help.ts";
import { type FakeLog, previewJson } from "./fake_log.ts";
import { hostOption, listenPort, urlHost } from "./listen.ts";
import type { FakeSystem, RunningFake } from "./running_fake.ts";

const DEFAULT_CLIENT = { clientId: "abc", clientSecret: "def123", jailId: "some_jail" };

/**
 * Parses `id:secret[@jail]` accounts, several to a value when separated by commas.
 *
 * @param values The `--client` values.
 * @returns The accounts.
 * @throws {UsageError} On a value without a colon or with an empty id.
 */
export function parseClients(values: readonly string[]): { clientId: string; clientSecret: string; jailId: string }[] {
  const out = [];
  for (const value of values) {
    for (const item of value.split(",")) {
      const colon = item.indexOf(":");
      if (colon <= 0) throw new UsageError(`Option --client takes id:secret[@jail], got ${JSON.stringify(item)}`);
      const at = item.lastIndexOf("@");
      const secretEnd = at > colon ? at : item.length;
      const jailId = at > colon ? item.slice(at + 1) : "some_jail";
      if (jailId === "") throw new UsageError(`Option --client has an empty jail in ${JSON.stringify(item)}`);
      out.push({ clientId: item.slice(0, colon), clientSecret: item.slice(colon + 1, secretEnd), jailId });
    }
  }
  return out;
}

function logRequest(log: FakeLog, r: FakeRequestRecord): void {
  log.line({
    kind: "http",
    method: r.method,
    path: r.path,
    status: r.status,
    ...(r.contentEncoding === null ? {} : { contentEncoding: r.contentEncoding }),
    ...(r.body === undefined ? {} : { body: previewJson(r.body) }),
  });
}

function logFrame(log: FakeLog, f: FakeFrameRecord): void {
  let frame: unknown;
  try {
    frame = JSON.parse(f.text);
  } catch {
    log.line({ kind: "frame", connection: f.connection, text: previewJson(f.text) });
    return;
  }
  log.line({ kind: "frame", connection: f.connection, frame: previewJson(frame) });
}

/** The settings `POST /settings` may change, with the type each takes. */
const SETTING_TYPES: Readonly<Record<string, "string" | "number" | "boolean" | "number?">> = {
  replyAction: "string",
  defaultGroup: "string",
  batchDelivery: "string",
  publishWithoutSchema: "boolean",
  subscribeWithoutSchema: "boolean",
  mustFanout: "string",
  replyDelayMs: "number",
  refuseAuth: "boolean",
  killAfterMessages: "number?",
  killAfterMs: "number?",
  maxBodyBytes: "number",
};

function applySettings(settings: FakeStreamSeaSettings, fields: Readonly<Record<string, unknown>>): void {
  const changes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    const type = Object.hasOwn(SETTING_TYPES, k) ? SETTING_TYPES[k] : undefined;
    if (type === undefined) {
      throw new AdminError(`Unknown setting ${JSON.stringify(k)} (known: ${Object.keys(SETTING_TYPES).join(", ")})`);
    }
    const ok = type === "number?"
      ? v === null || (typeof v === "number" && Number.isSafeInteger(v) && v >= 0)
      : type === "number"
      ? typeof v === "number" && Number.isSafeInteger(v) && v >= 0
      : type === "boolean"
      ? typeof v === "boolean"
      : typeof v === "string";
    if (!ok) throw new AdminError(`Setting ${JSON.stringify(k)} must be ${type.replace("?", " or null")}`);
    changes[k] = v === null ? undefined : v;
  }
  Object.assign(settings, changes);
}

/** `pubsub fake streamsea`. */
export const streamsea: FakeSystem = {
  help: FAKE_HELP.streamsea,
  options: {
    client: { type: "string", short: "c", multiple: true },
    "jwt-key": { type: "string", multiple: true },
    "ping-interval": { type: "string" },
    "reply-action": { type: "string" },
    "default-group": { type: "string" },
    "batch-delivery": { type: "string" },
    "must-fanout": { type: "string" },
    "require-schema": { type: "boolean" },
    "max-body": { type: "string" },
  },

  async start(parsed: ParsedArgs, log: FakeLog): Promise<RunningFake> {
    const hostname = hostOption(parsed);
    const given = parseClients(parsed.values.get("client") ?? []);
    const accounts: FakeClient[] = given.length > 0 ? given : [{ ...DEFAULT_CLIENT }];
    for (const value of parsed.values.get("jwt-key") ?? []) {
      const eq = value.indexOf("=");
      const account = eq <= 0 ? undefined : accounts.find((a) => a.clientId === value.slice(0, eq));
      if (account === undefined) {
        throw new UsageError(
          `Option --jwt-key takes CLIENT=FILE for a client of --client, got ${JSON.stringify(value)}`,
        );
      }
      account.jwtPublicKey = await Deno.readTextFile(value.slice(eq + 1));
    }
    const requireSchema = parsed.flags.has("require-schema");
    const options: FakeStreamSeaOptions = {
      clients: accounts,
      pingIntervalSeconds: intOption(parsed, "ping-interval", 1),
      ...(requireSchema ? { publishWithoutSchema: false, subscribeWithoutSchema: false } : {}),
    };
    const replyAction = choiceOption(parsed, "reply-action", ["subscription", "subscribe"] as const);
    if (replyAction !== undefined) options.replyAction = replyAction;
    const defaultGroup = choiceOption(parsed, "default-group", ["per-client", "broadcast"] as const);
    if (defaultGroup !== undefined) options.defaultGroup = defaultGroup;
    const batchDelivery = choiceOption(parsed, "batch-delivery", ["whole", "split"] as const);
    if (batchDelivery !== undefined) options.batchDelivery = batchDelivery;
    const mustFanout = choiceOption(parsed, "must-fanout", ["reject", "force"] as const);
    if (mustFanout !== undefined) options.mustFanout = mustFanout;
    const maxBody = intOption(parsed, "max-body", 1);
    if (maxBody !== undefined) options.maxBodyBytes = maxBody;

    const fake = new FakeStreamSea(options);
    if (log.enabled) {
      fake.onRequest = (r) => logRequest(log, r);
      fake.onFrame = (f) => logFrame(log, f);
    }
    const serve = (port: number) =>
      Deno.serve({ hostname, port, onListen: () => {} }, (req) => fake.handler(req)) as Deno.HttpServer<Deno.NetAddr>;
    let server = serve(listenPort(parsed));
    const port = server.addr.port;
    const host = urlHost(hostname);
    const first = accounts[0]!;
    const url = `streamsea+ws://${encodeURIComponent(first.clientId)}:${encodeURIComponent(first.clientSecret)}@` +
      `${host}:${port}`;
    const info: Record<string, unknown> = {
      url,
      http: `http://${host}:${port}`,
      websocket: `ws://${host}:${port}/api/v1/streams`,
      host: hostname,
      port,
      clients: accounts.map((a) => ({
        clientId: a.clientId,
        clientSecret: a.clientSecret,
        jailId: a.jailId ?? "some_jail",
        ...(a.jwtPublicKey ? { jwt: true } : {}),
      })),
    };
    const summary = `http://${host}:${port} and ws://${host}:${port}/api/v1/streams (clients ${
      accounts.map((a) => a.clientId).join(", ")
    })`;

    return {
      info,
      summary,
      lists: {
        clients: () => fake.connections,
        subscriptions: () => fake.subscriptions,
        streams: () => {
          const streams = new Map<
            string,
            { jailId: string; stream: string; version: number | null; subscriptions: number }
          >();
          for (const { jailId, schema } of fake.schemas()) {
            streams.set(`${jailId}/${schema.name}`, {
              jailId,
              stream: schema.name,
              version: schema.version,
              subscriptions: 0,
            });
          }
          const jails = new Map(fake.connections.map((c) => [c.connection, c.jailId ?? ""]));
          for (const s of fake.subscriptions) {
            const jailId = jails.get(s.connection) ?? "";
            const key = `${jailId}/${s.stream}`;
            const entry = streams.get(key) ?? { jailId, stream: s.stream, version: null, subscriptions: 0 };
            entry.subscriptions++;
            streams.set(key, entry);
          }
          return [...streams.values()];
        },
        schemas: () => fake.schemas().map(({ jailId, schema }) => ({ jailId, ...schema })),
        settings: () => fake.settings,
      },
      actions: {
        publish: (body) => {
          const payload = body.fields.payload;
          const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
          if (!(isObject(payload) || (Array.isArray(payload) && payload.length > 0 && payload.every(isObject)))) {
            throw new AdminError('"payload" must be a JSON object, or a non-empty array of objects (a batch)');
          }
          const delivered = fake.publishLocal(
            body.string("stream"),
            payload,
            body.optionalString("jail") ?? "some_jail",
          );
          return Promise.resolve({ delivered });
        },
        kill: async (body) => {
          const code = body.optionalInt("code", 1000) ?? 1012;
          if (code > 4999) throw new AdminError('"code" must be a WebSocket close code (1000 to 4999)');
          const killed = fake.connectionCount;
          await fake.dropConnections(code);
          return { killed };
        },
        restart: async () => {
          await fake.dropConnections(1012);
          await server.shutdown();
          server = serve(port);
          return { restarted: true, port };
        },
        settings: (body) => {
          applySettings(fake.settings, body.fields);
          return Promise.resolve(fake.settings);
        },
      },
      stop: async () => {
        await fake.close();
        await server.shutdown();
      },
    };
  },
};
