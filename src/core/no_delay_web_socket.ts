/**
 * A WebSocket client (RFC 6455) on the runtime's raw TCP sockets, with
 * Nagle's algorithm off, that reads its socket only while it is not paused.
 *
 * @module
 */

import { AuthError, ClosedError, ConnectionError, ProtocolError, TimeoutError } from "./errors.ts";
import {
  acceptFor,
  checkHandshake,
  checkProtocols,
  handshakeRequest,
  MAX_HANDSHAKE_BYTES,
  newHandshakeKey,
  parseHandshakeResponse,
  parseWebSocketUrl,
} from "./websocket_handshake.ts";
import {
  CloseCode,
  encodeClosePayload,
  encodeFrame,
  FrameDecoder,
  type Incoming,
  Opcode,
  WebSocketProtocolError,
} from "./websocket_codec.ts";

/** The parts of a connection this client uses (the runtime's `Conn`). */
interface NetConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

interface TcpConn extends NetConn {
  setNoDelay(noDelay?: boolean): void;
}

interface TlsConn extends NetConn {
  handshake(): Promise<unknown>;
}

/** The parts of the runtime this client uses: TCP connect and STARTTLS. */
interface NetRuntime {
  connect(options: { hostname: string; port: number; signal?: AbortSignal }): Promise<TcpConn>;
  startTls(conn: TcpConn, options: { hostname: string; caCerts?: string[] }): Promise<TlsConn>;
}

/** The runtime's raw sockets, looked up at run time (absent in browsers and Node). */
function netRuntime(): NetRuntime | undefined {
  const rt = (globalThis as { Deno?: Partial<NetRuntime> }).Deno;
  if (typeof rt?.connect === "function" && typeof rt.startTls === "function") return rt as NetRuntime;
  return undefined;
}

/**
 * Whether {@linkcode NoDelayWebSocket} can run here: the runtime offers raw
 * TCP sockets (Deno). False in browsers, edge runtimes without them, and Node.
 *
 * @returns Whether it can run.
 */
export function hasRawSockets(): boolean {
  return netRuntime() !== undefined;
}

/** Options of {@linkcode NoDelayWebSocket}. */
export interface NoDelayWebSocketOptions {
  /** The subprotocols offered, in order of preference. */
  protocols?: string | string[] | undefined;
  /** PEM CA certificates trusted for `wss:` besides the system roots (a private CA). */
  caCerts?: string[] | undefined;
  /** Extra headers of the opening handshake. */
  headers?: HeadersInit | undefined;
  /**
   * The largest message accepted, in bytes (the sum of its fragments). A
   * larger one fails the connection with close code 1009. Default 64 MiB.
   */
  maxMessageSize?: number | undefined;
  /** How long connecting and the opening handshake may take, in ms. Default 30000. */
  handshakeTimeoutMs?: number | undefined;
  /** How long the server has to answer a close frame and close the connection, in ms. Default 5000. */
  closeTimeoutMs?: number | undefined;
}

const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;
const WRITE_BATCH = 256 * 1024;
const encoder = new TextEncoder();

let maskPool = new Uint8Array(0);
let maskAt = 0;

/** 4 random bytes for a frame mask (drawn 4 KiB at a time). */
function nextMask(): Uint8Array {
  if (maskAt + 4 > maskPool.length) {
    maskPool = crypto.getRandomValues(new Uint8Array(4096));
    maskAt = 0;
  }
  const m = maskPool.subarray(maskAt, maskAt + 4);
  maskAt += 4;
  return m;
}

