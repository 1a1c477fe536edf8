/**
 * `pubsub fake httppubsub`: {@linkcode FakeBroadcaster} as a standalone
 * broadcaster (HTTP and WebSocket), with its admin actions and `--log` lines.
 *
 * @module
 */

import { concatBytes } from "../../core/bytes.ts";
import { authConfigFromSecrets, type AuthScheme, generateSecrets, type SecretsFile } from "../../httppubsub/auth.ts";
import { decodeNotifyResponse, encodeNotifyPrefix } from "../../httppubsub/wire.ts";
import { decodeS2B } from "../../httppubsub/wire.ts";
import { FakeBroadcaster } from "../../testing/httppubsub/fake_broadcaster.ts";
import type { FakeBroadcasterOptions } from "../../testing/httppubsub/fake_broadcaster_options.ts";
import type { FakeWebsocketPeer } from "../../testing/httppubsub/fake_websocket.ts";
import { intOption, type ParsedArgs, stringOption, UsageError } from "../args.ts";
import { AdminError } from "./admin_body.ts";
import { FAKE_HELP } from "./fake_help.ts";
import { type FakeLog, preview } from "./fake_log.ts";
import { hostOption, listenPort, urlHost } from "./listen.ts";
import type { FakeSystem, RunningFake } from "./running_fake.ts";

const SCHEMES = ["none", "token", "hmac"] as const;
const lossy = new TextDecoder();

function scheme(parsed: ParsedArgs, name: string): AuthScheme | undefined {
  const v = stringOption(parsed, name);
  if (v === undefined) return undefined;
  if (!(SCHEMES as readonly string[]).includes(v)) {
    throw new UsageError(`Option --${name} must be none, token or hmac, got ${JSON.stringify(v)}`);
  }
  return v as AuthScheme;
}

