/**
 * The `pubsub` program's dispatcher, independent of how URLs are opened.
 *
 * @module
 */

import { UsageError } from "./args.ts";
import { bench } from "./bench_command.ts";
import { bridge } from "./bridge_command.ts";
import { pub } from "./pub_command.ts";
import { sub } from "./sub_command.ts";
import { type CliIO, type Context, describeError, ExitCode, exitCodeOf, type Opener, Output } from "./context.ts";
import { HELP } from "./help.ts";

const COMMANDS: Readonly<Record<string, (ctx: Context, args: readonly string[]) => Promise<number>>> = {
  sub,
  pub,
  bridge,
  bench,
  serve: async (ctx, args) => (await import("../serve/command.ts")).serveCommand(ctx, args),
  // Loaded only when asked for: the fakes pull in nats, hono and node:https.
  fake: async (ctx, args) => (await import("./fake/fake_command.ts")).fake(ctx, args),
};

function isTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/**
 * Runs one command line with the given opener and I/O.
 *
 * @param args The arguments, e.g. `["sub", "memory:", "orders"]`.
 * @param open Connects to a URL.
 * @param io Standard streams and the interrupt signal (defaults: the process's).
 * @returns The exit code.
 */
export async function run(args: readonly string[], open: Opener, io: CliIO = {}): Promise<number> {
  const out = new Output(io.stdout ?? Deno.stdout.writable);
  const err = new Output(io.stderr ?? Deno.stderr.writable);
  const ctx: Context = {
    open,
    out,
    err,
    stdin: () => io.stdin ?? Deno.stdin.readable,
    tty: io.stderrIsTerminal ?? isTerminal(),
    signal: io.signal ?? new AbortController().signal,
  };
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      const topic = command === "help" ? rest[0] : undefined;
      if (topic !== undefined && !Object.hasOwn(HELP, topic)) {
        throw new UsageError(`Unknown command ${JSON.stringify(topic)}`);
      }
      await (command === undefined ? err : out).write(HELP[(topic ?? "main") as keyof typeof HELP]);
      return command === undefined ? ExitCode.Usage : ExitCode.Ok;
    }
    const fn = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (fn === undefined) {
      throw new UsageError(`Unknown command ${JSON.stringify(command)} (see pubsub --help)`);
    }
    return await fn(ctx, rest);
  } catch (e) {
    const code = exitCodeOf(e);
    if (code === ExitCode.Interrupted) return code;
    const prefix = command !== undefined && Object.hasOwn(COMMANDS, command) ? `pubsub ${command}: ` : "pubsub: ";
    await err.write(`${prefix}${describeError(e)}\n`);
    return code;
  } finally {
    out.release();
    err.release();
  }
}
