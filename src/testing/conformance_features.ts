/**
 * The conformance cases of optional features, each registered as ignored
 * where the capabilities lack it: groups, settlement, wildcards.
 *
 * @module
 */

import { delay } from "../core/async.ts";
import { isSettleable, type Message } from "../core/message.ts";
import type { Subscription } from "../core/subscription.ts";
import { indexOf, type Suite } from "./conformance_case.ts";
import { check, readN, within } from "./conformance_wait.ts";

/** Registers the group, settlement and wildcard cases. */
export function featureCases(suite: Suite): void {
  const { add, caps } = suite;
  add("shares messages within a group", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const a = ps.subscribe(t, { group: "workers", highWaterMark: 256 });
    const b = ps.subscribe(t, { group: "workers", highWaterMark: 256 });
    await within(Promise.all([a.ready, b.ready]), timeoutMs, "Subscribing");
    const count = 100;
    const got: number[][] = [[], []];
    let all!: () => void;
    const done = new Promise<void>((resolve) => all = resolve);
    const drain = (s: Subscription<Message>, into: number[]) =>
      (async () => {
        for await (const m of s) {
          into.push(indexOf(m));
          if (isSettleable(m)) await m.ack();
          if (got[0]!.length + got[1]!.length >= count) all();
        }
      })();
    const draining = [drain(a, got[0]!), drain(b, got[1]!)];
    for (let i = 0; i < count; i++) await ps.publish(t, `${i}:group`);
    await within(done, timeoutMs, `Groups: ${got[0]!.length + got[1]!.length} of ${count} arrived`);
    // A duplicate would show up as more than `count`: give one a moment to come.
    await delay(100);
    await Promise.all([a.close(), b.close()]);
    await Promise.all(draining);
    const both = [...got[0]!, ...got[1]!];
    check(both.length === count && new Set(both).size === count, `Groups: ${both.length} deliveries of ${count}`);
    check(got[0]!.length > 0 && got[1]!.length > 0, "Groups: one member got nothing");
  }, caps.groups);

  add("redelivers a nak'd message and not a term'd one", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const sub = ps.subscribe(t);
    await within(sub.ready, timeoutMs, "Subscribing");
    const reader = sub.getReader();
    await ps.publish(t, "0:settle");
    const [first] = await readN(reader, 1, timeoutMs, "Settle");
    check(first !== undefined && isSettleable(first), "Settle: the message has no ack/nak/term");
    await first.nak();
    const [again] = await readN(reader, 1, timeoutMs, "Settle (redelivery)");
    check(again !== undefined && again.text() === "0:settle", "Settle: the nak'd message was not redelivered");
    if (isSettleable(again)) await again.term();
    await ps.publish(t, "1:settle");
    const [next] = await readN(reader, 1, timeoutMs, "Settle (after term)");
    check(next !== undefined && next.text() === "1:settle", "Settle: a term'd message came back");
    if (isSettleable(next)) await next.ack();
    reader.releaseLock();
    await sub.close();
  }, caps.settle);

  add("matches wildcards in the system's syntax", async ({ ps, topic, timeoutMs }) => {
    const syntax = ps.capabilities.wildcards;
    const base = topic();
    const sep = syntax === "nats" ? "." : "/";
    const pattern = syntax === "glob" ? `${base}/*` : syntax === "nats" ? `${base}.*` : base;
    const sub = ps.subscribe(pattern);
    await within(sub.ready, timeoutMs, "Subscribing");
    if (syntax !== "prefix") await ps.publish(`${base}${sep}a${sep}deeper`, "0:no");
    await ps.publish(`${base}${sep}a`, "1:yes");
    const [msg] = await readN(sub.getReader(), 1, timeoutMs, "Wildcards");
    check(msg !== undefined && msg.text() === "1:yes", `Wildcards: ${pattern} matched ${msg?.topic}`);
    check(msg.topic === `${base}${sep}a`, `Wildcards: the message's topic ${msg.topic} is not the published one`);
    if (isSettleable(msg)) await msg.ack();
    await sub.close();
  }, caps.wildcards !== "none");
}
