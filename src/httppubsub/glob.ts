/**
 * Glob matching as the broadcaster's SQLite `topic GLOB pattern` does it:
 * `*` matches any run of characters **including `/`**, `?` one character,
 * `[...]` a class (`[^...]` negated, `a-z` ranges); case-sensitive.
 *
 * @module
 */

/**
 * Compiles a SQLite-style glob into a matcher.
 *
 * @example
 * ```ts
 * import { compileGlob } from "./glob.ts";
 *
 * const m = compileGlob("baz/*");
 * console.log(m("baz/q/r"), m("bar/q")); // true false
 * ```
 *
 * @param glob The pattern.
 * @returns A function telling whether a topic matches.
 * @throws {TypeError} When the glob is not a string.
 */
export function compileGlob(glob: string): (topic: string) => boolean {
  if (typeof glob !== "string") throw new TypeError(`Compiling a glob failed: ${typeof glob} is not a string`);
  const p = Array.from(glob);
  return (topic: string) => matchFrom(p, 0, Array.from(topic), 0);
}

/**
 * Tells whether a topic matches a SQLite-style glob.
 *
 * @example
 * ```ts
 * import { matchGlob } from "@x/pubsub/httppubsub";
 *
 * console.log(matchGlob("a?c", "abc"), matchGlob("[^a]*", "abc")); // true false
 * ```
 *
 * @param glob The pattern.
 * @param topic The topic.
 * @returns Whether it matches.
 */
export function matchGlob(glob: string, topic: string): boolean {
  return compileGlob(glob)(topic);
}

/** Matches a class at p[pi] (just after `[`); returns [matched, index after `]`] or undefined when unterminated. */
function matchClass(p: readonly string[], pi: number, c: string): [boolean, number] | undefined {
  let negate = false;
  if (p[pi] === "^") {
    negate = true;
    pi++;
  }
  let matched = false;
  let first = true;
  while (pi < p.length) {
    const ch = p[pi]!;
    if (ch === "]" && !first) return [matched !== negate, pi + 1];
    first = false;
    if (p[pi + 1] === "-" && pi + 2 < p.length && p[pi + 2] !== "]") {
      const lo = ch.codePointAt(0)!;
      const hi = p[pi + 2]!.codePointAt(0)!;
      const cc = c.codePointAt(0)!;
      if (cc >= lo && cc <= hi) matched = true;
      pi += 3;
    } else {
      if (ch === c) matched = true;
      pi++;
    }
  }
  return undefined;
}

function matchFrom(p: readonly string[], pi: number, t: readonly string[], ti: number): boolean {
  // Iterative with one backtrack point for the last `*`, like SQLite's patternCompare.
  let starP = -1;
  let starT = -1;
  while (true) {
    if (pi < p.length) {
      const ch = p[pi]!;
      if (ch === "*") {
        while (pi < p.length && p[pi] === "*") pi++;
        if (pi === p.length) return true;
        starP = pi;
        starT = ti;
        continue;
      }
      if (ti < t.length) {
        if (ch === "?") {
          pi++;
          ti++;
          continue;
        }
        if (ch === "[") {
          const r = matchClass(p, pi + 1, t[ti]!);
          if (r === undefined) return false; // an unterminated class matches nothing
          if (r[0]) {
            pi = r[1];
            ti++;
            continue;
          }
        } else if (ch === t[ti]) {
          pi++;
          ti++;
          continue;
        }
      }
    } else if (ti === t.length) {
      return true;
    }
    if (starP < 0 || starT >= t.length) return false;
    starT++;
    pi = starP;
    ti = starT;
  }
}

/**
 * Escapes a literal string so a SQLite glob matches it exactly (`*`, `?` and
 * `[` become one-character classes).
 *
 * @example
 * ```ts
 * import { escapeGlob } from "@x/pubsub/httppubsub";
 *
 * console.log(escapeGlob("a*b")); // "a[*]b"
 * ```
 *
 * @param literal The text.
 * @returns The glob.
 */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[]/g, (c) => `[${c}]`);
}
