/**
 * The `pubsub` command line: subscribe, publish, bridge and benchmark any
 * system `open()` knows, from a shell.
 *
 * ```sh
 * deno run -A jsr:@x/pubsub/cli sub nats://127.0.0.1:4222 'orders.>' --json --count 10
 * echo '{"id":1}' | deno run -A jsr:@x/pubsub/cli pub nats://127.0.0.1:4222 orders.new -
 * deno run -A jsr:@x/pubsub/cli bridge nats://127.0.0.1:4222 streamsea+ws://127.0.0.1:8080 orders
 * deno run -A jsr:@x/pubsub/cli bench nats+ws://127.0.0.1:8080 --count 10000 --in-flight 64
 * ```
 *
 * Exit codes: 0 success, 1 runtime failure, 2 usage error, 3 connection
 * failure, 4 authentication failure, 5 timeout, 130 interrupted
 * ({@linkcode ExitCode}). Run `pubsub <command> --help` for the options.
 *
 * @example Running a command in-process, against the in-memory broker
 * ```ts
 * import { main } from "@x/pubsub/cli";
 * import { MemoryPubSub } from "@x/pubsub/testing";
 *
 * const broker = new MemoryPubSub();
 * const code = await main(["bench", "memory:", "--count", "100", "--json"], {
 *   open: () => Promise.resolve(broker),
 *   stdout: new WritableStream(),
 * });
 * console.log(code); // 0
 * ```
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import type { CliIO, OpenerOptions } from "./context.ts";
import { run } from "./main.ts";

export { type CliIO, ExitCode, type Opener, type OpenerOptions } from "./context.ts";
export type { BenchResult } from "./bench_command.ts";
export type { MessageRecord } from "./format.ts";

async function openUrl(url: string, options?: OpenerOptions): Promise<PubSub> {
  const { open } = await import("../open.ts");
  return await open(url, options);
}

/**
 * Runs the `pubsub` program with the given arguments and returns its exit
 * code (it does not exit the process).
 *
 * @example
 * ```ts
 * import { main } from "@x/pubsub/cli";
 *
 * const code = await main(["--help"], { stdout: new WritableStream() });
 * console.log(code); // 0
 * ```
 *
 * @param args The arguments after the program name, e.g. `["sub", "nats://127.0.0.1:4222", "orders"]`.
 * @param io The opener, standard streams and interrupt signal to use instead of the process's.
 * @returns The exit code (see {@linkcode ExitCode}).
 */
export function main(args: readonly string[], io: CliIO = {}): Promise<number> {
  return run(args, io.open ?? openUrl, io);
}

if (import.meta.main) {
  const controller = new AbortController();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const onSignal = () => controller.signal.aborted ? Deno.exit(130) : controller.abort();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const code = await main(Deno.args, { signal: controller.signal });
  for (const s of signals) Deno.removeSignalListener(s, onSignal);
  Deno.exit(code);
}
