/**
 * `pubsub pub`: publishes an argument or standard input (whole, or one
 * message per line).
 *
 * @module
 */

import { concatBytes } from "../core/bytes.ts";
import type { PublishReceipt, PubSub } from "../core/pubsub.ts";
import { intOption, type OptionSpec, parseArgs, parseHeaders, UsageError } from "./args.ts";
import { type Context, Deadline, ExitCode, raceSignal } from "./context.ts";
import { HELP } from "./help.ts";
import { HELP_SPEC, openAll, positionals, stopSignal, withoutDeadline } from "./command_helpers.ts";

const PUB_OPTIONS: Record<string, OptionSpec> = {
  help: HELP_SPEC,
  header: { type: "string", short: "H", multiple: true },
  lines: { type: "boolean", short: "l" },
  json: { type: "boolean", short: "j" },
  timeout: { type: "string", short: "t" },
};

function tooLarge(limit: number): RangeError {
  return new RangeError(
    `Publishing standard input failed: it holds more than the system's largest payload (${limit} bytes)`,
  );
}

async function readAll(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
  }
  return concatBytes(chunks, size);
}

async function* lines(stream: ReadableStream<Uint8Array>, limit: number): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    rest += text;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl).replace(/\r$/, "");
      rest = rest.slice(nl + 1);
    }
    if (rest.length > limit) throw tooLarge(limit); // a line longer than any payload: stop buffering it
  }
  if (rest !== "") yield rest;
}

function receiptRecord(r: PublishReceipt): Record<string, unknown> {
  const rec: Record<string, unknown> = { topic: r.topic, confirmed: r.confirmed };
  if (r.id !== undefined) rec.id = r.id;
  if (r.sequence !== undefined) rec.sequence = r.sequence;
  return rec;
}

/**
 * `pubsub pub URL TOPIC [DATA|-]`: publishes DATA, or standard input (whole,
 * or one message per line with `--lines`).
 *
 * @param ctx The I/O.
 * @param args The arguments after `pub`.
 * @returns The exit code.
 */
export async function pub(ctx: Context, args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, PUB_OPTIONS);
  if (parsed.flags.has("help")) return void await ctx.out.write(HELP.pub), ExitCode.Ok;
  const [url, topic, data = "-"] = positionals(parsed, "pub", ["URL", "TOPIC", "DATA"], 1) as [string, string, string?];
  const headers = parseHeaders(parsed.values.get("header") ?? []);
  const timeout = intOption(parsed, "timeout", 1);
  const json = parsed.flags.has("json");
  const byLine = parsed.flags.has("lines");
  if (byLine && data !== "-") {
    throw new UsageError("Option --lines reads standard input, so DATA must be - or left out");
  }
  const deadline = new Deadline(timeout, `Publishing to ${topic}`);
  const stop = stopSignal(ctx, deadline);
  let ps: PubSub | undefined;
  try {
    [ps] = await openAll(ctx, [url], stop) as [PubSub];
    const options = headers.length > 0 ? { headers, signal: stop } : { signal: stop };
    const send = async (payload: Uint8Array | string) => {
      const receipt = await raceSignal(ps!.publish(topic, payload, options), stop);
      if (json) await ctx.out.write(JSON.stringify(receiptRecord(receipt)) + "\n");
    };
    if (byLine) {
      for await (const line of lines(ctx.stdin(), ps.capabilities.maxPayload)) {
        if (stop.aborted) throw stop.reason;
        await send(line);
      }
    } else {
      await send(data === "-" ? await raceSignal(readAll(ctx.stdin(), ps.capabilities.maxPayload), stop) : data);
    }
  } catch (err) {
    throw withoutDeadline(stop, err);
  } finally {
    deadline.dispose();
    await ps?.close().catch(() => {});
  }
  return ExitCode.Ok;
}
