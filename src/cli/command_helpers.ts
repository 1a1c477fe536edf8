/**
 * What every `pubsub` command shares: positional arguments, the stop signal
 * (Ctrl-C or the deadline), opening URLs and starting a subscription so
 * that a failure leaves nothing open.
 *
 * @module
 */

import type { Message } from "../core/message.ts";
import type { PubSub, SubscribeOptions } from "../core/pubsub.ts";
import type { Subscription } from "../core/subscription.ts";
import { type OptionSpec, type ParsedArgs, UsageError } from "./args.ts";
import { type Context, type Deadline, Interrupted, raceSignal } from "./context.ts";

/** The `--help` option every command takes. */
export const HELP_SPEC: OptionSpec = { type: "boolean", short: "h" };

/** The positional arguments, refusing too few (beyond `optional` trailing ones) or too many. */
export function positionals(parsed: ParsedArgs, command: string, names: readonly string[], optional = 0): string[] {
  const p = parsed.positionals;
  if (p.length < names.length - optional) {
    throw new UsageError(`Missing ${names[p.length]} (see pubsub ${command} --help)`);
  }
  if (p.length > names.length) {
    throw new UsageError(`Unexpected argument ${JSON.stringify(p[names.length])}`);
  }
  return p;
}

/** Stops on Ctrl-C (with {@linkcode Interrupted}) or when the deadline passes (with its `TimeoutError`). */
export function stopSignal(ctx: Context, deadline: Deadline): AbortSignal {
  const c = new AbortController();
  const onInterrupt = () => c.abort(new Interrupted());
  const onDeadline = () => c.abort(deadline.signal.reason);
  if (ctx.signal.aborted) onInterrupt();
  else ctx.signal.addEventListener("abort", onInterrupt, { once: true });
  deadline.signal.addEventListener("abort", onDeadline, { once: true });
  c.signal.addEventListener("abort", () => {
    ctx.signal.removeEventListener("abort", onInterrupt);
    deadline.signal.removeEventListener("abort", onDeadline);
  }, { once: true });
  return c.signal;
}

/** Opens each URL in turn; on a failure (or `stop`), closes what was opened and throws. */
export async function openAll(ctx: Context, urls: readonly string[], stop: AbortSignal): Promise<PubSub[]> {
  const opened: PubSub[] = [];
  try {
    for (const url of urls) opened.push(await raceSignal(ctx.open(url), stop));
    return opened;
  } catch (err) {
    await Promise.all(opened.map((ps) => ps.close().catch(() => {})));
    throw err;
  }
}

/** Subscribes and waits for `ready` (or `stop`); closes the subscription when that fails. */
export async function startSubscription<M extends Message>(
  ps: PubSub<M>,
  topic: string,
  options: SubscribeOptions,
  stop: AbortSignal,
): Promise<Subscription<M>> {
  const sub = ps.subscribe(topic, options);
  try {
    await raceSignal(sub.ready, stop);
  } catch (err) {
    await sub.close().catch(() => {});
    throw err;
  }
  return sub;
}

/** What a command throws: the stop's reason (Ctrl-C, deadline) once it stopped, else the error itself. */
export function withoutDeadline(stopped: AbortSignal, err: unknown): unknown {
  return stopped.aborted ? stopped.reason : err;
}
