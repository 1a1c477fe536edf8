/**
 * The HTTP side of `pubsub serve` (Hono): `/healthz`, `/readyz`, `/metrics`.
 *
 * @module
 */

import { Hono } from "hono";
import { METRICS_CONTENT_TYPE } from "./metrics.ts";

/** What the handlers read from the running service. */
export interface HealthSource {
  /** Each route's readiness: `undefined` when ready, else why not. */
  readiness(): { name: string; notReady: string | undefined }[];
  /** The `/metrics` page. */
  metrics(): Promise<string>;
}

/**
 * Builds the app: `GET /healthz` is 200 while the process serves; `GET
 * /readyz` is 200 when every route runs with its source and target
 * connected, else 503 naming the routes that are not ready and why;
 * `GET /metrics` is the Prometheus page.
 *
 * @param source The running service.
 * @returns The Hono app (`app.fetch` is a `(Request) => Response` handler).
 */
export function healthApp(source: HealthSource): Hono {
  const app = new Hono();
  const text = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };
  app.get("/healthz", () => new Response("ok\n", { headers: text }));
  app.get("/readyz", () => {
    const routes = source.readiness();
    const waiting = routes.filter((r) => r.notReady !== undefined);
    if (waiting.length === 0) return new Response(`ready: ${routes.length} routes\n`, { headers: text });
    return new Response(waiting.map((r) => `${r.name}: ${r.notReady}\n`).join(""), { status: 503, headers: text });
  });
  app.get("/metrics", async () => {
    return new Response(await source.metrics(), {
      headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
    });
  });
  app.get("/", () => new Response("pubsub serve: /healthz /readyz /metrics\n", { headers: text }));
  return app;
}
