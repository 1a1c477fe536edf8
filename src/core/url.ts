/**
 * Reading a pub/sub URL's parts for `open()`'s planners: the scheme, host,
 * port, path, user info and query parameters, checked, with errors that name
 * the wrong part and never show a password. Pure: no I/O, no system code.
 *
 * @module
 */

/** The parts of a pub/sub URL, checked, with the text to show in messages. */
export interface UrlParts {
  /** The scheme, lower-cased, without the `:`. */
  readonly scheme: string;
  /** The host name (IPv6 addresses keep their brackets), `""` when absent. */
  readonly host: string;
  /** The port, or `undefined` when absent. */
  readonly port: number | undefined;
  /** The path, `""` when absent. */
  readonly path: string;
  /** The user name, percent-decoded, `""` when absent. */
  readonly username: string;
  /** The password, percent-decoded, `""` when absent. */
  readonly password: string;
  /** The query parameters. */
  readonly query: Query;
  /** The URL with its password (and a NATS token) replaced by `***`: safe for messages. */
  readonly display: string;
  /** The secrets the URL carries, to scrub from errors. */
  readonly secrets: readonly string[];
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^/?#:]*)(?::([^/?#]*))?/;

/**
 * Fails an `open()` with a `TypeError` naming the action and the wrong part.
 *
 * @param display The URL as shown (no password).
 * @param detail What is wrong.
 * @returns Never: it throws.
 * @throws {TypeError} Always.
 */
export function urlError(display: string, detail: string): never {
  throw new TypeError(`Opening ${display} failed: ${detail}`);
}

function decode(text: string, display: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return urlError(display, `the ${what} is not valid percent-encoding`);
  }
}

/**
 * Parses a pub/sub URL.
 *
 * @param input The URL.
 * @param tokenInUsername Whether a user name without a password is a secret (NATS tokens).
 * @returns The parts.
 * @throws {TypeError} When it is not a URL, naming the scheme, host or port when one of them is the problem.
 */
