// NoDelayWebSocket against independent peers: Deno.serve's Deno.upgradeWebSocket server, a raw TCP server writing
// frames built by hand (tests/core/_ws_peers.ts), nats-server's WebSocket port, and TLS with a private CA.
import assert from "node:assert/strict";
import { AuthError, ConnectionError, ProtocolError, TimeoutError } from "../../mod.ts";
import { NoDelayWebSocket } from "../../src/core/no_delay_web_socket.ts";
import { defaultWebSocket, isPausable, openWebSocket } from "../../src/core/open_web_socket.ts";
import { WebSocketProtocolError } from "../../src/core/websocket_codec.ts";
import { createTestPki } from "../../src/testing/mdb/pki.ts";
import { NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { rng } from "../_seeded.ts";
import {
  accept,
  ClientFrames,
  closeCodeOf,
  once,
  RawServer,
  record,
  serverFrame,
  within,
  writeAll,
} from "./_ws_peers.ts";

const enc = new TextEncoder();

/** A Deno.serve echo server (Deno's own WebSocket server implementation). */
function echoServer(
  onSocket?: (socket: WebSocket, req: Request) => void,
  tls?: { cert: string; key: string },
): { url: string; close(): Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {}, ...(tls ?? {}) }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req, {
      protocol: req.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim(),
    } as Deno.UpgradeWebSocketOptions);
    if (onSocket !== undefined) onSocket(socket, req);
    else socket.onmessage = (ev) => socket.send(ev.data);
    return response;
  });
  return {
    url: `${tls === undefined ? "ws" : "wss"}://${
      tls === undefined ? "127.0.0.1" : "localhost"
    }:${server.addr.port}/echo`,
    close: () => server.shutdown(),
  };
}

async function opened(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.OPEN) return;
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("close", () => reject(new Error("closed before open")), { once: true });
  });
}

Deno.test("NoDelayWebSocket exchanges text and binary with Deno.serve and closes cleanly", async () => {
  const server = echoServer();
  const ws = new NoDelayWebSocket(server.url);
  assert.equal(ws.readyState, NoDelayWebSocket.CONNECTING);
  assert.throws(
    () => ws.send("too early"),
    (e: unknown) => e instanceof DOMException && e.name === "InvalidStateError",
  );
  const ev = record(ws);
  await opened(ws);
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.equal(ws.url, server.url);
  ws.send("héllo");
  ws.send(new Uint8Array([1, 2, 3]));
  ws.send(new Uint8Array([9, 8, 7, 6]).buffer);
  ws.send(new Blob([enc.encode("blob")]));
  ws.send(new DataView(new Uint8Array([5, 5]).buffer));
  while (ev.messages.length < 5) await once(ws, "message");
  assert.equal(ev.messages[0], "héllo");
  assert.ok(ev.messages[1] instanceof Blob, "binaryType defaults to blob");
  assert.deepEqual(new Uint8Array(await (ev.messages[1] as Blob).arrayBuffer()), new Uint8Array([1, 2, 3]));
  ws.binaryType = "arraybuffer";
  ws.send(new Uint8Array([4]));
  await once(ws, "message");
  assert.ok(ev.messages[5] instanceof ArrayBuffer);
  assert.deepEqual(new Uint8Array(ev.messages[5] as ArrayBuffer), new Uint8Array([4]));
  assert.deepEqual(new Uint8Array(await (ev.messages[3] as Blob).arrayBuffer()), enc.encode("blob"));
  ws.close(1000, "done");
  assert.equal(ws.readyState, WebSocket.CLOSING);
  const closed = await ev.closed;
  assert.equal(closed.code, 1000);
  assert.equal(closed.reason, "done");
  assert.equal(closed.wasClean, true);
  assert.equal(ws.readyState, WebSocket.CLOSED);
  assert.deepEqual(ev.errors, []);
  ws.send("after close is dropped");
  assert.ok(ws.bufferedAmount > 0);
  await server.close();
});

