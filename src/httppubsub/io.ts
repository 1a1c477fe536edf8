/**
 * Small stream and timing helpers shared by the client, the receiver and the fake.
 *
 * @module
 */

/**
 * Cancels a reader, ignoring errors.
 *
 * @param reader The reader, if any.
 */
export async function cancelQuietly(
  reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStream<Uint8Array> | undefined | null,
): Promise<void> {
  if (reader === undefined || reader === null) return;
  try {
    await reader.cancel();
  } catch { /* gone either way */ }
}

/**
 * Reads a whole body of at most `max` bytes.
 *
 * Given a `Request` or `Response` that declares a `Content-Length` of at most
 * `max` (and no `Content-Encoding`, which would make the decoded body longer),
 * the body is taken in one piece with `arrayBuffer()`: the HTTP layer holds it
 * to that length, and under Deno this skips making a `ReadableStream` of it,
 * which costs ≈ 40 µs per small body.
 *
 * @param message The request or response, or its body.
 * @param max The limit.
 * @returns The bytes, or `undefined` when there are more than `max` (the rest is cancelled).
 */
export async function readCapped(
  message: Request | Response | ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  let body: ReadableStream<Uint8Array> | null;
  if (message instanceof Request || message instanceof Response) {
    const declared = message.headers.get("content-length");
    if (declared !== null && /^\d{1,15}$/.test(declared) && !message.headers.has("content-encoding")) {
      if (Number(declared) > max) {
        await cancelQuietly(message.body);
        return undefined;
      }
      return new Uint8Array(await message.arrayBuffer());
    }
    body = message.body;
  } else body = message;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await cancelQuietly(reader);
      return undefined;
    }
    chunks.push(value);
  }
  return concat(chunks, n);
}

/**
 * Concatenates byte arrays.
 *
 * @param chunks The parts.
 * @param total Their total length, if known.
 * @returns One array.
 */
export function concat(chunks: readonly Uint8Array[], total?: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total ?? chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Compares bytes in constant time (for equal lengths).
 *
 * @param a One.
 * @param b The other.
 * @returns Whether they are equal.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * Waits, unless the signal aborts first.
 *
 * @param ms How long.
 * @param signal Stops the wait (rejecting with the reason).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `fn` with a signal that aborts after `ms` or when `outer` aborts; the
 * timer is always cleared.
 *
 * @param ms The time limit.
 * @param outer Another signal to follow.
 * @param fn The work.
 * @returns What `fn` returns.
 */
export async function withDeadline<T>(
  ms: number,
  outer: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError")), ms);
  const onAbort = () => ctrl.abort(outer!.reason);
  if (outer?.aborted) ctrl.abort(outer.reason);
  else outer?.addEventListener("abort", onAbort, { once: true });
  try {
    return await fn(ctrl.signal);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}
