/**
 * One endpoint a route opened, and whether its connection is up (from the
 * adapter's status events).
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";

/** One connected endpoint and whether its connection is up. */
export class Link {
  /** The opened adapter. */
  readonly ps: PubSub;
  /** Whether its connection is up. */
  up = true;
  readonly #off: () => void;

  /**
   * Listens to `ps`'s status events.
   *
   * @param ps The opened adapter.
   * @param onChange Called when the connection goes down or comes back, with the event's type.
   */
  constructor(ps: PubSub, onChange: (up: boolean, event: string) => void) {
    this.ps = ps;
    const set = (up: boolean) => (e: Event) => {
      if (this.up === up) return;
      this.up = up;
      onChange(up, e.type);
    };
    const on: [string, (e: Event) => void][] = [
      ["connected", set(true)],
      ["reconnected", set(true)],
      ["disconnected", set(false)],
      ["reconnecting", set(false)],
    ];
    for (const [type, fn] of on) ps.status.addEventListener(type, fn);
    this.#off = () => {
      for (const [type, fn] of on) ps.status.removeEventListener(type, fn);
    };
  }

  /** Stops listening and closes the adapter (its errors are ignored). */
  async close(): Promise<void> {
    this.#off();
    this.up = false;
    await this.ps.close().catch(() => {});
  }
}
