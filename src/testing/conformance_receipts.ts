/**
 * The conformance cases of publish receipts (where `confirmedPublish`): a
 * publish does not resolve while the server withholds its confirmation, and
 * once resolved the server has the message.
 *
 * @module
 */

import { equalBytes } from "../core/bytes.ts";
import { isSettleable } from "../core/message.ts";
import { encoder, type Suite } from "./conformance_case.ts";
import { check, readN, settlesWithin, within } from "./conformance_wait.ts";

/** Registers the receipt cases. */
export function receiptCases(suite: Suite): void {
  const { add, caps, shape } = suite;
  add("does not resolve a confirmed publish while the server withholds its confirmation", async (ctx) => {
    const { ps, target, topic, timeoutMs } = ctx;
    const probe = target.probe!;
    const t = topic();
    const sub = ps.subscribe(t);
    await within(sub.ready, timeoutMs, "Subscribing");
    const data = encoder.encode(`0:held-${Math.random().toString(36).slice(2)}`);
    await probe.hold!();
    let settled = false;
    let pending: Promise<unknown> | undefined;
    let outcome = "";
    try {
      pending = ps.publish(t, data).then(
        (r) => outcome = `resolved (confirmed: ${r.confirmed})`,
        (err) => outcome = `rejected: ${err}`,
      ).finally(() => settled = true);
      // Time for an adapter that does not wait for the confirmation to resolve anyway.
      await settlesWithin(pending, 750);
      check(!settled, `Receipts: the publish ${outcome} while the server withheld its confirmation`);
    } finally {
      await probe.release!();
    }
    await within(pending, timeoutMs, "The publish after the confirmation");
    check(outcome === "resolved (confirmed: true)", `Receipts: after the confirmation, the publish ${outcome}`);
    if (probe.has !== undefined) {
      check(await probe.has(t, data), "Receipts: the publish resolved but the server does not have the message");
    }
    const [msg] = await readN(sub.getReader(), 1, timeoutMs, "Receipts");
    check(msg !== undefined && equalBytes(msg.data, data), "Receipts: the confirmed message did not arrive");
    if (isSettleable(msg)) await msg.ack();
    await sub.close();
  }, caps.confirmedPublish && shape.probe.hold);

  add("has every message on the server once its publish resolved", async ({ ps, target, topic, timeoutMs }) => {
    const probe = target.probe!;
    const t = topic();
    const sub = ps.subscribe(t, { highWaterMark: 64 });
    await within(sub.ready, timeoutMs, "Subscribing");
    for (let i = 0; i < 20; i++) {
      const data = encoder.encode(`${i}:stored-${Math.random().toString(36).slice(2)}`);
      const receipt = await within(ps.publish(t, data), timeoutMs, "Publishing");
      check(receipt.confirmed === true, "Receipts: a confirmed publish resolved without confirmed: true");
      check(await probe.has!(t, data), `Receipts: publish ${i} resolved before the server had the message`);
    }
    for (const m of await readN(sub.getReader(), 20, timeoutMs, "Receipts")) if (isSettleable(m)) await m.ack();
    await sub.close();
  }, caps.confirmedPublish && shape.probe.has);
}
