/**
 * Starts and stops a real `nats-server` on free loopback ports, for tests.
 *
 * @module
 */

import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  type User,
} from "@nats-io/jwt";
import type { KeyPair } from "@nats-io/nkeys";
import { delay } from "../../core/async.ts";
import { freePorts, readLog, waitServerReady } from "./server_ready.ts";
import { stopProcess } from "./stop_process.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Finds the `nats-server` executable: the first one on `PATH`, else
 * `/usr/sbin/nats-server`.
 *
 * @example
 * ```ts
 * import { natsServerPath } from "@x/pubsub/testing/nats";
 *
 * console.log(natsServerPath() ?? "nats-server is not installed");
 * ```
 *
 * @returns Its path, or `undefined` when there is none.
 */
export function natsServerPath(): string | undefined {
  let path = "";
  try {
    path = Deno.env.get("PATH") ?? "";
  } catch { /* no env permission: only the fixed location is tried */ }
  const dirs = [...path.split(":").filter((d) => d !== ""), "/usr/sbin", "/usr/local/sbin"];
  for (const dir of dirs) {
    const candidate = `${dir.replace(/\/+$/, "")}/nats-server`;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return candidate;
    } catch { /* not there */ }
  }
  return undefined;
}

/**
 * For tests: tells why tests needing `nats-server` should be skipped.
 *
 * Returns a one-line reason when the executable is missing, and `undefined`
 * when it is there. Under `CI=true` a missing server is an error instead, so
 * CI never passes by skipping.
 *
 * @example Skipping a test
 * ```ts
 * import { natsServerSkipReason } from "@x/pubsub/testing/nats";
 *
 * const skip = natsServerSkipReason();
 * Deno.test({ name: "publish() reaches a subscriber", ignore: skip !== undefined, fn() {} });
 * if (skip !== undefined) console.log(skip);
 * ```
 *
 * @returns The reason, or `undefined` when the server can run.
 * @throws {Error} When the server is missing and the `CI` variable is `"true"`.
 */
export function natsServerSkipReason(): string | undefined {
  if (natsServerPath() !== undefined) return undefined;
  let ci: string | undefined;
  try {
    ci = Deno.env.get("CI");
  } catch { /* no env permission */ }
  if (ci === "true") {
    throw new Error("Finding nats-server failed: it is not on PATH nor in /usr/sbin, and CI=true forbids skipping");
  }
  return "nats-server is not on PATH nor in /usr/sbin: skipping tests that need a real server";
}

/** Options of {@linkcode NatsServer.start}. */
export interface NatsServerOptions {
  /** Enable JetStream, with its store in a temp dir removed on `stop()` (unless `storeDir`). Default true. */
  jetstream?: boolean | undefined;
  /** Listen for WebSocket clients too (plain `ws://`, 127.0.0.1, a free port). Default true. */
  websocket?: boolean | undefined;
  /**
   * Run in operator mode: a generated operator, a system account and one data
   * account (JetStream enabled, no limits) preloaded in a memory resolver.
   * Users are minted with {@linkcode NatsServer.mintUser}. Default false.
   */
  operator?: boolean | undefined;
  /** Keep the JetStream store in this directory (not removed on `stop()`), to share it across instances. */
  storeDir?: string | undefined;
  /**
   * Require TLS with this certificate and key (PEM files) on the client port
   * and, when on, the WebSocket port (then `wss://`).
   */
  tls?: { certFile: string; keyFile: string } | undefined;
}

/** Options of {@linkcode NatsServer.restart}. */
export interface RestartOptions {
  /** How the process is stopped: `"SIGTERM"` (default, a graceful shutdown) or `"SIGKILL"` (a crash). */
  signal?: "SIGTERM" | "SIGKILL" | undefined;
  /** Awaited between the stop and the start, to keep the server down until something happened. */
  whileDown?: (() => Promise<void>) | undefined;
}

