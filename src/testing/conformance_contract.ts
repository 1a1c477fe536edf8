/**
 * The conformance cases of the API contract: invalid arguments, use after
 * `close()`, and `writable()` piping with a receipt per write.
 *
 * @module
 */

import { ClosedError } from "../core/errors.ts";
import { isSettleable } from "../core/message.ts";
import { OVERFLOW_POLICIES, type OverflowPolicy } from "../core/source.ts";
import { indexOf, type Suite } from "./conformance_case.ts";
import { check, readN, throwsOrRejects, within } from "./conformance_wait.ts";

/** Registers the API contract cases. */
export function contractCases(suite: Suite): void {
  const { add } = suite;
  add("rejects invalid arguments with TypeError or RangeError", async ({ ps, topic }) => {
    const t = topic();
    await throwsOrRejects(() => ps.subscribe(""), TypeError, "Subscribing to an empty topic");
    await throwsOrRejects(() => ps.subscribe(t, { highWaterMark: -1 }), RangeError, "A negative highWaterMark");
    await throwsOrRejects(() => ps.subscribe(t, { highWaterMark: 1.5 }), RangeError, "A fractional highWaterMark");
    await throwsOrRejects(
      () => ps.subscribe(t, { overflow: "bogus" as OverflowPolicy }),
      TypeError,
      "An unknown overflow policy",
    );
    check(ps.capabilities.overflow.length > 0, "Capabilities: no overflow policy is offered");
    check(
      ps.capabilities.overflow.every((p) => OVERFLOW_POLICIES.includes(p)),
      `Capabilities: overflow lists an unknown policy: ${ps.capabilities.overflow.join(", ")}`,
    );
    check(
      ps.capabilities.delivery === "at-least-once" || ps.capabilities.delivery === "at-most-once",
      `Capabilities: delivery ${String(ps.capabilities.delivery)} is not at-least-once or at-most-once`,
    );
    for (const policy of OVERFLOW_POLICIES) {
      if (ps.capabilities.overflow.includes(policy)) continue;
      await throwsOrRejects(
        () => ps.subscribe(t, { overflow: policy }),
        TypeError,
        `Overflow "${policy}", which capabilities.overflow does not offer`,
      );
    }
    await throwsOrRejects(() => ps.publish("", "x"), TypeError, "Publishing to an empty topic");
    await throwsOrRejects(() => ps.publish(t, 42 as unknown as string), TypeError, "Publishing a number");
    await throwsOrRejects(() => ps.writable(t, { maxInFlight: 0 }), RangeError, "maxInFlight 0");
    const writer = ps.writable(t).getWriter();
    await throwsOrRejects(() => writer.write({} as unknown as string), TypeError, "Writing a plain object");
    await writer.abort().catch(() => {});
  });

  add("gives ClosedError after close() and ends live subscriptions", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const sub = ps.subscribe(t);
    await within(sub.ready, timeoutMs, "Subscribing");
    const reader = sub.getReader();
    const pending = reader.read().then((r) => r.done, (err) => err instanceof ClosedError);
    await ps.close();
    check(await within(pending, timeoutMs, "A read ending on close()"), "Close: a live subscription did not end");
    await within(sub.closed, timeoutMs, "closed after the client closed");
    await ps.close();
    await throwsOrRejects(() => ps.publish(t, "x"), ClosedError, "Publishing after close()");
    await throwsOrRejects(() => ps.subscribe(t), ClosedError, "Subscribing after close()");
  });

  add("pipes a subscription into writable(), each write resolving on its receipt", async ({ ps, topic, timeoutMs }) => {
    const from = topic();
    const to = topic();
    const source = ps.subscribe(from);
    const target = ps.subscribe(to);
    await within(Promise.all([source.ready, target.ready]), timeoutMs, "Subscribing");
    const receipts: boolean[] = [];
    let allReceipts!: () => void;
    const received = new Promise<void>((resolve) => allReceipts = resolve);
    const count = 10;
    const piping = source.pipeTo(ps.writable(to, {
      onReceipt: (r) => {
        receipts.push(r.confirmed);
        if (receipts.length === count) allReceipts();
      },
    }));
    for (let i = 0; i < count; i++) {
      await ps.publish(from, `${i}:bridged`, ps.capabilities.headers ? { headers: { "x-hop": "1" } } : {});
    }
    const got = await readN(target.getReader(), count, timeoutMs, "Piping");
    check(new Set(got.map(indexOf)).size === count, "Piping: messages were lost or duplicated");
    if (ps.capabilities.headers) check(got.every((m) => m.headers.get("x-hop") === "1"), "Piping: headers were lost");
    for (const m of got) if (isSettleable(m)) await m.ack();
    // A system may deliver before it answers the publish: wait for the receipts.
    await within(received, timeoutMs, `Piping: ${receipts.length} receipts for ${count} writes`);
    check(
      receipts.every((c) => c === ps.capabilities.confirmedPublish),
      "Piping: receipts do not match capabilities.confirmedPublish",
    );
    await source.close();
    await within(piping, timeoutMs, "The pipe ending");
    await target.close();
  });
}
