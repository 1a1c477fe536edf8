import assert from "node:assert/strict";
import { fuzzTests } from "../_fuzz.ts";
import { cases, parsers } from "./fuzz_cases.ts";

fuzzTests(new URL("./fuzz_cases.ts", import.meta.url), cases);

Deno.test("each fuzzed MDB parser takes its valid inputs", () => {
  const enc = new TextEncoder();
  for (const p of parsers) for (const v of p.valid) assert.doesNotThrow(() => p.decode(enc.encode(v)), p.name);
});
