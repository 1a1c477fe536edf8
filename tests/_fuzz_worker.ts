/// <reference lib="deno.worker" />
/**
 * Runs one fuzz case of a module (see `_fuzz.ts`), reporting each input
 * before it starts, so the test can tell which input hangs.
 *
 * @module
 */

import { type FuzzCase, runInputs } from "./_fuzz.ts";

self.onmessage = async (ev: MessageEvent<{ module: string; name: string }>) => {
  const { module, name } = ev.data;
  let index = -1;
  try {
    const { cases } = await import(module) as { cases: FuzzCase[] };
    const c = cases.find((x) => x.name === name);
    if (c === undefined) throw new Error(`no case ${name} in ${module}`);
    self.postMessage({ type: "ready" });
    const result = await runInputs(c, (i) => {
      index = i;
      self.postMessage({ type: "input", index: i });
    });
    self.postMessage({ type: "done", ...result });
  } catch (err) {
    self.postMessage({
      type: "error",
      index,
      message: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
};
