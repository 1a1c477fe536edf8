/**
 * Route transforms: a module whose default export makes a `TransformStream`
 * from messages to what to publish, and the runner that tells which outputs
 * came from which source message (so each is acked only after its own
 * outputs were confirmed).
 *
 * @module
 */

import { isMessage, type Message } from "../core/message.ts";
import type { PublishData } from "../core/pubsub.ts";

/**
 * What a transform may publish besides a message: a payload with an
 * optional topic (default the source message's) and headers.
 */
export interface PublishInput {
  /** The topic handed to the route's `to.topic` template; default the source message's topic. */
  readonly topic?: string | undefined;
  /** The payload. */
  readonly data: PublishData;
  /** Headers, where the target carries them. */
  readonly headers?: HeadersInit | undefined;
}

/** What a transform emits: a message (its topic, data and headers are used) or a {@linkcode PublishInput}. */
export type TransformOutput = Message | PublishInput;

/** What a transform factory is given. */
export interface TransformContext {
  /** The route's name. */
  readonly route: string;
  /** The route's `transform.options` from the configuration (`undefined` when none). */
  readonly options: unknown;
}

/**
 * The default export of a transform module: makes the route's
 * `TransformStream`. It is called at start, and again after the stream
 * failed (a `transform()` that threw errors the stream for good).
 *
 * Each source message is written into the stream; whatever the stream
 * enqueues while transforming it (none: filtered; one: mapped; several:
 * split) is that message's output, and the message is acked once every
 * output was confirmed by the target. Enqueue before `transform()` settles:
 * what a stream enqueues later (from a timer, or in `flush()`) counts as the
 * next message's output, so a crash in between loses it.
 */
export type TransformFactory = (
  context: TransformContext,
) => TransformStream<Message, TransformOutput> | Promise<TransformStream<Message, TransformOutput>>;

/** A transform failed: it threw, or emitted something that is not a message nor a publish input. */
export class TransformError extends Error {
  /** The error's name. */
  override name: string = "TransformError";
}

const NOT_YET = Symbol("not yet");
const notYet = Promise.resolve(NOT_YET);

/**
 * Checks one output of a transform.
 *
 * @param value What the stream emitted.
 * @returns It, typed.
 * @throws {TransformError} When it is neither a message nor `{ data, topic?, headers? }`.
 */
