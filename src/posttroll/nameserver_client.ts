/**
 * Asking a nameserver where a service's publishers are.
 *
 * @module
 */

import { delay } from "../core/async.ts";
import { ProtocolError } from "../core/errors.ts";
import { type PosttrollConfig, type PosttrollConfigInit, resolveConfig } from "./config.ts";
import type { PyValue } from "./json.ts";
import { PosttrollMessage } from "./message.ts";
import { clientSecurity } from "./socket_security.ts";
import { request } from "./sockets.ts";

/** One publisher as the nameserver lists it. */
export interface AddressEntry {
  /** Where to connect. */
  URI: string;
  /** `[name, ...aliases]` (a peer might have sent a string). */
  service: string[] | string;
  /** The newest version the publisher reads. */
  supported_message_version?: string | undefined;
  /** `unsecure_zmq` or `secure_zmq`: how to connect. */
  backend?: string | undefined;
  /** Always true in replies. */
  status?: boolean | undefined;
  /** Always `"address"` (an upstream quirk). */
  name?: string | undefined;
  /** When the nameserver last heard the announcement, as a datetime or ISO string. */
  receive_time?: PyValue | undefined;
  /** Anything else the announcement held. */
  [key: string]: PyValue | undefined;
}

/** Options of {@linkcode getPubAddress}. */
export interface GetPubAddressOptions {
  /**
   * The nameserver: a host (`tcp://host:<nameserverPort>`), `tcp://host`
   * (the port added), or a full URL used as is. Default `localhost`.
   */
  nameserver?: string | undefined;
  /** How long to wait for the reply, in ms. Default 10 000. */
  timeout?: number | undefined;
  /** Settings in code (ports, backend, keys). */
  config?: PosttrollConfigInit | PosttrollConfig | undefined;
  /** Gives up when aborted. */
  signal?: AbortSignal | undefined;
}

/**
 * The query URL for a nameserver argument, as Python builds it; under
 * `secure_zmq` the secure port is used.
 *
 * @example
 * ```ts
 * import { nameserverUrl } from "./nameserver_client.ts";
 * import { resolveConfig } from "@x/pubsub/posttroll";
 *
 * const cfg = resolveConfig({}, {});
 * console.log(nameserverUrl("ns1", cfg), nameserverUrl("tcp://ns1", cfg), nameserverUrl("tcp://ns1:1", cfg));
 * // tcp://ns1:5557 tcp://ns1:5557 tcp://ns1:1
 * ```
 *
 * @param nameserver The argument.
 * @param config The settings.
 * @returns The URL.
 */
export function nameserverUrl(nameserver: string, config: PosttrollConfig): string {
  const port = config.backend === "secure_zmq" ? config.secureNameserverPort : config.nameserverPort;
  const m = /^([a-z]+):\/\/(.*)$/.exec(nameserver);
  if (m === null) return `tcp://${nameserver}:${port}`;
  if (m[1] === "tcp" && !/:\d+$/.test(m[2]!)) return `${nameserver}:${port}`;
  return nameserver;
}

function asConfig(config: PosttrollConfigInit | PosttrollConfig | undefined): PosttrollConfig {
  return resolveConfig(config);
}

/**
 * Asks a nameserver once for the publishers of a service (`""` for all):
 * sends `/oper/ns request {"service": name}` on a fresh REQ socket.
 *
 * @example
 * ```ts ignore
 * import { getPubAddress } from "@x/pubsub/posttroll";
 *
 * const entries = await getPubAddress("a_service", { nameserver: "127.0.0.1", timeout: 2000 });
 * console.log(entries.map((e) => e.URI));
 * ```
 *
 * @param name The service.
 * @param options Nameserver, timeout, settings, signal.
 * @returns The entries (empty when none is registered).
 * @throws {TimeoutError} When no reply came in time.
 * @throws {ProtocolError} When the reply is malformed.
 * @throws {TypeError} When the name is not a string.
 */
export async function getPubAddress(name: string, options: GetPubAddressOptions = {}): Promise<AddressEntry[]> {
  if (typeof name !== "string") throw new TypeError(`Querying the nameserver failed: ${String(name)} is not a string`);
  const config = asConfig(options.config);
  const url = nameserverUrl(options.nameserver ?? "localhost", config);
  const timeout = options.timeout ?? 10_000;
  const msg = new PosttrollMessage({
    subject: "/oper/ns",
    type: "request",
    data: { service: name },
    messageVersion: config.messageVersion,
  });
  const socketOptions = await clientSecurity(config);
  const reply = PosttrollMessage.decode(await request(url, msg.encode(), socketOptions, timeout, options.signal));
  const data = reply.payload;
  if (data === "") return [];
  if (!Array.isArray(data)) {
    throw new ProtocolError(`Querying the nameserver ${url} failed: the reply's data is not a list`);
  }
  const out: AddressEntry[] = [];
  for (const entry of data) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new ProtocolError(`Querying the nameserver ${url} failed: an entry is not an object`);
    }
    const e = entry as Record<string, PyValue>;
    if (typeof e.URI !== "string") {
      throw new ProtocolError(`Querying the nameserver ${url} failed: an entry has no URI`);
    }
    out.push(e as AddressEntry);
  }
  return out;
}

/**
 * Python's `get_pub_addresses`: asks for each service, retrying (every
 * `timeout`/20) until a reply lists something or the time runs out.
 *
 * @example
 * ```ts ignore
 * import { getPubAddresses } from "@x/pubsub/posttroll";
 *
 * const entries = await getPubAddresses(["a_service", "other"], { nameserver: "127.0.0.1", timeout: 5000 });
 * console.log(entries.map((e) => e.URI));
 * ```
 *
 * @param names The services.
 * @param options Nameserver, timeout, settings, signal.
 * @returns The entries of every service.
 * @throws {TimeoutError} When the nameserver never answered.
 */
export async function getPubAddresses(
  names: readonly string[],
  options: GetPubAddressOptions = {},
): Promise<AddressEntry[]> {
  const out: AddressEntry[] = [];
  for (const name of names) out.push(...await waitForPubAddress(name, options));
  return out;
}

/**
 * Asks for a service's publishers (Python's loop in `get_pub_addresses`
 * and `Subscribe`): again every `timeout`/20 until a reply lists something
 * or `timeout` runs out, or once when `retry` is false.
 *
 * @param name The service.
 * @param options Nameserver, timeout (the whole wait), settings, signal.
 * @param retry Whether to ask again after an empty reply. Default true.
 * @returns The entries of the last reply (empty when the time ran out).
 * @throws {TimeoutError} When the nameserver did not answer in time.
 */
export async function waitForPubAddress(
  name: string,
  options: GetPubAddressOptions = {},
  retry = true,
): Promise<AddressEntry[]> {
  const timeout = options.timeout ?? 10_000;
  const deadline = performance.now() + timeout;
  for (;;) {
    const found = await getPubAddress(name, { ...options, timeout: Math.max(1, deadline - performance.now()) });
    if (found.length > 0 || !retry || performance.now() + timeout / 20 >= deadline) return found;
    await delay(timeout / 20, options.signal);
    options.signal?.throwIfAborted();
  }
}
