/**
 * Stopping a nats-server child process: a signal, then SIGKILL if it has not
 * exited in time.
 *
 * @module
 */

import { withDeadline } from "../../core/async.ts";

/**
 * Sends `signal` to a child process and waits for it to exit; a process
 * still running after `graceMs` is killed (SIGKILL). A process already gone
 * is fine.
 *
 * @param child The process.
 * @param exited Settles when it has exited (and whatever its owner does then is done).
 * @param signal The first signal. Default `"SIGTERM"`.
 * @param graceMs How long the process may take to exit before SIGKILL. Default 10 000.
 * @returns When the process has exited.
 */
export async function stopProcess(
  child: Deno.ChildProcess,
  exited: Promise<unknown>,
  signal: Deno.Signal = "SIGTERM",
  graceMs = 10_000,
): Promise<void> {
  send(child, signal);
  await withDeadline(graceMs, exited).catch(() => send(child, "SIGKILL"));
  await exited;
}

function send(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch { /* already gone */ }
}
