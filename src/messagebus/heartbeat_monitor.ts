/**
 * `HeartbeatMonitor`: takes a connection for dead when nothing arrives on it
 * for a while (with `monitorHeartbeat`, the server's heartbeats keep it
 * alive).
 *
 * @module
 */

import { TimeoutError } from "../core/errors.ts";

/** What the monitor needs from its client. */
export interface HeartbeatHooks {
  /** The client's URL, for the error. */
  readonly url: string;
  /** Whether the connection is up (the monitor only runs then). */
  live(): boolean;
  /** Whether a message is being dispatched (a slow reader is not a silent server: the timer restarts). */
  busy(): boolean;
  /** Nothing arrived for `timeoutMs`: report `err` and drop the connection. */
  silent(err: TimeoutError): void;
}

/** A restartable silence timer; `timeoutMs` 0 disables it. */
export class HeartbeatMonitor {
  readonly #timeoutMs: number;
  readonly #hooks: HeartbeatHooks;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(timeoutMs: number, hooks: HeartbeatHooks) {
    this.#timeoutMs = timeoutMs;
    this.#hooks = hooks;
  }

  /** (Re)starts the timer: called when the connection comes up and after every read. */
  arm(): void {
    if (this.#timeoutMs <= 0 || !this.#hooks.live()) return;
    this.clear();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#hooks.busy()) {
        this.arm();
        return;
      }
      this.#hooks.silent(
        new TimeoutError(
          `Monitoring the heartbeat of ${this.#hooks.url} failed: nothing arrived for ${this.#timeoutMs} ms`,
          { timeoutMs: this.#timeoutMs },
        ),
      );
    }, this.#timeoutMs);
  }

  /** Stops the timer. */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