Deno.test("NoDelayWebSocket delivers 2,000 messages in order and a 4 MiB one, then the server's close code", async () => {
  const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => i & 255);
  const server = echoServer((socket) => {
    socket.onmessage = (ev) => {
      if (ev.data === "go") {
        for (let i = 0; i < 2000; i++) socket.send(`m${i}`);
        socket.send(big);
        socket.close(4001, "server says bye");
      }
    };
  });
  const ws = new NoDelayWebSocket(server.url, ["chat", "superchat"]);
  ws.binaryType = "arraybuffer";
  const ev = record(ws);
  await opened(ws);
  assert.equal(ws.protocol, "chat");
  ws.send("go");
  const closed = await ev.closed;
  assert.equal(ev.messages.length, 2001);
  for (let i = 0; i < 2000; i++) assert.equal(ev.messages[i], `m${i}`);
  assert.deepEqual(new Uint8Array(ev.messages[2000] as ArrayBuffer), big);
  assert.equal(closed.code, 4001);
  assert.equal(closed.reason, "server says bye");
  assert.equal(closed.wasClean, true);
  await server.close();
});

Deno.test("NoDelayWebSocket on/off handlers and addEventListener both fire, handlers can be replaced", async () => {
  const server = echoServer();
  const ws = new NoDelayWebSocket(server.url);
  const seen: string[] = [];
  ws.onmessage = () => seen.push("old");
  ws.onmessage = (ev) => seen.push(`new:${ev.data}`);
  ws.addEventListener("message", () => seen.push("listener"));
  assert.equal(typeof ws.onmessage, "function");
  await opened(ws);
  ws.send("x");
  await once(ws, "message");
  assert.deepEqual(seen, ["new:x", "listener"]);
  ws.onmessage = null;
  ws.send("y");
  await once(ws, "message");
  assert.deepEqual(seen, ["new:x", "listener", "listener"]);
  assert.throws(() => ws.close(1001), (e: unknown) => e instanceof DOMException && e.name === "InvalidAccessError");
  assert.throws(
    () => ws.close(1000, "é".repeat(62)),
    (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
  );
  ws.close();
  const closed = await once<CloseEvent>(ws, "close");
  assert.equal(closed.code, 1005); // an empty close frame echoed
  await server.close();
});

Deno.test("NoDelayWebSocket answers pings with their payload and joins fragments around control frames", async () => {
  const pongs: Uint8Array[] = [];
  const server = new RawServer(async (conn, request, rest) => {
    await accept(conn, request);
    await writeAll(
      conn,
      new Uint8Array([
        ...serverFrame(0x9, "are you there"),
        ...serverFrame(0x1, "Hel", { fin: false }),
        ...serverFrame(0x9, "mid"),
        ...serverFrame(0x0, "lo", { fin: false }),
        ...serverFrame(0xa, "unsolicited pong"),
        ...serverFrame(0x0, " world", { fin: true }),
        ...serverFrame(0x2, new Uint8Array([1]), { fin: false }),
        ...serverFrame(0x0, new Uint8Array([2]), { fin: true }),
      ]),
    );
    const frames = new ClientFrames(conn, rest);
    for (let f = await frames.next(); f !== undefined; f = await frames.next()) {
      assert.ok(f.masked, "client frames are masked");
      if (f.opcode === 0xa) pongs.push(f.payload);
      if (f.opcode === 0x8) {
        await writeAll(conn, serverFrame(0x8, f.payload));
        return;
      }
    }
  });
  const ws = new NoDelayWebSocket(server.url);
  ws.binaryType = "arraybuffer";
  const ev = record(ws);
  while (ev.messages.length < 2) await once(ws, "message");
  assert.equal(ev.messages[0], "Hello world");
  assert.deepEqual(new Uint8Array(ev.messages[1] as ArrayBuffer), new Uint8Array([1, 2]));
  ws.close(1000);
  const closed = await ev.closed;
  assert.equal(closed.wasClean, true);
  assert.equal(closed.code, 1000);
  assert.deepEqual(pongs.map((p) => new TextDecoder().decode(p)), ["are you there", "mid"]);
  await server.close();
});

Deno.test("NoDelayWebSocket fails a connection on each malformed frame with the RFC's close code", async () => {
  const cases: [string, Uint8Array, number][] = [
    ["masked server frame", serverFrame(0x1, "x", { mask: new Uint8Array([1, 2, 3, 4]) }), 1002],
    ["reserved bits", serverFrame(0x1, "x", { rsv: 4 }), 1002],
    ["reserved opcode", serverFrame(0x3, "x"), 1002],
    ["fragmented ping", serverFrame(0x9, "x", { fin: false }), 1002],
    ["ping of 126 bytes", serverFrame(0x9, new Uint8Array(126)), 1002],
    ["stray continuation", serverFrame(0x0, "x"), 1002],
    [
      "text inside a fragmented message",
      new Uint8Array([...serverFrame(0x1, "a", { fin: false }), ...serverFrame(0x1, "b")]),
      1002,
    ],
    ["invalid UTF-8", serverFrame(0x1, new Uint8Array([0xc3, 0x28])), 1007],
    ["close code 1006 on the wire", serverFrame(0x8, new Uint8Array([0x03, 0xee])), 1002],
    ["too big", serverFrame(0x2, new Uint8Array(2000)), 1009],
  ];
  for (const [name, bad, code] of cases) {
    let sent: number | undefined;
    let served!: () => void;
    const done = new Promise<void>((resolve) => served = resolve);
    const server = new RawServer(async (conn, request, rest) => {
      try {
        await accept(conn, request);
        await writeAll(conn, new Uint8Array([...serverFrame(0x1, "before"), ...bad, ...serverFrame(0x1, "after")]));
        const frames = new ClientFrames(conn, rest);
        for (let f = await frames.next(); f !== undefined; f = await frames.next()) {
          if (f.opcode === 0x8) sent = closeCodeOf(f);
        }
      } finally {
        served();
      }
    });
    const ws = new NoDelayWebSocket(server.url, { maxMessageSize: 1000 });
    const ev = record(ws);
    const closed = await within(ev.closed, 10_000, name).catch((err) => {
      ws.close();
      server.close();
      throw err;
    });
    assert.deepEqual(ev.messages, ["before"], name);
    assert.equal(ev.errors.length, 1, name);
    const err = ev.errors[0] as WebSocketProtocolError;
    assert.ok(err instanceof WebSocketProtocolError && err instanceof ProtocolError, `${name}: ${err}`);
    assert.equal(err.closeCode, code, name);
    assert.equal(closed.code, 1006, name);
    assert.equal(closed.wasClean, false, name);
    await done;
    await server.close();
    assert.equal(sent, code, `${name}: the close frame sent`);
  }
});

Deno.test("NoDelayWebSocket reports refused handshakes as typed errors", async () => {
  const answers: [string, (e: unknown) => boolean][] = [
    ["HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", (e) => e instanceof AuthError && e.status === 403],
    [
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
      (e) => e instanceof ConnectionError && /404/.test(e.message),
    ],
    [
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n",
      (e) => e instanceof ProtocolError && /Accept/.test(e.message),
    ],
    ["SSH-2.0-OpenSSH\r\n\r\n", (e) => e instanceof ProtocolError],
    ["", (e) => e instanceof ConnectionError && /closed the connection/.test(e.message)],
  ];
  for (const [answer, check] of answers) {
    const server = new RawServer(async (conn) => {
      if (answer !== "") await writeAll(conn, enc.encode(answer));
    });
    const ws = new NoDelayWebSocket(server.url);
    const ev = record(ws);
    const closed = await ev.closed;
    assert.equal(closed.code, 1006);
    assert.equal(ev.errors.length, 1);
    assert.ok(check(ev.errors[0]), `${JSON.stringify(answer.slice(0, 20))}: ${ev.errors[0]}`);
    await server.close();
  }
  // Nothing listening.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const ws = new NoDelayWebSocket(`ws://127.0.0.1:${port}/`);
  const ev = record(ws);
  await ev.closed;
  assert.ok(ev.errors[0] instanceof ConnectionError, String(ev.errors[0]));
  assert.match((ev.errors[0] as Error).message, /refused/);
});

Deno.test("NoDelayWebSocket gives up a silent handshake with TimeoutError, and close() while connecting", async () => {
  const server = new RawServer(async (conn) => {
    await conn.read(new Uint8Array(1)); // hold the connection, answer nothing
  });
  const ws = new NoDelayWebSocket(server.url, { handshakeTimeoutMs: 200 });
  const ev = record(ws);
  await ev.closed;
  assert.ok(ev.errors[0] instanceof TimeoutError, String(ev.errors[0]));
  const ws2 = new NoDelayWebSocket(server.url);
  const ev2 = record(ws2);
  ws2.close();
  assert.equal(ws2.readyState, WebSocket.CLOSING);
  const closed = await ev2.closed;
  assert.equal(closed.code, 1006);
  assert.ok(ev2.errors[0] instanceof ConnectionError);
  await server.close();
});

Deno.test("NoDelayWebSocket reports a dropped connection and a server that never answers close", async () => {
  const dropping = new RawServer(async (conn, request) => {
    await accept(conn, request);
    await writeAll(conn, serverFrame(0x1, "one"));
    conn.close();
  });
  const ws = new NoDelayWebSocket(dropping.url);
  const ev = record(ws);
  const closed = await ev.closed;
  assert.deepEqual(ev.messages, ["one"]);
  assert.equal(closed.code, 1006);
  assert.equal(closed.wasClean, false);
  assert.ok(ev.errors[0] instanceof ConnectionError, String(ev.errors[0]));
  await dropping.close();

  const deaf = new RawServer(async (conn, request, rest) => {
    await accept(conn, request);
    const frames = new ClientFrames(conn, rest);
    while (await frames.next() !== undefined) { /* read, never answer */ }
  });
  const ws2 = new NoDelayWebSocket(deaf.url, { closeTimeoutMs: 200 });
  const ev2 = record(ws2);
  await opened(ws2);
  ws2.close(1000);
  const closed2 = await ev2.closed;
  assert.equal(closed2.code, 1006);
  assert.equal(closed2.wasClean, false);
  assert.deepEqual(ev2.errors, []);
  await deaf.close();
});

Deno.test("NoDelayWebSocket.pause() stops reading: TCP flow control holds the server; resume() loses nothing", async () => {
  const FRAME = 64 * 1024;
  const ATTEMPT = 256 * 1024 * 1024; // far more than loopback buffers hold
  let written = 0;
  let frames = 0;
  let stop = false;
  const server = new RawServer(async (conn, request) => {
    await accept(conn, request);
    const payload = new Uint8Array(FRAME);
    while (!stop && written < ATTEMPT) {
      new DataView(payload.buffer).setUint32(0, frames);
      await writeAll(conn, serverFrame(0x2, payload));
      frames++;
      written += FRAME;
    }
    await writeAll(conn, serverFrame(0x8, new Uint8Array([0x03, 0xe8])));
  });
  const ws = new NoDelayWebSocket(server.url);
  assert.ok(isPausable(ws));
  ws.pause();
  assert.equal(ws.paused, true);
  ws.binaryType = "arraybuffer";
  let received = 0;
  let inOrder = true;
  ws.onmessage = (ev) => {
    if (new DataView(ev.data as ArrayBuffer).getUint32(0) !== received) inOrder = false;
    received++;
  };
  await opened(ws);
  // Wait until the server's writes stop progressing: the kernel buffers are full.
  let last = -1;
  while (written !== last) {
    last = written;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(received, 0, "no message while paused");
  assert.ok(written < 64 * 1024 * 1024, `the server wrote ${written} bytes into a paused socket`);
  stop = true;
  ws.resume();
  const closed = await once<CloseEvent>(ws, "close");
  assert.equal(closed.code, 1000);
  assert.equal(received, frames);
  assert.ok(inOrder);
  await server.close();
});

Deno.test("NoDelayWebSocket.pause() in a handler holds back messages already read", async () => {
  const server = new RawServer(async (conn, request, rest) => {
    await accept(conn, request);
    const burst = [];
    for (let i = 0; i < 100; i++) burst.push(...serverFrame(0x1, String(i)));
    await writeAll(conn, new Uint8Array(burst)); // one write: the client reads them together
    const frames = new ClientFrames(conn, rest);
    const f = await frames.next();
    if (f?.opcode === 0x8) await writeAll(conn, serverFrame(0x8, f.payload));
  });
  const ws = new NoDelayWebSocket(server.url);
  const got: string[] = [];
  let whilePaused = 0;
  let pauses = 0;
  let held = false;
  ws.onmessage = (ev) => {
    if (held) whilePaused++;
    got.push(ev.data as string);
    if (got.length % 10 === 0) {
      ws.pause();
      held = true;
      pauses++;
      setTimeout(() => {
        held = false;
        ws.resume();
      }, 5);
    }
  };
  while (got.length < 100) await once(ws, "message");
  assert.equal(whilePaused, 0, "nothing dispatched between pause() in a handler and resume()");
  assert.equal(pauses, 10);
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => String(i)));
  ws.close(1000);
  await once(ws, "close");
  await server.close();
});

