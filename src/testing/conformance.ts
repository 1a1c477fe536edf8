/**
 * The conformance suite every system's adapter runs, in the manner of
 * Watermill's universal pub/sub tests: it reads the adapter's
 * `capabilities` to pick its tests and sizes, and checks each promise where
 * it can be seen: process memory, and the server's own view through a probe.
 *
 * @module
 */

import type { PubSub } from "../core/pubsub.ts";
import type { Suite, SuiteShape } from "./conformance_case.ts";
import { contractCases } from "./conformance_contract.ts";
import { deliveryCases } from "./conformance_delivery.ts";
import { featureCases } from "./conformance_features.ts";
import { memoryCases } from "./conformance_memory.ts";
import { receiptCases } from "./conformance_receipts.ts";
import { releaseCases } from "./conformance_release.ts";
import { restartCases } from "./conformance_restart.ts";

/**
 * What the suite may ask the server (or fake) behind an adapter, to check
 * promises against the server's own view rather than the adapter's
 * counters. Every member is optional: the tests that need a missing one are
 * registered as ignored.
 */
export interface ConformanceProbe {
  /**
   * How many subscriptions the client under test holds at the server now,
   * as the server sees them (nats-server's monitoring endpoint, a fake's
   * state). Only changes matter: the suite compares with a count taken
   * before it subscribed.
   */
  subscriptions?(): Promise<number>;
  /**
   * Whether the server has the message published to `topic` with `data`:
   * stored it, or accepted it for delivery.
   */
  has?(topic: string, data: Uint8Array): Promise<boolean>;
  /**
   * Makes the server withhold its publish confirmations (it may still take
   * the messages, or stop answering altogether) until
   * {@linkcode ConformanceProbe.release}.
   */
  hold?(): Promise<void>;
  /** Ends {@linkcode ConformanceProbe.hold}: the withheld confirmations go out. */
  release?(): Promise<void>;
}

/** What a conformance factory returns: a fresh adapter, and how to clean up. */
export interface ConformanceTarget {
  /** The adapter under test; the suite closes it at the end of each test. */
  pubsub: PubSub;
  /** A fresh topic for each call; default `conformance/<random>/<n>`. */
  topic?(n: number): string;
  /** Stops whatever the factory started (servers, fakes). */
  cleanup?(): Promise<void>;
  /** Asks the server behind `pubsub`; see {@linkcode ConformanceProbe}. */
  probe?: ConformanceProbe | undefined;
  /**
   * Restarts the server behind `pubsub` on the same address (state kept as
   * the real server keeps it); resolves once it accepts connections again.
   */
  restart?(): Promise<void>;
}

/** Makes a fresh {@linkcode ConformanceTarget} for each test. */
export type ConformanceFactory = () => ConformanceTarget | Promise<ConformanceTarget>;

/** How the suite registers a test; `Deno.test`'s shape. */
export type TestRegistrar = (definition: { name: string; fn: () => Promise<void>; ignore?: boolean }) => void;

