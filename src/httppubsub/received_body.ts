/**
 * The message body of one `/v1/receive` request, after its prefix: read
 * whole and checked before delivery (`bufferedBody`, up to `bufferLimit`),
 * or handed to the readers as a stream checked while they read it
 * (`streamedBody`).
 *
 * @module
 */

import { equalBytes } from "../core/bytes.ts";
import { ProtocolError } from "../core/errors.ts";
import { cancelQuietly } from "./body.ts";
import { HttpPubSubMessage } from "./message.ts";
import type { ReceivePrefix } from "./requests_to_subscriber.ts";
import { takeSha512 } from "./sha512.ts";
import { teeInto } from "./tee_into.ts";

/** What the receiver hands over for each verified message. */
export interface ReceivedMessage {
  /** The prefix fields: topic, identifier, length, tracing. */
  prefix: ReceivePrefix;
  /** SHA-512 from `Repr-Digest` (checked before delivery for buffered bodies, while reading for streamed ones). */
  sha512: Uint8Array;
  /**
   * Makes the messages for `n` readers, once. A streamed body is teed so
   * each gets its own stream.
   */
  messages(n: number): HttpPubSubMessage[];
  messages(n: number): HttpPubSubMessage[];
  /** Ends this request's admission (see `ReceiverTarget.admit`) once its message is handed over. */
  admitted?: (() => void) | undefined;
}

/** A body ready for delivery. */
export interface ReceivedBody {
  /** What the subscriptions get. */
  received: ReceivedMessage;
  /** Settles once the body was read to its end (with the error that ended it, if any) or abandoned. */
  finished: Promise<Error | undefined>;
  /** Stops reading (nobody takes the message, or it failed). */
  abandon(): Promise<void>;
}

/**
 * Reads the rest of a body up to its announced length, hashing it as it
 * arrives, and checks length and SHA-512 before anything is delivered.
 *
 * @param p The prefix read.
 * @param sha512 The digest from `Repr-Digest`.
 * @param rest Bytes of the body already read past the prefix.
 * @param reader The request body's reader, if it has a body.
 * @param admitted Ends this request's admission once handed over.
 * @returns The body, or the message of a 400 answer.
 */
export async function bufferedBody(
  p: ReceivePrefix,
  sha512: Uint8Array,
  rest: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
  admitted: () => void,
): Promise<ReceivedBody | string> {
  const data = new Uint8Array(p.length);
  // Hashed as it arrives, so that hashing overlaps the transfer.
  const hasher = await takeSha512();
  let at = 0;
  let over = false;
  const take = (chunk: Uint8Array) => {
    if (at + chunk.length > p.length) {
      over = true;
      return;
    }
    data.set(chunk, at);
    hasher.update(chunk);
    at += chunk.length;
  };
  take(rest);
  while (!over && reader !== undefined) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch {
      break;
    }
    if (r.done) break;
    take(r.value);
  }
  if (over) {
    await cancelQuietly(reader);
    return `Receiving a message failed: the body is longer than the ${p.length} bytes announced`;
  }
  if (at !== p.length) {
    return `Receiving a message failed: the body ends after ${at} of ${p.length} bytes`;
  }
  if (!equalBytes(hasher.digest(), sha512)) {
    return "Receiving a message failed: the SHA-512 does not match";
  }
  const received: ReceivedMessage = {
    prefix: p,
    sha512,
    admitted,
    messages: (n) =>
      Array.from(
        { length: n },
        () => new HttpPubSubMessage({ topic: p.topic, sha512, identifier: p.identifier, length: p.length, data }),
      ),
  };
  return { received, finished: Promise.resolve(undefined), abandon: () => cancelQuietly(reader) };
}

/**
 * Hands a body to the readers as a stream: each reader's stream is a branch
 * of it, and the length and SHA-512 are checked as it is read (a mismatch
 * errors the stream).
 *
 * @param p The prefix read.
 * @param sha512 The digest from `Repr-Digest`.
 * @param rest Bytes of the body already read past the prefix.
 * @param reader The request body's reader, if it has a body.
 * @param admitted Ends this request's admission once handed over.
 * @returns The body.
 */
export async function streamedBody(
  p: ReceivePrefix,
  sha512: Uint8Array,
  rest: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
  admitted: () => void,
): Promise<ReceivedBody> {
  const hasher = await takeSha512();
  let got = 0;
  let settle!: (err: Error | undefined) => void;
  const finished = new Promise<Error | undefined>((resolve) => settle = resolve);
  let pendingRest: Uint8Array | undefined = rest.length > 0 ? rest : undefined;
  const check = (chunk: Uint8Array): Error | undefined => {
    got += chunk.length;
    if (got > p.length) {
      return new ProtocolError(
        `Receiving a message failed: the body is longer than the ${p.length} bytes announced`,
      );
    }
    hasher.update(chunk);
    return undefined;
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        let chunk = pendingRest;
        pendingRest = undefined;
        if (chunk === undefined) {
          const r = reader === undefined ? { done: true as const, value: undefined } : await reader.read();
          if (r.done) {
            let err: Error | undefined;
            if (got !== p.length) {
              err = new ProtocolError(
                `Receiving a message failed: the body ends after ${got} of ${p.length} bytes`,
              );
            } else if (!equalBytes(hasher.digest(), sha512)) {
              err = new ProtocolError("Receiving a message failed: the SHA-512 does not match");
            }
            if (err !== undefined) {
              ctrl.error(err);
              settle(err);
            } else {
              ctrl.close();
              settle(undefined);
            }
            return;
          }
          chunk = r.value;
        }
        const err = check(chunk);
        if (err !== undefined) {
          ctrl.error(err);
          settle(err);
          await cancelQuietly(reader);
          return;
        }
        if (chunk.length > 0) ctrl.enqueue(chunk);
      } catch (cause) {
        const err = new ProtocolError("Receiving a message failed: the body could not be read", { cause });
        ctrl.error(err);
        settle(err);
      }
    },
    async cancel() {
      settle(undefined);
      await cancelQuietly(reader);
    },
  });
  const received: ReceivedMessage = {
    prefix: p,
    sha512,
    admitted,
    messages: (n) => {
      return teeInto(stream, n).map((s) =>
        new HttpPubSubMessage({ topic: p.topic, sha512, identifier: p.identifier, length: p.length, stream: s })
      );
    },
  };
  const abandon = async () => {
    settle(undefined);
    await cancelQuietly(reader);
  };
  return { received, finished, abandon };
}
