import { fuzzTests } from "../_fuzz.ts";
import { cases } from "./fuzz_cases.ts";

fuzzTests(new URL("./fuzz_cases.ts", import.meta.url), cases);
