/**
 * The `/metrics` page of `pubsub serve`, in the Prometheus text exposition
 * format (version 0.0.4).
 *
 * @module
 */

import type { RouteStats, RouteStatus, SourceInfo } from "./route_status.ts";

/** One route's figures at the time of a scrape. */
export interface RouteSample {
  /** The route's name. */
  readonly name: string;
  /** Its counters. */
  readonly stats: Readonly<RouteStats>;
  /** In flight, last error, readiness. */
  readonly status: RouteStatus;
  /** The server's view of a JetStream source's consumer, when there is one. */
  readonly source: SourceInfo | undefined;
}

/** The content type of the page. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const COUNTERS: readonly [keyof RouteStats, string, string][] = [
  ["received", "received_total", "Source messages read."],
  ["confirmed", "confirmed_total", "Outputs published and confirmed by the target."],
  ["written", "written_total", "Outputs published to a target that only reports them written (no confirmation)."],
  ["skipped", "skipped_total", "Source messages the transform dropped (acked)."],
  ["acked", "acked_total", "Source messages acked after their outputs were taken (or dropped, or dead-lettered)."],
  ["naked", "naked_total", "Source messages nak'd: the source delivers them again."],
  ["failed", "failed_total", "Source messages whose forwarding failed after the retries."],
  ["deadLettered", "dead_lettered_total", "Source messages published to the dead-letter target."],
  ["redelivered", "redelivered_total", "Source messages the source marked as delivered before."],
  ["retries", "retries_total", "Publish attempts retried."],
  ["dropped", "dropped_total", "Failed source messages a source without settlement could not take back."],
  ["settleRetries", "settle_retries_total", "Acks and naks sent again because the source did not confirm them."],
];

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
}

/**
 * Renders the page.
 *
 * @param routes Each route's figures.
 * @param draining Whether the process is draining.
 * @returns The text.
 */
export function renderMetrics(routes: readonly RouteSample[], draining: boolean): string {
  const lines: string[] = [];
  const family = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    value: (r: RouteSample) => number | undefined,
  ) => {
    const samples = routes.flatMap((r) => {
      const v = value(r);
      return v === undefined ? [] : [`pubsub_route_${name}{route="${label(r.name)}"} ${num(v)}`];
    });
    if (samples.length === 0) return;
    lines.push(`# HELP pubsub_route_${name} ${help}`, `# TYPE pubsub_route_${name} ${type}`, ...samples);
  };
  for (const [key, name, help] of COUNTERS) family(name, "counter", help, (r) => r.stats[key]);
  family("in_flight", "gauge", "Source messages read and not yet settled.", (r) => r.status.inFlight);
  family("ready", "gauge", "1 when the route's source and target are connected and it is running.", (r) => {
    return r.status.ready ? 1 : 0;
  });
  family(
    "last_error_timestamp_seconds",
    "gauge",
    "When the route's last error happened (0: none).",
    (r) => r.status.lastErrorTime === undefined ? 0 : r.status.lastErrorTime / 1000,
  );
  family(
    "source_pending",
    "gauge",
    "JetStream sources: messages the shared consumer has not delivered to any replica yet (the server's view).",
    (r) => r.source?.pending,
  );
  family(
    "source_ack_pending",
    "gauge",
    "JetStream sources: messages delivered to a replica and not acked yet (the server's view).",
    (r) => r.source?.ackPending,
  );
  family(
    "source_redelivered",
    "gauge",
    "JetStream sources: messages the shared consumer delivered more than once (the server's view).",
    (r) => r.source?.redelivered,
  );
  lines.push(
    "# HELP pubsub_serve_draining 1 while the process drains after SIGTERM or SIGINT.",
    "# TYPE pubsub_serve_draining gauge",
    `pubsub_serve_draining ${draining ? 1 : 0}`,
  );
  return lines.join("\n") + "\n";
}
