/**
 * What every conformance case is given: the adapter under test, fresh
 * topics, the suite's settings and how to register a case, plus the payload
 * format the cases publish (`<index>:<anything>`).
 *
 * @module
 */

import type { Message } from "../core/message.ts";
import type { Capabilities, PubSub } from "../core/pubsub.ts";
import type { ConformanceTarget } from "./conformance.ts";

/** What one running case works with. */
export interface CaseContext {
  /** The adapter under test. */
  ps: PubSub;
  /** The target it came from (probe, restart hook). */
  target: ConformanceTarget;
  /** A fresh topic on each call. */
  topic(): string;
  /** Time allowed for each waiting step, in milliseconds. */
  timeoutMs: number;
}

/** The body of one conformance test. */
export type Case = (ctx: CaseContext) => Promise<void>;

/** What the suite learnt from one target at registration. */
export interface SuiteShape {
  /** The adapter's capabilities. */
  capabilities: Capabilities;
  /** Which probe members the target has. */
  probe: { subscriptions: boolean; has: boolean; hold: boolean };
  /** Whether the target can restart its server. */
  restart: boolean;
}

/** The suite as the case files see it: how to register a case, and the settings resolved from the options. */
export interface Suite {
  /** The prefix of every test name. */
  name: string;
  /** Registers a case titled `title`; ignored unless `when` (default true), or when a skip fragment matches. */
  add(title: string, body: Case, when?: boolean): void;
  /** What the target offers. */
  shape: SuiteShape;
  /** `shape.capabilities`. */
  caps: Capabilities;
  /** Messages in the "none lost or duplicated" case. */
  messages: number;
  /** Messages published to a reader that never reads, in the memory cases. */
  memoryMessages: number;
  /** How much the process may grow in the memory cases, in bytes. */
  memoryGrowth: number;
  /** The most messages a subscription with a given `highWaterMark` may hold. */
  bound: (highWaterMark: number) => number;
  /** Receives a line with each measurement. */
  report?: ((line: string) => void) | undefined;
}

/** The index a case's payload starts with (`<index>:`). */
export function indexOf(msg: Message): number {
  const text = new TextDecoder().decode(msg.data.subarray(0, 24));
  return Number(text.split(":")[0]);
}

/** Encodes the cases' text payloads. */
export const encoder: TextEncoder = new TextEncoder();

/** A payload of exactly `size` bytes that starts with `<i>:`. */
export function payload(i: number, size: number): Uint8Array {
  const head = encoder.encode(`${i}:`);
  const out = new Uint8Array(Math.max(size, head.length));
  out.fill(0x2e); // "."
  out.set(head);
  return out;
}
