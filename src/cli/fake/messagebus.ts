/**
 * `pubsub fake messagebus`: {@linkcode FakeMessageBus} as a standalone
 * server, with its admin actions and `--log` lines.
 *
 * @module
 */

import { type BusMessage, type DataPacket, MessageType } from "../../messagebus/wire.ts";
import {
  type FakeAuthentication,
  type FakeFeedConfig,
  FakeMessageBus,
  type FakeMessageBusEvent,
  type FakeMessageBusOptions,
} from "../../testing/messagebus/mod.ts";
import { choiceOption, intOption, type ParsedArgs, stringOption, UsageError } from "../args.ts";
import { AdminBody, AdminError } from "./admin_body.ts";
import { FAKE_HELP } from "./fake_help.ts";
import { type FakeLog, preview } from "./fake_log.ts";
import { hostOption, listenPort, urlHost } from "./listen.ts";
import type { FakeSystem, RunningFake } from "./running_fake.ts";

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(MessageType).map(([name, code]) => [code, name]),
);

/**
 * Parses `name:password` pairs, several to a value when separated by commas.
 *
 * @param values The `--users` values.
 * @returns The user → password table.
 * @throws {UsageError} On a pair without a colon or with an empty name.
 */
export function parseUsers(values: readonly string[]): Record<string, string> {
  const users: Record<string, string> = {};
  for (const value of values) {
    for (const pair of value.split(",")) {
      const colon = pair.indexOf(":");
      if (colon <= 0) {
        throw new UsageError(`Option --users takes name:password pairs, got ${JSON.stringify(pair.trim())}`);
      }
      users[pair.slice(0, colon).trim()] = pair.slice(colon + 1);
    }
  }
  return users;
}

/**
 * Parses `FEED=user1,user2` role options into per-feed lists.
 *
 * @param feeds The table to fill.
 * @param role The role.
 * @param values The option's values.
 * @throws {UsageError} On a value without `=` or an empty feed.
 */
function parseRoles(
  feeds: Record<string, FakeFeedConfig>,
  role: "publishers" | "subscribers" | "authorizers",
  values: readonly string[],
): void {
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new UsageError(`Option --${role} takes FEED=user1,user2, got ${JSON.stringify(value)}`);
    const feed = value.slice(0, eq);
    const users = value.slice(eq + 1).split(",").map((u) => u.trim()).filter((u) => u !== "");
    const config = feeds[feed] ??= {};
    config[role] = [...(config[role] ?? []), ...users];
  }
}

function describeMessage(m: BusMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { type: TYPE_NAMES[m.type] ?? m.type };
  for (const [k, v] of Object.entries(m)) {
    if (k === "type") continue;
    if (k === "packets") {
      out.packets = v === null ? null : (v as readonly DataPacket[]).map((p) => ({
        entitlements: p.entitlements === null ? null : [...p.entitlements],
        ...(p.data === null ? { bytes: 0 } : preview(p.data)),
      }));
    } else if (v instanceof Set) out[k] = [...v];
    else out[k] = v;
  }
  return out;
}

function logEvent(log: FakeLog, e: FakeMessageBusEvent): void {
  if (e.type === "login-failed") log.line({ kind: "login-failed" });
  else if (e.type === "message") {
    log.line({ kind: "frame", client: e.client.id, user: e.client.user, ...describeMessage(e.message) });
  } else log.line({ kind: e.type, client: e.client.id, user: e.client.user });
}

function packetsOf(body: AdminBody): DataPacket[] {
  const raw = body.fields.packets;
  if (raw === undefined) {
    const entitlements = entitlementsOf(body.fields.entitlements, "entitlements");
    return [{ entitlements, data: body.payload() }];
  }
  if (!Array.isArray(raw)) throw new AdminError('"packets" must be an array');
  return raw.map((p, i) => {
    const packet = new AdminBody(p);
    return {
      entitlements: entitlementsOf(packet.fields.entitlements, `packets[${i}].entitlements`),
      data: packet.payload(),
    };
  });
}

function entitlementsOf(raw: unknown, name: string): ReadonlySet<number> | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw) || !raw.every((n) => Number.isSafeInteger(n) && n >= -(2 ** 31) && n < 2 ** 31)) {
    throw new AdminError(`"${name}" must be an array of 32-bit integers`);
  }
  return raw.length === 0 ? null : new Set(raw as number[]);
}

