import assert from "node:assert/strict";
import { ProtocolError } from "../../src/core/errors.ts";
import { encodeMessage, MessageDecoder } from "../../src/messagebus/wire.ts";
import { fuzzTests } from "../_fuzz.ts";
import { rng } from "../_seeded.ts";
import { cases } from "./fuzz_cases.ts";

fuzzTests(new URL("./fuzz_cases.ts", import.meta.url), cases);

Deno.test("MessageDecoder never holds more than its limit however long a hostile stream runs", () => {
  const random = rng(7);
  // A packet list announcing the maximum count, followed by endless packets.
  const head = encodeMessage({
    type: 8,
    user: "",
    host: "",
    feed: "F",
    topic: "T",
    isImage: true,
    contentType: null,
    packets: null,
  });
  head.set([0, 0, 4, 0], head.length - 4);
  const decoder = new MessageDecoder({ maxLength: 4096, maxCount: 1024 });
  let error: unknown;
  try {
    decoder.push(head);
    for (let i = 0; i < 100_000; i++) {
      const chunk = new Uint8Array(4 + 4 + 4000);
      chunk.set([0, 0, 0, 0, 0, 0, 0x0f, 0xa0]);
      chunk.fill(Math.floor(random() * 256), 8);
      decoder.push(chunk);
      assert.ok(decoder.buffered <= 4096 + 1024 * 1024);
    }
  } catch (err) {
    error = err;
  }
  // 1024 packets of 4008 bytes (4 MiB) outgrow the 1 MiB + 4 KiB buffer first.
  assert.ok(error instanceof ProtocolError, `got ${String(error)}`);
});
