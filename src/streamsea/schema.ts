/**
 * stream-sea schemas: the field types, the schema JSON, and payload
 * validation. Pure functions, no I/O.
 *
 * @module
 */

/**
 * The eleven field types of a stream-sea schema, by the seed's names, with
 * their wire strings as values.
 *
 * @example
 * ```ts
 * import { FieldType } from "@x/pubsub/streamsea";
 *
 * console.log(FieldType.OBJECT_ARRAY); // array<object>
 * ```
 */
export const FieldType = {
  /** Any string. */
  STRING: "string",
  /** Any JSON number. */
  FLOAT: "float",
  /** A JSON integer. */
  INTEGER: "integer",
  /** A UTC date-time, `YYYY-MM-DDTHH:mm:ssZ`. */
  DATE: "date",
  /** An array of strings. */
  STRING_ARRAY: "array<string>",
  /** An array of numbers. */
  FLOAT_ARRAY: "array<float>",
  /** An array of integers. */
  INTEGER_ARRAY: "array<integer>",
  /** An array of dates. */
  DATE_ARRAY: "array<date>",
  /** One of the strings listed in the field's `enum`. */
  ENUM: "enum",
  /** A JSON object with the field's nested `fields`. */
  OBJECT: "object",
  /** An array of such objects. */
  OBJECT_ARRAY: "array<object>",
} as const;

/** A field type's wire string: `"string"`, `"array<object>"`, ... */
export type FieldType = typeof FieldType[keyof typeof FieldType];

/** The field types that carry nothing besides `name` and `type`. */
export type PlainFieldType = Exclude<FieldType, "enum" | "object" | "array<object>">;

/** A field of a scalar or scalar-array type. */
export interface PlainSchemaField {
  /** The property name in the payload. */
  name: string;
  /** Its type. */
  type: PlainFieldType;
}

/** An `enum` field: the value must be one of `enum`. */
export interface EnumSchemaField {
  /** The property name in the payload. */
  name: string;
  /** Always `"enum"`. */
  type: "enum";
  /** The allowed strings. */
  enum: string[];
}

/** An `object` or `array<object>` field, with the nested fields of the object(s). */
export interface ObjectSchemaField {
  /** The property name in the payload. */
  name: string;
  /** `"object"` or `"array<object>"`. */
  type: "object" | "array<object>";
  /** The fields of the nested object. */
  fields: SchemaField[];
}

/**
 * One field of a schema: a discriminated union on `type`.
 *
 * @example
 * ```ts
 * import type { SchemaField } from "@x/pubsub/streamsea";
 *
 * const side: SchemaField = { name: "side", type: "enum", enum: ["port", "starboard"] };
 * console.log(side.type); // enum
 * ```
 */
export type SchemaField = PlainSchemaField | EnumSchemaField | ObjectSchemaField;

/**
 * A stream's schema as `describe` returns it and `define` takes it.
 *
 * @example
 * ```ts
 * import type { SchemaDefinition } from "@x/pubsub/streamsea";
 *
 * const schema: SchemaDefinition = {
 *   name: "boiler_data",
 *   version: 1,
 *   fields: [
 *     { name: "temperature", type: "integer" },
 *     { name: "moves", type: "array<object>", fields: [{ name: "load", type: "string" }] },
 *   ],
 * };
 * console.log(schema.fields.length); // 2
 * ```
 */
export interface SchemaDefinition {
  /** The stream name (a schema's name equals its stream's). */
  name: string;
  /** The version, an integer; a define with a higher one replaces the schema. */
  version: number;
  /** The fields, an unordered set. */
  fields: SchemaField[];
}

const TYPES: ReadonlySet<string> = new Set(Object.values(FieldType));

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  }
  if (typeof value === "number") return `the number ${value}`;
  if (value === undefined) return "undefined";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function checkFields(fields: unknown, path: string, out: string[], depth: number): void {
  if (!Array.isArray(fields)) {
    out.push(`${path} is ${describeValue(fields)}, not an array`);
    return;
  }
  if (depth > 32) {
    out.push(`${path} is nested more than 32 levels deep`);
    return;
  }
  const names = new Set<string>();
  fields.forEach((f: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(f)) {
      out.push(`${at} is ${describeValue(f)}, not an object`);
      return;
    }
    if (typeof f.name !== "string" || f.name === "") out.push(`${at}.name is not a non-empty string`);
    else if (names.has(f.name)) out.push(`${at}.name ${JSON.stringify(f.name)} is declared twice`);
    else names.add(f.name);
    if (typeof f.type !== "string" || !TYPES.has(f.type)) {
      out.push(`${at}.type ${JSON.stringify(f.type)} is not a field type`);
      return;
    }
    if (f.type === "enum") {
      if (!Array.isArray(f.enum) || !f.enum.every((v) => typeof v === "string")) {
        out.push(`${at}.enum is not an array of strings`);
      }
    } else if (f.type === "object" || f.type === "array<object>") {
      checkFields(f.fields, `${at}.fields`, out, depth + 1);
    }
  });
}

