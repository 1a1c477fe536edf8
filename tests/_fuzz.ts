/**
 * The fuzz harness every fuzzer in tests/ runs on: each case runs in a
 * worker, one input at a time, each input made from its own seed. A hang
 * (an input that takes longer than its time budget) terminates the worker
 * and fails the test naming the input's seed; an input that throws fails it
 * the same way; and a case must see both accepted and rejected inputs, or
 * it is not reaching what it fuzzes.
 *
 * Replay one input: `rng(seed)` from `_seeded.ts` makes its random stream,
 * so `case.run(rng(seed), index)` gives it again.
 *
 * @module
 */

import { rng } from "./_seeded.ts";

/** What one input came to: the code under test took it, or refused it as it should. */
export type FuzzOutcome = "accepted" | "rejected";

/** One fuzzer. */
export interface FuzzCase {
  /** The test's name (unique within its module). */
  name: string;
  /** The base seed; each input's seed derives from it and the input's index. */
  seed: number;
  /** How many inputs. */
  inputs: number;
  /**
   * Makes one input from `next` and feeds it to the code under test.
   * Returns how it was taken; throws (with the input in the message) when
   * the outcome is wrong: an untyped error, a crash.
   */
  run(next: () => number, index: number): FuzzOutcome | Promise<FuzzOutcome>;
  /** At least this many accepted inputs. Default 1. */
  minAccepted?: number;
  /** At least this many rejected inputs. Default 1. */
  minRejected?: number;
}

/**
 * The seed of input `index` of a case seeded with `seed`.
 *
 * @param seed The case's seed.
 * @param index The input's index.
 * @returns A 32-bit seed for `rng`.
 */
export function inputSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** Runs inputs `from` to `to` (exclusive) of a case, reporting each before it starts. */
export async function runInputs(
  c: FuzzCase,
  report: (index: number) => void,
): Promise<{ accepted: number; rejected: number }> {
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < c.inputs; i++) {
    report(i);
    const outcome = await c.run(rng(inputSeed(c.seed, i)), i);
    if (outcome === "accepted") accepted++;
    else if (outcome === "rejected") rejected++;
    else throw new Error(`input ${i} returned ${String(outcome)}, not "accepted" or "rejected"`);
  }
  return { accepted, rejected };
}

/** Options of {@linkcode fuzzTests}. */
export interface FuzzOptions {
  /** Time one input may take, in milliseconds. Default 2 000. */
  budgetMs?: number;
}

type Report =
  | { type: "ready" }
  | { type: "input"; index: number }
  | { type: "done"; accepted: number; rejected: number }
  | { type: "error"; index: number; message: string };

/**
 * Registers one `Deno.test` per case of `module` (which exports them as
 * `cases` and must not register tests itself). Each runs in a worker under a
 * per-input time budget.
 *
 * @param module The URL of the module exporting `cases`.
 * @param cases The same cases (for their names here).
 * @param options The time budget per input.
 */
export function fuzzTests(module: URL, cases: readonly FuzzCase[], options: FuzzOptions = {}): void {
  const budgetMs = options.budgetMs ?? 2_000;
  for (const c of cases) {
    Deno.test(`${c.name} (fuzz: ${c.inputs} inputs, seed ${hex(c.seed)}, ${budgetMs} ms each)`, async () => {
      const worker = new Worker(new URL("./_fuzz_worker.ts", import.meta.url), { type: "module" });
      let timer: ReturnType<typeof setTimeout> | undefined;
      let current = -1;
      try {
        const result = await new Promise<{ accepted: number; rejected: number }>((resolve, reject) => {
          const arm = (ms: number, what: () => string) => {
            clearTimeout(timer);
            timer = setTimeout(() => reject(new Error(what())), ms);
          };
          // Loading the modules in the worker is not an input: a generous first wait.
          arm(60_000, () => `${c.name}: the fuzz worker did not start within 60 s`);
          worker.onmessage = (ev: MessageEvent<Report>) => {
            const m = ev.data;
            if (m.type === "ready") return;
            if (m.type === "input") {
              current = m.index;
              arm(
                budgetMs,
                () =>
                  `${c.name}: input #${current} (seed ${hex(inputSeed(c.seed, current))}) took over ${budgetMs} ms: ` +
                  `a hang; replay it with rng(${hex(inputSeed(c.seed, current))})`,
              );
              return;
            }
            clearTimeout(timer);
            if (m.type === "error") {
              reject(
                new Error(
                  `${c.name}: input #${m.index} (seed ${hex(inputSeed(c.seed, m.index))}) failed: ${m.message}`,
                ),
              );
            } else resolve(m);
          };
          worker.onerror = (ev) => {
            ev.preventDefault();
            clearTimeout(timer);
            reject(new Error(`${c.name}: the fuzz worker crashed at input #${current}: ${ev.message}`));
          };
          worker.postMessage({ module: module.href, name: c.name });
        });
        const minAccepted = c.minAccepted ?? 1;
        const minRejected = c.minRejected ?? 1;
        if (result.accepted < minAccepted || result.rejected < minRejected) {
          throw new Error(
            `${c.name}: ${result.accepted} inputs accepted and ${result.rejected} rejected ` +
              `(at least ${minAccepted} and ${minRejected} expected): the fuzzer does not reach both outcomes`,
          );
        }
      } finally {
        clearTimeout(timer);
        worker.terminate();
      }
    });
  }
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}
