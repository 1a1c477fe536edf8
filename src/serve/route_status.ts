/**
 * What one route reports: its counters, its readiness, and the server's
 * view of a JetStream source's consumer (for `/metrics` and `/readyz`).
 *
 * @module
 */

/**
 * The counters of one route in one process. Source messages: `received =
 * acked + naked + dropped + inFlight` once nothing is in flight for a settling
 * source. Outputs (what was published): `confirmed + written`.
 */
export interface RouteStats {
  /** Source messages read. */
  received: number;
  /** Outputs the target confirmed (at-least-once where the source settles). */
  confirmed: number;
  /** Outputs the target only reported written (at-most-once on a target crash). */
  written: number;
  /** Source messages the transform dropped (acked). */
  skipped: number;
  /** Source messages acked: every output taken, dropped by the transform, or dead-lettered. */
  acked: number;
  /** Source messages nak'd: the source delivers them again (to this replica or another). */
  naked: number;
  /** Source messages whose forwarding failed (after retries): then dead-lettered, nak'd or dropped. */
  failed: number;
  /** Source messages published to the dead-letter target (then acked). */
  deadLettered: number;
  /** Source messages the source marked as delivered before. */
  redelivered: number;
  /** Publish attempts retried. */
  retries: number;
  /** Failed source messages a source without settlement could not take back: lost. */
  dropped: number;
  /** Settlements (acks, naks) retried because the source did not confirm them. */
  settleRetries: number;
}

/** What a route reports besides its counters. */
export interface RouteStatus {
  /** Source messages read and not yet settled. */
  readonly inFlight: number;
  /** When the last error happened (ms since the epoch), if any. */
  readonly lastErrorTime: number | undefined;
  /** The last error, one line. */
  readonly lastError: string | undefined;
  /** Source, target (and dead-letter target) connected, subscription active, not draining. */
  readonly ready: boolean;
  /** Why it is not ready, when it is not. */
  readonly notReady: string | undefined;
}

/** The server's view of a JetStream source's consumer (every replica's work together). */
export interface SourceInfo {
  /** Messages the consumer has not delivered yet. */
  readonly pending: number;
  /** Messages delivered and not acked yet (by any replica). */
  readonly ackPending: number;
  /** Messages delivered more than once. */
  readonly redelivered: number;
}