/**
 * Lists what is wrong with a value meant as a {@linkcode SchemaDefinition}:
 * name, integer version, and well-formed fields (known types, `enum` on
 * enums, nested `fields` on objects, no name twice).
 *
 * @example
 * ```ts
 * import { checkSchemaDefinition } from "@x/pubsub/streamsea";
 *
 * console.log(checkSchemaDefinition({ name: "a", version: 1, fields: [{ name: "x", type: "text" }] }));
 * // [ 'fields[0].type "text" is not a field type' ]
 * ```
 *
 * @param value Anything, e.g. parsed JSON.
 * @returns The problems, empty when it is a valid schema.
 */
export function checkSchemaDefinition(value: unknown): string[] {
  const out: string[] = [];
  if (!isRecord(value)) return [`the schema is ${describeValue(value)}, not an object`];
  if (typeof value.name !== "string" || value.name === "") out.push("name is not a non-empty string");
  if (typeof value.version !== "number" || !Number.isSafeInteger(value.version)) {
    out.push(`version is ${describeValue(value.version)}, not an integer`);
  }
  checkFields(value.fields, "fields", out, 0);
  return out;
}

/**
 * Tells whether a value is a {@linkcode SchemaDefinition}.
 *
 * @example
 * ```ts
 * import { isSchemaDefinition } from "@x/pubsub/streamsea";
 *
 * console.log(isSchemaDefinition({ name: "a", version: 1, fields: [] })); // true
 * ```
 *
 * @param value Anything.
 * @returns Whether {@linkcode checkSchemaDefinition} finds nothing wrong.
 */
export function isSchemaDefinition(value: unknown): value is SchemaDefinition {
  return checkSchemaDefinition(value).length === 0;
}

/** One way a payload breaks its schema. */
export interface SchemaViolation {
  /** Where, e.g. `moves[1].load`; empty for the payload itself. */
  path: string;
  /** What is wrong, e.g. `is the number 3, not a string`. */
  message: string;
}

/**
 * How strict {@linkcode validate} is. The real server's strictness is not
 * known; the defaults are the spec's assumption: every declared field
 * required, extra properties allowed, `null` refused, integers accepted as
 * floats, dates checked strictly.
 *
 * @example
 * ```ts
 * import { validate, type ValidateOptions } from "@x/pubsub/streamsea";
 *
 * const lenient: ValidateOptions = { requireAll: false, allowNull: true };
 * console.log(validate({ a: null }, { name: "s", version: 1, fields: [{ name: "a", type: "string" }] }, lenient)); // []
 * ```
 */
export interface ValidateOptions {
  /** Every declared field must be present. Default true. */
  requireAll?: boolean | undefined;
  /** Properties the schema does not declare are allowed. Default true. */
  allowExtra?: boolean | undefined;
  /** `null` is accepted for any field. Default false. */
  allowNull?: boolean | undefined;
  /**
   * Dates must be exactly `YYYY-MM-DDTHH:mm:ssZ` and a real calendar time.
   * When false, anything `Date.parse` reads is accepted. Default true.
   */
  strictDates?: boolean | undefined;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/**
 * Tells whether a string is a stream-sea date: `YYYY-MM-DDTHH:mm:ssZ`, UTC,
 * no fraction, a real calendar time.
 *
 * @example
 * ```ts
 * import { isStreamSeaDate } from "@x/pubsub/streamsea";
 *
 * console.log(isStreamSeaDate("2020-02-29T12:00:00Z"), isStreamSeaDate("2021-02-29T12:00:00Z")); // true false
 * ```
 *
 * @param value The string.
 * @returns Whether it is a valid date.
 */
export function isStreamSeaDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (m === null) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d &&
    t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === s;
}

/**
 * Formats a `Date` the way stream-sea wants dates: `YYYY-MM-DDTHH:mm:ssZ`.
 *
 * @example
 * ```ts
 * import { formatStreamSeaDate } from "@x/pubsub/streamsea";
 *
 * console.log(formatStreamSeaDate(new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 678)))); // 2020-01-02T03:04:05Z
 * ```
 *
 * @param date The time.
 * @returns The string, milliseconds dropped.
 * @throws {RangeError} When the date is invalid.
 */
