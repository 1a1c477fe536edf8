// The other end of bench/messagebus/isolated.ts, in a worker thread so that its reading and writing do not take
// the main thread's time: a sink that only reads and counts, and two sources (raw and client) that write the frames
// they are given, one write per frame.
/// <reference lib="deno.worker" />

const sink = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const rawSource = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const clientSource = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const port = (l: Deno.Listener) => (l.addr as Deno.NetAddr).port;

let count = 0;
let expect = Infinity;
function counted(n: number): void {
  count += n;
  if (count >= expect) {
    expect = Infinity;
    self.postMessage({ type: "received" });
  }
}

async function drain(conn: Deno.Conn, onBytes: (n: number) => void): Promise<void> {
  const buf = new Uint8Array(256 * 1024);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return;
    onBytes(n);
  }
}

const sources = new Map<string, Deno.Conn>();
void (async () => {
  for await (const conn of sink) void drain(conn, counted);
})();
for (const [name, listener] of [["raw", rawSource], ["client", clientSource]] as const) {
  void (async () => {
    for await (const conn of listener) {
      (conn as Deno.TcpConn).setNoDelay(true);
      sources.set(name, conn);
      void drain(conn, () => {}); // a client's subscription requests, ignored
    }
  })();
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

self.onmessage = async (e: MessageEvent) => {
  const m = e.data;
  if (m.type === "expect") {
    count = 0;
    expect = m.bytes;
    self.postMessage({ type: "expecting" });
  } else if (m.type === "send") {
    const conn = sources.get(m.to)!;
    const frame: Uint8Array = m.frame;
    for (let i = 0; i < m.count; i++) await writeAll(conn, frame);
  } else if (m.type === "close") {
    for (const c of sources.values()) c.close();
    sink.close();
    rawSource.close();
    clientSource.close();
    self.close();
  }
};

self.postMessage({ type: "ports", sink: port(sink), raw: port(rawSource), client: port(clientSource) });
