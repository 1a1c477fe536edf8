/**
 * `teeInto`: one streamed message body handed to several subscriptions.
 *
 * @module
 */

/**
 * Splits a stream into `n` streams carrying the same bytes (`tee()` applied
 * `n - 1` times). The source is read as fast as the fastest branch reads;
 * slower branches queue what they have not read yet.
 *
 * @example
 * ```ts
 * import { teeInto } from "./tee_into.ts";
 *
 * const [a, b] = teeInto(new Blob(["hi"]).stream(), 2);
 * console.log(await new Response(a).text(), await new Response(b).text()); // hi hi
 * ```
 *
 * @param stream The stream; locked from now on (for `n` ≥ 1).
 * @param n How many readers; 0 gives none (the stream is left untouched).
 * @returns The `n` streams.
 */
export function teeInto<T>(stream: ReadableStream<T>, n: number): ReadableStream<T>[] {
  const streams: ReadableStream<T>[] = [];
  let source = stream;
  for (let i = 1; i < n; i++) {
    const [a, b] = source.tee();
    streams.push(a);
    source = b;
  }
  if (n > 0) streams.push(source);
  return streams;
}
