/**
 * The conformance cases of plain delivery: a round trip in order, many
 * messages with none lost or duplicated, several subscribers, the largest
 * payload.
 *
 * @module
 */

import { equalBytes } from "../core/bytes.ts";
import { isSettleable } from "../core/message.ts";
import { indexOf, type Suite } from "./conformance_case.ts";
import { check, readN, throwsOrRejects, within } from "./conformance_wait.ts";

/** Registers the delivery cases. */
export function deliveryCases(suite: Suite): void {
  const { add, messages } = suite;
  add("round-trips messages in order", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const count = 50;
    const sub = ps.subscribe(t, { highWaterMark: count });
    await within(sub.ready, timeoutMs, "Subscribing");
    for (let i = 0; i < count; i++) {
      await ps.publish(t, `${i}:payload`, ps.capabilities.headers ? { headers: { "x-conformance": String(i) } } : {});
    }
    const reader = sub.getReader();
    const got = await readN(reader, count, timeoutMs, "Round trip");
    const indices = got.map(indexOf);
    if (ps.capabilities.ordered) {
      check(indices.every((v, i) => v === i), `Round trip: messages arrived out of order: ${indices.join(",")}`);
    } else {
      check(new Set(indices).size === count, "Round trip: messages were lost or duplicated");
    }
    for (const msg of got) {
      check(msg.topic === t, `Round trip: topic ${msg.topic} is not ${t}`);
      check(msg.data instanceof Uint8Array, "Round trip: data is not a Uint8Array");
      check(msg.text() === `${indexOf(msg)}:payload`, `Round trip: payload ${msg.text()} was changed`);
      check(msg.headers instanceof Headers, "Round trip: headers is not a Headers");
      if (ps.capabilities.headers) {
        check(msg.headers.get("x-conformance") === String(indexOf(msg)), "Round trip: a header was lost");
      }
      if (msg.time !== undefined) check(msg.time instanceof Date && !isNaN(msg.time.getTime()), "Round trip: bad time");
      if (isSettleable(msg)) await msg.ack();
    }
    reader.releaseLock();
    await sub.close();
  });

  add(`delivers ${messages} messages with none lost or duplicated`, async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    // Where the source cannot be paused, a buffer that can take everything: none needs to be dropped.
    const sub = ps.subscribe(t, { highWaterMark: ps.capabilities.overflow.includes("block") ? 256 : messages });
    await within(sub.ready, timeoutMs, "Subscribing");
    const seen = new Uint8Array(messages);
    let received = 0;
    let duplicates = 0;
    const reading = (async () => {
      for await (const msg of sub) {
        const i = indexOf(msg);
        if (isSettleable(msg)) void msg.ack();
        if (seen[i] === 1) duplicates++;
        else seen[i] = 1;
        if (++received === messages) break;
      }
    })();
    const publishing = (async () => {
      const window: Promise<unknown>[] = [];
      for (let i = 0; i < messages; i++) {
        const p = ps.publish(t, `${i}:x`);
        p.catch(() => {}); // reported through the window below; never as an unhandled rejection
        window.push(p);
        if (window.length >= 64) await window.shift();
      }
      await Promise.all(window);
    })();
    const limit = timeoutMs * 6;
    await within(Promise.all([publishing, reading]), limit, `Delivering ${messages} messages (got ${received})`);
    check(duplicates === 0, `Delivery: ${duplicates} duplicates`);
    check(sub.dropped === 0, `Delivery: ${sub.dropped} dropped`);
    check(seen.every((v) => v === 1), "Delivery: some messages were lost");
  });

  add("delivers every message to each of several subscribers", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const subs = [ps.subscribe(t), ps.subscribe(t), ps.subscribe(t)];
    await within(Promise.all(subs.map((s) => s.ready)), timeoutMs, "Subscribing");
    const count = 20;
    const reads = subs.map((s) => readN(s.getReader(), count, timeoutMs, "Several subscribers"));
    for (let i = 0; i < count; i++) await ps.publish(t, `${i}:fan`);
    for (const got of await Promise.all(reads)) {
      check(new Set(got.map(indexOf)).size === count, "Several subscribers: a subscriber missed messages");
      for (const m of got) if (isSettleable(m)) await m.ack();
    }
    await Promise.all(subs.map((s) => s.close()));
  });

  add("carries the largest payload allowed (up to 1 MiB)", async ({ ps, topic, timeoutMs }) => {
    const t = topic();
    const size = Math.min(ps.capabilities.maxPayload, 1024 * 1024);
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
    const sub = ps.subscribe(t);
    await within(sub.ready, timeoutMs, "Subscribing");
    await within(ps.publish(t, data), timeoutMs, `Publishing ${size} bytes`);
    const [msg] = await readN(sub.getReader(), 1, timeoutMs, "Largest payload");
    check(msg !== undefined && equalBytes(msg.data, data), `Largest payload: the ${size} bytes came back changed`);
    if (isSettleable(msg)) await msg.ack();
    if (ps.capabilities.maxPayload < 64 * 1024 * 1024) {
      await throwsOrRejects(
        () => ps.publish(t, new Uint8Array(ps.capabilities.maxPayload + 1)),
        RangeError,
        "Publishing one byte over maxPayload",
      );
    }
    await sub.close();
  });
}