async function writeAll(conn: NetConn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function closeQuietly(conn: NetConn | undefined): void {
  try {
    conn?.close();
  } catch { /* already closed */ }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checkPositive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Opening a WebSocket failed: ${name} ${value} is not a positive number`);
  }
  return value;
}

/** A `CloseEvent` (the platform's, or an equivalent where there is none). */
function closeEvent(code: number, reason: string, wasClean: boolean): Event {
  if (typeof CloseEvent === "function") return new CloseEvent("close", { code, reason, wasClean });
  return Object.assign(new Event("close"), { code, reason, wasClean });
}

/** An `ErrorEvent` carrying the typed error (or an `Event` with `error` where there is none). */
function errorEvent(error: Error): Event {
  if (typeof ErrorEvent === "function") return new ErrorEvent("error", { error, message: error.message });
  return Object.assign(new Event("error"), { error, message: error.message });
}

/** An event handler attribute's value. */
type Handler<E extends Event> = ((this: WebSocket, ev: E) => unknown) | null;

interface Outgoing {
  /** The frame, or a promise of it (a `Blob` being read). */
  readonly frame: Uint8Array | Promise<Uint8Array>;
  /** The payload bytes it adds to `bufferedAmount`. */
  readonly counted: number;
}

/**
 * A WHATWG-compatible `WebSocket` client on the runtime's raw TCP sockets
 * (Deno), with `TCP_NODELAY` set, so a small message that follows another is
 * sent at once instead of waiting for the server's delayed ACK (Deno's own
 * `WebSocket` leaves Nagle's algorithm on: ≈ 43 ms per request/response
 * exchange). `wss:` goes through TLS with the system roots plus `caCerts`.
 *
 * Beyond the standard API it has {@linkcode NoDelayWebSocket.pause} and
 * {@linkcode NoDelayWebSocket.resume}: while paused it dispatches no message
 * and stops reading the socket, so the kernel's buffers fill and TCP flow
 * control holds the server.
 *
 * A server that breaks RFC 6455 (masked or reserved-bit frames, bad opcodes,
 * fragmentation errors, oversized control frames, invalid close codes, text
 * that is not UTF-8, a message over `maxMessageSize`) gets the matching close
 * code (1002, 1007, 1009); the socket then fires an `error` event whose
 * `error` is a {@linkcode WebSocketProtocolError}, and a `close` event with
 * code 1006. Connection failures carry a `ConnectionError` (refused, TLS
 * failure), `AuthError` (401/403 to the upgrade) or `TimeoutError`.
 *
 * It needs the runtime's raw sockets ({@linkcode hasRawSockets}); browsers and
 * Node use their platform `WebSocket` (see `openWebSocket`).
 *
 * @example
 * ```ts ignore
 * import { NoDelayWebSocket } from "@x/pubsub";
 *
 * const caPem = "-----BEGIN CERTIFICATE-----\n..."; // your private CA
 * const ws = new NoDelayWebSocket("wss://broker.example/ws", { caCerts: [caPem] });
 * ws.binaryType = "arraybuffer";
 * ws.onmessage = (ev) => console.log(ev.data);
 * ws.onopen = () => ws.send("hello");
 * ```
 */
export class NoDelayWebSocket extends EventTarget implements WebSocket {
  /** The socket is connecting. */
  static readonly CONNECTING = 0;
  /** The socket is open. */
  static readonly OPEN = 1;
  /** The closing handshake is under way. */
  static readonly CLOSING = 2;
  /** The socket is closed. */
  static readonly CLOSED = 3;
  /** The socket is connecting. */
  readonly CONNECTING = 0;
  /** The socket is open. */
  readonly OPEN = 1;
  /** The closing handshake is under way. */
  readonly CLOSING = 2;
  /** The socket is closed. */
  readonly CLOSED = 3;
  /** The URL, normalised (`ws:` or `wss:`). */
  readonly url: string;
  /** The extensions the server chose: always `""` (none are offered). */
  readonly extensions: string = "";
  #protocol = "";
  #binaryType: BinaryType = "blob";
  #readyState: number = NoDelayWebSocket.CONNECTING;
  #bufferedAmount = 0;
  readonly #origin: string;
  readonly #protocols: string[];
  readonly #decoder: FrameDecoder;
  readonly #closeTimeoutMs: number;
  #conn: NetConn | undefined;
  #connecting: AbortController | undefined = new AbortController();
  /** Why the connection is being torn down by us (close() while connecting, timeouts). */
  #abortReason: Error | undefined;
  #paused = false;
  #wake: (() => void) | undefined;
  #queue: Outgoing[] = [];
  #writing: Promise<void> | undefined;
  #writeFailed = false;
  #closeSent = false;
  #closeReceived: { code: number; reason: string } | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closeTimedOut = false;
  readonly #handlers = new Map<string, Handler<Event>>();

  /**
   * Opens a connection. Like the platform `WebSocket`, it throws only on bad
   * arguments; everything else is reported by the `error` and `close` events.
   *
   * @param url A `ws:`, `wss:`, `http:` or `https:` URL without fragment.
   * @param protocolsOrOptions The subprotocols, or the options.
   * @throws {DOMException} `SyntaxError` on an invalid URL or subprotocol.
   * @throws {RangeError} On an invalid size or timeout.
   * @throws {TypeError} When the runtime has no raw TCP sockets.
   */
  constructor(url: string | URL, protocolsOrOptions?: string | string[] | NoDelayWebSocketOptions) {
    super();
    const u = parseWebSocketUrl(url);
    const options: NoDelayWebSocketOptions = typeof protocolsOrOptions === "string" || Array.isArray(protocolsOrOptions)
      ? { protocols: protocolsOrOptions }
      : protocolsOrOptions ?? {};
    this.#protocols = checkProtocols(options.protocols);
    const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE;
    if (!Number.isSafeInteger(maxMessageSize) || maxMessageSize < 1) {
      throw new RangeError(`Opening a WebSocket failed: maxMessageSize ${maxMessageSize} is not a positive integer`);
    }
    const handshakeTimeoutMs = checkPositive(options.handshakeTimeoutMs, "handshakeTimeoutMs", 30_000);
    this.#closeTimeoutMs = checkPositive(options.closeTimeoutMs, "closeTimeoutMs", 5_000);
    const headers = options.headers === undefined ? [] : [...new Headers(options.headers)];
    const net = netRuntime();
    if (net === undefined) {
      throw new TypeError(
        "Opening a WebSocket failed: NoDelayWebSocket needs raw TCP sockets (Deno); use the platform WebSocket here",
      );
    }
    this.url = u.href;
    this.#origin = u.origin;
    this.#decoder = new FrameDecoder({ maxMessageSize });
    const key = newHandshakeKey();
    const request = handshakeRequest(u, key, this.#protocols, headers);
    void this.#run(net, u, key, request, options.caCerts, handshakeTimeoutMs);
  }

  /** The subprotocol the server chose, or `""`. */
  get protocol(): string {
    return this.#protocol;
  }

  /** `CONNECTING` (0), `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  get readyState(): number {
    return this.#readyState;
  }

  /** Payload bytes passed to `send()` and not yet written to the socket. */
  get bufferedAmount(): number {
    return this.#bufferedAmount;
  }

  /** How binary messages are delivered: `"blob"` (default) or `"arraybuffer"`. */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(value: BinaryType) {
    if (value === "blob" || value === "arraybuffer") this.#binaryType = value;
  }

  /** Whether {@linkcode NoDelayWebSocket.pause} is in effect. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Stops dispatching messages and reading the socket until
   * {@linkcode NoDelayWebSocket.resume}: the kernel's buffers fill and TCP
   * flow control holds the server. Pings are not answered meanwhile. Sending
   * and closing still work.
   */
  pause(): void {
    this.#paused = true;
  }

  /** Dispatches what was held back and reads the socket again. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #handler<E extends Event>(type: string): Handler<E> {
    return (this.#handlers.get(type) ?? null) as Handler<E>;
  }

  #setHandler(type: string, fn: Handler<Event>): void {
    if (!this.#handlers.has(type)) {
      this.addEventListener(type, (ev) => this.#handlers.get(type)?.call(this, ev));
    }
    this.#handlers.set(type, typeof fn === "function" ? fn : null);
  }

  /** Called once the socket is open. */
  get onopen(): ((this: WebSocket, ev: Event) => unknown) | null {
    return this.#handler("open");
  }
  set onopen(fn: ((this: WebSocket, ev: Event) => unknown) | null) {
    this.#setHandler("open", fn);
  }

  /** Called with each message. */
  get onmessage(): ((this: WebSocket, ev: MessageEvent) => unknown) | null {
    return this.#handler("message");
  }
  set onmessage(fn: ((this: WebSocket, ev: MessageEvent) => unknown) | null) {
    this.#setHandler("message", fn as Handler<Event>);
  }

  /** Called when the connection fails (the event's `error` is the typed error). */
  get onerror(): ((this: WebSocket, ev: Event) => unknown) | null {
    return this.#handler("error");
  }
  set onerror(fn: ((this: WebSocket, ev: Event) => unknown) | null) {
    this.#setHandler("error", fn);
  }

  /** Called once the socket is closed. */
  get onclose(): ((this: WebSocket, ev: CloseEvent) => unknown) | null {
    return this.#handler("close");
  }
  set onclose(fn: ((this: WebSocket, ev: CloseEvent) => unknown) | null) {
    this.#setHandler("close", fn as Handler<Event>);
  }

  /**
   * Sends a message: a string as text, bytes (or a `Blob`) as binary. After
   * `close()` the data is discarded (and counted in `bufferedAmount`), as the
   * platform `WebSocket` does.
   *
   * @param data The message.
   * @throws {DOMException} `InvalidStateError` while connecting.
   */
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (this.#readyState === NoDelayWebSocket.CONNECTING) {
      throw new DOMException("Sending on a WebSocket failed: it is still connecting", "InvalidStateError");
    }
    let opcode: number = Opcode.binary;
    let bytes: Uint8Array | undefined;
    if (typeof data === "string") {
      opcode = Opcode.text;
      bytes = encoder.encode(data);
    } else if (
      data instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && data instanceof SharedArrayBuffer)
    ) {
      bytes = new Uint8Array(data);
    } else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else if (typeof Blob === "function" && data instanceof Blob) {
      if (this.#readyState !== NoDelayWebSocket.OPEN || this.#closeSent) {
        this.#bufferedAmount += data.size;
        return;
      }
      const frame = data.arrayBuffer().then((b) => encodeFrame(Opcode.binary, new Uint8Array(b), nextMask()));
      frame.catch(() => {});
      this.#enqueue({ frame, counted: data.size });
      return;
    } else {
      opcode = Opcode.text;
      bytes = encoder.encode(String(data));
    }
    if (this.#readyState !== NoDelayWebSocket.OPEN || this.#closeSent) {
      this.#bufferedAmount += bytes.length;
      return;
    }
    this.#enqueue({ frame: encodeFrame(opcode, bytes, nextMask()), counted: bytes.length });
  }

  /**
   * Starts the closing handshake (or abandons a connection still being made).
   * The `close` event follows once the server has answered and closed the
   * connection, or after `closeTimeoutMs`.
   *
   * @param code 1000 or 3000–4999; none sends an empty close frame.
   * @param reason At most 123 bytes of UTF-8.
   * @throws {DOMException} `InvalidAccessError` on another code, `SyntaxError` on a long reason.
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && !(code === 1000 || (Number.isInteger(code) && code >= 3000 && code <= 4999))) {
      throw new DOMException(`Closing a WebSocket failed: ${code} is not 1000 or 3000-4999`, "InvalidAccessError");
    }
    if (reason !== undefined && encoder.encode(reason).length > 123) {
      throw new DOMException("Closing a WebSocket failed: the reason is over 123 bytes", "SyntaxError");
    }
    if (this.#readyState === NoDelayWebSocket.CLOSING || this.#readyState === NoDelayWebSocket.CLOSED) return;
    if (this.#readyState === NoDelayWebSocket.CONNECTING) {
      this.#readyState = NoDelayWebSocket.CLOSING;
      this.#abort(
        new ConnectionError(`Opening a WebSocket to ${this.url} failed: closed before it opened`, {
          url: this.url,
        }),
      );
      return;
    }
    this.#readyState = NoDelayWebSocket.CLOSING;
    this.#sendClose(code ?? (reason ? CloseCode.normal : undefined), reason ?? "");
    this.#wakeUp();
  }

  /** Tears the connection down from our side (no close handshake). */
  #abort(reason: Error): void {
    this.#abortReason ??= reason;
    this.#connecting?.abort(reason);
    closeQuietly(this.#conn);
    this.#wakeUp();
  }

  #sendClose(code: number | undefined, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    this.#enqueue({ frame: encodeFrame(Opcode.close, encodeClosePayload(code, reason), nextMask()), counted: 0 });
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      this.#closeTimedOut = true;
      closeQuietly(this.#conn);
      this.#wakeUp();
    }, this.#closeTimeoutMs);
  }

  #enqueue(out: Outgoing): void {
    this.#bufferedAmount += out.counted;
    if (this.#writeFailed) return; // the connection is going: kept in bufferedAmount, as after close()
    this.#queue.push(out);
    this.#writing ??= this.#flush();
  }

  async #flush(): Promise<void> {
    await null; // let the sends of this turn join one write
    try {
      while (this.#queue.length > 0) {
        const conn = this.#conn;
        if (conn === undefined) return;
        const first = this.#queue[0]!;
        let chunk: Uint8Array;
        let counted = 0;
        if (first.frame instanceof Promise) {
          chunk = await first.frame;
          counted = first.counted;
          this.#queue.shift();
        } else {
          let n = 0;
          let size = 0;
          while (n < this.#queue.length) {
            const f = this.#queue[n]!.frame;
            if (f instanceof Promise || (n > 0 && size + f.length > WRITE_BATCH)) break;
            size += f.length;
            counted += this.#queue[n]!.counted;
            n++;
          }
          if (n === 1) chunk = first.frame;
          else {
            chunk = new Uint8Array(size);
            let at = 0;
            for (let i = 0; i < n; i++) {
              const f = this.#queue[i]!.frame as Uint8Array;
              chunk.set(f, at);
              at += f.length;
            }
          }
          this.#queue.splice(0, n);
        }
        await writeAll(conn, chunk);
        this.#bufferedAmount -= counted;
      }
    } catch {
      // The connection is broken or closed: nothing more can be written; the read side reports why.
      this.#writeFailed = true;
      this.#queue = [];
      closeQuietly(this.#conn);
      this.#wakeUp();
    } finally {
      this.#writing = undefined;
      if (
        this.#queue.length > 0 && this.#conn !== undefined && !this.#writeFailed &&
        this.#readyState !== NoDelayWebSocket.CLOSED
      ) {
        this.#writing = this.#flush();
      }
    }
  }

  async #run(
    net: NetRuntime,
    u: URL,
    key: string,
    request: Uint8Array,
    caCerts: string[] | undefined,
    handshakeTimeoutMs: number,
  ): Promise<void> {
    const hostname = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
    const port = Number(u.port || (u.protocol === "wss:" ? 443 : 80));
    const connecting = this.#connecting!;
    const timer = setTimeout(() => {
      this.#abort(
        new TimeoutError(`Opening a WebSocket to ${this.url} failed: no handshake within ${handshakeTimeoutMs} ms`, {
          timeoutMs: handshakeTimeoutMs,
        }),
      );
    }, handshakeTimeoutMs);
    let leftover: Uint8Array;
    try {
      const tcp = await net.connect({ hostname, port, signal: connecting.signal });
      this.#conn = tcp;
      if (this.#abortReason !== undefined) throw this.#abortReason;
      tcp.setNoDelay(true);
      let conn: NetConn = tcp;
      if (u.protocol === "wss:") {
        const tls = await net.startTls(tcp, { hostname, ...(caCerts === undefined ? {} : { caCerts }) });
        this.#conn = conn = tls;
        if (this.#abortReason !== undefined) throw this.#abortReason;
        try {
          await tls.handshake();
        } catch (err) {
          if (this.#abortReason !== undefined) throw this.#abortReason;
          throw new ConnectionError(`Opening a WebSocket to ${this.url} failed: TLS handshake: ${errorText(err)}`, {
            cause: err,
            url: this.url,
          });
        }
      }
      const accept = acceptFor(key);
      await writeAll(conn, request);
      let buf = new Uint8Array(4096);
      let len = 0;
      while (true) {
        if (len === buf.length) {
          const bigger = new Uint8Array(Math.min(buf.length * 2, MAX_HANDSHAKE_BYTES + 4096));
          bigger.set(buf);
          buf = bigger;
        }
        const n = await conn.read(buf.subarray(len));
        if (n === null) {
          throw new ConnectionError(`Opening a WebSocket to ${this.url} failed: the server closed the connection`, {
            url: this.url,
          });
        }
        len += n;
        const res = parseHandshakeResponse(buf.subarray(0, len));
        if (res === undefined) continue;
        if (res.status === 401 || res.status === 403) {
          throw new AuthError(
            `Opening a WebSocket to ${this.url} failed: the server refused with status ${res.status}`,
            {
              url: this.url,
              status: res.status,
            },
          );
        }
        if (res.status !== 101) {
          throw new ConnectionError(
            `Opening a WebSocket to ${this.url} failed: the server answered status ${res.status}, not 101`,
            { url: this.url },
          );
        }
        this.#protocol = checkHandshake(res, await accept, this.#protocols, this.url);
        leftover = buf.subarray(res.length, len);
        break;
      }
    } catch (err) {
      clearTimeout(timer);
      this.#connecting = undefined;
      const reason = this.#abortReason ?? this.#connectError(err);
      await this.#finish(reason, CloseCode.abnormal, "", false);
      return;
    }
    clearTimeout(timer);
    this.#connecting = undefined;
    if (this.#abortReason !== undefined) {
      await this.#finish(this.#abortReason, CloseCode.abnormal, "", false);
      return;
    }
    this.#decoder.push(leftover);
    this.#readyState = NoDelayWebSocket.OPEN;
    this.dispatchEvent(new Event("open"));
    if (this.#queue.length > 0) this.#writing ??= this.#flush();
    await this.#readLoop(this.#conn!);
  }

  #connectError(err: unknown): Error {
    if (err instanceof ConnectionError || err instanceof ProtocolError || err instanceof AuthError) return err;
    if (err instanceof TimeoutError || err instanceof ClosedError) return err;
    const name = (err as { name?: unknown })?.name;
    const why = name === "ConnectionRefused" ? "connection refused" : errorText(err);
    return new ConnectionError(`Opening a WebSocket to ${this.url} failed: ${why}`, { cause: err, url: this.url });
  }

  async #readLoop(conn: NetConn): Promise<void> {
    let error: Error | undefined;
    let eof = false;
    try {
      while (true) {
        while (!this.#holding()) {
          const m = this.#decoder.next();
          if (m === undefined) break;
          this.#onIncoming(m);
        }
        if (this.#holding()) {
          await new Promise<void>((resolve) => this.#wake = resolve);
          continue;
        }
        if (this.#abortReason !== undefined || this.#closeTimedOut) break;
        const n = await conn.read(this.#decoder.space());
        if (n === null) {
          eof = true;
          break;
        }
        this.#decoder.commit(n);
      }
    } catch (err) {
      if (err instanceof WebSocketProtocolError) {
        error = err;
        await this.#failWith(err);
      } else if (this.#abortReason === undefined && !this.#closeTimedOut && this.#closeReceived === undefined) {
        error = new ConnectionError(`The WebSocket to ${this.url} failed: ${errorText(err)}`, {
          cause: err,
          url: this.url,
        });
      }
    }
    const received = this.#closeReceived;
    if (error === undefined && this.#abortReason !== undefined) error = this.#abortReason;
    if (received !== undefined && this.#closeSent && error === undefined) {
      await this.#finish(undefined, received.code, received.reason, !this.#closeTimedOut || eof);
      return;
    }
    if (error === undefined && !this.#closeSent) {
      error = new ConnectionError(
        `The WebSocket to ${this.url} was closed by the server without a close frame${eof ? "" : " (reset)"}`,
        { url: this.url },
      );
    }
    await this.#finish(error, CloseCode.abnormal, "", false);
  }

  /** Whether messages are held back: paused while open, or nothing left to do but wait. */
  #holding(): boolean {
    return this.#paused && this.#readyState === NoDelayWebSocket.OPEN && this.#abortReason === undefined &&
      !this.#writeFailed;
  }

  #onIncoming(m: Incoming): void {
    switch (m.kind) {
      case "text":
      case "binary": {
        if (this.#readyState !== NoDelayWebSocket.OPEN || this.#closeReceived !== undefined) return;
        let data: string | ArrayBuffer | Blob;
        if (m.kind === "text") data = m.data;
        else if (this.#binaryType === "arraybuffer") data = m.data.buffer as ArrayBuffer;
        else data = new Blob([m.data as Uint8Array<ArrayBuffer>]);
        this.dispatchEvent(new MessageEvent("message", { data, origin: this.#origin }));
        return;
      }
      case "ping":
        if (!this.#closeSent) this.#enqueue({ frame: encodeFrame(Opcode.pong, m.data, nextMask()), counted: 0 });
        return;
      case "pong":
        return;
      case "close":
        if (this.#closeReceived !== undefined) return;
        this.#closeReceived = { code: m.code, reason: m.reason };
        if (this.#readyState === NoDelayWebSocket.OPEN) this.#readyState = NoDelayWebSocket.CLOSING;
        // Echo the code (RFC 6455 §5.5.1), then wait for the server to close the TCP connection.
        this.#sendClose(m.code === CloseCode.noStatus ? undefined : m.code, "");
        return;
    }
  }

  /** Fails the connection on a protocol error: sends the close code, then drops the connection. */
  async #failWith(err: WebSocketProtocolError): Promise<void> {
    if (this.#closeSent) return;
    this.#closeSent = true;
    this.#readyState = NoDelayWebSocket.CLOSING;
    this.#enqueue({ frame: encodeFrame(Opcode.close, encodeClosePayload(err.closeCode), nextMask()), counted: 0 });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#writing,
      new Promise((resolve) => timer = setTimeout(resolve, Math.min(this.#closeTimeoutMs, 1_000))),
    ]);
    clearTimeout(timer);
  }

  async #finish(error: Error | undefined, code: number, reason: string, wasClean: boolean): Promise<void> {
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    closeQuietly(this.#conn);
    this.#queue = [];
    await this.#writing?.catch(() => {});
    this.#conn = undefined;
    this.#readyState = NoDelayWebSocket.CLOSED;
    if (error !== undefined) this.dispatchEvent(errorEvent(error));
    this.dispatchEvent(closeEvent(code, reason, wasClean));
  }
}