/** What {@linkcode NatsServer.mintUser} takes. */
export interface MintUserOptions {
  /** The user's name (the JWT's `name`). */
  name: string;
  /** Mark it a bearer token: the server then accepts the JWT without a nonce signature. */
  bearer?: boolean | undefined;
  /** Let it expire this many seconds from now. Default: never. */
  expiresInSeconds?: number | undefined;
  /** Subjects it may publish to (default: all). */
  pub?: string[] | undefined;
  /** Subjects it may subscribe to (default: all). */
  sub?: string[] | undefined;
}

interface OperatorKeys {
  readonly account: KeyPair;
  readonly accountPublicKey: string;
  readonly config: string;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

async function makeOperator(): Promise<OperatorKeys> {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const systemPublicKey = system.getPublicKey();
  const accountPublicKey = account.getPublicKey();
  const operatorJwt = await encodeOperator("test-operator", operator, { system_account: systemPublicKey });
  const systemJwt = await encodeAccount("SYS", system, {}, { signer: operator });
  const accountJwt = await encodeAccount("DATA", account, {
    limits: {
      conn: -1,
      leaf: -1,
      imports: -1,
      exports: -1,
      wildcards: true,
      subs: -1,
      data: -1,
      payload: -1,
      mem_storage: -1,
      disk_storage: -1,
      streams: -1,
      consumer: -1,
    },
  }, { signer: operator });
  const config = [
    `operator: ${quote(operatorJwt)}`,
    `system_account: ${quote(systemPublicKey)}`,
    `resolver: MEMORY`,
    `resolver_preload: {`,
    `  ${systemPublicKey}: ${quote(systemJwt)}`,
    `  ${accountPublicKey}: ${quote(accountJwt)}`,
    `}`,
  ].join("\n");
  return { account, accountPublicKey, config };
}

/**
 * A real `nats-server` process on free loopback ports, for tests: JetStream
 * in a temp store and a plain WebSocket listener by default, operator mode on
 * request. Its configuration and log live in a temp dir removed by `stop()`.
 *
 * @example
 * ```ts ignore
 * import { NatsServer } from "@x/pubsub/testing/nats";
 *
 * const server = await NatsServer.start();
 * console.log(server.url, server.wsUrl); // nats://127.0.0.1:… ws://127.0.0.1:…
 * await server.stop();
 * ```
 */
export class NatsServer {
  /** The client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** The WebSocket URL, `ws://127.0.0.1:<port>` (`wss://` with `tls`), when `websocket` is on. */
  readonly wsUrl: string | undefined;
  /** The client port. */
  readonly port: number;
  /** The WebSocket port, when `websocket` is on. */
  readonly wsPort: number | undefined;
  /** In operator mode, the data account's public key (users are minted into it). */
  readonly accountPublicKey: string | undefined;
  /** Where the server writes its log (removed on `stop()`). */
  readonly logFile: string;
  /** The HTTP monitoring URL, `http://127.0.0.1:<port>` (`/connz`, `/jsz`, ...). */
  readonly monitorUrl: string;

  readonly #exe: string;
  readonly #dir: string;
  readonly #configFile: string;
  readonly #account: KeyPair | undefined;
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;
  #admin: { jwt: string; seed: Uint8Array } | undefined;
  #stopped = false;

  private constructor(init: {
    exe: string;
    dir: string;
    configFile: string;
    port: number;
    wsPort: number | undefined;
    monitorPort: number;
    operator: OperatorKeys | undefined;
    tls: boolean;
  }) {
    this.#exe = init.exe;
    this.#dir = init.dir;
    this.#configFile = init.configFile;
    this.#account = init.operator?.account;
    this.accountPublicKey = init.operator?.accountPublicKey;
    this.port = init.port;
    this.wsPort = init.wsPort;
    this.url = `nats://127.0.0.1:${init.port}`;
    this.wsUrl = init.wsPort === undefined ? undefined : `${init.tls ? "wss" : "ws"}://127.0.0.1:${init.wsPort}`;
    this.logFile = `${init.dir}/nats-server.log`;
    this.monitorUrl = `http://127.0.0.1:${init.monitorPort}`;
  }

