/**
 * `FakeBroadcasterOptions`: what a test may set on a
 * {@linkcode FakeBroadcaster}: auth per direction, timeouts, the missed
 * behaviour, size limits and the fetch used to reach subscribers.
 *
 * @module
 */

import type { AuthConfig } from "../../httppubsub/auth.ts";

/** Options of {@linkcode FakeBroadcaster}. */
export interface FakeBroadcasterOptions {
  /** Verifies subscriber requests and confirmations ("to-broadcaster"). Default none. */
  toBroadcasterAuth?: AuthConfig;
  /** Signs responses, receives and missed notices ("to-subscriber"). Default none. */
  toSubscriberAuth?: AuthConfig;
  /** How long a subscriber may take to answer a receive, in ms. Default 5000. */
  receiveTimeoutMs?: number;
  /** Delay before a missed notice after a failed receive, in ms. Default 0. */
  missedDelayMs?: number;
  /** How many missed notices to send per failure (lonelypss's quirk sends a burst). Default 1. */
  missedBurst?: number;
  /** The largest message accepted by notify, in bytes. Default 64 MiB. */
  maxMessageBytes?: number;
  /** The fetch used to reach subscribers. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** The largest RECEIVE_STREAM part payload sent to websocket subscribers. Default 3.5 MiB less 1 KiB. */
  websocketPartBytes?: number;
}
