/**
 * The connection of a jetblack-messagebus client: dialing TCP or TLS within
 * a deadline, dialing again with backoff, writing whole buffers, the read
 * loop that decodes what arrives, and {@linkcode BusConnection}, which runs
 * them over the client's life.
 *
 * @module
 */

import { delay, withDeadline } from "../core/async.ts";
import { reconnectDelay, type ResolvedReconnectOptions } from "../core/backoff.ts";
import { TruncatedInputError } from "../core/byte_reader.ts";
import { ClosedError, ConnectionError, ProtocolError, TimeoutError } from "../core/errors.ts";
import type { StatusChannel } from "../core/status.ts";
import type { BusMessage, ImageField } from "./codec.ts";
import { encodeCredentials } from "./credentials.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { HeartbeatMonitor } from "./heartbeat_monitor.ts";
import { MessageDecoder } from "./message_decoder.ts";
import type { MessageBusClientOptions } from "./options.ts";
import type { WriteQueue } from "./write_queue.ts";

/** The URL a client reports in its errors and status events: `tcp://host:port` or `tls://host:port`. */
export function connectionUrl(host: string, port: number, options: MessageBusClientOptions): string {
  return `${options.tls ? "tls" : "tcp"}://${host}:${port}`;
}

/**
 * Opens a TCP (no delay) or TLS connection, the handshake included, within
 * `connectTimeoutMs` (0: no deadline); a connection that opens too late is
 * closed.
 */
export async function dial(host: string, port: number, options: MessageBusClientOptions): Promise<Deno.Conn> {
  const url = connectionUrl(host, port, options);
  const timeout = options.connectTimeoutMs ?? 10_000;
  const ms = timeout > 0 ? timeout : Infinity;
  const closeLate = (conn: Deno.Conn) => conn.close();
  try {
    if (options.tls) {
      const init: Deno.ConnectTlsOptions = { hostname: host, port };
      if (options.tls !== true && options.tls.caCerts !== undefined) init.caCerts = options.tls.caCerts;
      const conn = await withDeadline(ms, Deno.connectTls(init), { onLate: closeLate });
      await withDeadline(ms, conn.handshake()).catch((err) => {
        conn.close();
        throw err;
      });
      return conn;
    }
    const conn = await withDeadline(ms, Deno.connect({ hostname: host, port, transport: "tcp" }), {
      onLate: closeLate,
    });
    conn.setNoDelay(true);
    return conn;
  } catch (cause) {
    if (cause instanceof TimeoutError) {
      throw new ConnectionError(`Connecting to ${url} failed: no answer within ${timeout} ms`, { url, cause });
    }
    throw new ConnectionError(`Connecting to ${url} failed: ${(cause as Error)?.message ?? String(cause)}`, {
      url,
      cause,
    });
  }
}

/** What {@linkcode redial} needs from its client. */
export interface RedialHooks {
  /** The backoff and the most attempts. */
  readonly policy: ResolvedReconnectOptions;
  /** Aborted when the client stops: the wait ends at once. */
  readonly signal: AbortSignal;
  /** Whether the client is stopping or ended: redialing then stops. */
  closing(): boolean;
  /** Called before each attempt's wait (the `"reconnecting"` status event). */
  attempting(attempt: number, delayMs: number): void;
  /** Writes the credentials to a new connection. */
  login(conn: Deno.Conn): Promise<void>;
}

/**
 * Dials again after a lost connection, waiting the policy's delay before
 * each attempt, until a connection takes the credentials. Resolves with it
 * and its attempt number, or `undefined` when the client closed meanwhile
 * (a connection made then is closed).
 *
 * @throws {ConnectionError} When every attempt failed (its cause: the last failure).
 */
export async function redial(
  host: string,
  port: number,
  options: MessageBusClientOptions,
  reason: Error,
  hooks: RedialHooks,
): Promise<{ conn: Deno.Conn; attempt: number } | undefined> {
  const policy = hooks.policy;
  let lastError: unknown = reason;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    if (hooks.closing()) return undefined;
    const wait = reconnectDelay(attempt, policy);
    hooks.attempting(attempt, wait);
    await delay(wait, hooks.signal);
    if (hooks.closing()) return undefined;
    let conn: Deno.Conn;
    try {
      conn = await dial(host, port, options);
    } catch (err) {
      lastError = err;
      continue;
    }
    if (hooks.closing()) {
      conn.close();
      return undefined;
    }
    try {
      await hooks.login(conn);
    } catch (err) {
      lastError = err;
      try {
        conn.close();
      } catch { /* gone */ }
      continue;
    }
    if (hooks.closing()) {
      conn.close();
      return undefined;
    }
    return { conn, attempt };
  }
  const url = connectionUrl(host, port, options);
  throw new ConnectionError(`Reconnecting to ${url} failed after ${policy.maxAttempts} attempts`, {
    url,
    cause: lastError,
  });
}

