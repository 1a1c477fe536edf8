// `pubsub serve` replicas as separate processes, for the NATS tests and the benchmark (not a test file): each is
// `deno run src/cli/mod.ts serve --config FILE --listen 127.0.0.1:0`; its stderr is read as it comes, so tests wait
// for its lines (events), and its /metrics is parsed.
import type { NatsPubSub } from "../../src/nats/tcp.ts";

const ENTRY = new URL("../../src/cli/mod.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** One `pubsub serve` process. */
export class Replica {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  stderr = "";
  /** The listener's URL, once it logged it. */
  url = "";
  readonly #stderrDone: Promise<void>;
  readonly #waiters = new Set<() => void>();
  readonly status: Promise<Deno.CommandStatus>;

  constructor(name: string, configFile: string, env: Record<string, string> = {}) {
    this.name = name;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "--config",
        CONFIG,
        ENTRY,
        "serve",
        "--config",
        configFile,
        "--listen",
        "127.0.0.1:0",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    this.child = child;
    this.status = child.status;
    this.#stderrDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += chunk;
        for (const w of [...this.#waiters]) w();
      }
      for (const w of [...this.#waiters]) w();
    })();
  }

  /** Resolves once stderr matches; rejects when the process ended without it, or after `ms`. */
  async waitFor(pattern: RegExp, ms = 60_000): Promise<RegExpExecArray> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let exited = false;
    void this.status.then(() => exited = true);
    try {
      return await new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(this.stderr);
          if (m !== null) {
            this.#waiters.delete(check);
            resolve(m);
          } else if (exited) {
            this.#waiters.delete(check);
            reject(new Error(`${this.name} exited before its stderr matched ${pattern}:\n${this.stderr}`));
          }
        };
        this.#waiters.add(check);
        void this.#stderrDone.then(check);
        timer = setTimeout(() => {
          this.#waiters.delete(check);
          reject(new Error(`${this.name}: stderr never matched ${pattern} within ${ms} ms:\n${this.stderr}`));
        }, ms);
        check();
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until the process logged its listener and "ready". */
  async ready(): Promise<void> {
    this.url = (await this.waitFor(/listening on (http:\/\/[\d.]+:\d+)/))[1]!;
    await this.waitFor(/ready: \d+ routes? running/);
  }

  /** The /metrics samples, by `name{labels}`. */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      const m = /^(\S+) (\S+)$/.exec(line);
      if (m !== null && !line.startsWith("#")) out.set(m[1]!, Number(m[2]));
    }
    return out;
  }

  /** One route counter or gauge. */
  async metric(name: string, route = "r"): Promise<number> {
    return (await this.metrics()).get(`pubsub_route_${name}{route="${route}"}`) ?? NaN;
  }

  /** Sends a signal. */
  kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
  }

  /** Waits for the exit (and the end of stderr). */
  async exited(): Promise<Deno.CommandStatus> {
    const s = await this.status;
    await this.#stderrDone;
    return s;
  }
}

/** Stops every replica still running (SIGKILL) and waits for them. */
export async function stopAll(replicas: Replica[]): Promise<void> {
  for (const r of replicas) r.kill("SIGKILL");
  await Promise.all(replicas.map((r) => r.exited()));
}

/**
 * Reads a whole stream's messages through an ephemeral consumer and counts each payload.
 *
 * @param ps A JetStream connection.
 * @param subject The stream's subjects.
 * @param total How many messages the stream holds.
 */
export async function countPayloads(ps: NatsPubSub, subject: string, total: number): Promise<Map<string, number>> {
  // Retried: right after a node stopped, creating the reading consumer can time out once.
  for (let attempt = 1;; attempt++) {
    const seen = new Map<string, number>();
    if (total === 0) return seen;
    try {
      const sub = ps.consume(subject, { deliver: "all", highWaterMark: 512 });
      let n = 0;
      for await (const msg of sub) {
        const key = msg.text();
        seen.set(key, (seen.get(key) ?? 0) + 1);
        await msg.ack();
        if (++n >= total) break;
      }
      return seen;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

/** Waits until `cond()` holds, checking every 50 ms (each check asks a server or a process); fails after `ms`. */
export async function until(
  cond: () => Promise<boolean> | boolean,
  ms: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`Waiting for ${typeof what === "string" ? what : what()} timed out`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
