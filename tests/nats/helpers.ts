// Shared helpers for the NATS tests (not a test file).
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { NatsServer, type NatsServerOptions, natsServerSkipReason } from "../../src/testing/nats/mod.ts";

export const skip: string | undefined = natsServerSkipReason();
if (skip !== undefined) console.log(skip);
export const ignore: boolean = skip !== undefined;

export interface Env {
  server: NatsServer;
  admin: NatsConnection;
  jsm: JetStreamManager;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a server, connects an admin over TCP, makes stream `S` on `s.>` (unless jetstream is off). */
export async function env(options: NatsServerOptions = {}): Promise<Env> {
  const server = await NatsServer.start(options);
  const auth = options.operator === true ? await server.adminCredentials() : undefined;
  const { jwtAuthenticator } = await import("@nats-io/nats-core");
  const admin = await connect({
    servers: server.url,
    reconnectTimeWait: 50,
    maxReconnectAttempts: -1,
    ...(auth === undefined ? {} : { authenticator: jwtAuthenticator(auth.jwt, auth.seed) }),
  });
  const jsm = options.jetstream === false ? (undefined as unknown as JetStreamManager) : await jetstreamManager(admin);
  if (options.jetstream !== false) await jsm.streams.add({ name: "S", subjects: ["s.>"] });
  return {
    server,
    admin,
    jsm,
    async [Symbol.asyncDispose]() {
      await admin.close();
      await server.stop();
    },
  };
}

/** Records the pull requests (MSG.NEXT) any client sends. */
export async function sniffPulls(nc: NatsConnection): Promise<{ batches: number[]; stop(): void }> {
  const batches: number[] = [];
  const sub = nc.subscribe("$JS.API.CONSUMER.MSG.NEXT.>", {
    callback: (_err: Error | null, m: Msg) => {
      batches.push((m.json() as { batch: number }).batch);
    },
  });
  await nc.flush();
  return { batches, stop: () => sub.unsubscribe() };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `cond()` holds, polling; fails after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`Waiting for ${what} timed out after ${ms} ms`);
    await sleep(10);
  }
}