/** Writes all of `bytes` to `conn`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = await conn.write(bytes);
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** What {@linkcode readConnection} needs from its client. */
export interface ReadHooks {
  /** The connection's URL, for errors. */
  readonly url: string;
  /** The dialect's image field. */
  readonly imageField: ImageField;
  /** The largest string or payload accepted. */
  readonly maxMessageSize: number;
  /** Called after every read that returned bytes (the heartbeat is re-armed). */
  received(): void;
  /** Handles one decoded message; awaited before the next. */
  dispatch(message: BusMessage): Promise<void>;
  /** Whether the client is stopping or ended: the loop then returns. */
  closing(): boolean;
}

/**
 * Reads `conn` until it ends, decoding and dispatching each message in
 * order. Resolves (never rejects) with why it ended: a `ConnectionError` for
 * a failed read or the server's close (inside a message: its cause is a
 * `TruncatedInputError`), a `ProtocolError` for bad bytes or a failed
 * dispatch, a `ClosedError` when the client closed.
 */
export async function readConnection(conn: Deno.Conn, hooks: ReadHooks): Promise<Error> {
  const url = hooks.url;
  const decoder = new MessageDecoder({ imageField: hooks.imageField, maxLength: hooks.maxMessageSize });
  // Decoded messages keep views into what was read, so a buffer is never read into twice: a small read is copied
  // out and the buffer kept, a large one is handed over whole (a fresh 64 KiB buffer per read cost more than the
  // decoding when messages arrive one by one).
  let buf = new Uint8Array(64 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch (cause) {
      return new ConnectionError(`Reading from ${url} failed: ${(cause as Error)?.message ?? cause}`, { url, cause });
    }
    if (n === null) {
      if (decoder.buffered > 0) {
        // A truncated message: a disconnect (EOF anywhere is one), with the protocol error as its cause.
        const cause = new TruncatedInputError(
          `Reading a message from ${url} failed: the input ended after ${decoder.buffered} of its bytes`,
        );
        return new ConnectionError(`Reading from ${url} failed: the server closed the connection inside a message`, {
          url,
          cause,
        });
      }
      return new ConnectionError(`Reading from ${url} failed: the server closed the connection`, { url });
    }
    hooks.received();
    try {
      let chunk: Uint8Array;
      if (n <= 8 * 1024) chunk = buf.slice(0, n);
      else {
        chunk = buf.subarray(0, n);
        buf = new Uint8Array(64 * 1024);
      }
      decoder.feed(chunk);
      for (let m = decoder.next(); m !== null; m = decoder.next()) {
        await hooks.dispatch(m);
        if (hooks.closing()) return new ClosedError("The client is closed");
      }
    } catch (err) {
      if (err instanceof ProtocolError) return err;
      return new ProtocolError(`Handling a message from ${url} failed: ${(err as Error)?.message ?? err}`, {
        cause: err,
      });
    }
  }
}

/** What a {@linkcode BusConnection} needs from its client. */
export interface ConnectionHooks {
  /** The client's URL, for errors and status events. */
  readonly url: string;
  /** The server's host. */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** The client's options (TLS, timeouts, dialect, heartbeat, authenticator). */
  readonly options: MessageBusClientOptions;
  /** The reconnection policy; `undefined`: a lost connection ends the client. */
  readonly policy: ResolvedReconnectOptions | undefined;
  /** Aborted when the client stops (a reconnection's wait ends at once). */
  readonly signal: AbortSignal;
  /** Where connection events go. */
  readonly status: StatusChannel;
  /** Handles what is read. */
  readonly dispatcher: Dispatcher;
  /** What is written; kicked when a connection is ready, its pings dropped when one is lost. */
  readonly writer: WriteQueue;
  /** Whether the client is stopping or ended. */
  closing(): boolean;
  /** The requests restoring the client's subscriptions and registrations on a new connection. */
  restoreRequests(): Uint8Array[];
  /** Ends the client with `err`. */
  fail(err: Error): Promise<void>;
}

/**
 * The client's connection over its life: the first one, then each one
 * redialed after a loss (backoff, credentials, subscriptions restored ahead
 * of the queue), the read loop running over them, and the heartbeat
 * monitor. A `ProtocolError` from the server, or a loss without a
 * reconnection policy, ends the client.
 */
export class BusConnection {
  readonly #hooks: ConnectionHooks;
  readonly #heartbeat: HeartbeatMonitor;
  #conn: Deno.Conn | undefined;
  #ready = false;
  #reconnecting = false;
  #loop: Promise<void> | undefined;
  /** Why the writer gave up on the current connection, when it found it dead first. */
  #writeFailure: Error | undefined;

