/**
 * The broadcaster list both httppubsub clients take: checking it, and the
 * order to try it in (by priority, ties shuffled).
 *
 * @module
 */

import type { BroadcasterConfig } from "./client.ts";

/** A checked broadcaster: its base url without a trailing slash, and its priority. */
export interface Broadcaster {
  readonly host: string;
  readonly priority: number;
}

/**
 * Checks the `broadcasters` option.
 *
 * @param list What the caller gave.
 * @param creating The error message prefix, e.g. `Creating an HttpPubSubClient`.
 * @returns The broadcasters.
 * @throws {TypeError} When the list is empty or not an array, or a host is not a url.
 */
export function parseBroadcasters(list: unknown, creating: string): Broadcaster[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`${creating} failed: broadcasters is empty`);
  }
  return (list as (BroadcasterConfig | string)[]).map((b) => {
    const host = typeof b === "string" ? b : b?.host;
    if (typeof host !== "string" || !URL.canParse(host)) {
      throw new TypeError(`${creating} failed: broadcaster ${JSON.stringify(host)} is not a url`);
    }
    return { host: host.replace(/\/+$/, ""), priority: typeof b === "string" ? 0 : b.priority ?? 0 };
  });
}

/**
 * The order to try broadcasters in: lower priority first, ties shuffled
 * afresh on each call.
 *
 * @param list The broadcasters.
 * @returns A new array.
 */
export function byPriority(list: readonly Broadcaster[]): Broadcaster[] {
  const shuffled = list.map((b) => ({ b, r: Math.random() }));
  shuffled.sort((x, y) => x.b.priority - y.b.priority || x.r - y.r);
  return shuffled.map((x) => x.b);
}
