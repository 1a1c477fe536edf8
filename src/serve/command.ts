/**
 * `pubsub serve --config FILE`: the bridge as a long-running service.
 *
 * @module
 */

import { intOption, type OptionSpec, parseArgs, stringOption, UsageError } from "../cli/args.ts";
import { type Context, ExitCode, untilAborted } from "../cli/context.ts";
import { HELP } from "../cli/help.ts";
import { parseConfig, parseListen } from "./config.ts";
import { ConfigError } from "./config_error.ts";
import { serve, sharingNote } from "./service.ts";
import { loadTransform } from "./transform.ts";

const SERVE_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h" },
  config: { type: "string", short: "c" },
  listen: { type: "string", short: "l" },
  "drain-timeout": { type: "string" },
  check: { type: "boolean" },
};

/**
 * `pubsub serve --config FILE`: runs the configuration's routes until
 * SIGTERM or SIGINT, then drains and exits 0. `--check` only reads the
 * configuration (and loads its transforms) and exits.
 *
 * @param ctx The I/O.
 * @param args The arguments after `serve`.
 * @returns The exit code.
 */
export async function serveCommand(ctx: Context, args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, SERVE_OPTIONS);
  if (parsed.flags.has("help")) return void await ctx.out.write(HELP.serve), ExitCode.Ok;
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument ${JSON.stringify(parsed.positionals[0])} (the routes go in --config FILE)`,
    );
  }
  const file = stringOption(parsed, "config");
  if (file === undefined) throw new UsageError("Missing --config FILE (see pubsub serve --help)");
  const listenText = stringOption(parsed, "listen");
  const listen = listenText === undefined ? undefined : listenText === "off" ? false as const : parseListen(
    listenText,
    (reason) => {
      throw new UsageError(`Option --listen: ${reason} (or "off")`);
    },
  );
  const drainTimeoutMs = intOption(parsed, "drain-timeout", 1);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw new UsageError(`Reading the configuration ${file} failed: ${(err as Error).message}`);
  }
  const config = parseConfig(text, { file });

  let chain: Promise<unknown> = Promise.resolve();
  const log = (line: string) => {
    chain = chain.then(() => ctx.err.write(`pubsub serve: ${line}\n`));
  };

  if (parsed.flags.has("check")) {
    for (const r of config.routes) {
      if (r.transform === undefined) continue;
      try {
        await loadTransform(r.transform.specifier);
      } catch (err) {
        throw new ConfigError(config.file, r.transform.line, 1, `routes: ${r.name}: ${(err as Error).message}`);
      }
    }
    const lines = [
      `${file}: ${config.routes.length} route${config.routes.length === 1 ? "" : "s"}, replicas ${config.replicas}`,
    ];
    for (const r of config.routes) {
      const note = sharingNote(r.from, config.replicas);
      lines.push(`  ${r.name}: ${r.from.display} ${r.from.topic} -> ${r.to.display} ${r.to.topic.source}`);
      lines.push(`    ${note.warn ? "WARNING: " : ""}${note.line}`);
    }
    await ctx.out.write(lines.join("\n") + "\n");
    return ExitCode.Ok;
  }

  const service = await serve(config, {
    open: ctx.open,
    log,
    ...(listen === undefined ? {} : { listen }),
    ...(drainTimeoutMs === undefined ? {} : { drainTimeoutMs }),
  });
  try {
    await untilAborted(ctx.signal).promise;
  } finally {
    await service.drain();
    await chain;
  }
  return ExitCode.Ok;
}