export function parseUrl(input: string | URL, tokenInUsername = false): UrlParts {
  let url: URL;
  if (input instanceof URL) {
    url = new URL(input.href);
  } else if (typeof input !== "string") {
    throw new TypeError(`Opening a URL failed: ${typeof input} is not a URL string or URL`);
  } else {
    const scheme = SCHEME.exec(input)?.[1];
    if (scheme === undefined) {
      return urlError("a URL", "it has no scheme (such as nats://, streamsea+wss://, memory:)");
    }
    try {
      url = new URL(input);
    } catch {
      // Name the part that is wrong, without echoing it: in a malformed URL a password may sit where a port or
      // host seems to be (`nats://u:pa/ss@h` reads as host "u", port "pa").
      const m = AUTHORITY.exec(input);
      const shown = `a ${scheme.toLowerCase()}: URL`;
      if (m?.[2] !== undefined) {
        const port = m[2];
        if (!/^\d+$/.test(port) || Number(port) > 65535) {
          return urlError(shown, "the port is not a number from 1 to 65535");
        }
      }
      if (m?.[1] === "") return urlError(shown, "the host is missing");
      if (m?.[1] !== undefined) return urlError(shown, "the host is not valid");
      return urlError(shown, "it is not a valid URL");
    }
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const shownUrl = new URL(url.href);
  const secrets: string[] = [];
  let username = "";
  let password = "";
  const display0 = `a ${scheme}: URL`;
  if (url.username !== "") username = decode(url.username, display0, "user name");
  if (url.password !== "") password = decode(url.password, display0, "password");
  if (password !== "") {
    secrets.push(password, url.password);
    shownUrl.password = "***";
  }
  if (tokenInUsername && password === "" && username !== "") {
    secrets.push(username, url.username);
    shownUrl.username = "***";
  }
  const display = shownUrl.href;
  let port: number | undefined;
  if (url.port !== "") {
    port = Number(url.port);
    if (port < 1) urlError(display, `the port ${port} is not a number from 1 to 65535`);
  }
  return {
    scheme,
    host: url.hostname,
    port,
    path: url.pathname,
    username,
    password,
    query: new Query(url.searchParams, display),
    display,
    secrets: [...new Set(secrets.filter((s) => s !== ""))],
  };
}

/**
 * The query parameters of a URL, read one by one; {@linkcode Query.done}
 * then rejects any left unread, naming it.
 */
export class Query {
  readonly #params: URLSearchParams;
  readonly #display: string;
  readonly #read: Set<string> = new Set();

  /**
   * @param params The parameters.
   * @param display The URL as shown in messages.
   */
  constructor(params: URLSearchParams, display: string) {
    this.#params = params;
    this.#display = display;
  }

  /**
   * A string parameter.
   *
   * @param name Its name.
   * @returns Its value, or `undefined` when absent.
   * @throws {TypeError} When it is given twice or empty.
   */
  string(name: string): string | undefined {
    this.#read.add(name);
    const all = this.#params.getAll(name);
    if (all.length === 0) return undefined;
    if (all.length > 1) urlError(this.#display, `the query parameter ${name} is given ${all.length} times`);
    const v = all[0] as string;
    if (v === "") urlError(this.#display, `the query parameter ${name} is empty`);
    return v;
  }

  /**
   * Every value of a repeatable parameter.
   *
   * @param name Its name.
   * @returns The values (none when absent).
   */
  list(name: string): string[] {
    this.#read.add(name);
    return this.#params.getAll(name).filter((v) => v !== "");
  }

  /**
   * A boolean parameter: `true`/`1`/`yes` or `false`/`0`/`no`; present without a value is true.
   *
   * @param name Its name.
   * @returns Its value, or `undefined` when absent.
   * @throws {TypeError} On another value.
   */
  boolean(name: string): boolean | undefined {
    this.#read.add(name);
    const all = this.#params.getAll(name);
    if (all.length === 0) return undefined;
    if (all.length > 1) urlError(this.#display, `the query parameter ${name} is given ${all.length} times`);
    const v = (all[0] as string).toLowerCase();
    if (v === "" || v === "true" || v === "1" || v === "yes") return true;
    if (v === "false" || v === "0" || v === "no") return false;
    return urlError(this.#display, `the query parameter ${name} ${JSON.stringify(all[0])} is not true or false`);
  }

  /**
   * An integer parameter.
   *
   * @param name Its name.
   * @param min The smallest value allowed.
   * @returns Its value, or `undefined` when absent.
   * @throws {TypeError} When it is not an integer of at least `min`.
   */
  integer(name: string, min: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      urlError(this.#display, `the query parameter ${name} ${JSON.stringify(v)} is not an integer of ${min} or more`);
    }
    return n;
  }

  /**
   * A parameter with a fixed set of values.
   *
   * @param name Its name.
   * @param values The values allowed.
   * @returns Its value, or `undefined` when absent.
   * @throws {TypeError} On another value.
   */
  oneOf<const T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      urlError(this.#display, `the query parameter ${name} ${JSON.stringify(v)} is not one of ${values.join(", ")}`);
    }
    return v as T;
  }

  /**
   * Rejects the parameters nobody read.
   *
   * @throws {TypeError} Naming the first unknown parameter.
   */
  done(): void {
    for (const name of this.#params.keys()) {
      if (!this.#read.has(name)) {
        const known = [...this.#read].sort().join(", ");
        urlError(this.#display, `the query parameter ${name} is unknown (known: ${known === "" ? "none" : known})`);
      }
    }
  }
}

/**
 * `host:port`, or `host` alone when the URL has no port.
 *
 * @param u The URL's parts.
 * @returns The authority without user info.
 */
export function hostPort(u: UrlParts): string {
  return u.port === undefined ? u.host : `${u.host}:${u.port}`;
}

/**
 * Requires a host.
 *
 * @param u The URL's parts.
 * @throws {TypeError} When the host is missing.
 */
export function requireHost(u: UrlParts): void {
  if (u.host === "") urlError(u.display, "the host is missing");
}

/**
 * Refuses a path other than `/`.
 *
 * @param u The URL's parts.
 * @param why Why the system has no path, for the message.
 * @throws {TypeError} When the URL has a path.
 */
export function noPath(u: UrlParts, why: string): void {
  if (u.path !== "" && u.path !== "/") {
    urlError(u.display, `the path ${JSON.stringify(u.path)} is not allowed (${why})`);
  }
}

/**
 * Refuses a user name or password.
 *
 * @param u The URL's parts.
 * @param why How the system authenticates instead, for the message.
 * @throws {TypeError} When the URL has user info.
 */
export function noUserinfo(u: UrlParts, why: string): void {
  if (u.username !== "" || u.password !== "") urlError(u.display, `the URL has a user name or password, but ${why}`);
}

/**
 * Deletes the keys whose value is `undefined`, in place (options built from
 * optional query parameters, so that spreading them overrides nothing).
 *
 * @param o The object.
 * @returns The same object.
 */
export function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * The secrets among option values to scrub from errors: strings of three
 * characters or more (shorter ones would scrub ordinary words).
 *
 * @param values Token, password and the like, any of them absent.
 * @returns The strings worth scrubbing.
 */
export function extraSecrets(...values: unknown[]): string[] {
  return values.filter((v): v is string => typeof v === "string" && v.length >= 3);
}