Deno.test("NoDelayWebSocket that cannot write (the peer is gone) ends with ConnectionError, even while paused", async () => {
  const server = new RawServer(async (conn, request) => {
    await accept(conn, request);
    conn.close(); // gone: the client's next writes meet a reset
  });
  const ws = new NoDelayWebSocket(server.url);
  ws.pause(); // not reading: only the failed writes can tell
  const ev = record(ws);
  await opened(ws);
  const chunk = new Uint8Array(64 * 1024);
  let sent = 0;
  const sending = (async () => {
    while (ws.readyState === WebSocket.OPEN && sent < 4096) {
      ws.send(chunk);
      sent++;
      await new Promise((r) => setTimeout(r, 0));
    }
  })();
  const closed = await within(ev.closed, 20_000, "the close event");
  await sending;
  assert.equal(closed.code, 1006);
  assert.ok(ev.errors[0] instanceof ConnectionError, String(ev.errors[0]));
  assert.ok(sent < 4096, `all ${sent} sends were taken by a dead connection`);
  await server.close();
});

Deno.test("NoDelayWebSocket over wss: a private CA in caCerts is trusted, an unknown issuer is refused", async () => {
  const pki = await createTestPki("ws");
  const server = echoServer(undefined, { cert: pki.serverCert, key: pki.serverKey });
  try {
    const ws = new NoDelayWebSocket(server.url, { caCerts: [pki.caCert] });
    await opened(ws);
    ws.send("secure");
    const m = await once<MessageEvent>(ws, "message");
    assert.equal(m.data, "secure");
    ws.close(1000);
    assert.equal((await once<CloseEvent>(ws, "close")).wasClean, true);
    for (const caCerts of [undefined, [pki.otherCaCert]]) {
      const bad = new NoDelayWebSocket(server.url, caCerts === undefined ? {} : { caCerts });
      const ev = record(bad);
      const closed = await ev.closed;
      assert.equal(closed.code, 1006);
      assert.deepEqual(ev.messages, []);
      assert.ok(ev.errors[0] instanceof ConnectionError, String(ev.errors[0]));
      assert.match((ev.errors[0] as Error).message, /TLS handshake.*(certificate|issuer)/i);
    }
  } finally {
    await server.close();
    await pki.remove();
  }
});

