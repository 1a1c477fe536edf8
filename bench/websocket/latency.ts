// WebSocket request/response latency under Deno, p50 and p99: does a small write that follows another wait for the
// peer's delayed ACK (Nagle's algorithm on, ≈ 40 ms)? Run on a quiet machine:
//
//   deno run -A bench/websocket/latency.ts [exchanges]
//
// 1. Echo (a Deno.serve WebSocket server answering every second message): the client writes "a" then "b" and waits
//    for the answer; NoDelayWebSocket vs Deno's own WebSocket, and Node's global WebSocket (undici) when `node` is on
//    PATH (Node 20 needs --experimental-websocket; Node ≥ 22 has it by default).
// 2. httppubsub: WebsocketPubSubClient.notify() → the broadcaster's confirmation, 1 KiB, through FakeBroadcaster with
//    a subscriber reading; the default socket (NoDelayWebSocket) vs `webSocket: WebSocket`.
import { WebsocketPubSubClient } from "../../src/httppubsub/mod.ts";
import { NoDelayWebSocket } from "../../src/core/no_delay_web_socket.ts";
import type { WebSocketConstructor } from "../../src/core/open_web_socket.ts";
import { FakeBroadcaster } from "../../src/testing/httppubsub/mod.ts";

const EXCHANGES = Number(Deno.args[0] ?? 400);

function percentiles(times: number[]): string {
  const s = [...times].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const slow = s.filter((t) => t >= 20).length;
  const worst = s.slice(-3).map((t) => t.toFixed(1)).join(", ");
  return `p50 ${at(0.5).toFixed(2)} ms, p99 ${
    at(0.99).toFixed(2)
  } ms, ${slow}/${s.length} over 20 ms (slowest ${worst})`;
}

// 1. Echo.
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  let n = 0;
  socket.onmessage = (ev) => {
    if (++n % 2 === 0) socket.send(ev.data);
  };
  return response;
});
const echoUrl = `ws://127.0.0.1:${server.addr.port}/`;

async function echo(Ctor: WebSocketConstructor): Promise<number[]> {
  const ws = new Ctor(echoUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const times: number[] = [];
  for (let i = 0; i < EXCHANGES; i++) {
    const got = new Promise((resolve) => ws.onmessage = resolve);
    const t = performance.now();
    ws.send("a");
    ws.send("b");
    await got;
    times.push(performance.now() - t);
  }
  const closed = new Promise((resolve) => ws.onclose = resolve);
  ws.close();
  await closed;
  return times;
}

console.log(`echo, write "a" then "b", wait for the answer (${EXCHANGES} exchanges):`);
console.log(`  NoDelayWebSocket           ${percentiles(await echo(NoDelayWebSocket))}`);
console.log(`  Deno's WebSocket           ${percentiles(await echo(WebSocket))}`);

const nodeScript = `
const ws = new WebSocket(process.argv[1]);
await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
const times = [];
for (let i = 0; i < ${EXCHANGES}; i++) {
  const got = new Promise((r) => ws.onmessage = r);
  const t = performance.now();
  ws.send("a"); ws.send("b");
  await got;
  times.push(performance.now() - t);
}
console.log(JSON.stringify(times));
ws.close();
`;
try {
  const version = new TextDecoder().decode((await new Deno.Command("node", { args: ["--version"] }).output()).stdout)
    .trim();
  const major = Number(/^v(\d+)/.exec(version)?.[1] ?? 0);
  const args = [...(major < 22 ? ["--experimental-websocket"] : []), "--input-type=module", "-e", nodeScript, echoUrl];
  const out = await new Deno.Command("node", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const times = JSON.parse(new TextDecoder().decode(out.stdout)) as number[];
  console.log(`  Node ${version} WebSocket   ${percentiles(times)}`);
} catch (err) {
  console.log(`  Node: not measured (${(err as Error).message.split("\n")[0]})`);
}
await server.shutdown();

// 2. httppubsub notify → confirm.
const fake = new FakeBroadcaster({});
const url = await fake.serve();
const subscriber = new WebsocketPubSubClient({ broadcasters: [url] });
const sub = subscriber.subscribeExact("lat");
await sub.ready;
const reading = (async () => {
  for await (const _ of sub) { /* keep reading */ }
})();
const payload = new Uint8Array(1024);

async function notifies(webSocket: WebSocketConstructor | undefined): Promise<number[]> {
  const notifier = new WebsocketPubSubClient({
    broadcasters: [url],
    ...(webSocket === undefined ? {} : { webSocket }),
  });
  await notifier.connect();
  const times: number[] = [];
  for (let i = 0; i < EXCHANGES; i++) {
    const t = performance.now();
    await notifier.notify({ topic: "lat", data: payload });
    times.push(performance.now() - t);
  }
  await notifier.close();
  return times;
}

console.log(`httppubsub WebSocket notify() → confirm, 1 KiB (${EXCHANGES} notifies):`);
console.log(`  default (NoDelayWebSocket) ${percentiles(await notifies(undefined))}`);
console.log(`  webSocket: WebSocket       ${percentiles(await notifies(WebSocket))}`);
await subscriber.close();
await reading.catch(() => {});
await fake.close();