  constructor(conn: Deno.Conn, hooks: ConnectionHooks) {
    this.#conn = conn;
    this.#hooks = hooks;
    const heartbeatTimeout = hooks.options.heartbeatTimeoutMs ?? 0;
    this.#heartbeat = new HeartbeatMonitor(hooks.options.monitorHeartbeat ? heartbeatTimeout : 0, {
      url: hooks.url,
      live: () => this.#ready,
      busy: () => hooks.dispatcher.dispatching,
      silent: (err) => {
        hooks.status.emit("error", { url: hooks.url }, err);
        try {
          this.#conn?.close();
        } catch { /* already closed */ }
      },
    });
  }

  /** Whether a connection is up and written to (after `begin()`, not reconnecting, not closed). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Whether the connection was lost and a new one is being dialed. */
  get reconnecting(): boolean {
    return this.#reconnecting;
  }

  /** The read loop over every connection (settled once it has ended). */
  get loop(): Promise<void> | undefined {
    return this.#loop;
  }

  /** The connection to write to, or `undefined` while not ready. */
  writable(): Deno.Conn | undefined {
    return this.#ready ? this.#conn : undefined;
  }

  /** Writes the credentials to `conn` (default the current connection). */
  async login(conn: Deno.Conn | undefined = this.#conn): Promise<void> {
    const options = this.#hooks.options;
    const creds = options.authenticator?.credentials() ?? { kind: "none" as const };
    const bytes = encodeCredentials(creds, options.auth ?? "v3");
    if (bytes.length > 0) await writeAll(conn!, bytes);
  }

  /** Marks the connection ready, starts reading it and arms the heartbeat monitor. */
  begin(): void {
    this.#ready = true;
    this.#loop = this.#run(this.#conn!);
    this.#heartbeat.arm();
  }

  /** A write to `conn` failed: nothing more goes to it; closing it ends the read loop, which reconnects. */
  broken(conn: Deno.Conn, err: Error): void {
    if (this.#conn !== conn) return;
    this.#ready = false;
    this.#writeFailure ??= err;
    try {
      conn.close();
    } catch { /* already closed */ }
  }

  /** Closes the connection for good (the client ended). */
  close(): void {
    this.#ready = false;
    this.#heartbeat.clear();
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = undefined;
  }

  async #run(first: Deno.Conn): Promise<void> {
    const h = this.#hooks;
    const read: ReadHooks = {
      url: h.url,
      imageField: h.options.imageField ?? "bool",
      maxMessageSize: h.options.maxMessageSize ?? 16 * 1024 * 1024,
      received: () => this.#heartbeat.arm(),
      dispatch: (m: BusMessage) => h.dispatcher.dispatch(m),
      closing: () => h.closing(),
    };
    let conn: Deno.Conn | undefined = first;
    while (conn !== undefined) {
      const readFailure = await readConnection(conn, read);
      const reason = this.#writeFailure ?? readFailure;
      this.#writeFailure = undefined;
      if (h.closing()) return;
      this.#ready = false;
      this.#reconnecting = true;
      this.#heartbeat.clear();
      try {
        conn.close();
      } catch { /* already closed */ }
      const lost = new ConnectionError(`Pings to ${h.url} failed: the connection was lost`, { url: h.url });
      h.dispatcher.releaseEchoes();
      h.writer.dropPings(lost);
      if (reason instanceof ProtocolError || h.policy === undefined) {
        void h.fail(reason);
        return;
      }
      h.status.emit("disconnected", { url: h.url }, reason);
      conn = await this.#reconnect(reason, h.policy);
    }
  }

  /** Dials again, then restores the subscription table ahead of what waited in the queue. */
  async #reconnect(reason: Error, policy: ResolvedReconnectOptions): Promise<Deno.Conn | undefined> {
    const h = this.#hooks;
    let next: { conn: Deno.Conn; attempt: number } | undefined;
    try {
      next = await redial(h.host, h.port, h.options, reason, {
        policy,
        signal: h.signal,
        closing: () => h.closing(),
        attempting: (attempt, delayMs) => h.status.emit("reconnecting", { url: h.url, attempt, delayMs }),
        login: (conn) => this.login(conn),
      });
    } catch (err) {
      void h.fail(err as Error);
      return undefined;
    }
    if (next === undefined) return undefined;
    h.writer.restore(h.restoreRequests());
    this.#conn = next.conn;
    this.#reconnecting = false;
    this.#ready = true;
    this.#heartbeat.arm();
    h.writer.kick();
    h.status.emit("reconnected", { url: h.url, attempt: next.attempt });
    return next.conn;
  }
}
