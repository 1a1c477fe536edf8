/**
 * The conformance cases of release: a subscription ended by `cancel()`,
 * `break`, `close()` or an aborted signal has ended, lets publishers go on,
 * and (with a probe) is gone from the server within 2 s.
 *
 * @module
 */

import { isSettleable, type Message } from "../core/message.ts";
import type { Subscription } from "../core/subscription.ts";
import type { Suite } from "./conformance_case.ts";
import { check, readN, until, within } from "./conformance_wait.ts";

/** Registers the release cases, two per way of ending a subscription. */
export function releaseCases(suite: Suite): void {
  const { add, shape } = suite;
  const releases: [string, (sub: Subscription<Message>, abort: AbortController) => Promise<void>][] = [
    ["cancel()", async (sub) => {
      const reader = sub.getReader();
      await reader.read();
      await reader.cancel("done");
    }],
    ["break out of for await", async (sub) => {
      for await (const _ of sub) break;
    }],
    ["close() while piped", async (sub) => {
      let closedDest = false;
      let first!: () => void;
      const wrote = new Promise<void>((resolve) => first = resolve);
      const piping = sub.pipeTo(
        new WritableStream({
          write: () => first(),
          close: () => void (closedDest = true),
        }),
      );
      await wrote;
      await sub.close();
      await piping;
      check(closedDest, "Release: close() did not close the pipe's destination");
    }],
    ["signal abort while piped", async (sub, abort) => {
      let first!: () => void;
      const wrote = new Promise<void>((resolve) => first = resolve);
      const piping = sub.pipeTo(new WritableStream({ write: () => first() }));
      await wrote;
      abort.abort(new Error("stop"));
      await piping.catch(() => {});
      const reason = await sub.closed;
      check(reason instanceof Error && reason.message === "stop", "Release: closed did not carry the abort reason");
    }],
    ["close() with a pending read", async (sub) => {
      const reader = sub.getReader();
      await reader.read();
      const pending = reader.read();
      await sub.close();
      const r = await pending;
      check(r.done === true, "Release: a pending read did not end on close()");
    }],
  ];
  for (const [how, end] of releases) {
    add(`releases the subscription on ${how}`, async ({ ps, topic, timeoutMs }) => {
      const t = topic();
      const abort = new AbortController();
      const sub = ps.subscribe(t, { highWaterMark: 1, signal: abort.signal });
      await within(sub.ready, timeoutMs, "Subscribing");
      await ps.publish(t, "0:first");
      await within(end(sub, abort), timeoutMs, `Ending by ${how}`);
      await within(sub.closed, timeoutMs, "closed");
      // A subscription that was not released would hold these (highWaterMark 1).
      const after = Promise.all(Array.from({ length: 10 }, (_, i) => ps.publish(t, `${i + 1}:after`)));
      await within(after, timeoutMs, "Publishing after the subscription ended");
    });
    add(`releases the subscription on the wire within 2 s on ${how}`, async ({ ps, target, topic, timeoutMs }) => {
      const count = target.probe!.subscriptions!.bind(target.probe);
      const t = topic();
      const otherTopic = topic();
      const other = ps.subscribe(otherTopic);
      await within(other.ready, timeoutMs, "Subscribing (a second subscription, kept)");
      const base = await count();
      const abort = new AbortController();
      const sub = ps.subscribe(t, { highWaterMark: 1, signal: abort.signal });
      await within(sub.ready, timeoutMs, "Subscribing");
      check(
        await until(async () => await count() > base, timeoutMs),
        `Release: the server never saw the subscription (it counts ${await count()}, as before)`,
      );
      const held = await count();
      await ps.publish(t, "0:first");
      await within(end(sub, abort), timeoutMs, `Ending by ${how}`);
      const gone = await until(async () => await count() <= base, 2_000);
      check(
        gone,
        `Release: after ${how} the server still counts ${await count()} subscriptions (${base} before, ${held} with it)`,
      );
      // The adapter stays open: the other subscription still works.
      await ps.publish(otherTopic, "1:still");
      const [still] = await readN(other.getReader(), 1, timeoutMs, "Release: the subscription kept");
      if (still !== undefined && isSettleable(still)) await still.ack();
      await other.close();
    }, shape.probe.subscriptions);
  }
}
