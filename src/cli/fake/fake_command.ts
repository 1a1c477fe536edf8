/**
 * `pubsub fake <system>`: starts one system's fake as a standalone server,
 * prints the ready line, serves the admin endpoint, and runs until
 * interrupted.
 *
 * @module
 */

import { intOption, type OptionSpec, parseArgs, UsageError } from "../args.ts";
import { type Context, ExitCode, untilAborted } from "../context.ts";
import { adminApp, type AdminServer, serveAdmin } from "./admin_server.ts";
import { FAKE_HELP } from "./fake_help.ts";
import { FakeLog } from "./fake_log.ts";
import { httppubsub } from "./httppubsub.ts";
import { mdb } from "./mdb.ts";
import { messagebus } from "./messagebus.ts";
import type { FakeSystem, RunningFake } from "./running_fake.ts";
import { streamsea } from "./streamsea.ts";

const SYSTEMS: Readonly<Record<string, FakeSystem>> = { streamsea, messagebus, httppubsub, mdb };

const SHARED: Readonly<Record<string, OptionSpec>> = {
  help: { type: "boolean", short: "h" },
  port: { type: "string", short: "p" },
  "admin-port": { type: "string" },
  log: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
};

/** The systems that take `--host` (MDB's certificates name 127.0.0.1 only). */
const HOST: Readonly<Record<string, OptionSpec>> = { host: { type: "string" } };

/**
 * `pubsub fake <system> [options]`.
 *
 * @param ctx The I/O; the fake stops when `ctx.signal` aborts.
 * @param args The arguments after `fake`.
 * @returns The exit code: 0 once stopped by the signal.
 */
export async function fake(ctx: Context, args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h") {
    await (name === undefined ? ctx.err : ctx.out).write(FAKE_HELP.main);
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  const system = Object.hasOwn(SYSTEMS, name) ? SYSTEMS[name] : undefined;
  if (system === undefined) {
    throw new UsageError(`Unknown fake ${JSON.stringify(name)}: streamsea, messagebus, httppubsub or mdb`);
  }
  const parsed = parseArgs(rest, { ...SHARED, ...(name === "mdb" ? {} : HOST), ...system.options });
  if (parsed.flags.has("help")) return void await ctx.out.write(system.help), ExitCode.Ok;
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument ${JSON.stringify(parsed.positionals[0])} (see pubsub fake ${name} --help)`,
    );
  }
  const adminPort = intOption(parsed, "admin-port", 0) ?? 0;
  if (adminPort > 65535) throw new UsageError(`Option --admin-port must be at most 65535, got ${adminPort}`);
  const log = new FakeLog(ctx.out, parsed.flags.has("log"));

  const running: RunningFake = await system.start(parsed, log);
  let admin: AdminServer | undefined;
  try {
    let ready: Record<string, unknown> = {};
    admin = serveAdmin(adminApp(running, () => ready, log), adminPort);
    ready = { fake: name, ...running.info, admin: admin.url };
    await ctx.out.write(JSON.stringify(ready) + "\n");
    if (!parsed.flags.has("quiet")) {
      await ctx.err.write(
        `pubsub fake ${name}: listening on ${running.summary}; admin on ${admin.url}; Ctrl-C stops it\n`,
      );
    }
    await untilAborted(ctx.signal).promise;
  } finally {
    await admin?.close();
    await running.stop();
    await log.flush();
  }
  if (!parsed.flags.has("quiet")) await ctx.err.write(`pubsub fake ${name}: stopped\n`);
  return ExitCode.Ok;
}
