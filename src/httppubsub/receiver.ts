/**
 * The subscriber's receiver: a Hono app serving `POST /v1/receive` and
 * `POST /v1/recover` for the broadcaster.
 *
 * @module
 */

import { Hono } from "hono";
import { ChunkedReader, NEED_MORE } from "../core/chunked_reader.ts";
import { ProtocolError } from "../core/errors.ts";
import type { AuthConfig, AuthResult } from "./auth.ts";
import { parseReprDigest } from "./authorization_header.ts";
import {
  decodeMissedRequest,
  encodeSubscriberResponse,
  readReceivePrefix,
  type ReceivePrefix,
} from "./requests_to_subscriber.ts";
import { cancelQuietly, readCapped } from "./body.ts";
import { bufferedBody, type ReceivedBody, type ReceivedMessage, streamedBody } from "./received_body.ts";

/**
 * A request handler in the web's shape, as Hono apps are: `fetch` serves a
 * `Request`, `request` is the in-process shortcut for tests. The object is a
 * Hono app; mount it in another Hono app with `parent.mount(prefix, app.fetch)`
 * or `parent.route(prefix, app as unknown as Hono)`, or serve `app.fetch` directly.
 */
export interface ReceiverApp {
  /**
   * Serves one request.
   *
   * @param request The request.
   * @returns The response.
   */
  fetch(request: Request): Response | Promise<Response>;
  /**
   * Serves a request built from a path or url, in-process.
   *
   * @param input A path (`/v1/receive`) or a url.
   * @param init The method, headers and body.
   * @returns The response.
   */
  request(input: string | URL | Request, init?: RequestInit): Response | Promise<Response>;
}

/** What the receiver app serves on behalf of. */
export interface ReceiverTarget {
  /** The registered receive url, with its `#fragment` (what the broadcaster signs). */
  readonly receiveUrl: string;
  /** The registered recovery url, with its `#fragment`. */
  readonly recoverUrl: string;
  /** Verifies what the broadcaster sends ("to-subscriber"). */
  readonly receiveAuth: AuthConfig;
  /** Signs our confirmations ("to-broadcaster"). */
  readonly sendAuth: AuthConfig;
  /** Bodies up to this many bytes are buffered and verified before delivery; larger ones are streamed. */
  readonly bufferLimit: number;
  /**
   * Delivers a verified message to the local subscriptions. Resolves, once
   * the readers took it, with how many did, or `"unsubscribe-immediate"`
   * when nothing here subscribes to its topic any more.
   */
  deliver(received: ReceivedMessage): Promise<number | "unsubscribe-immediate">;
  /**
   * Waits until a message may be read in: while a subscription holds as many
   * messages as it may, new receives wait here, their bodies unread, so the
   * broadcaster is held at the transport. Resolves with the function that
   * ends this admission (`deliver` calls it once the message is handed over;
   * the receiver calls it on every other way out).
   */
  admit?(): Promise<() => void>;
  /** Called for every verified missed notice. */
  missed(topic: Uint8Array): void;
  /** Told about rejected requests (bad auth, bad bytes), for status reporting. */
  rejected?(error: Error, status: number): void;
}

const OCTET = { "content-type": "application/octet-stream" };

/**
 * Reads the body until its receive prefix is complete.
 *
 * @returns The prefix and how many bytes it took, or why the body is refused.
 */
async function readPrefix(
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
  input: ChunkedReader,
): Promise<{ prefix: ReceivePrefix; prefixLength: number } | string> {
  try {
    while (reader !== undefined) {
      const before = input.buffered;
      const prefix = input.read(readReceivePrefix);
      if (prefix !== NEED_MORE) return { prefix, prefixLength: before - input.buffered };
      const { done, value } = await reader.read();
      if (done) break;
      input.push(value);
    }
  } catch (err) {
    return (err as Error).message;
  }
  return "the body ends inside its prefix";
}

function statusOf(result: AuthResult): 401 | 403 | 503 | undefined {
  if (result === "unauthorized") return 401;
  if (result === "forbidden") return 403;
  if (result === "unavailable") return 503;
  return undefined;
}

/**
 * Makes the receiver app. Mount it where the registered urls point
 * (`app.route(prefix, receiver)`); `HttpPubSubClient.app` is one.
 *
 * `/v1/receive` checks `Repr-Digest`, the body's prefix, `Content-Length`
 * and the authorization (against the registered url with its fragment)
 * before reading the message; a buffered body is hashed and checked before
 * delivery, a streamed one while the reader reads it. The answer (the signed
 * confirmation, or "unsubscribe immediately") is sent once the readers took
 * the message. Bad input gets 400, missing auth 401, bad or replayed auth
 * 403, all with an empty body, and nothing is delivered.
 *
 * @example Answering a broadcaster in-process
 * ```ts
 * import { noneAuth } from "@x/pubsub/httppubsub";
 * import { createReceiverApp } from "./receiver.ts";
 *
 * const app = createReceiverApp({
 *   receiveUrl: "http://127.0.0.1:3002/v1/receive#1",
 *   recoverUrl: "http://127.0.0.1:3002/v1/recover#1",
 *   receiveAuth: noneAuth(),
 *   sendAuth: noneAuth(),
 *   bufferLimit: 1024 * 1024,
 *   deliver: () => Promise.resolve(1),
 *   missed: () => {},
 * });
 * const res = await app.request("/v1/receive", { method: "POST", body: new Uint8Array(3) });
 * console.log(res.status); // 400: no Repr-Digest
 * ```
 *
 * @param target The urls, auth, limits and the delivery callbacks.
 * @param basePath A path prefix for both routes (e.g. `/pubsub`), for serving the app directly.
 * @returns The Hono app, typed as a {@linkcode ReceiverApp}.
 */
