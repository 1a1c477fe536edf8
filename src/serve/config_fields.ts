/**
 * How the configuration reader walks the JSON-with-comments tree: one
 * object's members at a time, each mistake refused with its line and the
 * dotted path of the key.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";
import type { JsoncNode, JsoncObject } from "./jsonc.ts";

/** The configuration file being read: where its mistakes are reported. */
export class Place {
  /** @param file The file's name, as given. */
  constructor(readonly file: string) {}

  /** Throws a {@linkcode ConfigError} at `node`'s position, prefixed by `path` (the key's dotted path). */
  fail(node: { line: number; column: number }, path: string, reason: string): never {
    throw new ConfigError(this.file, node.line, node.column, path === "" ? reason : `${path}: ${reason}`);
  }
}

/** Reads the members of one object, refusing unknown ones on `done()`. */
export class Fields {
  readonly #node: JsoncObject;
  readonly #path: string;
  readonly #place: Place;
  readonly #used = new Set<string>();

  constructor(node: JsoncNode, path: string, place: Place) {
    if (node.type !== "object") place.fail(node, path, `must be an object, not ${kind(node)}`);
    this.#node = node;
    this.#path = path;
    this.#place = place;
  }

  get node(): JsoncObject {
    return this.#node;
  }

  path(key: string): string {
    return this.#path === "" ? key : `${this.#path}.${key}`;
  }

  get(key: string): JsoncNode | undefined {
    this.#used.add(key);
    return this.#node.entries.find((e) => e.key === key)?.node;
  }

  require(key: string): JsoncNode {
    const n = this.get(key);
    if (n === undefined) this.#place.fail(this.#node, this.#path, `${JSON.stringify(key)} is missing`);
    return n;
  }

  string(key: string, required: true): { value: string; node: JsoncNode };
  string(key: string, required?: boolean): { value: string; node: JsoncNode } | undefined;
  string(key: string, required = false): { value: string; node: JsoncNode } | undefined {
    const n = required ? this.require(key) : this.get(key);
    if (n === undefined) return undefined;
    if (n.type !== "string") this.#place.fail(n, this.path(key), `must be a string, not ${kind(n)}`);
    if (n.value === "") this.#place.fail(n, this.path(key), "must not be empty");
    return { value: n.value as string, node: n };
  }

  integer(key: string, min: number, max: number, fallback: number): number {
    const n = this.get(key);
    if (n === undefined) return fallback;
    if (n.type !== "number" || !Number.isInteger(n.value) || (n.value as number) < min || (n.value as number) > max) {
      this.#place.fail(n, this.path(key), `must be a whole number from ${min} to ${max}, not ${show(n)}`);
    }
    return n.value as number;
  }

  done(): void {
    for (const e of this.#node.entries) {
      if (!this.#used.has(e.key)) {
        this.#place.fail(e.at, this.#path, `unknown key ${JSON.stringify(e.key)}`);
      }
    }
  }
}

/** How a node's value is named in a message: "an array", `number 3`, ... */
export function kind(n: JsoncNode): string {
  return n.type === "array" ? "an array" : n.type === "object" ? "an object" : `${n.type} ${show(n)}`;
}

function show(n: JsoncNode): string {
  return n.type === "object" || n.type === "array" ? n.type : JSON.stringify(n.value);
}