export function checkOutput(value: unknown): TransformOutput {
  if (isMessage(value)) return value;
  if (typeof value === "object" && value !== null) {
    const v = value as { data?: unknown; topic?: unknown };
    if (
      (typeof v.data === "string" || v.data instanceof Uint8Array) &&
      (v.topic === undefined || (typeof v.topic === "string" && v.topic !== ""))
    ) {
      return value as PublishInput;
    }
  }
  throw new TransformError(
    `The transform emitted ${describe(value)}: a message or { data, topic?, headers? } is expected`,
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object without string or Uint8Array data" : typeof value;
}

interface Live {
  readonly writer: WritableStreamDefaultWriter<Message>;
  readonly reader: ReadableStreamDefaultReader<TransformOutput>;
  pending: Promise<ReadableStreamReadResult<TransformOutput>> | undefined;
}

/**
 * Runs messages through a transform one at a time and returns, for each,
 * the outputs the stream enqueued while transforming it.
 *
 * How it knows: a read is always pending when a message is written, so the
 * stream may transform it (a `TransformStream` waits for a reader before
 * transforming); once `write()` resolved, the transform of that message is
 * over and everything it enqueued is in the stream's queue. A read on a
 * non-empty queue is fulfilled at once (the promise is already settled when
 * `read()` returns), so racing it against an already-settled promise tells
 * a waiting output from an empty queue without any timer.
 */
export class TransformRunner {
  readonly #factory: TransformFactory;
  readonly #context: TransformContext;
  #live: Live | undefined;

  /**
   * Prepares the runner; the stream is made on first use.
   *
   * @param factory The module's default export.
   * @param context The route's name and options.
   */
  constructor(factory: TransformFactory, context: TransformContext) {
    this.#factory = factory;
    this.#context = context;
  }

  /**
   * Makes the stream now (so a factory that throws is found at start).
   *
   * @returns When the stream exists.
   * @throws {TransformError} When the factory throws or returns no `TransformStream`.
   */
  async start(): Promise<void> {
    await this.#ensure();
  }

  async #ensure(): Promise<Live> {
    if (this.#live !== undefined) return this.#live;
    let stream: unknown;
    try {
      stream = await this.#factory(this.#context);
    } catch (err) {
      throw new TransformError(`The transform's factory failed: ${err instanceof Error ? err.message : err}`, {
        cause: err,
      });
    }
    if (!(stream instanceof TransformStream)) {
      throw new TransformError("The transform's factory did not return a TransformStream");
    }
    this.#live = {
      writer: (stream as TransformStream<Message, TransformOutput>).writable.getWriter(),
      reader: (stream as TransformStream<Message, TransformOutput>).readable.getReader(),
      pending: undefined,
    };
    return this.#live;
  }

  /**
   * Transforms one message.
   *
   * @param message The source message.
   * @returns What the stream emitted for it (empty when it filtered it out).
   * @throws {TransformError} When the stream failed (it is made again for the next message) or emitted
   *   something invalid.
   */
  async run(message: Message): Promise<TransformOutput[]> {
    // What the stream enqueued since the last message (late, from a timer) is taken first: the read left
    // pending must be a waiting one, or the stream (held by backpressure) would never transform this message.
    const before = await this.#ensure();
    const outputs = await this.#drain(before);
    const live = await this.#ensure(); // a new one, if the stream ended meanwhile
    live.pending ??= live.reader.read();
    try {
      await live.writer.write(message);
    } catch (err) {
      await this.#discard(live, err);
      throw new TransformError(`The transform failed: ${err instanceof Error ? err.message : err}`, { cause: err });
    }
    outputs.push(...await this.#drain(live));
    return outputs;
  }

  /** Takes every output the stream holds now, leaving one read pending on its empty queue. */
  async #drain(live: Live): Promise<TransformOutput[]> {
    const outputs: TransformOutput[] = [];
    while (true) {
      live.pending ??= live.reader.read();
      let r: ReadableStreamReadResult<TransformOutput> | typeof NOT_YET;
      try {
        r = await Promise.race([live.pending, notYet]);
      } catch (err) {
        await this.#discard(live, err);
        throw new TransformError(`The transform failed: ${err instanceof Error ? err.message : err}`, { cause: err });
      }
      if (r === NOT_YET) return outputs;
      live.pending = undefined;
      if (r.done) {
        await this.#discard(live, undefined);
        return outputs;
      }
      try {
        outputs.push(checkOutput(r.value));
      } catch (err) {
        await this.#discard(live, err);
        throw err;
      }
    }
  }

  async #discard(live: Live, reason: unknown): Promise<void> {
    if (this.#live === live) this.#live = undefined;
    live.pending?.catch(() => {});
    await Promise.all([
      live.writer.abort(reason).catch(() => {}),
      live.reader.cancel(reason).catch(() => {}),
    ]);
  }

  /**
   * Ends the stream (what `flush()` emits now is dropped: no source message is left to settle).
   *
   * @returns When it is released.
   */
  async close(): Promise<void> {
    const live = this.#live;
    if (live !== undefined) await this.#discard(live, undefined);
  }
}

/**
 * Loads a transform module and checks its default export.
 *
 * @param specifier The module (a `file:` URL, `https:`, `npm:`, `jsr:`).
 * @returns Its factory.
 * @throws {TransformError} When it cannot be loaded or its default export is not a function.
 */
export async function loadTransform(specifier: string): Promise<TransformFactory> {
  let mod: { default?: unknown };
  try {
    mod = await import(specifier);
  } catch (err) {
    throw new TransformError(`Loading the transform ${specifier} failed: ${err instanceof Error ? err.message : err}`, {
      cause: err,
    });
  }
  if (typeof mod.default !== "function") {
    throw new TransformError(
      `The transform ${specifier} has no default export making a TransformStream (export default (ctx) => new TransformStream(...))`,
    );
  }
  return mod.default as TransformFactory;
}
