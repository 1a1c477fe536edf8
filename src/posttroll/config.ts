/**
 * PostTroll settings as the original reads them with donfig: YAML and JSON
 * config files, then the `POSTTROLL_*` environment variables (values through
 * a `literal_eval` subset), then options in code.
 *
 * @module
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { extname, join } from "node:path";
import process from "node:process";
import { grantedWithoutPrompt } from "../core/permissions.ts";
import { parseConfigText } from "./config_file.ts";

/** The two backends. */
export type PosttrollBackend = "unsecure_zmq" | "secure_zmq";

/** Every setting, as {@linkcode resolveConfig} returns it. */
export interface PosttrollConfig {
  /** `unsecure_zmq` (default) or `secure_zmq` (CURVE). */
  backend: PosttrollBackend;
  /** The version to send when a message does not set one; unset means automatic. */
  messageVersion: string | undefined;
  /** The nameserver's query port. Default 5557. */
  nameserverPort: number;
  /** The nameserver's CURVE query port. Default 5558. */
  secureNameserverPort: number;
  /** The multicast port and the no-multicast registration REP port. Default 21200. */
  broadcastPort: number;
  /** The nameserver's address change feed. Default 16543. */
  addressPublishPort: number;
  /** The multicast group. Default 225.0.0.212; `0.0.0.0` or `255.255.255.255` means broadcast. */
  mcGroup: string;
  /** The IPv4 address of the interface used to send and join multicast. */
  multicastInterface: string | undefined;
  /** The multicast TTL (`PYTROLL_MC_TTL`). Default 31. */
  mcTtl: number;
  /** The lowest port a publisher picks at random. Default 49152. */
  pubMinPort: number;
  /** One above the highest port a publisher picks at random. Default 65536. */
  pubMaxPort: number;
  /** ZMQ_TCP_KEEPALIVE for every socket (-1, 0 or 1), where set. */
  tcpKeepalive: number | undefined;
  /** ZMQ_TCP_KEEPALIVE_CNT for every socket, where set. */
  tcpKeepaliveCnt: number | undefined;
  /** ZMQ_TCP_KEEPALIVE_IDLE for every socket, where set. */
  tcpKeepaliveIdle: number | undefined;
  /** ZMQ_TCP_KEEPALIVE_INTVL for every socket, where set. */
  tcpKeepaliveIntvl: number | undefined;
  /** The certificate file holding the servers' key pair (CURVE). */
  serverSecretKeyFile: string | undefined;
  /** The directory of allowed clients' `*.key` files (CURVE). */
  clientsPublicKeysDirectory: string | undefined;
  /** The certificate file holding this client's key pair (CURVE). */
  clientSecretKeyFile: string | undefined;
  /** The certificate file holding the servers' public key (CURVE). */
  serverPublicKeyFile: string | undefined;
  /** IP addresses allowed to connect to servers (ZAP allow-list), where set. */
  authorizedClientAddresses: string[] | undefined;
}

/** Settings given in code: any subset of {@linkcode PosttrollConfig}. */
export type PosttrollConfigInit = { [K in keyof PosttrollConfig]?: PosttrollConfig[K] | undefined };

/** The defaults of Python posttroll. */
export const DEFAULT_CONFIG: Readonly<PosttrollConfig> = Object.freeze({
  backend: "unsecure_zmq",
  messageVersion: undefined,
  nameserverPort: 5557,
  secureNameserverPort: 5558,
  broadcastPort: 21200,
  addressPublishPort: 16543,
  mcGroup: "225.0.0.212",
  multicastInterface: undefined,
  mcTtl: 31,
  pubMinPort: 49152,
  pubMaxPort: 65536,
  tcpKeepalive: undefined,
  tcpKeepaliveCnt: undefined,
  tcpKeepaliveIdle: undefined,
  tcpKeepaliveIntvl: undefined,
  serverSecretKeyFile: undefined,
  clientsPublicKeysDirectory: undefined,
  clientSecretKeyFile: undefined,
  serverPublicKeyFile: undefined,
  authorizedClientAddresses: undefined,
});

/** A value as Python's `ast.literal_eval` reads it (ints, floats, strings, lists, booleans, None). */
export type LiteralValue = string | number | boolean | null | LiteralValue[];