export function formatStreamSeaDate(date: Date): string {
  if (isNaN(date.getTime())) throw new RangeError("Formatting a date failed: the date is invalid");
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

interface Ctx {
  readonly requireAll: boolean;
  readonly allowExtra: boolean;
  readonly allowNull: boolean;
  readonly strictDates: boolean;
  readonly out: SchemaViolation[];
}

function join(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

function checkScalar(type: string, value: unknown, path: string, ctx: Ctx): void {
  const bad = (what: string) => ctx.out.push({ path, message: `is ${describeValue(value)}, not ${what}` });
  switch (type) {
    case "string":
      if (typeof value !== "string") bad("a string");
      return;
    case "float":
      if (typeof value !== "number" || !Number.isFinite(value)) bad("a number");
      return;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) bad("an integer");
      return;
    case "date":
      if (typeof value !== "string") bad("a date string");
      else if (ctx.strictDates ? !isStreamSeaDate(value) : isNaN(Date.parse(value))) bad("a YYYY-MM-DDTHH:mm:ssZ date");
      return;
  }
}

function checkObject(fields: readonly SchemaField[], value: unknown, path: string, ctx: Ctx): void {
  if (!isRecord(value)) {
    ctx.out.push({ path, message: `is ${describeValue(value)}, not an object` });
    return;
  }
  const declared = new Set<string>();
  for (const field of fields) {
    declared.add(field.name);
    const at = join(path, field.name);
    if (!Object.hasOwn(value, field.name) || value[field.name] === undefined) {
      if (ctx.requireAll) ctx.out.push({ path: at, message: "is missing" });
      continue;
    }
    checkField(field, value[field.name], at, ctx);
  }
  if (!ctx.allowExtra) {
    for (const key of Object.keys(value)) {
      if (!declared.has(key)) ctx.out.push({ path: join(path, key), message: "is not declared by the schema" });
    }
  }
}

function checkField(field: SchemaField, value: unknown, path: string, ctx: Ctx): void {
  if (value === null) {
    if (!ctx.allowNull) ctx.out.push({ path, message: "is null" });
    return;
  }
  switch (field.type) {
    case "enum":
      if (typeof value !== "string" || !field.enum.includes(value)) {
        ctx.out.push({ path, message: `is ${describeValue(value)}, not one of ${field.enum.join(", ")}` });
      }
      return;
    case "object":
      checkObject(field.fields, value, path, ctx);
      return;
    case "array<object>":
    case "array<string>":
    case "array<float>":
    case "array<integer>":
    case "array<date>": {
      if (!Array.isArray(value)) {
        ctx.out.push({ path, message: `is ${describeValue(value)}, not an array` });
        return;
      }
      const inner = field.type.slice(6, -1);
      value.forEach((item: unknown, i) => {
        const at = `${path}[${i}]`;
        if (item === null) {
          if (!ctx.allowNull) ctx.out.push({ path: at, message: "is null" });
        } else if (field.type === "array<object>") checkObject(field.fields, item, at, ctx);
        else checkScalar(inner, item, at, ctx);
      });
      return;
    }
    default:
      checkScalar(field.type, value, path, ctx);
  }
}

/**
 * Checks a payload against a schema and lists every violation with its
 * path. A batch (an array of payloads) is checked element by element, with
 * paths starting `[i]`.
 *
 * @example
 * ```ts
 * import { validate } from "@x/pubsub/streamsea";
 *
 * const schema = {
 *   name: "boiler_data",
 *   version: 1,
 *   fields: [
 *     { name: "temperature", type: "integer" as const },
 *     { name: "side", type: "enum" as const, enum: ["port", "starboard"] },
 *   ],
 * };
 * console.log(validate({ temperature: 1.5, side: "aft" }, schema).map((v) => `${v.path} ${v.message}`));
 * // [ "temperature is the number 1.5, not an integer", 'side is the string "aft", not one of port, starboard' ]
 * ```
 *
 * @param payload The message (an object) or a batch (an array of objects).
 * @param schema The stream's schema.
 * @param options Strictness; see {@linkcode ValidateOptions}.
 * @returns The violations, empty when the payload is valid.
 */
export function validate(payload: unknown, schema: SchemaDefinition, options: ValidateOptions = {}): SchemaViolation[] {
  const ctx: Ctx = {
    requireAll: options.requireAll ?? true,
    allowExtra: options.allowExtra ?? true,
    allowNull: options.allowNull ?? false,
    strictDates: options.strictDates ?? true,
    out: [],
  };
  if (Array.isArray(payload)) payload.forEach((item: unknown, i) => checkObject(schema.fields, item, `[${i}]`, ctx));
  else checkObject(schema.fields, payload, "", ctx);
  return ctx.out;
}

/**
 * Formats violations as the `errors` strings of a stream-sea 400 reply.
 *
 * @example
 * ```ts
 * import { formatViolations } from "./schema.ts";
 *
 * console.log(formatViolations([{ path: "a", message: "is missing" }])); // [ "a is missing" ]
 * ```
 *
 * @param violations What {@linkcode validate} returned.
 * @returns One string per violation.
 */
export function formatViolations(violations: readonly SchemaViolation[]): string[] {
  return violations.map((v) => v.path === "" ? `The payload ${v.message}` : `${v.path} ${v.message}`);
}
