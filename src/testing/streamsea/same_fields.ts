/**
 * `sameFields`: whether two schema field lists define the same schema. The
 * spec (§6.1) makes `fields` an unordered set, and a JSON object's keys have
 * no order; the fake also takes an enum's values as a set (the spec leaves
 * their order open, and validation only asks whether a value is one of
 * them).
 *
 * @module
 */

function canonical(value: unknown, key: string | undefined): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => canonical(v, undefined));
    if (key === "fields") {
      // Field names are unique within a list (checkSchemaDefinition), so they order the set.
      return items.sort((a, b) => {
        const x = String((a as { name?: unknown })?.name);
        const y = String((b as { name?: unknown })?.name);
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
    if (key === "enum") return items.map((v) => JSON.stringify(v)).sort();
    return items;
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = canonical((value as Record<string, unknown>)[k], k);
    return out;
  }
  return value;
}

/**
 * Compares two field lists as sets: the order of fields, of an object's
 * keys and of an enum's values does not count.
 *
 * @example
 * ```ts ignore
 * sameFields([{ name: "a", type: "string" }, { type: "integer", name: "b" }],
 *   [{ name: "b", type: "integer" }, { name: "a", type: "string" }]); // true
 * ```
 *
 * @param a One list.
 * @param b The other.
 * @returns Whether they define the same fields.
 */
export function sameFields(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a, "fields")) === JSON.stringify(canonical(b, "fields"));
}
