/**
 * The JWT filter DSL: which messages a token's bearer may read. Pure.
 *
 * @module
 */

/**
 * A filter expression, as carried in a stream-sea JWT's `filter` claim.
 * Literals carry their value in `e`; `path` reads a dot-separated path in
 * the message (the real server's path syntax is not documented; dots are an
 * assumption); `meta` reads `"streamName"`.
 *
 * @example
 * ```ts
 * import type { FilterExpression } from "@x/pubsub/streamsea";
 *
 * const onlyPort: FilterExpression = { t: "eq", e: [{ t: "path", e: "side" }, { t: "string", e: "port" }] };
 * console.log(onlyPort.t); // eq
 * ```
 */
export type FilterExpression =
  | { t: "string"; e: string }
  | { t: "number"; e: number }
  | { t: "bool"; e: boolean }
  | { t: "null"; e?: null | undefined }
  | { t: "path"; e: string }
  | { t: "meta"; e: "streamName" }
  | { t: "eq"; e: [FilterExpression, FilterExpression] }
  | { t: "and"; e: FilterExpression[] }
  | { t: "or"; e: FilterExpression[] }
  | { t: "not"; e: FilterExpression };

class FilterEvaluationError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function evaluate(expr: unknown, message: unknown, streamName: string, depth: number): unknown {
  if (depth > 64 || !isRecord(expr)) throw new FilterEvaluationError("bad node");
  const e = expr.e;
  switch (expr.t) {
    case "string":
      if (typeof e !== "string") throw new FilterEvaluationError("bad string");
      return e;
    case "number":
      if (typeof e !== "number") throw new FilterEvaluationError("bad number");
      return e;
    case "bool":
      if (typeof e !== "boolean") throw new FilterEvaluationError("bad bool");
      return e;
    case "null":
      return null;
    case "path": {
      if (typeof e !== "string") throw new FilterEvaluationError("bad path");
      let v: unknown = message;
      for (const key of e.split(".")) {
        if (isRecord(v) && Object.hasOwn(v, key)) v = v[key];
        else if (Array.isArray(v) && /^\d+$/.test(key) && Number(key) < v.length) v = v[Number(key)];
        else throw new FilterEvaluationError(`no value at ${e}`);
      }
      return v;
    }
    case "meta":
      if (e !== "streamName") throw new FilterEvaluationError("bad meta");
      return streamName;
    case "eq": {
      if (!Array.isArray(e) || e.length !== 2) throw new FilterEvaluationError("bad eq");
      const a = evaluate(e[0], message, streamName, depth + 1);
      const b = evaluate(e[1], message, streamName, depth + 1);
      return a === b;
    }
    case "and":
      if (!Array.isArray(e)) throw new FilterEvaluationError("bad and");
      return e.every((x) => Boolean(evaluate(x, message, streamName, depth + 1)));
    case "or":
      if (!Array.isArray(e)) throw new FilterEvaluationError("bad or");
      return e.some((x) => Boolean(evaluate(x, message, streamName, depth + 1)));
    case "not":
      return !evaluate(e, message, streamName, depth + 1);
    default:
      throw new FilterEvaluationError("unknown node");
  }
}

/**
 * Tells whether a message passes a filter: the expression must evaluate to a
 * truthy value. An evaluation error (a malformed node, a missing path)
 * means the message does not pass.
 *
 * @example
 * ```ts
 * import { matchesFilter } from "@x/pubsub/streamsea/wire";
 *
 * const f = { t: "eq", e: [{ t: "path", e: "side" }, { t: "string", e: "port" }] };
 * console.log(matchesFilter(f, { side: "port" }, "boats"), matchesFilter(f, {}, "boats")); // true false
 * ```
 *
 * @param filter The expression (any JSON; malformed ones match nothing).
 * @param message The user message.
 * @param streamName The stream it was published on.
 * @returns Whether it passes.
 */
export function matchesFilter(filter: unknown, message: unknown, streamName: string): boolean {
  try {
    return Boolean(evaluate(filter, message, streamName, 0));
  } catch (err) {
    if (err instanceof FilterEvaluationError || err instanceof RangeError) return false;
    throw err;
  }
}
