/**
 * The cost of the stream layer: messages per second through MemoryPubSub
 * delivered to a `for await` reader of a Subscription, vs the same broker
 * calling a plain callback, in the same run. 1 KiB and 100-byte payloads.
 * Both paths route, copy and wrap each message the same way; the difference
 * is the Subscription (buffer, backpressure, reader) alone.
 */
import { MemoryPubSub } from "../src/testing/mod.ts";

const N = 10_000;

for (const size of [1024, 100]) {
  const payload = new Uint8Array(size).fill(42);

  Deno.bench({
    name: `callback: ${N} x ${size} B`,
    group: `memory ${size} B`,
    baseline: true,
    n: 60,
    warmup: 10,
    async fn() {
      const ps = new MemoryPubSub();
      let received = 0;
      ps.listen("bench", () => void received++);
      for (let i = 0; i < N; i++) await ps.publish("bench", payload);
      if (received !== N) throw new Error(`received ${received}`);
      await ps.close();
    },
  });

  Deno.bench({
    name: `stream: ${N} x ${size} B`,
    group: `memory ${size} B`,
    n: 60,
    warmup: 10,
    async fn() {
      const ps = new MemoryPubSub();
      const sub = ps.subscribe("bench"); // default highWaterMark 16, overflow "block"
      const reading = (async () => {
        let received = 0;
        for await (const _ of sub) if (++received === N) break;
        return received;
      })();
      for (let i = 0; i < N; i++) await ps.publish("bench", payload);
      if ((await reading) !== N) throw new Error("lost messages");
      await ps.close();
    },
  });
}
