/**
 * Command-line argument parsing for the `pubsub` program: pure functions, no I/O.
 *
 * @module
 */

/** A usage mistake on the command line: exit code 2. */
export class UsageError extends Error {
  /** The error's name. */
  override name: string = "UsageError";
}

/** How one option is read. */
export interface OptionSpec {
  /** `"boolean"` takes no value; `"string"` takes the next argument or `=value`. */
  type: "boolean" | "string";
  /** A one-letter alias, without the dash. */
  short?: string;
  /** The option may be given more than once; every value is kept. */
  multiple?: boolean;
}

/** What {@linkcode parseArgs} returns. */
export interface ParsedArgs {
  /** The arguments that are not options, in order. */
  positionals: string[];
  /** Boolean options given. */
  flags: Set<string>;
  /** String options given, with every value in order. */
  values: Map<string, string[]>;
}

/**
 * Parses arguments against a table of options: `--name value`, `--name=value`,
 * `-n value`, `--flag`, `--` ends the options, and a lone `-` is a positional.
 *
 * @param args The arguments after the command name.
 * @param specs The options the command accepts, by long name.
 * @returns The positionals and the options given.
 * @throws {UsageError} On an unknown option, a missing value, or a value given to a flag.
 */
export function parseArgs(args: readonly string[], specs: Readonly<Record<string, OptionSpec>>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Set<string>();
  const values = new Map<string, string[]>();
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short !== undefined) byShort.set(spec.short, name);
  let i = 0;
  while (i < args.length) {
    const arg = args[i++] as string;
    if (arg === "--") {
      positionals.push(...args.slice(i));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
    } else {
      const short = arg.slice(1, 2);
      name = byShort.get(short);
      if (name === undefined) throw new UsageError(`Unknown option ${JSON.stringify(arg)}`);
      if (arg.length > 2) inline = arg.slice(2);
    }
    const spec = specs[name];
    if (spec === undefined || name === "") throw new UsageError(`Unknown option ${JSON.stringify(arg)}`);
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`Option --${name} takes no value, got ${JSON.stringify(inline)}`);
      flags.add(name);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i >= args.length) throw new UsageError(`Option --${name} needs a value`);
      value = args[i++] as string;
    }
    const list = values.get(name);
    if (list === undefined) values.set(name, [value]);
    else if (spec.multiple === true) list.push(value);
    else throw new UsageError(`Option --${name} was given more than once`);
  }
  return { positionals, flags, values };
}

/**
 * Reads a whole-number option.
 *
 * @param parsed The parsed arguments.
 * @param name The option's long name.
 * @param min The smallest value allowed.
 * @returns The number, or `undefined` when the option was not given.
 * @throws {UsageError} When the value is not a whole number of at least `min`.
 */
export function intOption(parsed: ParsedArgs, name: string, min: number): number | undefined {
  const raw = parsed.values.get(name)?.[0];
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`Option --${name} must be a whole number of at least ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * Reads a string option.
 *
 * @param parsed The parsed arguments.
 * @param name The option's long name.
 * @returns The value, or `undefined` when not given.
 */
export function stringOption(parsed: ParsedArgs, name: string): string | undefined {
  return parsed.values.get(name)?.[0];
}

/**
 * Reads an option that must be one of a few words.
 *
 * @param parsed The parsed arguments.
 * @param name The option's long name.
 * @param allowed The accepted values.
 * @returns The value, or `undefined` when not given.
 * @throws {UsageError} When the value is not one of `allowed`.
 */
export function choiceOption<T extends string>(parsed: ParsedArgs, name: string, allowed: readonly T[]): T | undefined {
  const v = stringOption(parsed, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`Option --${name} must be ${allowed.join(" or ")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/**
 * Parses `--header "Name: value"` options into header pairs.
 *
 * @param raw The option values.
 * @returns The pairs, in order.
 * @throws {UsageError} When a value has no colon or an invalid name.
 */
export function parseHeaders(raw: readonly string[]): [string, string][] {
  return raw.map((h) => {
    const colon = h.indexOf(":");
    const name = colon < 0 ? "" : h.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new UsageError(`Option --header must look like "Name: value", got ${JSON.stringify(h)}`);
    }
    return [name, h.slice(colon + 1).trim()];
  });
}
