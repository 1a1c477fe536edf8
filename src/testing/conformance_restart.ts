/**
 * The conformance case of a server restart: publishing and reading go on,
 * and the delivery guarantee the adapter claims holds across it.
 *
 * @module
 */

import { isSettleable } from "../core/message.ts";
import { indexOf, type Suite } from "./conformance_case.ts";
import { check, ConformanceFailure, settlesWithin, until, within } from "./conformance_wait.ts";

const GAP_EVENTS = ["disconnected", "reconnecting", "reconnected", "missed"];

/** Registers the restart case (with a restart hook). */
export function restartCases(suite: Suite): void {
  const { add, caps, shape } = suite;
  add(
    `keeps publishing and reading through a server restart (${caps.delivery})`,
    async ({ ps, target, topic, timeoutMs }) => {
      const t = topic();
      const events: string[] = [];
      let restarting = false;
      const onEvent = (ev: Event) => {
        if (restarting && GAP_EVENTS.includes(ev.type)) events.push(ev.type);
      };
      for (const type of GAP_EVENTS) ps.status.addEventListener(type, onEvent);
      const sub = ps.subscribe(t, { highWaterMark: 256 });
      await within(sub.ready, timeoutMs, "Subscribing");
      let ended: { reason: unknown } | undefined;
      void sub.closed.then((reason) => ended = { reason });
      const seen = new Map<number, number>();
      let wake: (() => void) | undefined;
      const reading = (async () => {
        for await (const msg of sub) {
          const i = indexOf(msg);
          seen.set(i, (seen.get(i) ?? 0) + 1);
          if (isSettleable(msg)) await msg.ack().catch(() => {});
          wake?.();
        }
      })();
      const total = 200;
      const outcomes: ("resolved" | "rejected")[] = [];
      let restarted: Promise<void> | undefined;
      try {
        for (let i = 0; i < total; i++) {
          if (i === total / 4) {
            restarting = true;
            restarted = target.restart!();
          }
          const p = ps.publish(t, `${i}:restart`);
          outcomes[i] = await within(p, timeoutMs * 2, `Publish ${i} during the restart`).then(
            () => "resolved" as const,
            () => "rejected" as const,
          );
          // Publishing goes on while the server is away: a few more publishes fall in the outage.
          if (restarted !== undefined && i < total / 2) await settlesWithin(restarted, 20);
        }
        await within(restarted!, timeoutMs * 3, "The restart");
        // The subscription comes back: a message published now arrives.
        let sentinel = total;
        const back = await until(async () => {
          if (seen.size > 0 && [...seen.keys()].some((k) => k >= total)) return true;
          await ps.publish(t, `${sentinel++}:sentinel`).catch(() => {});
          await settlesWithin(new Promise<void>((resolve) => wake = resolve), 250);
          return [...seen.keys()].some((k) => k >= total);
        }, timeoutMs * 3);
        check(ended === undefined, `Restart: the subscription ended (${String(ended?.reason)})`);
        check(back, "Restart: nothing published after the restart arrived");
        const resolved = outcomes.flatMap((o, i) => o === "resolved" ? [i] : []);
        const missing = () => resolved.filter((i) => !seen.has(i));
        if (caps.delivery === "at-least-once") {
          const all = await until(() => missing().length === 0, timeoutMs * 6);
          check(
            all,
            `Restart: ${missing().length} messages whose publish resolved were lost (at-least-once): ${
              missing().slice(0, 20).join(",")
            }`,
          );
        } else {
          const lost = missing();
          check(
            lost.length === 0 || events.length > 0,
            `Restart: ${lost.length} messages whose publish resolved were lost with no status event (at-most-once)`,
          );
        }
        const duplicates = [...seen.values()].filter((n) => n > 1).length;
        if (duplicates > 0 && caps.delivery === "at-most-once") {
          throw new ConformanceFailure(`Restart: ${duplicates} duplicates from an at-most-once system`);
        }
      } finally {
        for (const type of GAP_EVENTS) ps.status.removeEventListener(type, onEvent);
        await restarted?.catch(() => {});
        await sub.close();
        await reading.catch(() => {});
      }
    },
    shape.restart,
  );
}