  /**
   * Writes a config, starts the server and waits until it accepts connections.
   *
   * @param options JetStream, WebSocket, operator mode, store location.
   * @returns The running server.
   * @throws {Error} When nats-server is missing, rejects the config, or is not ready within 15 s.
   */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const exe = natsServerPath();
    if (exe === undefined) throw new Error("Starting nats-server failed: it is not on PATH nor in /usr/sbin");
    const jetstream = options.jetstream ?? true;
    const websocket = options.websocket ?? true;
    const operator = options.operator === true ? await makeOperator() : undefined;
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = await Deno.makeTempDir({ prefix: "x-pubsub-nats-" });
      const [port, monitorPort, ws] = freePorts(websocket ? 3 : 2) as [number, number, number?];
      const wsPort = websocket ? ws : undefined;
      const storeDir = options.storeDir ?? `${dir}/jetstream`;
      const lines = [
        `listen: "127.0.0.1:${port}"`,
        `server_name: "test_${port}"`,
        `log_file: ${quote(`${dir}/nats-server.log`)}`,
        `pid_file: ${quote(`${dir}/nats-server.pid`)}`,
        `http: "127.0.0.1:${monitorPort}"`,
      ];
      if (jetstream) lines.push(`jetstream: { store_dir: ${quote(storeDir)} }`);
      const tls = options.tls === undefined
        ? undefined
        : `tls: { cert_file: ${quote(options.tls.certFile)}, key_file: ${quote(options.tls.keyFile)} }`;
      if (tls !== undefined) lines.push(tls);
      if (wsPort !== undefined) {
        lines.push(`websocket: { listen: "127.0.0.1:${wsPort}", ${tls ?? "no_tls: true"} }`);
      }
      if (operator !== undefined) lines.push(operator.config);
      const configFile = `${dir}/nats-server.conf`;
      await Deno.writeTextFile(configFile, lines.join("\n") + "\n");
      const server = new NatsServer({
        exe,
        dir,
        configFile,
        port,
        wsPort,
        monitorPort,
        operator,
        tls: options.tls !== undefined,
      });
      try {
        await server.#launch();
        return server;
      } catch (err) {
        lastError = err;
        await server.stop();
        if (!String((err as Error).message).includes("address already in use")) break;
      }
    }
    throw lastError;
  }

  /**
   * The path of the generated configuration file (removed on `stop()`).
   *
   * @returns The path.
   */
  get configFile(): string {
    return this.#configFile;
  }

  async #launch(): Promise<void> {
    const child = new Deno.Command(this.#exe, {
      args: ["-c", this.#configFile],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const stderr = new Response(child.stderr).text();
    const exited = child.status.then(async (status) => {
      await stderr.catch(() => "");
      return status;
    });
    this.#exited = exited;
    let done: Deno.CommandStatus | undefined;
    void exited.then((s) => done = s);
    await waitServerReady({
      name: "nats-server",
      logFile: this.logFile,
      ports: [this.port, ...(this.wsPort === undefined ? [] : [this.wsPort])],
      timeoutMs: 15_000,
      exited: async () => {
        if (done === undefined) return undefined;
        const log = await readLog(this.logFile);
        const err = await stderr.catch(() => "");
        return ` with code ${done.code}: ${(err + "\n" + log).trim().slice(-800)}`;
      },
    });
  }

  async #kill(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    this.#child = undefined;
    this.#exited = undefined;
    if (child === undefined || exited === undefined) return;
    try {
      child.kill("SIGCONT"); // a paused server handles the signal only once running
    } catch { /* already gone */ }
    await stopProcess(child, exited, signal);
  }

  /**
   * Signs a user JWT for the data account (operator mode only).
   *
   * @param options Name, bearer flag, expiry and subject permissions.
   * @returns The JWT and the user's nkey seed (as a string, `SU…`).
   * @throws {Error} When the server is not in operator mode.
   * @throws {RangeError} When `expiresInSeconds` is not a positive number.
   */
  async mintUser(options: MintUserOptions): Promise<{ jwt: string; seed: string }> {
    const account = this.#account;
    if (account === undefined) throw new Error("Minting a user failed: the server is not in operator mode");
    const user = createUser();
    const claims: Partial<User> = {};
    if (options.bearer === true) claims.bearer_token = true;
    if (options.pub !== undefined) claims.pub = { allow: options.pub };
    if (options.sub !== undefined) claims.sub = { allow: options.sub };
    const opts: { exp?: number } = {};
    if (options.expiresInSeconds !== undefined) {
      if (!(options.expiresInSeconds > 0)) {
        throw new RangeError(`Minting a user failed: expiresInSeconds ${options.expiresInSeconds} is not positive`);
      }
      opts.exp = Math.floor(Date.now() / 1000 + options.expiresInSeconds);
    }
    const jwt = await encodeUser(options.name, user, account, claims, opts);
    return { jwt, seed: decoder.decode(user.getSeed()) };
  }

  /**
   * Credentials of an admin user (non-bearer, no limits) of the data account,
   * minted once per server (operator mode only). Pass them to nats.js
   * `jwtAuthenticator(jwt, seed)`.
   *
   * @returns The JWT and the nkey seed as bytes.
   * @throws {Error} When the server is not in operator mode.
   */
  async adminCredentials(): Promise<{ jwt: string; seed: Uint8Array }> {
    if (this.#admin === undefined) {
      const { jwt, seed } = await this.mintUser({ name: "admin" });
      this.#admin = { jwt, seed: encoder.encode(seed) };
    }
    return this.#admin;
  }

  /**
   * Freezes the process (SIGSTOP): connections stay open, but nothing is
   * read, answered or confirmed until {@linkcode NatsServer.resume}.
   *
   * @returns Once the process is stopped (on Linux, its state says so).
   * @throws {Error} When the server is not running.
   */
  async pause(): Promise<void> {
    const child = this.#child;
    if (child === undefined) throw new Error("Pausing nats-server failed: it is not running");
    child.kill("SIGSTOP");
    // The signal takes effect when the process is next scheduled: wait until it has.
    for (let i = 0; i < 200; i++) {
      let stat: string;
      try {
        stat = await Deno.readTextFile(`/proc/${child.pid}/stat`);
      } catch {
        return; // no procfs: the signal is on its way
      }
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "T" || state === "t") return;
      await delay(5);
    }
  }

  /**
   * Lets a paused process run again (SIGCONT).
   *
   * @throws {Error} When the server is not running.
   */
  resume(): void {
    if (this.#child === undefined) throw new Error("Resuming nats-server failed: it is not running");
    this.#child.kill("SIGCONT");
  }

  /**
   * Stops the process (gracefully by default) and starts it again on the
   * same ports with the same store; waits until it accepts connections.
   *
   * @param options `signal`: how the process is stopped: `"SIGTERM"` (default, a graceful shutdown: the server
   *   tells waiting pull requests "409 Server Shutdown") or `"SIGKILL"` (nothing is sent); `whileDown`: awaited
   *   between the stop and the start, to keep the server down until something happened.
   * @returns When the server is ready again.
   * @throws {Error} When the server was stopped, or does not come back.
   */
  async restart(options: RestartOptions = {}): Promise<void> {
    if (this.#stopped) throw new Error("Restarting nats-server failed: it was stopped");
    await this.#kill(options.signal);
    await options.whileDown?.();
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await this.#launch();
        return;
      } catch (err) {
        lastError = err;
        await this.#kill();
        await delay(100);
      }
    }
    throw lastError;
  }

  /**
   * Kills the process (SIGTERM, then SIGKILL after 10 s), awaits its exit and
   * removes the temp dir (and the temp store; a given `storeDir` is kept).
   *
   * @returns When everything is released.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#kill();
    try {
      await Deno.remove(this.#dir, { recursive: true });
    } catch { /* already removed */ }
  }

  /** Calls {@linkcode NatsServer.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
