/** Helpers of the `pubsub fake` tests: the program as a subprocess, its JSON lines, the admin endpoint, ports. */

import assert from "node:assert/strict";

const ENTRY = new URL("../../src/cli/mod.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** A `pubsub fake …` subprocess, its stdout read line by line as it comes. */
export class FakeProcess {
  readonly child: Deno.ChildProcess;
  /** Every stdout line so far (the first is the ready line). */
  readonly lines: string[] = [];
  stderr = "";
  readonly #done: Promise<void>;
  #wake: (() => void)[] = [];

  constructor(args: readonly string[], env: Record<string, string> = {}) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--config", CONFIG, ENTRY, "fake", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", PATH: `${Deno.env.get("PATH") ?? ""}:/usr/sbin`, ...env },
    }).spawn();
    this.child = child;
    const out = (async () => {
      let rest = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          this.lines.push(rest.slice(0, nl));
          rest = rest.slice(nl + 1);
        }
        this.#notify();
      }
    })();
    const err = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += chunk;
        this.#notify();
      }
    })();
    this.#done = Promise.all([out, err]).then(() => this.#notify());
  }

  #notify(): void {
    for (const w of this.#wake.splice(0)) w();
  }

  /** Resolves when `test()` holds, re-checked on each output (fails after `ms` or when the process ended). */
  async until<T>(test: () => T | undefined, what: string, ms = 30_000): Promise<T> {
    const deadline = Date.now() + ms;
    let ended = false;
    void this.#done.then(() => ended = true);
    for (;;) {
      const v = test();
      if (v !== undefined) return v;
      if (ended) throw new Error(`The fake ended before ${what}: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}: ${this.stderr}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 500));
      });
      clearTimeout(timer);
    }
  }

  /** The ready line, parsed. */
  ready(): Promise<Record<string, unknown>> {
    return this.until(() => this.lines.length > 0 ? JSON.parse(this.lines[0]!) : undefined, "the ready line");
  }

  /** The log records (every stdout line after the ready line), parsed. */
  records(): Record<string, unknown>[] {
    return this.lines.slice(1).map((l) => JSON.parse(l));
  }

  /** Resolves with the first log record matching. */
  record(match: (r: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    return this.until(() => this.records().find(match), what);
  }

  /** Sends SIGTERM and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<{ code: number; stderr: string }> {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    const status = await this.child.status;
    await this.#done;
    return { code: status.code, stderr: this.stderr };
  }

  /** Stops it if still running (for `finally`): SIGTERM, so it stops what it started, then SIGKILL after 20 s. */
  async dispose(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 20_000);
    await this.child.status;
    clearTimeout(timer);
    await this.#done;
  }
}

/** Calls the admin endpoint: GET without a body, POST with one. */
// deno-lint-ignore no-explicit-any
export async function admin(base: unknown, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** Asserts that nothing listens on a loopback port: a connect is refused. */
export async function assertRefused(port: unknown, hostname = "127.0.0.1"): Promise<void> {
  assert.equal(typeof port, "number", `not a port: ${port}`);
  await assert.rejects(
    Deno.connect({ hostname, port: port as number }).then((c) => c.close()),
    Deno.errors.ConnectionRefused,
    `something still listens on ${hostname}:${port}`,
  );
}

/** The port of a URL. */
export function portOf(url: unknown): number {
  return Number(new URL(String(url)).port);
}

/** Polls an async check until it holds (for the server's own view, which has no events to wait on). */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Fails with `what` when the promise takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
