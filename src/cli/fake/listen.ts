/**
 * Where a fake listens: the shared `--host` and `--port` options of
 * `pubsub fake`.
 *
 * @module
 */

import { intOption, type ParsedArgs, stringOption, UsageError } from "../args.ts";

/**
 * The `--host` option: the address to listen on.
 *
 * @param parsed The command line.
 * @returns The address; default `127.0.0.1`.
 * @throws {UsageError} When it is empty.
 */
export function hostOption(parsed: ParsedArgs): string {
  const host = stringOption(parsed, "host") ?? "127.0.0.1";
  if (host === "") throw new UsageError("Option --host must not be empty");
  return host;
}

/**
 * The `--port` option.
 *
 * @param parsed The command line.
 * @returns The port; default 0 (a free one).
 * @throws {UsageError} When it is not 0 to 65535.
 */
export function listenPort(parsed: ParsedArgs): number {
  const port = intOption(parsed, "port", 0) ?? 0;
  if (port > 65535) throw new UsageError(`Option --port must be at most 65535, got ${port}`);
  return port;
}

/**
 * A host as it goes into a URL (IPv6 addresses in brackets).
 *
 * @param host The address.
 * @returns The URL form.
 */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