/** `pubsub fake messagebus`. */
export const messagebus: FakeSystem = {
  help: FAKE_HELP.messagebus,
  options: {
    users: { type: "string", short: "u", multiple: true },
    "jwt-secret": { type: "string" },
    dialect: { type: "string" },
    "image-field": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    publishers: { type: "string", multiple: true },
    subscribers: { type: "string", multiple: true },
    authorizers: { type: "string", multiple: true },
    "require-authorization": { type: "string", multiple: true },
    heartbeat: { type: "string" },
    "on-auth-failure": { type: "string" },
    "host-name": { type: "string" },
  },

  async start(parsed: ParsedArgs, log: FakeLog): Promise<RunningFake> {
    const hostname = hostOption(parsed);
    const users = parseUsers(parsed.values.get("users") ?? []);
    const jwtSecret = stringOption(parsed, "jwt-secret");
    if (Object.keys(users).length > 0 && jwtSecret !== undefined) {
      throw new UsageError("Options --users and --jwt-secret exclude each other: the server has one authenticator");
    }
    if (jwtSecret === "") throw new UsageError("Option --jwt-secret must not be empty");
    const authentication: FakeAuthentication = jwtSecret !== undefined
      ? { kind: "jwt", secret: jwtSecret }
      : Object.keys(users).length > 0
      ? { kind: "password", users }
      : { kind: "none" };
    const dialect = choiceOption(parsed, "dialect", ["v3", "v4"] as const) ?? "v3";
    const imageField = choiceOption(parsed, "image-field", ["bool", "contentType"] as const) ?? "bool";
    const certFile = stringOption(parsed, "tls-cert");
    const keyFile = stringOption(parsed, "tls-key");
    if ((certFile === undefined) !== (keyFile === undefined)) {
      throw new UsageError("Options --tls-cert and --tls-key go together");
    }
    const tls = certFile !== undefined && keyFile !== undefined
      ? { cert: await Deno.readTextFile(certFile), key: await Deno.readTextFile(keyFile) }
      : undefined;
    const feeds: Record<string, FakeFeedConfig> = {};
    for (const role of ["publishers", "subscribers", "authorizers"] as const) {
      parseRoles(feeds, role, parsed.values.get(role) ?? []);
    }
    let everyFeed = false;
    for (const feed of parsed.values.get("require-authorization") ?? []) {
      if (feed === "*") everyFeed = true;
      else (feeds[feed] ??= {}).isAuthorizationRequired = true;
    }
    const options: FakeMessageBusOptions = {
      hostname,
      port: listenPort(parsed),
      auth: dialect,
      imageField,
      authentication,
      isAuthorizationRequired: everyFeed,
      feeds,
      heartbeatIntervalMs: intOption(parsed, "heartbeat", 1),
      onAuthFailure: choiceOption(parsed, "on-auth-failure", ["stall", "close"] as const),
      hostName: stringOption(parsed, "host-name"),
      observer: log.enabled ? (e) => logEvent(log, e) : undefined,
      ...(tls === undefined ? {} : { tls }),
    };
    let server = await FakeMessageBus.start(options);
    const port = server.port;
    // A restart listens on the same port, even when the first start took a free one.
    const again: FakeMessageBusOptions = { ...options, port };

    const query = new URLSearchParams();
    if (dialect === "v4") query.set("auth", "v4");
    if (imageField === "contentType") query.set("imageField", "contentType");
    const first = Object.entries(users)[0];
    const userInfo = first === undefined ? "" : `${encodeURIComponent(first[0])}:${encodeURIComponent(first[1])}@`;
    const q = query.size > 0 ? `?${query}` : "";
    const url = `messagebus${tls ? "+tls" : ""}://${userInfo}${urlHost(server.hostname)}:${port}${q}`;
    const info: Record<string, unknown> = {
      url,
      host: server.hostname,
      port,
      tls: tls !== undefined,
      dialect,
      imageField,
      authentication: authentication.kind,
      ...(authentication.kind === "password" ? { users } : {}),
      ...(authentication.kind === "jwt" ? { jwtSecret } : {}),
      ...(Object.keys(feeds).length > 0 ? { feeds } : {}),
      ...(everyFeed ? { authorizationRequired: true } : {}),
    };
    const who = authentication.kind === "password"
      ? `users ${Object.keys(users).join(", ")}`
      : authentication.kind === "jwt"
      ? "JWT (HMAC secret)"
      : "no authentication";
    const summary = `${url.replace(/\/\/[^@/]*@/, "//")} (${tls ? "TLS" : "TCP"}, credentials ${dialect}, ` +
      `image field ${imageField}, ${who})`;

    return {
      info,
      summary,
      lists: {
        clients: () => server.clients,
        subscriptions: () => server.subscriptions,
      },
      actions: {
        publish: (body) => {
          const sent = server.publish(body.string("feed"), body.string("topic"), packetsOf(body), {
            isImage: body.optionalBoolean("isImage"),
            contentType: body.optionalString("contentType"),
            user: body.optionalString("user"),
            host: body.optionalString("host"),
          });
          return Promise.resolve({ sent });
        },
        kill: (body) => {
          const client = body.optionalString("client");
          if (client !== undefined) return Promise.resolve({ killed: server.disconnect(client) ? 1 : 0 });
          const killed = server.clients.length;
          server.dropConnections();
          return Promise.resolve({ killed });
        },
        restart: async () => {
          await server.close();
          server = await FakeMessageBus.start(again);
          return { restarted: true, port: server.port };
        },
      },
      stop: () => server.close(),
    };
  },
};
