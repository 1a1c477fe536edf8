// What the PostTroll benches share: the 200-byte JSON message, the native-JSON frame (the floor), and the raw
// receive that waits as our subscriber does (a pending `receive()` is not reliably woken under Deno 2.9.6).
import type * as zmq from "zeromq";
import { setImmediate } from "node:timers";

/** The message data: a typical file announcement, 227 bytes of JSON. */
export const DATA = {
  uri: "file:///data/satellite/noaa20/viirs/SVM05_npp_d20240506_t0708091.h5",
  uid: "SVM05_npp_d20240506_t0708091.h5",
  platform_name: "NOAA-20",
  sensor: "viirs",
  orbit_number: 12345,
  start_time: "2024-05-06T07:08:09",
};

/** The message's fields, as `Publisher.send()` takes them. */
export const FIELDS = { subject: "/bench", type: "file", data: DATA, sender: "bench@host" };

/** The same message with the cheapest JSON codec (`JSON.stringify`, not Python's format). */
export function nativeFrame(): string {
  return `pytroll://bench file bench@host ${new Date().toISOString()} v1.01 application/json ${JSON.stringify(DATA)}`;
}

/** Reads the JSON of a native frame with `JSON.parse`. */
export function parseNative(decoder: TextDecoder, frame: Uint8Array): unknown {
  const text = decoder.decode(frame);
  return JSON.parse(text.slice(text.indexOf("{")));
}

/** Receives from a raw socket, checking `readable` and yielding with `setImmediate` until a frame is there. */
export async function rawReceive(sub: zmq.Subscriber): Promise<Buffer[]> {
  while (!sub.readable) await new Promise((r) => setImmediate(r));
  return await sub.receive();
}
