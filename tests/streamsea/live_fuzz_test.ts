import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import type { Subscription } from "../../mod.ts";
import { StreamSeaError, type StreamSeaMessage } from "../../src/streamsea/mod.ts";
import { env, within } from "./_helpers.ts";
import { rng as prng } from "../_seeded.ts";

const FRAMES = [
  '{"id":2,"action":"subscription","streamName":"s","payload":{"temperature":80}}',
  '{"id":2,"action":"subscription","streamName":"s","payload":[{"a":1},{"b":2}]}',
  '{"id":2,"action":"subscribe","payload":{"x":[1,2,{"y":null}]}}',
];
const ALPHABET = '{}[]":,0123456789-.truefalsnidactopyloadsubscriptionN\\ ';

Deno.test("a subscription fed mutated deliveries yields messages or fails with a typed error, never crashes or hangs", async () => {
  await using e = await env();
  const rnd = prng(0xf022);
  let sub: Subscription<StreamSeaMessage> | undefined;
  let reader: ReadableStreamDefaultReader<StreamSeaMessage> | undefined;
  let delivered = 0;
  let failed = 0;
  for (let i = 0; i < 150; i++) {
    if (sub === undefined) {
      sub = e.client.subscribe("s", { fanout: true, reconnect: false });
      await within(sub.ready);
      reader = sub.getReader();
    }
    const chars = [...FRAMES[i % FRAMES.length]!];
    for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) {
      const at = Math.floor(rnd() * chars.length);
      if (rnd() < 0.5) chars.splice(at, 1);
      else chars.splice(at, 0, ALPHABET[Math.floor(rnd() * ALPHABET.length)]!);
    }
    e.fake.inject("s", chars.join(""));
    e.fake.inject("s", '{"id":2,"action":"subscription","streamName":"s","payload":{"marker":true}}');
    try {
      for (;;) {
        const r = await within(reader!.read(), 2000, `frame ${i}`);
        assert.equal(r.done, false);
        delivered++;
        if ((r.value!.payload as { marker?: boolean }).marker === true) break;
      }
    } catch (err) {
      assert.ok(err instanceof ProtocolError || err instanceof StreamSeaError, `frame ${i}: ${String(err)}`);
      failed++;
      await sub.closed;
      sub = undefined;
    }
  }
  await sub?.close();
  assert.ok(delivered > 20 && failed > 20, `delivered ${delivered}, failed ${failed}`);
});
