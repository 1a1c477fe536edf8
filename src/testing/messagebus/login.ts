/**
 * How the fake server reads and checks a client's credentials (spec §6): no
 * reply either way, the user name or `undefined` for a refusal.
 *
 * @module
 */

import { jwtVerify } from "jose";
import type { ByteReader } from "../../core/byte_reader.ts";
import { type ChunkedReader, NEED_MORE } from "../../core/chunked_reader.ts";
import { grantedWithoutPrompt } from "../../core/permissions.ts";
import { parseConnectionString, readCredentialString } from "../../messagebus/credentials.ts";
import type { FakeMessageBusOptions } from "./options.ts";

/** The server's machine name (what the real server gives a 127.0.0.1 peer), without ever prompting. */
export function machineHostName(): string {
  if (!grantedWithoutPrompt({ name: "sys", kind: "hostname" })) return "localhost";
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * Reads the credentials from `input` (calling `read` for more bytes) and
 * checks them as `options.authentication` says.
 *
 * @returns The authenticated user, or `undefined` when refused or the input ended.
 * @throws On a malformed connection string or an invalid token (a refusal too).
 */
export async function authenticate(
  options: FakeMessageBusOptions,
  input: ChunkedReader,
  read: () => Promise<boolean>,
): Promise<string | undefined> {
  const dialect = options.auth ?? "v3";
  const auth = options.authentication ?? { kind: "none" };
  if (auth.kind === "none") return dialect === "v3" ? "unknown" : "nobody";
  const count = dialect === "v4" ? 1 : auth.kind === "password" ? 4 : 3;
  const decode = (r: ByteReader) => {
    const out: (string | null)[] = [];
    for (let i = 0; i < count; i++) out.push(readCredentialString(r));
    return out;
  };
  let strings: (string | null)[] | typeof NEED_MORE;
  while ((strings = input.read(decode)) === NEED_MORE) {
    if (!await read()) return undefined;
  }
  let username: string | null | undefined;
  let password: string | null | undefined;
  let token: string | null | undefined;
  if (dialect === "v4") {
    const pairs = parseConnectionString(strings[0] ?? "");
    username = pairs.get("Username");
    password = pairs.get("Password");
    token = pairs.get("Token");
  } else if (auth.kind === "password") [username, password] = strings;
  else [token] = strings;
  if (auth.kind === "password") {
    if (!username || password === undefined || password === null) return undefined;
    return Object.hasOwn(auth.users, username) && auth.users[username] === password ? username : undefined;
  }
  if (!token) return undefined;
  const { payload } = await jwtVerify(token, new TextEncoder().encode(auth.secret), {
    algorithms: ["HS256", "HS384", "HS512"],
    requiredClaims: ["exp"],
  });
  return typeof payload.sub === "string" && payload.sub !== "" ? payload.sub : undefined;
}
