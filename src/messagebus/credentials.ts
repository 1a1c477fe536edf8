/**
 * The login of jetblack-messagebus: the credentials a client writes right
 * after connecting, in the v3 dialect (separate strings) or the v4 one (a
 * connection string), and how a server reads them.
 *
 * @module
 */

import type { ByteReader } from "../core/byte_reader.ts";
import { ByteWriter } from "../core/byte_writer.ts";
import { ProtocolError } from "../core/errors.ts";
import { type AuthDialect, writeString } from "./codec.ts";
import { readLength } from "./message_decoder.ts";

/** What a client writes to log in, in a dialect-neutral form. */
export type Credentials =
  | { readonly kind: "none" }
  | {
    readonly kind: "basic";
    readonly username: string;
    readonly password: string;
    readonly impersonating?: string | null | undefined;
    readonly forwardedFor?: string | null | undefined;
    readonly application?: string | null | undefined;
  }
  | {
    readonly kind: "token";
    readonly token: string;
    readonly impersonating?: string | null | undefined;
    readonly forwardedFor?: string | null | undefined;
    readonly application?: string | null | undefined;
  };

function connectionPart(key: string, value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  if (value.includes(";")) {
    throw new TypeError(
      `Encoding the connection string failed: ${key} ${JSON.stringify(value)} contains ";", which it cannot escape`,
    );
  }
  return `;${key}=${value}`;
}

/**
 * Builds the v4 connection string (`Username=..;Password=..` or `Token=..`) for credentials.
 *
 * @example
 * ```ts
 * import { connectionString } from "@x/pubsub/messagebus/wire";
 *
 * console.log(connectionString({ kind: "basic", username: "u", password: "p" })); // Username=u;Password=p
 * ```
 *
 * @param credentials Basic or token credentials.
 * @returns The connection string, or `null` for no credentials.
 * @throws {TypeError} When a value contains `;` (the format has no escaping).
 */
export function connectionString(credentials: Credentials): string | null {
  if (credentials.kind === "none") return null;
  const extras = connectionPart("Impersonating", credentials.impersonating) +
    connectionPart("ForwardedFor", credentials.forwardedFor) +
    connectionPart("Application", credentials.application);
  if (credentials.kind === "basic") {
    return connectionPart("Username", credentials.username).slice(1) +
      connectionPart("Password", credentials.password) + extras;
  }
  return connectionPart("Token", credentials.token).slice(1) + extras;
}

/**
 * Encodes what the client writes right after connecting: nothing for no
 * credentials; in the v3 dialect 4 strings for basic (username, password,
 * impersonating, forwardedFor) or 3 for a token (token, impersonating,
 * forwardedFor); in the v4 dialect one connection string.
 *
 * @example The v3 basic vector of the spec
 * ```ts
 * import { encodeCredentials } from "@x/pubsub/messagebus/wire";
 *
 * const bytes = encodeCredentials({ kind: "basic", username: "u", password: "p" }, "v3");
 * console.log(bytes.length); // 18
 * ```
 *
 * @param credentials The credentials.
 * @param dialect `"v3"` (server 3.x, the default) or `"v4"` (server 4.x and later).
 * @returns The bytes.
 * @throws {TypeError} When a v4 value contains `;`, or the dialect is unknown.
 */
export function encodeCredentials(credentials: Credentials, dialect: AuthDialect = "v3"): Uint8Array {
  if (dialect !== "v3" && dialect !== "v4") {
    throw new TypeError(`Encoding credentials failed: dialect ${JSON.stringify(dialect)} is not "v3" or "v4"`);
  }
  const w = new ByteWriter(64);
  if (credentials.kind === "none") return w.finish();
  if (dialect === "v4") {
    writeString(w, connectionString(credentials));
    return w.finish();
  }
  if (credentials.kind === "basic") {
    writeString(w, credentials.username);
    writeString(w, credentials.password);
  } else writeString(w, credentials.token);
  writeString(w, credentials.impersonating);
  writeString(w, credentials.forwardedFor);
  return w.finish();
}

/**
 * Reads one credential string as a server does (length 0 is `null`); for
 * fake servers.
 *
 * @example
 * ```ts ignore
 * // Inside this package (not exported from the entry point):
 * import { ByteReader } from "../core/byte_reader.ts";
 * import { readCredentialString } from "./credentials.ts";
 *
 * console.log(readCredentialString(new ByteReader(new Uint8Array([0, 0, 0, 0])))); // null
 * ```
 *
 * @param reader Where to read.
 * @param maxLength The largest length accepted. Default 64 KiB.
 * @returns The string, or `null`.
 * @throws {ProtocolError} On a negative or too large length, or invalid UTF-8.
 */
export function readCredentialString(reader: ByteReader, maxLength = 64 * 1024): string | null {
  const s = reader.utf8(readLength(reader, "a credential string", maxLength));
  return s === "" ? null : s;
}

/**
 * Parses a v4 connection string as the server does: pairs split on `;`, then
 * on the first `=`; keys are case-sensitive.
 *
 * @example
 * ```ts
 * import { parseConnectionString } from "@x/pubsub/messagebus/wire";
 *
 * console.log(parseConnectionString("Username=u;Password=a=b").get("Password")); // a=b
 * ```
 *
 * @param text The connection string.
 * @returns The key/value pairs.
 * @throws {ProtocolError} On a part without `=` or a duplicated key (authentication fails).
 */
export function parseConnectionString(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) {
      throw new ProtocolError(`Parsing the connection string failed: part ${JSON.stringify(part)} has no "="`);
    }
    const key = part.slice(0, eq);
    if (out.has(key)) throw new ProtocolError(`Parsing the connection string failed: key ${key} is repeated`);
    out.set(key, part.slice(eq + 1));
  }
  return out;
}
