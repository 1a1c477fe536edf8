/**
 * Where `open()` reads environment variables.
 *
 * @module
 */

/** Where `open()` reads environment variables: a record, a function, or `false` for none. */
export type EnvSource =
  | Readonly<Record<string, string | undefined>>
  | ((name: string) => string | undefined)
  | false;

/**
 * Makes a reader of environment variables: the given record or function, or
 * by default Deno's environment (only variables already granted, so it
 * never prompts) or Node's `process.env`; nothing in a browser.
 *
 * @param source Where to read; `undefined` for the runtime's environment.
 * @returns The reader.
 */
export function envReader(source: EnvSource | undefined): (name: string) => string | undefined {
  if (source === false) return () => undefined;
  if (typeof source === "function") return (name) => nonEmpty(source(name));
  if (source !== undefined) return (name) => nonEmpty(source[name]);
  return (name) => {
    try {
      if (typeof Deno !== "undefined" && typeof Deno.env?.get === "function") {
        if (Deno.permissions?.querySync?.({ name: "env", variable: name }).state !== "granted") return undefined;
        return nonEmpty(Deno.env.get(name));
      }
      const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
      return nonEmpty(proc?.env?.[name]);
    } catch {
      return undefined;
    }
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}
