/**
 * What the messagebus client delivers: data, notifications, authorization requests.
 *
 * @module
 */

import { BasicMessage } from "../core/message.ts";
import type { DataPacket } from "./codec.ts";

const EMPTY = new Uint8Array(0);

function joinPackets(packets: readonly DataPacket[] | null): Uint8Array {
  if (packets === null) return EMPTY;
  if (packets.length === 1) return packets[0]!.data ?? EMPTY;
  let n = 0;
  for (const p of packets) n += p.data?.length ?? 0;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of packets) {
    if (p.data !== null) {
      out.set(p.data, at);
      at += p.data.length;
    }
  }
  return out;
}

/** What {@linkcode DataMessage} is made from. */
export interface DataMessageInit {
  /** The topic the message carries as {@linkcode DataMessage.topic}; default `topicName`. */
  topic?: string | undefined;
  /** The messagebus topic. */
  topicName: string;
  /** The feed. */
  feed: string;
  /** The publisher's user ("" on the server's own messages). */
  user: string;
  /** The publisher's host ("" on the server's own messages). */
  host: string;
  /** Image or delta (bool dialect), else `null`. */
  isImage: boolean | null;
  /** The content type (6.x dialect), else `null`. */
  contentType: string | null;
  /** The packets this recipient may see. */
  packets: readonly DataPacket[] | null;
  /** Whether it came by unicast (type 9) rather than multicast (type 8). */
  unicast: boolean;
}

/**
 * Data published on a feed and topic, as a subscriber receives it (message
 * types 8 and 9). `data` is the payload of the packets joined (the one
 * packet's bytes when there is one, empty when there is none); `packets`
 * keeps each packet with its entitlements.
 *
 * @example
 * ```ts
 * import { DataMessage } from "@x/pubsub/messagebus";
 *
 * const m = new DataMessage({
 *   feed: "TEST", topicName: "FOO", user: "alice", host: "hosta", isImage: true, contentType: null,
 *   packets: [{ entitlements: null, data: new TextEncoder().encode("hi") }], unicast: false,
 * });
 * console.log(m.feed, m.topic, m.text()); // TEST FOO hi
 * ```
 */
export class DataMessage extends BasicMessage {
  /** The feed. */
  readonly feed: string;
  /** The messagebus topic (also `topic`, unless an adapter maps topics). */
  readonly topicName: string;
  /** The publisher's user. */
  readonly user: string;
  /** The publisher's host. */
  readonly host: string;
  /** Image (true) or delta (false) in the bool dialect; `null` in the contentType dialect. */
  readonly isImage: boolean | null;
  /** The content type in the 6.x dialect; `null` in the bool dialect. */
  readonly contentType: string | null;
  /** The packets, with their entitlements; `null` when there are none. */
  readonly packets: readonly DataPacket[] | null;
  /** Whether it came by unicast (`send`). */
  readonly unicast: boolean;

  /**
   * Creates the message.
   *
   * @param init Its fields.
   */
  constructor(init: DataMessageInit) {
    super({ topic: init.topic ?? init.topicName, data: joinPackets(init.packets) });
    this.feed = init.feed;
    this.topicName = init.topicName;
    this.user = init.user;
    this.host = init.host;
    this.isImage = init.isImage;
    this.contentType = init.contentType;
    this.packets = init.packets;
    this.unicast = init.unicast;
  }

  /**
   * Whether this is one of the server's own messages with no publisher: "not
   * entitled" (after an authorizer refused) or "stale" (the last publisher of
   * the topic went away). Both have empty user and host and no packets.
   */
  get isServerNotice(): boolean {
    return this.user === "" && this.host === "" && this.packets === null;
  }
}

/** A subscription was added or removed (message type 3), as a notifier sees it. */
export interface Notification {
  /** The subscriber's client id. */
  readonly clientId: string;
  /** The subscriber's user. */
  readonly user: string;
  /** The subscriber's host. */
  readonly host: string;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
  /** Added (true) or removed (false). */
  readonly isAdd: boolean;
}

/** A request to authorize a subscriber (message type 6); answer with `authorize()`. */
export interface AuthorizationRequestEvent {
  /** The subscriber's client id. */
  readonly clientId: string;
  /** The subscriber's host. */
  readonly host: string;
  /** The subscriber's user. */
  readonly user: string;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
}
