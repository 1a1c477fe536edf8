/**
 * The I/O a command of the `pubsub` program runs with, and its exit codes.
 *
 * @module
 */

import { AuthError, ClosedError, ConnectionError, TimeoutError } from "../core/errors.ts";
import type { PubSub } from "../core/pubsub.ts";
import { UsageError } from "./args.ts";

/**
 * The exit codes of the `pubsub` program.
 *
 * @example
 * ```ts
 * import { ExitCode } from "@x/pubsub/cli";
 *
 * console.log(ExitCode.Usage); // 2
 * ```
 */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** A runtime failure: a protocol error, a failed publish, messages lost, a subscription that ended early. */
  Failure: 1,
  /** A usage error: unknown command or option, bad value, invalid URL or topic. */
  Usage: 2,
  /** The connection could not be made or was lost. */
  Connection: 3,
  /** The peer refused the credentials, or they are missing. */
  Auth: 4,
  /** A `--timeout` expired, or the system reported a timeout. */
  Timeout: 5,
  /** Stopped by SIGINT or SIGTERM (Ctrl-C). */
  Interrupted: 130,
} as const;

/** What an {@linkcode Opener} may be given besides the URL (a subset of `open()`'s options). */
export interface OpenerOptions {
  /** NATS: every server of the cluster, where the URL names one. */
  nats?: { servers?: string[] } | undefined;
}

/** A connector: a URL in, a connected adapter out (the library's `open()`, or a test's). */
export type Opener = (url: string, options?: OpenerOptions) => Promise<PubSub>;

/**
 * What {@linkcode main} runs with. Every field has a default: the real
 * `open()`, the process's standard streams, and SIGINT/SIGTERM.
 */
export interface CliIO {
  /** Connects to a URL; default the library's `open()`. */
  open?: Opener | undefined;
  /** Where output goes; default `Deno.stdout.writable`. */
  stdout?: WritableStream<Uint8Array> | undefined;
  /** Where diagnostics and the progress line go; default `Deno.stderr.writable`. */
  stderr?: WritableStream<Uint8Array> | undefined;
  /** Where `pub … -` reads from; default `Deno.stdin.readable` (only read when asked). */
  stdin?: ReadableStream<Uint8Array> | undefined;
  /** Whether stderr is a terminal (draws the live progress line); default asks Deno. */
  stderrIsTerminal?: boolean | undefined;
  /** Stops the running command (exit code 130); default SIGINT and SIGTERM. */
  signal?: AbortSignal | undefined;
}

const encoder = new TextEncoder();

/** A line-oriented writer over a byte stream that never throws on a closed pipe. */
export class Output {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #broken = false;

  /**
   * Locks the stream for writing.
   *
   * @param stream The byte stream.
   */
  constructor(stream: WritableStream<Uint8Array>) {
    this.#writer = stream.getWriter();
  }

  /** Whether the reader went away (a broken pipe): later writes are dropped. */
  get broken(): boolean {
    return this.#broken;
  }

  /**
   * Writes text (as UTF-8) or bytes.
   *
   * @param chunk What to write.
   * @returns Whether it was written (false once the pipe is broken).
   */
  async write(chunk: string | Uint8Array): Promise<boolean> {
    if (this.#broken) return false;
    try {
      await this.#writer.write(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      return true;
    } catch {
      this.#broken = true;
      return false;
    }
  }

  /** Releases the stream (it stays open). */
  release(): void {
    this.#writer.releaseLock();
  }
}

/** What every command gets. */
export interface Context {
  /** Connects to a URL. */
  open: Opener;
  /** Output. */
  out: Output;
  /** Diagnostics. */
  err: Output;
  /** Standard input, fetched lazily. */
  stdin: () => ReadableStream<Uint8Array>;
  /** Whether stderr is a terminal. */
  tty: boolean;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

/**
 * Maps an error to the exit code scripts see.
 *
 * @param err What was thrown.
 * @returns The exit code.
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof TypeError || err instanceof RangeError) return ExitCode.Usage;
  if (err instanceof AuthError) return ExitCode.Auth;
  if (err instanceof ConnectionError) return ExitCode.Connection;
  if (err instanceof TimeoutError) return ExitCode.Timeout;
  const name = err instanceof Error || err instanceof DOMException ? err.name : "";
  if (name === "AuthError") return ExitCode.Auth;
  if (name === "ConnectionError") return ExitCode.Connection;
  if (name === "TimeoutError") return ExitCode.Timeout;
  if (name === "Interrupted") return ExitCode.Interrupted;
  if (err instanceof ClosedError) return ExitCode.Failure;
  return ExitCode.Failure;
}

/**
 * Describes an error for stderr: its name and message, and its cause's.
 *
 * @param err What was thrown.
 * @returns One line.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error) && !(err instanceof DOMException)) return String(err);
  let line = err.name === "Error" || err.name === "UsageError" ? err.message : `${err.name}: ${err.message}`;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message !== "" && !line.includes(cause.message)) {
    line += ` (${cause.message})`;
  }
  return line;
}

/** The error a command stops with when interrupted. */
export class Interrupted extends Error {
  /** The error's name. */
  override name: string = "Interrupted";
  /** Creates the error. */
  constructor() {
    super("Interrupted");
  }
}

/**
 * Waits for a promise, giving up when a signal is aborted.
 *
 * @param promise What to wait for.
 * @param signal Gives up when aborted, rejecting with its reason.
 * @returns The promise's value.
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * A promise that resolves when `signal` aborts (at once when it already
 * has). `dispose()` resolves it early and removes its listener.
 *
 * @param signal The signal to wait for.
 * @returns The promise, and how to stop waiting.
 */
export function untilAborted(signal: AbortSignal): { promise: Promise<void>; dispose(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  const onAbort = () => resolve();
  if (signal.aborted) resolve();
  else signal.addEventListener("abort", onAbort, { once: true });
  return {
    promise,
    dispose: () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    },
  };
}

/** A deadline: a signal aborted with a `TimeoutError` after some time, and cleared on `dispose`. */
export class Deadline {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Starts the clock.
   *
   * @param ms How long; `undefined` never expires.
   * @param what What timed out, for the message.
   */
  constructor(ms: number | undefined, what: string) {
    if (ms !== undefined) {
      this.#timer = setTimeout(() => {
        this.#controller.abort(new TimeoutError(`${what} timed out after ${ms} ms`));
      }, ms);
    }
  }

  /** Aborted when the time is up. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the time is up. */
  get expired(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Stops the clock. */
  dispose(): void {
    clearTimeout(this.#timer);
  }
}
