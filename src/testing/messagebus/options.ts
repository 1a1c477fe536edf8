/**
 * The options of {@linkcode FakeMessageBus} and what it reports.
 *
 * @module
 */

import type { AuthDialect, BusMessage, ImageField } from "../../messagebus/codec.ts";

/** How the fake checks credentials. */
export type FakeAuthentication =
  | { readonly kind: "none" }
  | {
    /** The password-file plugin: basic credentials checked against a user → password table. */
    readonly kind: "password";
    readonly users: Readonly<Record<string, string>>;
  }
  | {
    /** The JWT plugin: an HMAC token with the shared secret; `exp` required; the user is `sub`. */
    readonly kind: "jwt";
    readonly secret: string;
  };

/** Per-feed configuration, as the server's `feedRoles`. */
export interface FakeFeedConfig {
  /** Whether subscriptions to the feed need an authorizer's answer. Default: the server-wide flag. */
  isAuthorizationRequired?: boolean | undefined;
  /** Users holding the Authorize role (they receive authorization requests). Default none. */
  authorizers?: readonly string[] | undefined;
  /** Users allowed to publish; default everyone. */
  publishers?: readonly string[] | undefined;
  /** Users allowed to subscribe; default everyone. */
  subscribers?: readonly string[] | undefined;
}

/**
 * What {@linkcode FakeMessageBusOptions.observer} is told, in the order the
 * fake sees it (for logs): a login, a failed login, each message a client
 * sent (decoded, before the fake acts on it; do not change it), a disconnect.
 */
export type FakeMessageBusEvent =
  | { readonly type: "login"; readonly client: FakeClientInfo }
  | { readonly type: "login-failed" }
  | { readonly type: "message"; readonly client: FakeClientInfo; readonly message: BusMessage }
  | { readonly type: "disconnect"; readonly client: FakeClientInfo };

/** One live subscription, as {@linkcode FakeMessageBus.subscriptions} lists it. */
export interface FakeMessageBusSubscription {
  /** The subscribing client's id. */
  readonly clientId: string;
  /** Its user. */
  readonly user: string;
  /** The feed. */
  readonly feed: string;
  /** The topic. */
  readonly topic: string;
  /** How many adds the client sent, less its removes. */
  readonly refCount: number;
}

/** Options of {@linkcode FakeMessageBus.publish}. */
export interface FakePublishOptions {
  /** The image flag in the bool dialect; default false (a delta). */
  isImage?: boolean | undefined;
  /** The content type in the contentType dialect; default `""`. */
  contentType?: string | undefined;
  /** The publishing user the recipients see; default `"admin"`. */
  user?: string | undefined;
  /** The publishing host the recipients see; default the host the fake gives its own clients. */
  host?: string | undefined;
}

/** Options of {@linkcode FakeMessageBus.start}. */
export interface FakeMessageBusOptions {
  /** The address to listen on; default `127.0.0.1`. */
  hostname?: string | undefined;
  /** The port; default 0 (a free one). */
  port?: number | undefined;
  /** Serve TLS on the port with this PEM certificate chain and key. */
  tls?: { readonly cert: string; readonly key: string } | undefined;
  /** The credential dialect read: `"v3"` (separate strings, default) or `"v4"` (a connection string). */
  auth?: AuthDialect | undefined;
  /** The image field of data messages: `"bool"` (default) or `"contentType"` (6.x). */
  imageField?: ImageField | undefined;
  /** How credentials are checked. Default none (the user is `"unknown"` in v3, `"nobody"` in v4). */
  authentication?: FakeAuthentication | undefined;
  /**
   * After failed authentication: `"stall"` (default, like the real server)
   * stops reading and leaves the socket open; `"close"` closes it.
   */
  onAuthFailure?: "stall" | "close" | undefined;
  /** Multicast `__admin__/heartbeat` this often (ms); 0 (default) is off. */
  heartbeatIntervalMs?: number | undefined;
  /**
   * The host name given to loopback peers (every peer: the fake listens on
   * 127.0.0.1). Default the machine's host name, as the real server gives a
   * 127.0.0.1 peer (spec §6); `"localhost"` when the `sys` permission for
   * `hostname` is not granted.
   */
  hostName?: string | undefined;
  /** Server-wide `isAuthorizationRequired`. Default false. */
  isAuthorizationRequired?: boolean | undefined;
  /** Per-feed roles and authorization. */
  feeds?: Readonly<Record<string, FakeFeedConfig>> | undefined;
  /**
   * Bytes queued for one client before the server stops reading the
   * connection whose message produced them (holding its sender). Default 1 MiB.
   */
  maxQueuedBytes?: number | undefined;
  /** Told of every login, failed login, client message and disconnect (see {@linkcode FakeMessageBusEvent}). */
  observer?: ((event: FakeMessageBusEvent) => void) | undefined;
}

/** A connected, authenticated client, as the fake sees it. */
export interface FakeClientInfo {
  /** Its client id (never told to the client). */
  readonly id: string;
  /** The authenticated user. */
  readonly user: string;
  /** Its host. */
  readonly host: string;
}
