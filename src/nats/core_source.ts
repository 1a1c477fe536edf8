/**
 * `./nats` core subscriptions: a NATS subscription whose callback hands each
 * message straight to the subscription's buffer.
 *
 * @module
 */

import type { NatsConnection, Subscription as NatsSubscription } from "@nats-io/nats-core";
import { detachBytes } from "../core/bytes.ts";
import type { PushController, PushSource } from "../core/source.ts";
import type { StatusChannel } from "../core/status.ts";
import { mapNatsError } from "./errors.ts";
import { fromNatsHeaders } from "./headers.ts";
import { NatsMessage } from "./message.ts";
import type { NatsSubscribeOptions } from "./options.ts";

/** What a core subscription needs of its adapter. */
export interface CoreOwner {
  /** The connection. */
  readonly connection: NatsConnection;
  /** Where the gap of a reconnect is reported (`missed`). */
  readonly status: StatusChannel;
  /** When the connection dropped, while it is down. */
  readonly droppedAt: Date | undefined;
  /** Calls `fn` after each reconnect; returns the unsubscriber. */
  onReconnect(fn: () => void): () => void;
}

/**
 * The source of one core subscription: nats.js calls back with each message
 * as it reads the socket, and the message goes straight to the buffer, whose
 * drop or error policy decides (no queue of its own: `"block"` is not
 * offered).
 *
 * @param owner The adapter.
 * @param topic The subject or pattern.
 * @param options The queue group.
 * @returns The source.
 */
export function coreSource(owner: CoreOwner, topic: string, options: NatsSubscribeOptions): PushSource<NatsMessage> {
  const nc = owner.connection;
  const exact = !/(^|\.)[*>](\.|$)/.test(topic);
  let sub: NatsSubscription | undefined;
  let unlisten: (() => void) | undefined;
  return {
    kind: "push",
    start: async (controller: PushController<NatsMessage>) => {
      // Core NATS is at-most-once: what was published while the link was down is lost. Say so.
      unlisten = owner.onReconnect(() => {
        owner.status.emit("missed", { topic, since: owner.droppedAt, until: new Date() });
      });
      sub = nc.subscribe(topic, {
        ...(options.group === undefined ? {} : { queue: options.group }),
        callback: (err, m) => {
          if (err !== null) {
            controller.error(mapNatsError(err, `Reading ${topic}`));
            return;
          }
          const msg = new NatsMessage({
            // Without wildcards the server delivers only this subject: no need to decode it per message.
            topic: exact ? topic : m.subject,
            data: detachBytes(m.data),
            headers: fromNatsHeaders(m.headers),
            reply: m.reply,
          });
          controller.offer(msg);
        },
      });
      try {
        await nc.flush();
      } catch (err) {
        throw mapNatsError(err, `Subscribing to ${topic}`);
      }
    },
    cancel: () => {
      unlisten?.();
      try {
        sub?.unsubscribe();
      } catch { /* connection gone */ }
    },
  };
}