function schemeOf(secrets: SecretsFile, direction: "to-broadcaster" | "to-subscriber"): AuthScheme {
  return secrets[direction]?.type ?? "none";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * The secrets in force: read from `--secrets FILE` when it exists, else made
 * for the schemes asked for (and written to FILE, or to a temp file when any
 * direction has a secret).
 */
async function loadSecrets(
  parsed: ParsedArgs,
): Promise<{ secrets: SecretsFile; path: string | undefined; temp: string | undefined }> {
  const file = stringOption(parsed, "secrets");
  const toBroadcaster = scheme(parsed, "to-broadcaster");
  const toSubscriber = scheme(parsed, "to-subscriber");
  if (file !== undefined && await exists(file)) {
    let secrets: SecretsFile;
    try {
      secrets = JSON.parse(await Deno.readTextFile(file));
      authConfigFromSecrets(secrets);
    } catch (err) {
      throw new UsageError(`Option --secrets: ${file} is not a secrets file (${(err as Error).message})`);
    }
    for (const [given, direction] of [[toBroadcaster, "to-broadcaster"], [toSubscriber, "to-subscriber"]] as const) {
      if (given !== undefined && given !== schemeOf(secrets, direction)) {
        throw new UsageError(
          `Option --${direction} ${given} contradicts ${file}, which holds ${schemeOf(secrets, direction)}`,
        );
      }
    }
    return { secrets, path: file, temp: undefined };
  }
  const secrets = generateSecrets({ toBroadcaster: toBroadcaster ?? "none", toSubscriber: toSubscriber ?? "none" });
  const text = JSON.stringify(secrets, null, 2) + "\n";
  if (file !== undefined) {
    await Deno.writeTextFile(file, text, { mode: 0o600 });
    return { secrets, path: file, temp: undefined };
  }
  if (secrets["to-broadcaster"] === undefined && secrets["to-subscriber"] === undefined) {
    return { secrets, path: undefined, temp: undefined };
  }
  const temp = await Deno.makeTempDir({ prefix: "pubsub-fake-httppubsub-" });
  const path = `${temp}/subscriber-secrets.json`;
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  return { secrets, path, temp };
}

function describeFrame(frame: Uint8Array | string): Record<string, unknown> {
  if (typeof frame === "string") return { text: preview(new TextEncoder().encode(frame)) };
  let m;
  try {
    m = decodeS2B(frame);
  } catch (err) {
    return { bytes: frame.length, error: (err as Error).message };
  }
  const out: Record<string, unknown> = { type: m.type, bytes: frame.length };
  if ("topic" in m) out.topic = lossy.decode(m.topic);
  if ("glob" in m) out.glob = m.glob;
  if ("partId" in m) out.partId = m.partId;
  if (m.type === "notify-stream" && m.start !== undefined) {
    out.topic = lossy.decode(m.start.topic);
    out.length = m.start.length;
  }
  if (m.type === "confirm-receive") out.numSubscribers = m.numSubscribers;
  if (m.type === "notify" || m.type === "notify-stream") out.payload = preview(m.payload);
  return out;
}

/** `pubsub fake httppubsub`. */
export const httppubsub: FakeSystem = {
  help: FAKE_HELP.httppubsub,
  options: {
    "to-broadcaster": { type: "string" },
    "to-subscriber": { type: "string" },
    secrets: { type: "string" },
    "receive-timeout": { type: "string" },
    "missed-delay": { type: "string" },
    "missed-burst": { type: "string" },
    "max-message": { type: "string" },
  },

  async start(parsed: ParsedArgs, log: FakeLog): Promise<RunningFake> {
    const hostname = hostOption(parsed);
    const listenOn = listenPort(parsed);
    const { secrets, path, temp } = await loadSecrets(parsed);
    const { sendAuth, receiveAuth } = authConfigFromSecrets(secrets);
    const options: FakeBroadcasterOptions = { toBroadcasterAuth: sendAuth, toSubscriberAuth: receiveAuth };
    const receiveTimeout = intOption(parsed, "receive-timeout", 1);
    if (receiveTimeout !== undefined) options.receiveTimeoutMs = receiveTimeout;
    const missedDelay = intOption(parsed, "missed-delay", 0);
    if (missedDelay !== undefined) options.missedDelayMs = missedDelay;
    const missedBurst = intOption(parsed, "missed-burst", 1);
    if (missedBurst !== undefined) options.missedBurst = missedBurst;
    const maxMessage = intOption(parsed, "max-message", 0);
    if (maxMessage !== undefined) options.maxMessageBytes = maxMessage;
    if (log.enabled) {
      options.fetch = async (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        try {
          const res = await fetch(input, init);
          log.line({ kind: "http-out", method: init?.method ?? "GET", url, status: res.status });
          return res;
        } catch (err) {
          log.line({ kind: "http-out", method: init?.method ?? "GET", url, error: (err as Error).message });
          throw err;
        }
      };
    }
    const fake = new FakeBroadcaster(options);
    const peers = new WeakMap<FakeWebsocketPeer, number>();
    let peerCount = 0;
    const peerId = (peer: FakeWebsocketPeer) => {
      let n = peers.get(peer);
      if (n === undefined) peers.set(peer, n = ++peerCount);
      return n;
    };
    if (log.enabled) {
      fake.onFrame = (peer, frame) => log.line({ kind: "frame", peer: peerId(peer), ...describeFrame(frame) });
    }
    const handler = async (req: Request): Promise<Response> => {
      if (!log.enabled) return await fake.app.fetch(req);
      // Read before the fake answers: an upgraded request can no longer be read.
      const method = req.method;
      const path = new URL(req.url).pathname;
      const length = req.headers.get("content-length");
      const res = await fake.app.fetch(req);
      log.line({
        kind: "http",
        method,
        path,
        status: res.status,
        ...(length === null ? {} : { bytes: Number(length) }),
      });
      return res;
    };
    const serve = (port: number) =>
      Deno.serve({ hostname, port, onListen: () => {} }, handler) as Deno.HttpServer<Deno.NetAddr>;
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = serve(listenOn);
    } catch (err) {
      await fake.close();
      if (temp !== undefined) await Deno.remove(temp, { recursive: true }).catch(() => {});
      throw err;
    }
    const port = server.addr.port;
    const host = urlHost(hostname);
    const broadcaster = `http://${host}:${port}`;
    const toBroadcaster = schemeOf(secrets, "to-broadcaster");
    const toSubscriber = schemeOf(secrets, "to-subscriber");
    const token = secrets["to-broadcaster"]?.type === "token" ? secrets["to-broadcaster"].secret : undefined;
    const info: Record<string, unknown> = {
      url: `httppubsub+http://${token === undefined ? "" : `:${encodeURIComponent(token)}@`}${host}:${port}/`,
      broadcaster,
      websocket: `ws://${host}:${port}/v1/websocket`,
      host: hostname,
      port,
      toBroadcaster,
      toSubscriber,
      secrets: path ?? null,
      ...(toBroadcaster === "none" && toSubscriber === "none" ? {} : { credentials: secrets }),
    };
    const summary = `${broadcaster} (to-broadcaster ${toBroadcaster}, to-subscriber ${toSubscriber}` +
      `${path === undefined ? "" : `, secrets ${path}`})`;

    const websocketSubscriptions = () =>
      fake.websocketPeers.flatMap((p) => [
        ...[...p.exact.values()].map((t) => ({
          transport: "websocket",
          peer: peerId(p),
          kind: "exact",
          key: lossy.decode(t),
        })),
        ...[...p.globs.keys()].map((g) => ({ transport: "websocket", peer: peerId(p), kind: "glob", key: g })),
      ]);

    const closePeers = (code: number, reason: string) => {
      const peersNow = fake.websocketPeers;
      for (const p of peersNow) p.close(code, reason);
      return peersNow.length;
    };

    return {
      info,
      summary,
      lists: {
        clients: () => {
          const byUrl = new Map<string, number>();
          for (const s of fake.subscriptions()) byUrl.set(s.url, (byUrl.get(s.url) ?? 0) + 1);
          return [
            ...[...byUrl].map(([url, subscriptions]) => ({ transport: "http", url, subscriptions })),
            ...fake.websocketPeers.map((p) => ({
              transport: "websocket",
              peer: peerId(p),
              subscriptions: p.exact.size + p.globs.size,
              confirmed: p.confirmed,
            })),
          ];
        },
        subscriptions: () => [
          ...fake.subscriptions().map((s) => ({ transport: "http", ...s })),
          ...websocketSubscriptions(),
        ],
        stats: () => fake.stats,
      },
      actions: {
        publish: async (body) => {
          const data = body.payload();
          const topic = new TextEncoder().encode(body.string("topic"));
          const sha512 = new Uint8Array(await crypto.subtle.digest("SHA-512", data as Uint8Array<ArrayBuffer>));
          const identifier = crypto.getRandomValues(new Uint8Array(16));
          const tracing = new Uint8Array(0);
          const headers: Record<string, string> = { "content-type": "application/octet-stream" };
          const authorization = await sendAuth.authorize({ type: "notify", topic, identifier, sha512 }, tracing);
          if (authorization !== undefined) headers.authorization = authorization;
          const prefix = encodeNotifyPrefix({ topic, sha512, tracing, identifier, length: data.length });
          const res = await fake.app.fetch(
            new Request(`${broadcaster}/v1/notify`, { method: "POST", headers, body: concatBytes([prefix, data]) }),
          );
          if (!res.ok) {
            await res.body?.cancel();
            throw new Error(`The fake answered the notify with status ${res.status}`);
          }
          const answer = decodeNotifyResponse(new Uint8Array(await res.arrayBuffer()));
          return { notified: answer.subscribers };
        },
        kill: () => Promise.resolve({ killed: closePeers(1012, "killed by the admin endpoint") }),
        restart: async () => {
          closePeers(1012, "restarting");
          await server.shutdown();
          server = serve(port);
          return { restarted: true, port };
        },
        "fail-next": (body) => {
          const statuses = body.fields.statuses;
          if (
            !Array.isArray(statuses) ||
            !statuses.every((s) => Number.isSafeInteger(s) && (s as number) >= 200 && (s as number) <= 599)
          ) {
            throw new AdminError('"statuses" must be an array of HTTP statuses (200 to 599)');
          }
          fake.failNext(...statuses as number[]);
          return Promise.resolve({ queued: statuses.length });
        },
      },
      stop: async () => {
        await fake.close();
        await server.shutdown();
        if (temp !== undefined) await Deno.remove(temp, { recursive: true }).catch(() => {});
      },
    };
  },
};
