/**
 * What one system's fake gives `pubsub fake`: the facts of the ready line,
 * what the admin endpoint lists and does, and how it stops.
 *
 * @module
 */

import type { ParsedArgs } from "../args.ts";
import type { OptionSpec } from "../args.ts";
import type { AdminBody } from "./admin_body.ts";
import type { FakeLog } from "./fake_log.ts";

/** A fake started by `pubsub fake <system>`. */
export interface RunningFake {
  /** The ready line's fields (URLs, ports, credentials in force), without `fake` and `admin`. */
  readonly info: Record<string, unknown>;
  /** One line for people: where it listens, e.g. `messagebus://127.0.0.1:40123 (TCP, v3)`. */
  readonly summary: string;
  /** What `GET /<name>` on the admin endpoint answers (e.g. `clients`, `subscriptions`, `streams`). */
  readonly lists: Readonly<Record<string, () => unknown>>;
  /** What `POST /<name>` on the admin endpoint does (e.g. `publish`, `kill`, `restart`), with its JSON body. */
  readonly actions: Readonly<Record<string, (body: AdminBody) => Promise<unknown>>>;
  /** Stops the fake and everything it started; nothing is left listening. */
  stop(): Promise<void>;
}

/** One system of `pubsub fake`. */
export interface FakeSystem {
  /** The options the system takes, besides the shared ones. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Its `--help` text. */
  readonly help: string;
  /**
   * Starts the fake.
   *
   * @param parsed The command line.
   * @param log Where `--log` lines go.
   * @returns The running fake.
   */
  start(parsed: ParsedArgs, log: FakeLog): Promise<RunningFake>;
}
