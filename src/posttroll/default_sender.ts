/**
 * The default sender, `user@host`, as Python posttroll makes it.
 *
 * @module
 */

import { hostname, userInfo } from "node:os";

let cached: string | undefined;

function clean(s: string): string {
  return s.replace(/\s+/g, "_");
}

/**
 * The login name of this process's user and the host name, as
 * `user@host` (Python uses `pwd.getpwuid(os.getuid())` and
 * `socket.gethostname()`). Whitespace, which would break the message, is
 * replaced with `_`.
 *
 * @example
 * ```ts
 * import { defaultSender } from "./default_sender.ts";
 *
 * console.log(defaultSender().includes("@")); // true
 * ```
 *
 * @returns The sender.
 */
export function defaultSender(): string {
  if (cached !== undefined) return cached;
  let user = "";
  try {
    user = userInfo().username;
  } catch {
    user = "";
  }
  let host = "";
  try {
    host = hostname();
  } catch {
    host = "";
  }
  cached = `${clean(user || "unknown")}@${clean(host || "localhost")}`;
  return cached;
}
