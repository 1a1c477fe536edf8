/**
 * `open()`'s dispatch: the URL's scheme picks the system's planner, which
 * maps the URL and options onto that system's options. The planners
 * (`src/<system>/open_url.ts`) import nothing but `src/core` statically:
 * nothing here loads a client.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import { parseUrl, urlError } from "../core/url.ts";
import type { UrlOpener } from "../core/url_opener.ts";
import { httpPubSubOpener, type HttpPubSubPlan, type OpenHttpPubSubOptions } from "../httppubsub/open_url.ts";
import { mdbOpener, type MdbPlan, type OpenMdbOptions } from "../mdb/open_url.ts";
import { memoryOpener, type MemoryPlan, type OpenMemoryOptions } from "../memory/open_url.ts";
import { messageBusOpener, type MessageBusPlan, type OpenMessageBusOptions } from "../messagebus/open_url.ts";
import { natsOpener, type NatsPlan, type OpenNatsOptions } from "../nats/open_url.ts";
import { type OpenPosttrollOptions, posttrollOpener, type PosttrollPlan } from "../posttroll/open_url.ts";
import { type OpenStreamSeaOptions, streamSeaOpener, type StreamSeaPlan } from "../streamsea/open_url.ts";
import { envReader, type EnvSource } from "./env.ts";

export type {
  OpenHttpPubSubOptions,
  OpenMdbOptions,
  OpenMemoryOptions,
  OpenMessageBusOptions,
  OpenNatsOptions,
  OpenPosttrollOptions,
  OpenStreamSeaOptions,
};

/**
 * Options of `open()`: one section per system, each merged over (and
 * winning against) what the URL says; credentials found in neither come
 * from the system's usual environment variables.
 */
export interface OpenOptions {
  /** `nats:`, `nats+tcp:`, `nats+tls:`, `nats+ws:`, `nats+wss:`. */
  nats?: OpenNatsOptions | undefined;
  /** `mdb+https:`. */
  mdb?: OpenMdbOptions | undefined;
  /** `httppubsub+http:`, `httppubsub+https:`. */
  httppubsub?: OpenHttpPubSubOptions | undefined;
  /** `streamsea+ws:`, `streamsea+wss:`, `streamsea+http:`, `streamsea+https:`. */
  streamsea?: OpenStreamSeaOptions | undefined;
  /** `messagebus:`, `messagebus+tls:`. */
  messagebus?: OpenMessageBusOptions | undefined;
  /** `posttroll:`. */
  posttroll?: OpenPosttrollOptions | undefined;
  /** `memory:`. */
  memory?: OpenMemoryOptions | undefined;
  /**
   * Where environment variables come from: a record, a function, or `false`
   * to read none. Default: the runtime's environment (in Deno only variables
   * already granted, so `open()` never prompts).
   */
  env?: EnvSource | undefined;
}

/** What a URL and options resolve to: the system, its entry's options, and what to scrub from errors. */
export type Plan = NatsPlan | MdbPlan | HttpPubSubPlan | StreamSeaPlan | MessageBusPlan | PosttrollPlan | MemoryPlan;

type Openers = { readonly [P in Plan as P["system"]]: UrlOpener<P["system"], OpenOptions[P["system"]], P> };

/** Every system's planner, by system. */
const OPENERS: Openers = {
  nats: natsOpener,
  mdb: mdbOpener,
  httppubsub: httpPubSubOpener,
  streamsea: streamSeaOpener,
  messagebus: messageBusOpener,
  posttroll: posttrollOpener,
  memory: memoryOpener,
};

type AnyOpener = UrlOpener<Plan["system"], unknown, Plan>;

/** The schemes `open()` knows, and their systems. */
export const SCHEMES: Readonly<Record<string, Plan["system"]>> = Object.freeze(
  Object.fromEntries(Object.values(OPENERS).flatMap((o: AnyOpener) => o.schemes.map((s) => [s, o.system]))),
);

/**
 * Resolves a URL and options into a {@linkcode Plan}.
 *
 * @param input The URL.
 * @param options The options.
 * @returns The plan.
 * @throws {TypeError} On a bad URL, naming the part that is wrong.
 */
export function plan(input: string | URL, options: OpenOptions = {}): Plan {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Opening a URL failed: options ${String(options)} is not an object`);
  }
  const scheme0 = (typeof input === "string" ? /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(input)?.[1] : input?.protocol)
    ?.replace(/:$/, "").toLowerCase();
  const guessed = scheme0 === undefined ? undefined : SCHEMES[scheme0];
  // A user name alone is a token for some systems (`nats://TOKEN@host`): shown as `***`.
  const u = parseUrl(input, guessed !== undefined && (OPENERS[guessed] as AnyOpener).secretUsername);
  const system = SCHEMES[u.scheme];
  if (system === undefined) {
    urlError(u.display, `the scheme ${u.scheme}: is not one of ${Object.keys(SCHEMES).map((s) => `${s}:`).join(", ")}`);
  }
  return (OPENERS[system] as AnyOpener).plan(u, options[system], envReader(options.env));
}

/**
 * Loads the plan's system and connects it.
 *
 * @param plan A plan from {@linkcode plan}.
 * @returns The system's adapter, connected.
 */
export function connect(plan: Plan): Promise<PubSub> {
  return (OPENERS[plan.system] as AnyOpener).connect(plan);
}
