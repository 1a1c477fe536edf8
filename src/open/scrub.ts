/**
 * Keeping secrets out of `open()`'s errors.
 *
 * @module
 */

/**
 * Replaces every secret in an error's message (and its causes') by `***`,
 * in place, and returns it.
 *
 * @param err What was thrown.
 * @param secrets The secrets.
 * @returns The same value.
 */
export function scrub(err: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return err;
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    for (const s of secrets) {
      if (e.message.includes(s)) e.message = e.message.replaceAll(s, "***");
      if (typeof e.stack === "string" && e.stack.includes(s)) e.stack = e.stack.replaceAll(s, "***");
    }
    e = e.cause;
  }
  return err;
}