/**
 * Reads an environment value as donfig does: `ast.literal_eval` when it
 * parses (this covers ints, floats, quoted strings, lists, tuples, `True`,
 * `False`, `None`), else the plain string.
 *
 * @example
 * ```ts
 * import { literalEval } from "./config.ts";
 *
 * console.log(literalEval("5557"), literalEval("['a', 'b']"), literalEval("secure_zmq")); // 5557 [ "a", "b" ] secure_zmq
 * ```
 *
 * @param text The raw value.
 * @returns The value.
 */
export function literalEval(text: string): LiteralValue {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (): LiteralValue => {
    ws();
    const c = text[i];
    if (c === "[" || c === "(") {
      const close = c === "[" ? "]" : ")";
      i++;
      const out: LiteralValue[] = [];
      ws();
      while (text[i] !== close) {
        out.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          ws();
        } else if (text[i] !== close) throw new SyntaxError("bad list");
      }
      i++;
      return out;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new SyntaxError("bad string");
      const s = text.slice(i + 1, end);
      if (s.includes("\\")) throw new SyntaxError("escapes are not supported");
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))/.exec(text.slice(i));
    if (m === null) throw new SyntaxError("not a literal");
    i += m[0].length;
    if (m[0] === "True") return true;
    if (m[0] === "False") return false;
    if (m[0] === "None") return null;
    return Number(m[0]);
  };
  try {
    const v = value();
    ws();
    if (i !== text.length) return text;
    return v;
  } catch {
    return text;
  }
}

/** The environment variable (lowercased key without the prefix) of each setting. */
const ENV_KEYS: Record<keyof PosttrollConfig, string> = {
  backend: "backend",
  messageVersion: "message_version",
  nameserverPort: "nameserver_port",
  secureNameserverPort: "secure_zmq_nameserver_port",
  broadcastPort: "broadcast_port",
  addressPublishPort: "address_publish_port",
  mcGroup: "mc_group",
  multicastInterface: "multicast_interface",
  mcTtl: "mc_ttl",
  pubMinPort: "pub_min_port",
  pubMaxPort: "pub_max_port",
  tcpKeepalive: "tcp_keepalive",
  tcpKeepaliveCnt: "tcp_keepalive_cnt",
  tcpKeepaliveIdle: "tcp_keepalive_idle",
  tcpKeepaliveIntvl: "tcp_keepalive_intvl",
  serverSecretKeyFile: "server_secret_key_file",
  clientsPublicKeysDirectory: "clients_public_keys_directory",
  clientSecretKeyFile: "client_secret_key_file",
  serverPublicKeyFile: "server_public_key_file",
  authorizedClientAddresses: "authorized_client_addresses",
};

const NUMERIC = new Set<keyof PosttrollConfig>([
  "nameserverPort",
  "secureNameserverPort",
  "broadcastPort",
  "addressPublishPort",
  "mcTtl",
  "pubMinPort",
  "pubMaxPort",
  "tcpKeepalive",
  "tcpKeepaliveCnt",
  "tcpKeepaliveIdle",
  "tcpKeepaliveIntvl",
]);

function readEnv(): Record<string, string | undefined> {
  try {
    return { ...process.env };
  } catch {
    return {};
  }
}

function check(key: keyof PosttrollConfig, value: unknown, source: string): unknown {
  if (value === undefined) return undefined;
  const what = `Reading the PostTroll setting ${key} from ${source}`;
  if (NUMERIC.has(key)) {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new TypeError(`${what} failed: ${JSON.stringify(value)} is not an integer`);
    }
    if (key !== "tcpKeepalive" && key.endsWith("Port") && (value < 0 || value > 65536)) {
      throw new RangeError(`${what} failed: ${value} is not a port number`);
    }
    return value;
  }
  if (key === "backend") {
    if (value !== "unsecure_zmq" && value !== "secure_zmq") {
      throw new TypeError(`${what} failed: ${JSON.stringify(value)} is not unsecure_zmq or secure_zmq`);
    }
    return value;
  }
  if (key === "authorizedClientAddresses") {
    // As in Python, a bare string is iterated character by character.
    if (typeof value === "string") return Array.from(value);
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
      throw new TypeError(`${what} failed: ${JSON.stringify(value)} is not a list of strings`);
    }
    return value;
  }
  if (typeof value !== "string") {
    if (typeof value === "number") return String(value);
    throw new TypeError(`${what} failed: ${JSON.stringify(value)} is not a string`);
  }
  return value;
}

