/**
 * The address announcement a publisher sends to the nameservers, as Python
 * posttroll makes it.
 *
 * @module
 */

import type { PosttrollBackend } from "./config.ts";
import { PosttrollMessage } from "./message.ts";

/** The fields of an address announcement. */
export interface AnnouncementInit {
  /** The publisher's name: the subject is `/address/<name>`. */
  name: string;
  /** `[name, ...aliases]`. */
  services: string[];
  /** Where subscribers connect, `tcp://host:port`. */
  uri: string;
  /** The publisher's backend. */
  backend: PosttrollBackend;
  /** The message version of the announcement (default automatic, `v1.01`). */
  messageVersion?: string | undefined;
}

/**
 * Makes an announcement as Python posttroll does: subject
 * `/address/<name>`, type `info`, data `{"URI", "service" (a list),
 * "supported_message_version": "v1.2", "backend"}`.
 *
 * @example
 * ```ts
 * import { announcement } from "@x/pubsub/posttroll/wire";
 *
 * const msg = announcement({ name: "svc", services: ["svc", "alias"], uri: "tcp://127.0.0.1:4000", backend: "unsecure_zmq" });
 * console.log(msg.subject, msg.payload); // /address/svc { URI: "tcp://127.0.0.1:4000", service: [ "svc", "alias" ], ... }
 * ```
 *
 * @param init The fields.
 * @returns The message.
 * @throws {RangeError} When the encoded announcement is 1024 bytes or more (the nameserver reads at most 1024).
 */
export function announcement(init: AnnouncementInit): PosttrollMessage {
  const msg = new PosttrollMessage({
    subject: `/address/${init.name}`,
    type: "info",
    data: { URI: init.uri, service: init.services, supported_message_version: "v1.2", backend: init.backend },
    messageVersion: init.messageVersion,
  });
  const size = new TextEncoder().encode(msg.encode()).length;
  if (size >= 1024) {
    throw new RangeError(`Announcing ${init.name} failed: the announcement of ${size} bytes is not under 1024`);
  }
  return msg;
}
