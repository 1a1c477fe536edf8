/**
 * The PostTroll wire format, byte-compatible with Python posttroll 1.16,
 * for writing a peer or a fake: the `pytroll://` frame, the message encoder,
 * and Python's `json` and `datetime` formats it carries. Runs on Deno and
 * Node (the message encoder reads the host name through `node:os`).
 *
 * For now it repeats the codec exports of `@x/pubsub/posttroll`, which
 * will drop them.
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

export {
  checkField,
  checkVersion,
  CURRENT_MESSAGE_VERSION,
  type DecodedFrame,
  decodeFrame,
  encodeData,
  encodeFrame,
  type FrameInit,
  frameText,
  isTruthy,
  MAGIC,
  type PosttrollMime,
  renderVersion,
} from "./codec.ts";
export {
  containsDatetime,
  floatRepr,
  pyDumps,
  type PyDumpsOptions,
  pyEntries,
  PyFloat,
  pyLoads,
  type PyLoadsOptions,
  pyQuote,
  type PyValue,
} from "./json.ts";
export { parseIsoformat, PyDateTime, type PyDateTimeFields } from "./datetime.ts";
export { encodeMessage } from "./message.ts";