const natsSkip = natsServerSkipReason();
Deno.test({
  name: "NoDelayWebSocket speaks to nats-server's WebSocket port (INFO, CONNECT, PING/PONG)",
  ignore: natsSkip !== undefined,
}, async () => {
  await using nats = await NatsServer.start({ jetstream: false, websocket: true });
  const ws = new NoDelayWebSocket(nats.wsUrl!);
  ws.binaryType = "arraybuffer";
  let text = "";
  ws.onmessage = (ev) => text += new TextDecoder().decode(ev.data as ArrayBuffer);
  await opened(ws);
  while (!text.includes("\r\n")) await once(ws, "message");
  assert.match(text, /^INFO \{.*"server_id"/);
  ws.send(enc.encode('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n'));
  while (!text.includes("PONG\r\n")) await once(ws, "message");
  ws.close(1000);
  const closed = await once<CloseEvent>(ws, "close");
  assert.equal(closed.wasClean, true);
});

Deno.test("openWebSocket() uses NoDelayWebSocket under Deno by default, or the constructor given", async () => {
  assert.equal(defaultWebSocket(), NoDelayWebSocket);
  const server = echoServer();
  const ours = openWebSocket(server.url);
  assert.ok(ours instanceof NoDelayWebSocket);
  await opened(ours);
  ours.close();
  await once(ours, "close");
  const made: string[] = [];
  class Spy extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      made.push(url);
    }
  }
  const native = openWebSocket(server.url, { webSocket: Spy, protocols: "p" });
  assert.ok(native instanceof Spy && !isPausable(native));
  assert.deepEqual(made, [server.url]);
  await opened(native);
  native.close();
  await once(native, "close");
  assert.throws(() => openWebSocket(server.url, { webSocket: Spy, caCerts: ["x"] }), TypeError);
  await server.close();
});

