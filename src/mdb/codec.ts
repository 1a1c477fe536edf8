/**
 * The MDB wire protocol as pure functions: URLs, documents, subjects,
 * speedracer's consumer configuration and pull bodies, and JWT claims. The
 * JetStream side (ack subjects, API replies, statuses) is `../nats/codec.ts`.
 * Nothing here does I/O.
 *
 * @module
 */

import { decodeBase64 } from "../core/base64.ts";
import { ProtocolError } from "../core/errors.ts";

/** Where a new durable consumer starts, the first time a user subscribes to a dataset. */
export const Offset = {
  /** From the first message the stream holds (deliver policy `all`). */
  BEGIN: "begin",
  /** Only messages published after the consumer is created (deliver policy `new`). */
  NOW: "now",
} as const;

/** One of the {@linkcode Offset} values. */
export type Offset = typeof Offset[keyof typeof Offset];

/** The config document served by the MDB Account Server at `/api/v1/config`. */
export interface MdbUrls {
  /** The API gateway's full URL: the mTLS endpoint that issues the user's gateway JWT. */
  readonly api_gateway_url: string;
  /** The dataset registry's base URL. */
  readonly registry_url: string;
  /** The MAS base URL, which issues NATS user JWTs. */
  readonly mas_url: string;
  /** The NATS WebSocket URL (`ws://` or `wss://`), used verbatim. */
  readonly nats_websocket_url: string;
  /** The NATS TCP URL, when the server publishes one (later versions). */
  readonly nats_url?: string | undefined;
}

/** A dataset as the registry describes it (the fields the client reads). */
export interface RegistryEntry {
  /** The dataset's slug. */
  readonly slug?: string | undefined;
  /** `"MDB"` selects the `OBJECTS.` subject; other truthy values keep `EVENTS.`. */
  readonly data_object_backend?: string | null | undefined;
  /** When truthy (and no backend is set), selects the `OBJECTS.` subject. */
  readonly mdb_object_publish?: boolean | null | undefined;
}

/** The consumer configuration speedracer sends in `DURABLE.CREATE`. */
export interface ConsumerConfig {
  durable_name: string;
  deliver_policy: "all" | "new" | "by_start_sequence" | "by_start_time";
  opt_start_seq?: number;
  opt_start_time?: string;
  ack_policy: "explicit";
  replay_policy: "instant";
  filter_subject: string;
  ack_wait: 0;
  idle_heartbeat: 0;
  inactive_threshold: number;
}

/** Where a consumer starts: an offset, a stream sequence, or a time. */
export type StartPosition = Offset | number | Date;

/** Seven days in nanoseconds: the consumer's `inactive_threshold`. */
export const INACTIVE_THRESHOLD_NS = 604_800_000_000_000;

/** A pull's `expires`: 10 s minus 100 µs, in nanoseconds, as nats-py sends it. */
export const PULL_EXPIRES_NS = 9_999_900_000;

/** How long a pull request lives, in milliseconds. */
export const PULL_EXPIRES_MS = 10_000;

const DATASET_FORBIDDEN = /[\s.*>/\\?#&%"'<>=+,;:]/;

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * Checks a dataset name: a non-empty slug that can be a NATS subject token, a
 * stream name part and a URL path/query segment as it is.
 *
 * @param dataset The value given.
 * @param action The action, for the message.
 * @returns The dataset.
 * @throws {TypeError} When it is not a usable slug.
 */
export function checkDataset(dataset: unknown, action: string): string {
  if (typeof dataset !== "string" || dataset.length === 0) {
    throw new TypeError(`${action} failed: the dataset must be a non-empty string, got ${describe(dataset)}`);
  }
  if (dataset.length > 200 || DATASET_FORBIDDEN.test(dataset) || hasControl(dataset)) {
    throw new TypeError(
      `${action} failed: the dataset ${
        JSON.stringify(dataset)
      } is not a slug (no spaces, dots, wildcards or URL syntax)`,
    );
  }
  return dataset;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  return typeof value;
}

/**
 * The config URL: the user's URL with its whole path replaced by
 * `/api/v1/config` (query and fragment kept).
 *
 * @param url The MDB URL the user gave.
 * @returns The config URL.
 * @throws {TypeError} When it is not an absolute `http:` or `https:` URL.
 */
export function configUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`Connecting to MDB failed: ${JSON.stringify(String(url))} is not an absolute URL`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new TypeError(`Connecting to MDB failed: the URL ${u.href} is not http: or https:`);
  }
  u.pathname = "/api/v1/config";
  return u.href;
}

