/**
 * W3C trace context through a route: the `traceparent` header read from the
 * source message, a span per message through `@opentelemetry/api` (exported
 * by Deno's built-in OpenTelemetry when `OTEL_DENO=true`), and the header
 * written on what the route publishes.
 *
 * @module
 */

import {
  type Attributes,
  type Context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";

/** The tracer's name (the instrumentation scope of every span `serve` emits). */
export const TRACER_NAME = "@x/pubsub/serve";

// Made on first use (a proxy: it follows a provider registered later, as Deno's is at start).
let tracer: Tracer | undefined;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/**
 * Reads a `traceparent` header (W3C Trace Context level 1): version, trace
 * id, parent id and flags, lowercase hex. Unknown future versions are read
 * by their first four fields, as the standard asks.
 *
 * @param value The header's value.
 * @returns The remote span context, or `undefined` when absent or invalid.
 */
export function parseTraceparent(value: string | null | undefined): SpanContext | undefined {
  if (value === null || value === undefined) return undefined;
  const parts = value.trim().split("-");
  if (parts.length < 4) return undefined;
  const [version, traceId, spanId, flags] = parts as [string, string, string, string];
  if (!/^[0-9a-f]{2}$/.test(version) || version === "ff") return undefined;
  if (version === "00" && parts.length !== 4) return undefined;
  if (!HEX32.test(traceId) || !HEX16.test(spanId) || !/^[0-9a-f]{2}$/.test(flags)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) & 0xff, isRemote: true };
}

/**
 * Writes a span context as a version-00 `traceparent` value.
 *
 * @param sc The span context.
 * @returns The header's value.
 */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** One message's passage through a route. */
export interface RouteSpan {
  /** The span (non-recording when OpenTelemetry is off). */
  readonly span: Span;
  /** The context holding the span, for work done on its behalf (the transform). */
  readonly context: Context;
  /** The `tracestate` the message came with, passed on unchanged. */
  readonly tracestate: string | null;
  /**
   * The `traceparent` to publish with: the span's own when it records (a
   * child of the message's), else the message's as it came (so the trace
   * stays whole through a bridge that does not trace), else none.
   */
  readonly traceparent: string | undefined;
}

/**
 * Starts the span of one message: a consumer span whose parent is the
 * message's `traceparent`, when it has a valid one.
 *
 * @param name The span's name.
 * @param headers The message's headers.
 * @param attributes The span's attributes.
 * @returns The span and the headers to pass on.
 */
export function startRouteSpan(name: string, headers: Headers, attributes: Attributes): RouteSpan {
  const remote = parseTraceparent(headers.get("traceparent"));
  const parent = remote === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, remote);
  tracer ??= trace.getTracer(TRACER_NAME);
  const span = tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
  const sc = span.spanContext();
  return {
    span,
    context: trace.setSpan(parent, span),
    tracestate: remote === undefined ? null : headers.get("tracestate"),
    traceparent: isSpanContextValid(sc) ? formatTraceparent(sc) : undefined,
  };
}

/**
 * Ends a span with the outcome.
 *
 * @param span The span.
 * @param error The error, when the message failed.
 */
export function endRouteSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}