/**
 * The settings from the environment, as Python posttroll reads them:
 * `POSTTROLL_<KEY>` for each key (e.g. `POSTTROLL_BACKEND`,
 * `POSTTROLL_NAMESERVER_PORT`, `POSTTROLL_TCP_KEEPALIVE_IDLE`), plus the
 * legacy `NAMESERVER_PORT`, `PYTROLL_MC_GROUP` and `PYTROLL_MC_TTL`.
 * Config files are read by {@linkcode configFromFiles}.
 *
 * @example
 * ```ts
 * import { configFromEnv } from "./config.ts";
 *
 * const cfg = configFromEnv({ POSTTROLL_BACKEND: "secure_zmq", POSTTROLL_TCP_KEEPALIVE: "1" });
 * console.log(cfg.backend, cfg.tcpKeepalive); // secure_zmq 1
 * ```
 *
 * @param env The variables; default this process's environment.
 * @returns The settings found (only those set).
 * @throws {TypeError} When a variable holds a value of the wrong type.
 */
export function configFromEnv(env: Record<string, string | undefined> = readEnv()): PosttrollConfigInit {
  const out: Record<string, unknown> = {};
  const legacy: [keyof PosttrollConfig, string][] = [
    ["nameserverPort", "NAMESERVER_PORT"],
    ["mcGroup", "PYTROLL_MC_GROUP"],
    ["mcTtl", "PYTROLL_MC_TTL"],
  ];
  for (const [key, name] of legacy) {
    const raw = env[name];
    if (raw !== undefined) out[key] = check(key, literalEval(raw), name);
  }
  for (const [key, suffix] of Object.entries(ENV_KEYS) as [keyof PosttrollConfig, string][]) {
    const name = `POSTTROLL_${suffix.toUpperCase()}`;
    const raw = env[name];
    if (raw !== undefined) out[key] = check(key, literalEval(raw), name);
  }
  return out as PosttrollConfigInit;
}

/**
 * Where Python posttroll (donfig) looks for config files, in order (later
 * ones win): `POSTTROLL_ROOT_CONFIG` or `/etc/posttroll`, `~/.config/posttroll`,
 * and the path in `POSTTROLL_CONFIG` when set. (Python also looks under its
 * installation prefixes, which have no counterpart here.)
 *
 * @example
 * ```ts
 * import { configPaths } from "./config.ts";
 *
 * console.log(configPaths({ POSTTROLL_CONFIG: "/opt/chain/posttroll.yaml" }).at(-1)); // /opt/chain/posttroll.yaml
 * ```
 *
 * @param env The environment; default this process's.
 * @returns The paths (files or directories).
 */
export function configPaths(env: Record<string, string | undefined> = readEnv()): string[] {
  const paths = [env.POSTTROLL_ROOT_CONFIG ?? "/etc/posttroll"];
  const home = env.HOME ?? safeHomedir();
  if (home !== undefined && home !== "") paths.push(join(home, ".config", "posttroll"));
  if (env.POSTTROLL_CONFIG !== undefined) paths.push(env.POSTTROLL_CONFIG);
  // As donfig: a path listed twice counts where it comes last.
  return paths.filter((p, i) => paths.lastIndexOf(p) === i);
}

