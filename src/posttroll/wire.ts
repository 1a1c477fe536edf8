/**
 * The PostTroll wire format, byte-compatible with Python posttroll 1.16,
 * for writing a peer or a fake: the `pytroll://` frame, the message encoder,
 * Python's `json` and `datetime` formats it carries, the address
 * announcement, and ZMQ certificate files. Runs on Deno and Node, not in
 * browsers: the message encoder reads the default sender's user and host
 * names through `node:os`.
 *
 * @example A frame, encoded and decoded
 * ```ts
 * import { decodeFrame, encodeFrame, PyDateTime } from "@x/pubsub/posttroll/wire";
 *
 * const time = PyDateTime.fromisoformat("2026-11-22T01:23:44.734871");
 * const frame = encodeFrame({ subject: "/x", type: "info", sender: "me@host", time, version: "v1.01", data: "1", binary: false });
 * console.log(decodeFrame(frame).subject); // /x
 * ```
 *
 * @module
 */

export { announcement, type AnnouncementInit } from "./announcement.ts";
export { type CurveCertificate, formatCertificate, parseCertificate } from "./certificate.ts";
export {
  CURRENT_MESSAGE_VERSION,
  type DecodedFrame,
  decodeFrame,
  encodeData,
  encodeFrame,
  type FrameInit,
  MAGIC,
  type PosttrollMime,
} from "./codec.ts";
export { parseIsoformat, PyDateTime, type PyDateTimeFields } from "./datetime.ts";
export {
  pyDumps,
  type PyDumpsOptions,
  pyEntries,
  PyFloat,
  pyLoads,
  type PyLoadsOptions,
  type PyValue,
} from "./json.ts";
export { encodeMessage, type PosttrollMessageInit } from "./message.ts";