function requireUrl(doc: Record<string, unknown>, key: string, schemes: readonly string[], optional = false): string {
  const v = doc[key];
  if (v === undefined && optional) return "";
  if (typeof v !== "string" || v.length === 0) {
    throw new ProtocolError(`Reading the MDB config failed: ${key} is ${describe(v)}, not a URL string`);
  }
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ProtocolError(`Reading the MDB config failed: ${key} ${JSON.stringify(v)} is not an absolute URL`);
  }
  if (!schemes.includes(u.protocol)) {
    throw new ProtocolError(
      `Reading the MDB config failed: ${key} ${JSON.stringify(v)} is not one of ${schemes.join(", ")}`,
    );
  }
  return v;
}

/**
 * Parses and checks the config document.
 *
 * @param text The response body.
 * @returns The URLs the client uses.
 * @throws {ProtocolError} When it is not JSON, not an object, or a URL is missing or invalid.
 */
export function parseConfig(text: string): MdbUrls {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError("Reading the MDB config failed: the body is not JSON", { cause });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ProtocolError("Reading the MDB config failed: the body is not a JSON object");
  }
  const d = doc as Record<string, unknown>;
  const http = ["https:", "http:"];
  const natsUrl = requireUrl(d, "nats_url", ["nats:", "tls:", "tcp:"], true);
  return {
    api_gateway_url: requireUrl(d, "api_gateway_url", http),
    registry_url: requireUrl(d, "registry_url", http),
    mas_url: requireUrl(d, "mas_url", http),
    nats_websocket_url: requireUrl(d, "nats_websocket_url", ["ws:", "wss:"]),
    ...(natsUrl === "" ? {} : { nats_url: natsUrl }),
  };
}

/**
 * The registry URL for one dataset (`eq.` filter, slug unencoded, as speedracer sends it).
 *
 * @param registryUrl The registry base URL from the config.
 * @param dataset A checked dataset slug.
 * @returns The URL.
 */
export function registryUrl(registryUrl: string, dataset: string): string {
  return `${registryUrl}/api/v1/datasets?slug=eq.${dataset}`;
}

/**
 * The MAS URL that issues the NATS user JWT for one dataset.
 *
 * @param masUrl The MAS base URL from the config.
 * @param dataset A checked dataset slug.
 * @returns The URL.
 */
export function userJwtUrl(masUrl: string, dataset: string): string {
  return `${masUrl}/api/v1/user/jwt/${dataset}`;
}

/**
 * Parses a registry answer.
 *
 * @param text The response body.
 * @returns The entry.
 * @throws {ProtocolError} When it is not a JSON object or a field has the wrong type.
 */
export function parseRegistryEntry(text: string): RegistryEntry {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError("Reading the dataset registry failed: the body is not JSON", { cause });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ProtocolError("Reading the dataset registry failed: the body is not a JSON object");
  }
  const d = doc as Record<string, unknown>;
  const backend = d.data_object_backend;
  if (backend !== undefined && backend !== null && typeof backend !== "string") {
    throw new ProtocolError(`Reading the dataset registry failed: data_object_backend is ${describe(backend)}`);
  }
  const publish = d.mdb_object_publish;
  if (publish !== undefined && publish !== null && typeof publish !== "boolean") {
    throw new ProtocolError(`Reading the dataset registry failed: mdb_object_publish is ${describe(publish)}`);
  }
  const slug = typeof d.slug === "string" ? d.slug : undefined;
  return { slug, data_object_backend: backend as string | null | undefined, mdb_object_publish: publish as boolean };
}

