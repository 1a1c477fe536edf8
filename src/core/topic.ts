/**
 * `/`-separated topics and glob patterns: `*` matches one segment, `**` any
 * number of segments (including none). Only whole segments are wildcards.
 *
 * @module
 */

/**
 * Tells whether a topic string contains a wildcard segment.
 *
 * @example
 * ```ts
 * import { isTopicPattern } from "@x/pubsub";
 *
 * console.log(isTopicPattern("a/*"), isTopicPattern("a/b*")); // true false
 * ```
 *
 * @param topic The topic or pattern.
 * @returns Whether a segment is `*` or `**`.
 */
export function isTopicPattern(topic: string): boolean {
  return topic.split("/").some((s) => s === "*" || s === "**");
}

function matchSegments(p: readonly string[], pi: number, t: readonly string[], ti: number): boolean {
  while (pi < p.length) {
    const seg = p[pi]!;
    if (seg === "**") {
      // Collapse consecutive `**`.
      while (pi + 1 < p.length && p[pi + 1] === "**") pi++;
      if (pi + 1 === p.length) return true;
      for (let k = ti; k <= t.length; k++) {
        if (matchSegments(p, pi + 1, t, k)) return true;
      }
      return false;
    }
    if (ti >= t.length) return false;
    if (seg !== "*" && seg !== t[ti]) return false;
    pi++;
    ti++;
  }
  return ti === t.length;
}

/**
 * Compiles a pattern into a matcher, for matching many topics against it.
 *
 * @example
 * ```ts
 * import { compileTopicPattern } from "@x/pubsub";
 *
 * const m = compileTopicPattern("sensors/**\/temp");
 * console.log(m("sensors/temp"), m("sensors/a/b/temp"), m("sensors/a")); // true true false
 * ```
 *
 * @param pattern A topic with optional `*` and `**` segments.
 * @returns A function telling whether a topic matches.
 */
export function compileTopicPattern(pattern: string): (topic: string) => boolean {
  if (!isTopicPattern(pattern)) return (topic) => topic === pattern;
  const p = pattern.split("/");
  return (topic) => matchSegments(p, 0, topic.split("/"), 0);
}

/**
 * Tells whether a topic matches a pattern.
 *
 * @example
 * ```ts
 * import { matchTopic } from "@x/pubsub";
 *
 * console.log(matchTopic("a/*", "a/b"), matchTopic("a/*", "a/b/c"), matchTopic("a/**", "a")); // true false true
 * ```
 *
 * @param pattern A topic with optional `*` and `**` segments.
 * @param topic A concrete topic.
 * @returns Whether it matches.
 */
export function matchTopic(pattern: string, topic: string): boolean {
  return compileTopicPattern(pattern)(topic);
}

/**
 * Checks a topic argument: a non-empty string, and (unless `allowPattern`)
 * without wildcard segments.
 *
 * @example
 * ```ts
 * import { checkTopic } from "./topic.ts";
 *
 * checkTopic("orders", "Publishing"); // fine
 * try {
 *   checkTopic("", "Publishing");
 * } catch (err) {
 *   console.log((err as Error).message); // Publishing failed: the topic is empty
 * }
 * ```
 *
 * @param topic The value given.
 * @param action The action, for the message ("Publishing", "Subscribing").
 * @param allowPattern Whether `*` and `**` segments are allowed.
 * @throws {TypeError} When the topic is not a string, is empty, or is a
 *   pattern where none is allowed.
 */
export function checkTopic(topic: unknown, action: string, allowPattern = false): asserts topic is string {
  if (typeof topic !== "string") {
    throw new TypeError(`${action} failed: the topic ${String(topic)} is not a string`);
  }
  if (topic.length === 0) throw new TypeError(`${action} failed: the topic is empty`);
  if (!allowPattern && isTopicPattern(topic)) {
    throw new TypeError(`${action} failed: the topic ${JSON.stringify(topic)} contains a wildcard`);
  }
}
