/**
 * Test helpers for PostTroll: a {@linkcode Nameserver} on free loopback
 * ports (no multicast), and the settings a publisher and a subscriber need
 * to find it. The library's own nameserver is the server here: Python
 * posttroll is not a package, so tests run TS publisher → TS nameserver →
 * TS subscriber, and the Python peer is only for manual interop checks.
 *
 * @example
 * ```ts ignore
 * import { startTestNameserver } from "@x/pubsub/testing/posttroll";
 * import { publish, subscribe } from "@x/pubsub/posttroll";
 *
 * await using ns = await startTestNameserver({ maxAge: 4000 });
 * await using pub = await publish("svc", { ...ns.publisherOptions });
 * const sub = subscribe({ services: "svc", ...ns.subscriberOptions });
 * ```
 *
 * @module
 */

import { Nameserver } from "../../posttroll/nameserver.ts";
import type { PosttrollConfigInit } from "../../posttroll/config.ts";

export { Nameserver, type NameserverOptions } from "../../posttroll/nameserver.ts";
export type { PosttrollBackend, PosttrollConfig, PosttrollConfigInit } from "../../posttroll/config.ts";
export { StatusChannel, StatusEvent, type StatusType } from "../../core/status.ts";
export type { PyValue } from "../../posttroll/json.ts";
export { PyDateTime, type PyDateTimeFields } from "../../posttroll/datetime.ts";
export { PyFloat } from "../../posttroll/json.ts";

/** What {@linkcode startTestNameserver} takes. */
export interface TestNameserverOptions {
  /** Address age limit, in ms. Default 600 000. */
  maxAge?: number | undefined;
  /** More settings (backend, keys) for the nameserver and the clients. */
  config?: PosttrollConfigInit | undefined;
}

/** A running nameserver and how to reach it. */
export interface TestNameserver {
  /** The server. */
  nameserver: Nameserver;
  /** The settings with its ports, for publishers and subscribers. */
  config: PosttrollConfigInit;
  /** Spread into `publish()` / `new NoisyPublisher()`: loopback bind and advertisement, this nameserver. */
  publisherOptions: {
    host: string;
    advertisedAddress: string;
    nameservers: string[];
    config: PosttrollConfigInit;
  };
  /** Spread into `subscribe()`: this nameserver and its ports. */
  subscriberOptions: { nameserver: string; config: PosttrollConfigInit };
  /** Stops it. */
  close(): Promise<void>;
  /** Stops it, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a {@linkcode Nameserver} bound to 127.0.0.1 on free ports, taking
 * announcements by REQ/REP (no multicast).
 *
 * @param options Ageing and extra settings.
 * @returns The server and the options to reach it.
 * @throws {ConnectionError} When binding fails.
 */
export async function startTestNameserver(options: TestNameserverOptions = {}): Promise<TestNameserver> {
  const base: PosttrollConfigInit = { ...options.config, nameserverPort: 0, broadcastPort: 0, addressPublishPort: 0 };
  if (options.config?.serverSecretKeyFile !== undefined) base.secureNameserverPort = 0;
  const nameserver = new Nameserver({
    host: "127.0.0.1",
    advertisedAddress: "127.0.0.1",
    multicast: false,
    maxAge: options.maxAge,
    config: base,
  });
  await nameserver.start();
  const ports = nameserver.ports;
  const config: PosttrollConfigInit = {
    ...options.config,
    nameserverPort: ports.nameserver,
    secureNameserverPort: ports.secureNameserver || undefined,
    broadcastPort: ports.broadcast,
    addressPublishPort: ports.addressPublish,
  };
  const close = () => nameserver.close();
  return {
    nameserver,
    config,
    publisherOptions: {
      host: "127.0.0.1",
      advertisedAddress: "127.0.0.1",
      nameservers: [`127.0.0.1:${ports.broadcast}`],
      config,
    },
    subscriberOptions: { nameserver: "127.0.0.1", config },
    close,
    [Symbol.asyncDispose]: close,
  };
}
