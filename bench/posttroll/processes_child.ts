// The publishing side of bench/posttroll/processes.ts (not a bench of its own): binds a PUB socket
// (raw, or our Publisher), prints its URL, then for each line N read from stdin sends N messages
// as fast as it can; 0 ends it.
import * as zmq from "zeromq";
import { Publisher } from "../../src/posttroll/publisher.ts";
import { encodeMessage } from "../../src/posttroll/message.ts";
import { FIELDS, nativeFrame } from "./shared.ts";
const FRAME = encodeMessage(FIELDS);
const mode = Deno.args[0]!;
let send: () => Promise<void>;
let url: string;
if (mode === "ours") {
  const pub = await new Publisher({ host: "127.0.0.1", name: "bench", config: {} }).start();
  url = pub.url;
  send = () => pub.send(FIELDS);
} else {
  const pub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 200_000 });
  await pub.bind("tcp://127.0.0.1:*");
  url = pub.lastEndpoint!;
  send = mode === "native" ? () => pub.send(nativeFrame()) : () => pub.send(FRAME);
}
console.log(url);
const dec = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  for (const line of dec.decode(chunk).trim().split("\n")) {
    const n = Number(line);
    if (n === 0) Deno.exit(0);
    for (let i = 0; i < n; i++) await send();
  }
}
