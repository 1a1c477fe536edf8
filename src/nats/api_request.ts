/**
 * One raw `$JS.API…` request, for callers that send JetStream API requests by
 * hand (MDB sends speedracer's exact subjects and bodies).
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { TimeoutError } from "../core/errors.ts";
import { type ApiReply, parseApiReply } from "./codec.ts";
import { mapNatsError } from "./errors.ts";

/**
 * Sends a JetStream API request and parses its reply.
 *
 * @example
 * ```ts ignore
 * import { requestApi } from "./api_request.ts";
 *
 * const reply = await requestApi(nc, "$JS.API.STREAM.NAMES", '{"subject":"orders.new"}', "the stream names", 5000);
 * if (reply.ok) console.log(reply.doc.streams);
 * ```
 *
 * @param nc The connection.
 * @param subject The API subject.
 * @param body The request body.
 * @param what The request, for messages ("the consumer info").
 * @param timeoutMs How long to wait for the reply.
 * @returns The reply document, or the API error it carries.
 * @throws {AuthError} When the connection may not publish to `subject` (a permissions violation).
 * @throws {TimeoutError} When no reply comes within `timeoutMs`.
 * @throws {ProtocolError} When the reply is not a JSON object.
 * @throws {ConnectionError} When the connection fails.
 */
export async function requestApi(
  nc: NatsConnection,
  subject: string,
  body: string | Uint8Array,
  what: string,
  timeoutMs: number,
): Promise<ApiReply> {
  let reply;
  try {
    reply = await nc.request(subject, body, { timeout: timeoutMs });
  } catch (err) {
    const mapped = mapNatsError(err, `Requesting ${what}`);
    if (mapped instanceof TimeoutError) {
      throw new TimeoutError(`Requesting ${what} failed: no reply within ${timeoutMs} ms`, { cause: err, timeoutMs });
    }
    throw mapped;
  }
  return parseApiReply(reply.data, what);
}