/**
 * The subject of a dataset: `OBJECTS.<dataset>` when the registry says the
 * data lives in MDB objects (`data_object_backend` `"MDB"`, or no backend and a
 * truthy `mdb_object_publish`), else `EVENTS.<dataset>`.
 *
 * @param dataset A checked dataset slug.
 * @param entry The registry entry.
 * @returns The subject.
 */
export function datasetSubject(dataset: string, entry: RegistryEntry): string {
  if (entry.data_object_backend) {
    return entry.data_object_backend === "MDB" ? `OBJECTS.${dataset}` : `EVENTS.${dataset}`;
  }
  return entry.mdb_object_publish ? `OBJECTS.${dataset}` : `EVENTS.${dataset}`;
}

/**
 * The stream name speedracer derives from a subject (dots become underscores).
 *
 * @param subject `EVENTS.<dataset>` or `OBJECTS.<dataset>`.
 * @returns `EVENTS_<dataset>` or `OBJECTS_<dataset>`.
 */
export function streamNameOf(subject: string): string {
  return subject.replaceAll(".", "_");
}

/**
 * The durable consumer name from the MD5 hex of the CN: the last hex digit set to `0`.
 *
 * @param md5Hex 32 lower-case hex digits.
 * @returns The name.
 * @throws {TypeError} When the input is not 32 hex digits.
 */
export function durableFromMd5(md5Hex: string): string {
  if (!/^[0-9a-f]{32}$/.test(md5Hex)) throw new TypeError(`Naming the consumer failed: ${md5Hex} is not an MD5 hex`);
  return md5Hex.slice(0, 31) + "0";
}

/**
 * Formats a time as speedracer's `opt_start_time`: ISO 8601 with
 * microseconds and `+00:00`, without the fraction when it is zero.
 *
 * @param time The time (its UTC instant is used).
 * @returns e.g. `2023-06-23T12:00:00.123000+00:00`.
 * @throws {TypeError} When the date is invalid.
 */
export function formatStartTime(time: Date): string {
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
    throw new TypeError(`Seeking failed: ${String(time)} is not a valid Date`);
  }
  const iso = time.toISOString(); // 2023-06-23T12:00:00.123Z
  const base = iso.slice(0, 19);
  const ms = time.getUTCMilliseconds();
  return ms === 0 ? `${base}+00:00` : `${base}.${String(ms).padStart(3, "0")}000+00:00`;
}

/**
 * The consumer config speedracer creates.
 *
 * @param durable The durable name.
 * @param subject The filter subject.
 * @param start Where to start.
 * @returns The config object, in speedracer's field order.
 * @throws {RangeError} When a sequence is not a positive safe integer.
 * @throws {TypeError} When the start is neither an offset, a number nor a Date.
 */
export function consumerConfig(durable: string, subject: string, start: StartPosition): ConsumerConfig {
  const base = { durable_name: durable };
  let policy: Pick<ConsumerConfig, "deliver_policy" | "opt_start_seq" | "opt_start_time">;
  if (start === Offset.BEGIN) policy = { deliver_policy: "all" };
  else if (start === Offset.NOW) policy = { deliver_policy: "new" };
  else if (typeof start === "number") {
    if (!Number.isSafeInteger(start) || start < 1) {
      throw new RangeError(`Seeking failed: the sequence ${start} is not a positive integer`);
    }
    policy = { deliver_policy: "by_start_sequence", opt_start_seq: start };
  } else if (start instanceof Date) {
    policy = { deliver_policy: "by_start_time", opt_start_time: formatStartTime(start) };
  } else {
    throw new TypeError(`Creating the consumer failed: ${describe(start)} is not an offset, a sequence or a Date`);
  }
  return {
    ...base,
    ...policy,
    ack_policy: "explicit",
    replay_policy: "instant",
    filter_subject: subject,
    ack_wait: 0,
    idle_heartbeat: 0,
    inactive_threshold: INACTIVE_THRESHOLD_NS,
  };
}

