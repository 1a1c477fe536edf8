/**
 * Starting a nats-server process in tests: free loopback ports for its
 * config, and the wait until it is ready (its log says so and its ports take
 * connections), shared by `NatsServer` and `NatsCluster`.
 *
 * @module
 */

import { delay } from "../../core/async.ts";

/**
 * Picks `n` distinct free loopback ports: all held open together, so they
 * differ, and closed before nats-server binds them.
 *
 * @param n How many.
 * @returns The ports.
 */
export function freePorts(n: number): number[] {
  const listeners = Array.from({ length: n }, () => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/**
 * Reads a log file, or `""` while it does not exist yet.
 *
 * @param path The file.
 * @returns Its text.
 */
export async function readLog(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** What {@linkcode waitServerReady} watches. */
export interface ServerReadyOptions {
  /** The process, for messages (`nats-server`, `nats-server n2`). */
  readonly name: string;
  /** Its log file. */
  readonly logFile: string;
  /** Where in the log this start begins (a restarted node appends to its log). Default 0. */
  readonly logStart?: number;
  /** The ports that must take connections, the client port first. */
  readonly ports: readonly number[];
  /** How long it may take, in ms. */
  readonly timeoutMs: number;
  /** What to say when the process has exited (`" with code 1: …"`), or `undefined` while it runs. */
  readonly exited: () => string | undefined | Promise<string | undefined>;
}

/**
 * Waits until a nats-server process logs "Server is ready" and every port
 * takes a connection, polling every 25 ms.
 *
 * @param o What to watch.
 * @throws {Error} When the process exits first, or is not ready within `timeoutMs`.
 */
export async function waitServerReady(o: ServerReadyOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  while (true) {
    const exit = await o.exited();
    if (exit !== undefined) throw new Error(`Starting ${o.name} failed: it exited${exit}`);
    if ((await readLog(o.logFile)).slice(o.logStart ?? 0).includes("Server is ready")) {
      let ready = true;
      for (const p of o.ports) {
        if (!await canConnect(p)) {
          ready = false;
          break;
        }
      }
      if (ready) return;
    }
    if (Date.now() > deadline) {
      throw new Error(`Starting ${o.name} failed: not ready on port ${o.ports[0]} within ${o.timeoutMs} ms`);
    }
    await delay(25);
  }
}
