/** Shared helpers of the CLI tests: a shared in-memory broker behind an opener, and stream collectors. */

import type { PublishData, PublishOptions, PublishReceipt, PubSub, SubscribeOptions } from "../../src/core/pubsub.ts";
import type { Subscription } from "../../src/core/subscription.ts";
import type { Message } from "../../src/core/message.ts";
import { MemoryPubSub, type MemoryPubSubOptions } from "../../src/memory/mod.ts";
import { run } from "../../src/cli/main.ts";
import type { CliIO, Opener } from "../../src/cli/context.ts";

const decoder = new TextDecoder();

/** A byte sink that keeps what was written. */
export class Collector {
  readonly chunks: Uint8Array[] = [];
  readonly stream: WritableStream<Uint8Array> = new WritableStream({ write: (c) => void this.chunks.push(c) });

  bytes(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  text(): string {
    return decoder.decode(this.bytes());
  }
}

/** One broker that every `memory:` URL opens, with counts of opens and closes. */
export class SharedBroker {
  readonly broker: MemoryPubSub;
  readonly urls: string[] = [];
  opened = 0;
  closed = 0;
  /** Applied to every publish through an opened view (to slow down or break it). */
  publishHook: ((topic: string, data: PublishData) => Promise<void>) | undefined;

  constructor(options: MemoryPubSubOptions = {}) {
    this.broker = new MemoryPubSub(options);
  }

  readonly open: Opener = (url) => {
    if (!url.startsWith("memory:")) return Promise.reject(new TypeError(`Opening ${url} failed: unknown scheme`));
    this.urls.push(url);
    this.opened++;
    const broker = this.broker;
    const subs = new Set<Subscription<Message>>();
    const view: PubSub = {
      capabilities: broker.capabilities,
      status: broker.status,
      subscribe: (topic: string, options?: SubscribeOptions) => {
        const s = broker.subscribe(topic, options);
        subs.add(s);
        return s;
      },
      publish: async (topic: string, data: PublishData, options?: PublishOptions): Promise<PublishReceipt> => {
        await this.publishHook?.(topic, data);
        return broker.publish(topic, data, options);
      },
      writable: (topic, options) => broker.writable(topic, options),
      close: async () => {
        this.closed++;
        await Promise.all([...subs].map((s) => s.close()));
      },
    };
    return Promise.resolve(view);
  };

  /** Resolves once the broker has `n` live subscriptions. */
  async subscribers(n: number): Promise<void> {
    for (let i = 0; i < 500 && this.broker.subscriptionCount < n; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    if (this.broker.subscriptionCount < n) throw new Error(`Expected ${n} subscriptions`);
  }

  close(): Promise<void> {
    return this.broker.close();
  }
}

/** What one run of the CLI produced. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  out: Collector;
  err: Collector;
}

/**
 * Runs the CLI in-process.
 *
 * @param args The arguments.
 * @param open The opener.
 * @param io Extra I/O (stdin, signal, terminal).
 * @returns The exit code and the output.
 */
export async function cli(args: string[], open: Opener, io: CliIO = {}): Promise<RunResult> {
  const out = new Collector();
  const err = new Collector();
  const code = await run(args, open, { stderrIsTerminal: false, ...io, stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text(), out, err };
}

/**
 * A readable stream of the given chunks.
 *
 * @param chunks Text or bytes.
 * @returns The stream.
 */
export function stdinOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return ReadableStream.from(chunks.map((c) => typeof c === "string" ? enc.encode(c) : c));
}