export function createReceiverApp(target: ReceiverTarget, basePath = ""): ReceiverApp {
  const app = basePath === "" ? new Hono() : new Hono().basePath(basePath);
  const reject = (status: 400 | 401 | 403 | 503, message: string): Response => {
    const err = status === 400 ? new ProtocolError(message) : new Error(message);
    target.rejected?.(err, status);
    return new Response(null, { status });
  };

  app.post("/v1/receive", async (c) => {
    const admitted = (await target.admit?.()) ?? (() => {});
    try {
      return await receive(c.req.raw, admitted);
    } finally {
      admitted();
    }
  });

  // POST /v1/receive, step by step: the digest, the prefix, the declared length, the authorization, the body, the
  // delivery, the confirmation. Each step that refuses answers with its status and stops reading the body.
  const receive = async (request: Request, admitted: () => void): Promise<Response> => {
    const sha512 = parseReprDigest(request.headers.get("repr-digest") ?? undefined);
    if (sha512 === undefined) return reject(400, "Receiving a message failed: Repr-Digest has no valid sha-512");
    const reader = request.body?.getReader();
    const input = new ChunkedReader({ maxBuffered: Number.MAX_SAFE_INTEGER });
    const read = await readPrefix(reader, input);
    if (typeof read === "string") {
      await cancelQuietly(reader);
      return reject(400, `Receiving a message failed: ${read}`);
    }
    const { prefix: p, prefixLength } = read;
    const declared = request.headers.get("content-length");
    if (declared !== null && declared !== String(prefixLength + p.length)) {
      await cancelQuietly(reader);
      return reject(
        400,
        `Receiving a message failed: Content-Length ${declared} is not the ${prefixLength + p.length} bytes announced`,
      );
    }
    const auth = await target.receiveAuth.verify(
      { type: "receive", url: target.receiveUrl, topic: p.topic, identifier: p.identifier, sha512 },
      request.headers.get("authorization") ?? undefined,
      p.tracing,
    );
    const denied = statusOf(auth);
    if (denied !== undefined) {
      await cancelQuietly(reader);
      return reject(denied, `Receiving a message failed: the authorization was ${auth}`);
    }
    const rest = input.drain();
    const message = p.length <= target.bufferLimit
      ? await bufferedBody(p, sha512, rest, reader, admitted)
      : await streamedBody(p, sha512, rest, reader, admitted);
    if (typeof message === "string") return reject(400, message);
    return await deliverAndConfirm(p.identifier, message);
  };

  /** Hands a verified message to the subscriptions, then confirms how many took it once its body was read. */
  const deliverAndConfirm = async (
    identifier: Uint8Array,
    { received, finished, abandon }: ReceivedBody,
  ): Promise<Response> => {
    let outcome: number | "unsubscribe-immediate";
    try {
      outcome = await target.deliver(received);
    } catch (err) {
      await abandon();
      return reject(400, `Receiving a message failed: ${(err as Error).message}`);
    }
    if (outcome === "unsubscribe-immediate") {
      await abandon();
      return new Response(encodeSubscriberResponse({ type: "unsubscribe-immediate" }), { headers: OCTET });
    }
    if (outcome === 0) await abandon();
    const failure = await finished;
    if (failure !== undefined) return reject(400, failure.message);
    const tracing = new Uint8Array(0);
    const authorization = await target.sendAuth.authorize(
      { type: "confirm-receive", identifier, numSubscribers: outcome, url: target.receiveUrl },
      tracing,
    );
    return new Response(
      encodeSubscriberResponse({
        type: "confirm-receive",
        authorization,
        tracing,
        identifier,
        numSubscribers: outcome,
      }),
      { headers: OCTET },
    );
  };

  app.post("/v1/recover", async (c) => {
    const body = await readCapped(c.req.raw, 4 + 2 * 0xffff);
    if (body === undefined) return reject(400, "Receiving a missed notice failed: the body is too long");
    let req;
    try {
      req = decodeMissedRequest(body);
    } catch (err) {
      return reject(400, (err as Error).message);
    }
    const auth = await target.receiveAuth.verify(
      { type: "missed", recovery: target.recoverUrl, topic: req.topic },
      c.req.header("authorization"),
      req.tracing,
    );
    const denied = statusOf(auth);
    if (denied !== undefined) return reject(denied, `Receiving a missed notice failed: the authorization was ${auth}`);
    target.missed(req.topic);
    const tracing = new Uint8Array(0);
    const authorization = await target.sendAuth.authorize(
      { type: "confirm-missed", topic: req.topic, url: target.recoverUrl },
      tracing,
    );
    return new Response(encodeSubscriberResponse({ type: "confirm-missed", authorization, tracing }), {
      headers: OCTET,
    });
  });

  return app;
}
