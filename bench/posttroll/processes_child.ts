// The publishing side of bench/posttroll/processes.ts (not a bench of its own): binds a PUB socket
// (raw, or our Publisher), prints its URL, then for each line N read from stdin sends N messages
// as fast as it can; 0 ends it.
import * as zmq from "zeromq";
import { Publisher } from "../../src/posttroll/publisher.ts";
import { encodeMessage } from "../../src/posttroll/message.ts";
const DATA = {
  uri: "file:///data/satellite/noaa20/viirs/SVM05_npp_d20240506_t0708091.h5",
  uid: "SVM05_npp_d20240506_t0708091.h5",
  platform_name: "NOAA-20",
  sensor: "viirs",
  orbit_number: 12345,
  start_time: "2024-05-06T07:08:09",
};
const FIELDS = { subject: "/bench", type: "file", data: DATA, sender: "bench@host" };
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
  send = mode === "native"
    ? () =>
      pub.send(
        `pytroll://bench file bench@host ${new Date().toISOString()} v1.01 application/json ${JSON.stringify(DATA)}`,
      )
    : () => pub.send(FRAME);
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
