/**
 * `FakeBroadcasterStats`: the counters a test reads off a fake broadcaster,
 * kept by its routes, its notify fan-out and its receive and missed POSTs.
 *
 * @module
 */

/** Counters a test can check. */
export interface FakeBroadcasterStats {
  /** Notify requests accepted. */
  notifies: number;
  /** Receive POSTs sent. */
  receives: number;
  /** Receive POSTs confirmed. */
  confirmed: number;
  /** Receive POSTs that failed (timeout, bad answer, bad confirmation). */
  failedReceives: number;
  /** Subscriptions deleted by "unsubscribe immediately". */
  unsubscribedImmediately: number;
  /** Missed notices sent. */
  missedSent: number;
  /** Missed notices whose confirmation verified. */
  missedConfirmed: number;
  /** Requests refused with 400/401/403/409. */
  refused: number;
}

/**
 * Fresh counters, all 0.
 *
 * @returns The counters.
 */
export function zeroStats(): FakeBroadcasterStats {
  return {
    notifies: 0,
    receives: 0,
    confirmed: 0,
    failedReceives: 0,
    unsubscribedImmediately: 0,
    missedSent: 0,
    missedConfirmed: 0,
    refused: 0,
  };
}