Deno.test("openWebSocket() gives Deno's own WebSocket the CA through an HTTP client it releases", async () => {
  const pki = await createTestPki("ws");
  const server = echoServer(undefined, { cert: pki.serverCert, key: pki.serverKey });
  try {
    const ws = openWebSocket(server.url, { webSocket: WebSocket, caCerts: [pki.caCert] });
    assert.ok(!(ws instanceof NoDelayWebSocket));
    await opened(ws);
    ws.close();
    await once(ws, "close");
  } finally {
    await server.close();
    await pki.remove();
  }
});

Deno.test("NoDelayWebSocket survives a server sending random and mutated frames (live fuzz, bounded per input)", async () => {
  const base = [
    serverFrame(0x1, "hello"),
    serverFrame(0x2, new Uint8Array(300)),
    serverFrame(0x9, "p"),
    serverFrame(0x1, "frag", { fin: false }),
    serverFrame(0x0, "ment"),
    serverFrame(0x8, new Uint8Array([0x03, 0xe8])),
  ];
  for (let seed = 1; seed <= 60; seed++) {
    const r = rng(seed);
    const parts: number[] = [];
    for (let k = 0; k < 1 + Math.floor(r() * 6); k++) parts.push(...base[Math.floor(r() * base.length)]!);
    const bytes = new Uint8Array(parts);
    for (let k = 0; k < Math.floor(r() * 4); k++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
    const server = new RawServer(async (conn, request, rest) => {
      await accept(conn, request);
      await writeAll(conn, seed % 5 === 0 ? crypto.getRandomValues(new Uint8Array(64)) : bytes);
      const frames = new ClientFrames(conn, rest);
      for (let f = await frames.next(); f !== undefined; f = await frames.next()) {
        if (f.opcode === 0x8) {
          await writeAll(conn, serverFrame(0x8, f.payload.length === 1 ? new Uint8Array(0) : f.payload));
          return;
        }
      }
    });
    const ws = new NoDelayWebSocket(server.url, { maxMessageSize: 4096, closeTimeoutMs: 500 });
    const ev = record(ws);
    let budget: ReturnType<typeof setTimeout> | undefined;
    let closer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => budget = setTimeout(() => resolve("timeout"), 10_000));
    ws.addEventListener(
      "open",
      () => closer = setTimeout(() => ws.readyState === WebSocket.OPEN && ws.close(1000), 50),
    );
    const outcome = await Promise.race([ev.closed, timedOut]);
    clearTimeout(budget);
    clearTimeout(closer);
    assert.notEqual(outcome, "timeout", `seed ${seed}: the socket did not close within 10 s`);
    for (const e of ev.errors) {
      assert.ok(e instanceof ConnectionError || e instanceof ProtocolError, `seed ${seed}: ${e}`);
    }
    await server.close();
  }
});
