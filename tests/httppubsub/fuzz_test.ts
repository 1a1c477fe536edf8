import assert from "node:assert/strict";
import { fuzzTests } from "../_fuzz.ts";
import { cases, decoders } from "./fuzz_cases.ts";

fuzzTests(new URL("./fuzz_cases.ts", import.meta.url), cases);

Deno.test("each fuzzed httppubsub decoder decodes its valid frame", () => {
  for (const [name, decode, valid] of decoders) assert.doesNotThrow(() => decode(valid), name);
});
