/**
 * The fake stream-sea server's accounts, options and behaviour switches, and
 * the state its HTTP API and its WebSocket side share.
 *
 * @module
 */

import type { SchemaDefinition, ValidateOptions } from "../../streamsea/schema.ts";

/** A client account of the fake server. */
export interface FakeClient {
  /** The client id. */
  clientId: string;
  /** Its secret (Basic auth). */
  clientSecret: string;
  /** Its jail (tenant). Default `"some_jail"`. */
  jailId?: string | undefined;
  /** An RSA public key PEM (SPKI or PKCS#1) that verifies its JWTs, or `null`. */
  jwtPublicKey?: string | null | undefined;
}

/**
 * The fake's behaviour. Every field may be changed at run time through
 * {@linkcode FakeStreamSea.settings}. Fields marked "assumption" choose
 * between readings of an open question of the spec (§14).
 */
export interface FakeStreamSeaSettings {
  /** The action of subscribe replies and deliveries. Default `"subscription"` (what real servers send). */
  replyAction: "subscription" | "subscribe";
  /** Assumption: subscriptions without groupId share one group per client (`"per-client"`, default) or each get all (`"broadcast"`). */
  defaultGroup: "per-client" | "broadcast";
  /** Assumption: a batch publish is delivered as one array payload (`"whole"`, default) or one delivery per element. */
  batchDelivery: "whole" | "split";
  /** Assumption: validation strictness (defaults of `validate`: all fields required, extras allowed). */
  validation: ValidateOptions;
  /** Assumption: publishing to a stream without a schema is accepted (default true) or refused with 404. */
  publishWithoutSchema: boolean;
  /** Assumption: subscribing to a stream without a schema is accepted (default true) or refused. */
  subscribeWithoutSchema: boolean;
  /** Assumption: a `mustFanout` JWT subscribing without groupId is refused (`"reject"`, default) or given a unique group. */
  mustFanout: "reject" | "force";
  /** Delay before each WebSocket reply (authenticate, subscribe), in ms. Default 0. */
  replyDelayMs: number;
  /** Refuse every WebSocket authentication. Default false. */
  refuseAuth: boolean;
  /** Close each connection after it carried this many deliveries. */
  killAfterMessages: number | undefined;
  /** Close each connection this long after it authenticated, in ms. */
  killAfterMs: number | undefined;
  /** The largest request body, in bytes (after gunzip). Default 8 MiB. */
  maxBodyBytes: number;
}

/**
 * Options of {@linkcode FakeStreamSea.start}.
 *
 * @example
 * ```ts
 * import type { FakeStreamSeaOptions } from "@x/pubsub/testing/streamsea";
 *
 * const options: FakeStreamSeaOptions = {
 *   clients: [{ clientId: "abc", clientSecret: "def123" }],
 *   replyAction: "subscribe",
 *   defaultGroup: "broadcast",
 *   pingIntervalSeconds: 5,
 * };
 * console.log(options.replyAction); // subscribe
 * ```
 */
export interface FakeStreamSeaOptions extends Partial<FakeStreamSeaSettings> {
  /** Client accounts. Default one: `abc` / `def123` in jail `some_jail`. */
  clients?: FakeClient[] | undefined;
  /**
   * Seconds between server pings: a ping goes out after this long without a
   * frame from the client, and a socket that sends nothing back (no pong)
   * within as long again is closed. Default 30, as the spec requires.
   */
  pingIntervalSeconds?: number | undefined;
  /** How many requests and frames `requests` and `frames` keep (the last ones). Default 1000. */
  records?: number | undefined;
}

/** A client account, as the fake keeps it. */
export interface Account {
  clientId: string;
  clientSecret: string;
  jailId: string;
  jwtPublicKey: string | null;
}

/** What the fake's HTTP API and WebSocket side share. */
export interface FakeState {
  /** The behaviour switches (the object `FakeStreamSea.settings` exposes). */
  readonly settings: FakeStreamSeaSettings;
  /** The accounts, by client id. */
  readonly accounts: Map<string, Account>;
  /** The stored schemas: jail → stream → schema. */
  readonly jails: Map<string, Map<string, SchemaDefinition>>;
}
