// Helpers of the open() tests.
import assert from "node:assert/strict";
import type { PubSub } from "../../src/core/pubsub.ts";

/** Resolves `p`, or rejects after `ms` (the timer is always cleared). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Subscribes, publishes one message and reads it back through the same
 * adapter; returns the receipt's `confirmed`.
 */
export async function roundTrip(ps: PubSub, topic: string, payload = `hello via open() ${crypto.randomUUID()}`) {
  const sub = ps.subscribe(topic);
  try {
    await within(sub.ready, 15_000, `subscribing to ${topic}`);
    const reader = sub.getReader();
    // Read while publishing: a system may confirm only once the reader took the message (httppubsub "block").
    const received = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          assert.equal(done, false, "the subscription ended before the message arrived");
          if (value?.text() === payload) return; // earlier messages (a probe, a replay) are skipped
        }
      } finally {
        reader.releaseLock();
      }
    })();
    received.catch(() => {});
    const receipt = await within(ps.publish(topic, payload), 15_000, `publishing to ${topic}`);
    assert.equal(receipt.topic, topic);
    await within(received, 15_000, `receiving on ${topic}`);
    return receipt.confirmed;
  } finally {
    await sub.close();
  }
}
