/**
 * What a system gives `open()`: the schemes it answers, a pure planner from
 * URL and options to the system's own options, and a connector that loads
 * the system's code only when called. Each system writes one, in
 * `src/<system>/open_url.ts`; `src/open/plan.ts` only dispatches on the
 * scheme. Types only.
 *
 * @module
 */

import type { PubSub } from "./pubsub.ts";
import type { UrlParts } from "./url.ts";

/** Reads an environment variable: its value, or `undefined` when unset or empty. */
export type Env = (name: string) => string | undefined;

/** What every system's plan holds, beside its own options. */
export interface PlanBase<S extends string> {
  /** The system: the key of its section in `open()`'s options. */
  readonly system: S;
  /** The URL as shown in messages (no password). */
  display: string;
  /** Secrets to scrub from errors: the URL's and those found in the options or the environment. */
  secrets: string[];
}

/**
 * One system's part of `open()`.
 *
 * @typeParam S The system's name.
 * @typeParam O Its section of `open()`'s options.
 * @typeParam P Its plan.
 */
export interface UrlOpener<S extends string, O, P extends PlanBase<S>> {
  /** The system: the key of its section in `open()`'s options and its plans' `system`. */
  readonly system: S;
  /** The URL schemes it answers, lower-case, without the `:`. */
  readonly schemes: readonly string[];
  /** Whether a user name given without a password is a secret (a token), shown as `***`. */
  readonly secretUsername: boolean;
  /**
   * Maps a URL and the system's options onto a plan. Pure and synchronous:
   * it reads environment variables through `env` only.
   *
   * @param url The URL's parts, already parsed and checked.
   * @param options The system's section of `open()`'s options.
   * @param env The environment.
   * @returns The plan.
   * @throws {TypeError} On a bad URL (through `urlError()`), naming the part that is wrong.
   */
  plan(url: UrlParts, options: O | undefined, env: Env): P;
  /**
   * Loads the system's code (by dynamic `import()`) and connects as the plan says.
   *
   * @param plan A plan made by {@linkcode UrlOpener.plan}.
   * @returns The system's adapter, connected.
   */
  connect(plan: P): Promise<PubSub>;
}
