// Test peers for the WebSocket client, written independently of src/core/websocket_codec.ts and
// websocket_handshake.ts: a raw TCP server that answers the handshake with its own SHA-1 and writes frames built byte
// by byte, and a reader of the client's masked frames.

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A server frame, built by hand: FIN/RSV/opcode byte, length (7, 16 or 64 bits), payload; `mask` to forge one. */
export function serverFrame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  opts: { fin?: boolean; rsv?: number; mask?: Uint8Array } = {},
): Uint8Array {
  const p = typeof payload === "string" ? enc.encode(payload) : payload;
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode];
  const m = opts.mask === undefined ? 0 : 0x80;
  if (p.length < 126) head.push(m | p.length);
  else if (p.length < 65536) head.push(m | 126, p.length >> 8, p.length & 255);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    for (const shift of [24, 16, 8, 0]) head.push((p.length >>> shift) & 255);
  }
  const body = p.slice();
  if (opts.mask !== undefined) {
    head.push(...opts.mask);
    for (let i = 0; i < body.length; i++) body[i]! ^= opts.mask[i % 4]!;
  }
  return new Uint8Array([...head, ...body]);
}

/** A frame the client sent, unmasked. */
export interface ClientFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** Reads client frames from a connection, checking that each is masked. */
export class ClientFrames {
  #buf: Uint8Array = new Uint8Array(0);
  readonly #conn: Deno.Conn;
  constructor(conn: Deno.Conn, leftover: Uint8Array = new Uint8Array(0)) {
    this.#conn = conn;
    this.#buf = leftover;
  }

  async #fill(n: number): Promise<boolean> {
    while (this.#buf.length < n) {
      const chunk = new Uint8Array(65536);
      const got = await this.#conn.read(chunk);
      if (got === null) return false;
      const next = new Uint8Array(this.#buf.length + got);
      next.set(this.#buf);
      next.set(chunk.subarray(0, got), this.#buf.length);
      this.#buf = next;
    }
    return true;
  }

  /** The next frame, or `undefined` at EOF. */
  async next(): Promise<ClientFrame | undefined> {
    if (!await this.#fill(2)) return undefined;
    const b0 = this.#buf[0]!, b1 = this.#buf[1]!;
    let len = b1 & 0x7f;
    let at = 2;
    if (len === 126) {
      if (!await this.#fill(4)) return undefined;
      len = (this.#buf[2]! << 8) | this.#buf[3]!;
      at = 4;
    } else if (len === 127) {
      if (!await this.#fill(10)) return undefined;
      len = 0;
      for (let i = 2; i < 10; i++) len = len * 256 + this.#buf[i]!;
      at = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const total = at + (masked ? 4 : 0) + len;
    if (!await this.#fill(total)) return undefined;
    const key = masked ? this.#buf.slice(at, at + 4) : new Uint8Array(4);
    const payload = this.#buf.slice(total - len, total);
    for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
    this.#buf = this.#buf.slice(total);
    return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, payload };
  }
}

/** The close code in a close frame's payload, or undefined. */
export function closeCodeOf(f: ClientFrame): number | undefined {
  return f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : undefined;
}

/** What a raw server's handler gets. */
export interface RawPeer {
  conn: Deno.Conn;
  request: string;
  /** The client's frames after the handshake. */
  frames: ClientFrames;
  write(...frames: Uint8Array[]): Promise<void>;
}

/** Accepts connections on a loopback port and runs `handler` for each after reading the HTTP request. */
export class RawServer {
  readonly listener: Deno.TcpListener;
  readonly #tasks = new Set<Promise<void>>();
  readonly #conns = new Set<Deno.Conn>();
  readonly #loop: Promise<void>;

  constructor(handler: (conn: Deno.Conn, request: string, rest: Uint8Array) => Promise<void>) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.listener = listener;
    this.#loop = (async () => {
      for await (const conn of listener) {
        this.#conns.add(conn);
        const t = (async () => {
          try {
            const { request, rest } = await readRequest(conn);
            await handler(conn, request, rest);
          } catch {
            /* the test decides */
          } finally {
            this.#conns.delete(conn);
            try {
              conn.close();
            } catch { /* closed by the handler */ }
          }
        })();
        this.#tasks.add(t);
        void t.finally(() => this.#tasks.delete(t));
      }
    })();
  }

  get url(): string {
    return `ws://127.0.0.1:${this.listener.addr.port}/`;
  }

  async close(): Promise<void> {
    this.listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* gone */ }
    }
    await Promise.allSettled([...this.#tasks]);
    await this.#loop.catch(() => {});
  }
}

/** Reads an HTTP request head; returns it and the bytes after it. */
export async function readRequest(conn: Deno.Conn): Promise<{ request: string; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  while (true) {
    const text = dec.decode(buf);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) return { request: text.slice(0, end), rest: buf.slice(enc.encode(text.slice(0, end + 4)).length) };
    const chunk = new Uint8Array(4096);
    const n = await conn.read(chunk);
    if (n === null) throw new Error("EOF before the request ended");
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
  }
}

/** The Sec-WebSocket-Accept for a request (SHA-1 of key + GUID, computed here). */
export async function acceptOf(request: string): Promise<string> {
  const key = /^sec-websocket-key:\s*(\S+)/im.exec(request)![1]!;
  const digest = await crypto.subtle.digest("SHA-1", enc.encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Writes a 101 answer (with optional extra header lines). */
export async function accept(conn: Deno.Conn, request: string, extra = ""): Promise<void> {
  const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${await acceptOf(request)}\r\n${extra}\r\n`;
  await writeAll(conn, enc.encode(head));
}

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Resolves with the first event of `type`. */
export function once<E extends Event>(target: EventTarget, type: string): Promise<E> {
  return new Promise((resolve) => target.addEventListener(type, (ev) => resolve(ev as E), { once: true }));
}

/** Collects a socket's events until `close`. */
export function record(ws: WebSocket): {
  messages: unknown[];
  errors: unknown[];
  closed: Promise<CloseEvent>;
} {
  const messages: unknown[] = [];
  const errors: unknown[] = [];
  ws.addEventListener("message", (ev) => messages.push((ev as MessageEvent).data));
  ws.addEventListener("error", (ev) => errors.push((ev as ErrorEvent).error));
  return { messages, errors, closed: once<CloseEvent>(ws, "close") };
}

/** Awaits `p`, failing after `ms` (a bound against hangs, not a timing assertion). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