/**
 * The body of a `DURABLE.CREATE` request.
 *
 * @param stream The stream name.
 * @param config The consumer config.
 * @returns The JSON text.
 */
export function createConsumerBody(stream: string, config: ConsumerConfig): string {
  return JSON.stringify({ stream_name: stream, config });
}

/**
 * The body of a `MSG.NEXT` pull request.
 *
 * @param batch How many messages.
 * @param noWait `true` for the first request of a batch > 1.
 * @returns `{"batch": N, "expires": 9999900000[, "no_wait": true]}` as nats-py writes it.
 */
export function pullBody(batch: number, noWait: boolean): string {
  return noWait
    ? `{"batch": ${batch}, "expires": ${PULL_EXPIRES_NS}, "no_wait": true}`
    : `{"batch": ${batch}, "expires": ${PULL_EXPIRES_NS}}`;
}

/** JetStream API subjects speedracer uses. */
export const api = {
  /** Stream lookup by subject. */
  streamNames: "$JS.API.STREAM.NAMES",
  /** Consumer info. */
  consumerInfo: (stream: string, durable: string): string => `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
  /** Durable consumer creation. */
  durableCreate: (stream: string, durable: string): string => `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
  /** Consumer deletion. */
  consumerDelete: (stream: string, durable: string): string => `$JS.API.CONSUMER.DELETE.${stream}.${durable}`,
} as const;

/** The claims of a JWT, decoded without verifying its signature. */
export type JwtClaims = Readonly<Record<string, unknown>>;

/**
 * Decodes the claims of a JWT without verifying it (as speedracer does).
 *
 * @param token The compact JWT.
 * @param what Where it came from, for the message.
 * @returns The claims.
 * @throws {ProtocolError} When it is not three base64url parts with a JSON object payload,
 *   or `exp` is present but not a number.
 */
export function decodeJwtClaims(token: string, what: string): JwtClaims {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined || !/^[A-Za-z0-9_-]+={0,2}$/.test(parts[1])) {
    throw new ProtocolError(`Decoding the ${what} failed: it is not a compact JWT`);
  }
  let json: string;
  try {
    // Padding is optional in a JWT (the pattern above allows up to two `=`): decode without it.
    const bytes = decodeBase64(parts[1].replace(/=+$/, ""), { alphabet: "url" });
    if (bytes === undefined) throw new RangeError("not base64url");
    json = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new ProtocolError(`Decoding the ${what} failed: its payload is not base64url UTF-8`, { cause });
  }
  let claims: unknown;
  try {
    claims = JSON.parse(json);
  } catch (cause) {
    throw new ProtocolError(`Decoding the ${what} failed: its payload is not JSON`, { cause });
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new ProtocolError(`Decoding the ${what} failed: its payload is not a JSON object`);
  }
  const exp = (claims as Record<string, unknown>).exp;
  if (exp !== undefined && (typeof exp !== "number" || !Number.isFinite(exp))) {
    throw new ProtocolError(`Decoding the ${what} failed: exp is ${describe(exp)}, not a number`);
  }
  return claims as JwtClaims;
}

/**
 * Whether a token must be fetched again: it has an `exp` and that is less
 * than `marginMs` from `nowMs`. A token without `exp` never expires (as in speedracer).
 *
 * @param claims The decoded claims.
 * @param nowMs The current time, in ms since the epoch.
 * @param marginMs The margin (5 minutes in speedracer).
 * @returns Whether to refresh.
 */
export function isExpiring(claims: JwtClaims, nowMs: number, marginMs: number): boolean {
  const exp = claims.exp;
  if (typeof exp !== "number") return false;
  return exp * 1000 < nowMs + marginMs;
}