/** Options of {@linkcode runConformance}. */
export interface ConformanceOptions {
  /** Messages in the "none lost or duplicated" test. Default 10 000. */
  messages?: number | undefined;
  /** Messages of 10 KiB published to a reader that never reads, in the memory tests. Default 5 000. */
  memoryMessages?: number | undefined;
  /**
   * How much the process's memory (V8 heap and external memory after a
   * forced GC) may grow while a reader that never reads is flooded, in
   * bytes. Default 4 MiB.
   */
  memoryGrowth?: number | undefined;
  /**
   * The most messages a subscription with this `highWaterMark` may hold in
   * every layer (what `buffered` reports), as the adapter documents.
   * Default `2 × highWaterMark`: the buffer, and under `"block"` as many
   * pushes waiting for room.
   */
  bound?: ((highWaterMark: number) => number) | undefined;
  /** Time allowed for each waiting step, in milliseconds. Default 10 000. */
  timeoutMs?: number | undefined;
  /** Registers a test; default `Deno.test`. */
  test?: TestRegistrar | undefined;
  /** Names (or name fragments) of tests to leave out, with the reason in your own docs. */
  skip?: readonly string[] | undefined;
  /** Receives a line with each measurement (memory growth, most held), e.g. `console.log`. */
  report?: ((line: string) => void) | undefined;
}
/**
 * Registers the conformance tests for one adapter. It makes one target
 * first to read its capabilities and what its probe can tell, then
 * registers the tests; await it before the test run starts (top-level
 * `await` in a test module). Each test gets a fresh target from `factory`,
 * closes its `pubsub` and runs its `cleanup` at the end, with Deno's
 * sanitizers on. Tests that need a capability, a probe member or a restart
 * hook the target lacks are registered as ignored.
 *
 * Tests:
 * - round trip in order (with headers where carried); N messages with none
 *   lost or duplicated; several subscribers; the largest payload; invalid
 *   arguments (an overflow policy the adapter does not offer is a
 *   `TypeError`); use after close; `writable()` piping with receipts.
 * - memory, for each overflow policy offered: a reader that never reads
 *   while 5 000 × 10 KiB are published. What the subscription holds in
 *   every layer (`buffered`) stays within the documented bound, and the
 *   process's memory (heap and external memory after a forced GC) grows by
 *   less than `memoryGrowth`; then the reader reads: under `"block"`
 *   everything published arrives, under the drop policies `dropped` is
 *   what did not, under `"error"` the subscription failed with
 *   `OverflowError`.
 * - release: after `cancel()`, `break`, `close()` while piped, an aborted
 *   `signal` while piped and `close()` with a pending read, the
 *   subscription has ended; with a probe, the server sees it gone within
 *   2 s while the adapter stays open.
 * - receipts (where `confirmedPublish`): a publish does not resolve while
 *   the server withholds its confirmation, and once resolved the server has
 *   the message.
 * - restart (with a restart hook): publishing and reading go on through a
 *   server restart, publishes during the outage included;
 *   `"at-least-once"` loses nothing whose publish resolved (duplicates
 *   counted), `"at-most-once"` reports any loss as a status event.
 * - groups, settlement and wildcards where the capabilities say so.
 *
 * @example
 * ```ts ignore
 * import { MemoryPubSub, runConformance } from "@x/pubsub/testing";
 *
 * await runConformance("MemoryPubSub", () => ({ pubsub: new MemoryPubSub() }));
 * ```
 *
 * @param name A prefix for the test names.
 * @param factory Makes a fresh target for each test.
 * @param options Sizes, bounds, timeouts, the test registrar.
 * @returns Once every test is registered.
 */
export async function runConformance(
  name: string,
  factory: ConformanceFactory,
  options: ConformanceOptions = {},
): Promise<void> {
  const register: TestRegistrar = options.test ??
    ((def) => (globalThis as unknown as { Deno: { test: TestRegistrar } }).Deno.test(def));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const messages = options.messages ?? 10_000;
  const memoryMessages = options.memoryMessages ?? 5_000;
  const memoryGrowth = options.memoryGrowth ?? 4 * 1024 * 1024;
  const bound = options.bound ?? ((hwm: number) => 2 * hwm);
  const skip = options.skip ?? [];
  const report = options.report;

  const shape = await (async (): Promise<SuiteShape> => {
    const target = await factory();
    try {
      const p = target.probe;
      return {
        capabilities: target.pubsub.capabilities,
        probe: {
          subscriptions: p?.subscriptions !== undefined,
          has: p?.has !== undefined,
          hold: p?.hold !== undefined && p.release !== undefined,
        },
        restart: target.restart !== undefined,
      };
    } finally {
      await target.pubsub.close();
      await target.cleanup?.();
    }
  })();
  const caps = shape.capabilities;

  const add: Suite["add"] = (title, body, when = true) => {
    const full = `${name}: ${title}`;
    register({
      name: full,
      ignore: !when || skip.some((s) => title.includes(s)),
      fn: async () => {
        const target = await factory();
        const run = Math.random().toString(36).slice(2, 10);
        let n = 0;
        const topic = () => target.topic?.(n++) ?? `conformance/${run}/${n++}`;
        try {
          await body({ ps: target.pubsub, target, topic, timeoutMs });
        } finally {
          await target.pubsub.close();
          await target.cleanup?.();
        }
      },
    });
  };

  const suite: Suite = { name, add, shape, caps, messages, memoryMessages, memoryGrowth, bound, report };
  deliveryCases(suite);
  memoryCases(suite);
  releaseCases(suite);
  contractCases(suite);
  receiptCases(suite);
  restartCases(suite);
  featureCases(suite);
}
