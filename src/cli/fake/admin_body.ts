/**
 * The JSON body of an admin request of `pubsub fake`, read field by field;
 * a missing or wrong field is an {@linkcode AdminError} (answered 400).
 *
 * @module
 */

import { decodeBase64 } from "../../core/base64.ts";

/** A bad admin request: answered with status 400 and `{ "error": message }`. */
export class AdminError extends Error {
  /** The error's name. */
  override name: string = "AdminError";
}

const encoder = new TextEncoder();

function base64Field(text: string, name: string): Uint8Array {
  // ASCII whitespace is skipped, as atob skips it (base64 from a terminal is often wrapped).
  const bytes = decodeBase64(text.replace(/[\t\n\f\r ]/g, ""));
  if (bytes === undefined) throw new AdminError(`"${name}" is not valid base64`);
  return bytes;
}

/** The fields of an admin request's JSON object. */
export class AdminBody {
  readonly #fields: Readonly<Record<string, unknown>>;

  /**
   * Wraps a parsed body.
   *
   * @param value The parsed JSON (`undefined` for an empty body).
   * @throws {AdminError} When it is not an object.
   */
  constructor(value: unknown) {
    if (value === undefined || value === null) value = {};
    if (typeof value !== "object" || Array.isArray(value)) throw new AdminError("The body must be a JSON object");
    this.#fields = value as Record<string, unknown>;
  }

  /** The raw fields. */
  get fields(): Readonly<Record<string, unknown>> {
    return this.#fields;
  }

  /**
   * Whether a field is present (and not null).
   *
   * @param name The field.
   * @returns Whether it is there.
   */
  has(name: string): boolean {
    return this.#fields[name] !== undefined && this.#fields[name] !== null;
  }

  /**
   * A string field.
   *
   * @param name The field.
   * @returns Its value.
   * @throws {AdminError} When it is missing or not a string.
   */
  string(name: string): string {
    const v = this.#fields[name];
    if (typeof v !== "string") throw new AdminError(`"${name}" must be a string`);
    return v;
  }

  /**
   * An optional string field.
   *
   * @param name The field.
   * @returns Its value, or `undefined`.
   * @throws {AdminError} When it is present and not a string.
   */
  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  /**
   * An optional boolean field.
   *
   * @param name The field.
   * @returns Its value, or `undefined`.
   * @throws {AdminError} When it is present and not a boolean.
   */
  optionalBoolean(name: string): boolean | undefined {
    if (!this.has(name)) return undefined;
    const v = this.#fields[name];
    if (typeof v !== "boolean") throw new AdminError(`"${name}" must be true or false`);
    return v;
  }

  /**
   * An optional whole-number field.
   *
   * @param name The field.
   * @param min The smallest value allowed.
   * @returns Its value, or `undefined`.
   * @throws {AdminError} When it is present and not a whole number of at least `min`.
   */
  optionalInt(name: string, min: number): number | undefined {
    if (!this.has(name)) return undefined;
    const v = this.#fields[name];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      throw new AdminError(`"${name}" must be a whole number of at least ${min}`);
    }
    return v;
  }

  /**
   * The payload of a publish: `"data"` (text, sent as UTF-8), `"base64"`
   * (bytes) or `"json"` (any JSON value, sent serialised). Exactly one.
   *
   * @returns The bytes.
   * @throws {AdminError} When none or several are given.
   */
  payload(): Uint8Array {
    const given = ["data", "base64", "json"].filter((k) => this.#fields[k] !== undefined);
    if (given.length !== 1) throw new AdminError('Give exactly one of "data" (text), "base64" or "json"');
    if (given[0] === "json") return encoder.encode(JSON.stringify(this.#fields.json));
    if (given[0] === "base64") return base64Field(this.string("base64"), "base64");
    return encoder.encode(this.string("data"));
  }
}
