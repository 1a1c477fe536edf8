/**
 * The admin endpoint of `pubsub fake`: a small HTTP API on 127.0.0.1 that
 * lets a test in any language drive the fake: `GET /` (the ready line),
 * `GET /<list>` (what the fake holds), `POST /<action>` (publish, kill,
 * restart, ...), JSON in and out.
 *
 * @module
 */

import { Hono } from "hono";
import { AdminBody, AdminError } from "./admin_body.ts";
import type { FakeLog } from "./fake_log.ts";
import type { RunningFake } from "./running_fake.ts";

/** The admin endpoint, listening. */
export interface AdminServer {
  /** Its base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops listening. */
  close(): Promise<void>;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function statusOf(err: unknown): 400 | 500 {
  return err instanceof AdminError || err instanceof TypeError || err instanceof RangeError ||
      err instanceof SyntaxError
    ? 400
    : 500;
}

/**
 * Builds the admin routes over a running fake (usable in-process with
 * `app.request()`).
 *
 * @param fake The running fake.
 * @param ready The ready line's object, answered by `GET /`.
 * @param log Where `--log` lines go (each admin request is one, kind `admin`).
 * @returns The Hono app.
 */
export function adminApp(fake: RunningFake, ready: () => Record<string, unknown>, log: FakeLog): Hono {
  const app = new Hono();
  const index = () => ({ lists: Object.keys(fake.lists), actions: Object.keys(fake.actions) });
  app.use(async (c, next) => {
    await next();
    log.line({ kind: "admin", method: c.req.method, path: c.req.path, status: c.res.status });
  });
  app.get("/", (c) => c.json(ready()));
  app.get("/:name", async (c) => {
    const name = c.req.param("name");
    const list = Object.hasOwn(fake.lists, name) ? fake.lists[name] : undefined;
    if (list === undefined) return c.json({ error: `No list ${JSON.stringify(name)}`, ...index() }, 404);
    try {
      return c.json(await list() as object);
    } catch (err) {
      return c.json({ error: describe(err) }, statusOf(err));
    }
  });
  app.post("/:name", async (c) => {
    const name = c.req.param("name");
    const action = Object.hasOwn(fake.actions, name) ? fake.actions[name] : undefined;
    if (action === undefined) return c.json({ error: `No action ${JSON.stringify(name)}`, ...index() }, 404);
    try {
      const text = await c.req.text();
      const body = new AdminBody(text.trim() === "" ? undefined : JSON.parse(text));
      return c.json(await action(body) as object ?? {});
    } catch (err) {
      return c.json({ error: describe(err) }, statusOf(err));
    }
  });
  app.all("*", (c) => c.json({ error: `${c.req.method} is not allowed here`, ...index() }, 405));
  return app;
}

/**
 * Serves the admin routes on 127.0.0.1 (never on another address).
 *
 * @param app The routes.
 * @param port The port; 0 for a free one.
 * @returns The listening endpoint.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 */
export function serveAdmin(app: Hono, port: number): AdminServer {
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, app.fetch);
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}