function safeHomedir(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

/** The files a path stands for, as donfig lists them; unreadable paths give none. */
function configFiles(path: string): string[] {
  // A config lookup must never prompt: paths not already readable are skipped.
  if (!grantedWithoutPrompt({ name: "read", path })) return [];
  try {
    if (!statSync(path).isDirectory()) return [path];
    return readdirSync(path)
      .filter((name) => [".json", ".yaml", ".yml"].includes(extname(name).toLowerCase()))
      .map((name) => join(path, name))
      .sort();
  } catch {
    return [];
  }
}

/** The setting of each name a config file may use (`-` and `_` alike). */
const FILE_KEYS: ReadonlyMap<string, keyof PosttrollConfig> = new Map(
  (Object.entries(ENV_KEYS) as [keyof PosttrollConfig, string][])
    // Python reads the TTL from PYTROLL_MC_TTL only.
    .filter(([key]) => key !== "mcTtl")
    .flatMap(([key, name]) => [[name, key], [name.replaceAll("_", "-"), key]] as const),
);

/** Settings `resolveConfig` made: passed on (to a nameserver query, say), they are used as they are. */
const resolved = new WeakSet<object>();

/**
 * The settings in PostTroll's config files, as Python posttroll (donfig)
 * reads them: every `.yaml`, `.yml` and `.json` file of each directory (in
 * name order) or the file itself, each a YAML 1.1 mapping of setting names
 * (`backend`, `nameserver_port`, `tcp_keepalive`, ...; `-` and `_` alike) to
 * values (the YAML settings files use, see {@linkcode parseConfigText}, or
 * JSON); later files win. Paths that do not exist or cannot be read are
 * skipped (under Deno, paths without read permission too: it never prompts);
 * other keys are ignored.
 *
 * @example
 * ```ts
 * import { configFromFiles } from "./config.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/posttroll.yaml`, "backend: secure_zmq\nnameserver_port: 15557\n");
 * const cfg = configFromFiles([dir]);
 * console.log(cfg.backend, cfg.nameserverPort); // secure_zmq 15557
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @param paths Files or directories; default {@linkcode configPaths}.
 * @returns The settings found (only those set).
 * @throws {TypeError} When a file is not YAML, not a mapping, or holds a
 *   value of the wrong type (Python fails to import posttroll then).
 */
export function configFromFiles(paths: readonly string[] = configPaths()): PosttrollConfigInit {
  const out: Record<string, unknown> = {};
  for (const file of paths.flatMap(configFiles)) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue; // As donfig: a file that cannot be read is skipped.
    }
    let doc: unknown;
    try {
      doc = parseConfigText(text);
    } catch (err) {
      throw new TypeError(`Reading the PostTroll config file ${file} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== "object" || Array.isArray(doc)) {
      throw new TypeError(`Reading the PostTroll config file ${file} failed: the top level is not a mapping`);
    }
    for (const [name, value] of Object.entries(doc)) {
      const key = FILE_KEYS.get(name.toLowerCase());
      if (key === undefined || value === undefined) continue;
      out[key] = value === null ? undefined : check(key, value, file);
    }
  }
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out as PosttrollConfigInit;
}

/**
 * The settings in force, in Python posttroll's order: the defaults, then the
 * config files (YAML and JSON, as donfig reads them: `POSTTROLL_ROOT_CONFIG` or
 * `/etc/posttroll`, `~/.config/posttroll`, then `POSTTROLL_CONFIG`), then
 * the environment (`POSTTROLL_<KEY>`, read as `ast.literal_eval` reads
 * it), then `init` (keys set to `undefined` in `init` are ignored). Settings this
 * function returned are given back as they are (without `env` or `paths`).
 *
 * @example
 * ```ts
 * import { resolveConfig } from "@x/pubsub/posttroll";
 *
 * const cfg = resolveConfig({ nameserverPort: 15557 }, {}, []);
 * console.log(cfg.nameserverPort, cfg.broadcastPort); // 15557 21200
 * ```
 *
 * @param init Settings given in code.
 * @param env The environment; default this process's.
 * @param paths The config files and directories; default the ones above, as `env` names them.
 * @returns Every setting.
 * @throws {TypeError} When a setting has the wrong type or a config file is malformed.
 * @throws {RangeError} When a port is out of range.
 */
export function resolveConfig(
  init: PosttrollConfigInit = {},
  env?: Record<string, string | undefined>,
  paths?: readonly string[],
): PosttrollConfig {
  // Settings already resolved are not resolved again (no second reading of files and environment).
  if (env === undefined && paths === undefined && resolved.has(init)) return init as PosttrollConfig;
  const environment = env ?? readEnv();
  const out: Record<string, unknown> = {
    ...DEFAULT_CONFIG,
    ...configFromFiles(paths ?? configPaths(environment)),
    ...configFromEnv(environment),
  };
  for (const [key, value] of Object.entries(init)) {
    if (!(key in ENV_KEYS)) throw new TypeError(`Resolving the PostTroll settings failed: unknown setting ${key}`);
    if (value !== undefined) out[key] = check(key as keyof PosttrollConfig, value, "the options");
  }
  resolved.add(out);
  return out as unknown as PosttrollConfig;
}
