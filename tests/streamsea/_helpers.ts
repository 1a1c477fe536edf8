// Shared helpers of the stream-sea tests.
import { StreamSeaClient, type StreamSeaClientOptions } from "../../src/streamsea/mod.ts";
import { FakeStreamSea, type FakeStreamSeaOptions } from "../../src/testing/streamsea/mod.ts";
import type { StreamSeaMessage } from "../../src/streamsea/mod.ts";
import type { StatusEvent } from "../../src/core/status.ts";
import { delay } from "../../src/core/async.ts";

export const CLIENT = { clientId: "abc", clientSecret: "def123" } as const;

export interface Env {
  fake: FakeStreamSea;
  client: StreamSeaClient;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a fake and a client on it; dispose closes both. */
export async function env(
  fakeOptions: FakeStreamSeaOptions = {},
  clientOptions: Partial<StreamSeaClientOptions> = {},
): Promise<Env> {
  const fake = await FakeStreamSea.start(fakeOptions);
  const client = new StreamSeaClient({ ...fake.connection, ...CLIENT, ...clientOptions });
  return {
    fake,
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await fake.close();
    },
  };
}

/** Races a promise against a cleared timer. */
export async function within<T>(p: Promise<T>, ms = 5000, what = "waiting"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads n messages from a reader. */
export async function take(
  reader: ReadableStreamDefaultReader<StreamSeaMessage>,
  n: number,
  ms = 5000,
): Promise<StreamSeaMessage[]> {
  const out: StreamSeaMessage[] = [];
  await within(
    (async () => {
      while (out.length < n) {
        const r = await reader.read();
        if (r.done) throw new Error(`the stream ended after ${out.length} messages`);
        out.push(r.value);
      }
    })(),
    ms,
    `reading ${n} messages (got ${out.length})`,
  );
  return out;
}

/** Waits until a condition holds. */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} was not met in ${ms} ms`);
    await delay(5);
  }
}

/** Collects status events. */
export function record(target: EventTarget, types: string[]): StatusEvent[] {
  const out: StatusEvent[] = [];
  for (const t of types) target.addEventListener(t, (ev) => out.push(ev as StatusEvent));
  return out;
}

/** Parses the frames a fake received on one connection. */
export function framesOf(fake: FakeStreamSea, connection: number): Record<string, unknown>[] {
  return fake.frames.filter((f) => f.connection === connection).map((f) => JSON.parse(f.text));
}
