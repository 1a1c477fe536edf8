/**
 * NATS message headers to and from web `Headers`: the one conversion both
 * directions of `./nats` and `./mdb` use.
 *
 * @module
 */

import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";

/**
 * Converts web headers into NATS headers for a published message.
 *
 * @param init The headers, in any form `Headers` accepts.
 * @returns The NATS headers, or `undefined` when there are none.
 */
export function toNatsHeaders(init: HeadersInit | undefined): MsgHdrs | undefined {
  if (init === undefined) return undefined;
  const h = init instanceof Headers ? init : new Headers(init);
  let out: MsgHdrs | undefined;
  h.forEach((value, key) => {
    out ??= natsHeaders();
    out.append(key, value);
  });
  return out;
}

/**
 * Converts the headers of a received NATS message into the pairs a web
 * `Headers` accepts, leaving out what it cannot carry: a name that is not an
 * HTTP token, a value with CR, LF or NUL, or with a character above U+00FF
 * (`Headers` holds byte strings). A peer's odd header never makes reading
 * `msg.headers` throw.
 *
 * @param h The message's headers.
 * @returns The pairs, in order, or `undefined` when there were none.
 */
export function fromNatsHeaders(h: MsgHdrs | undefined): [string, string][] | undefined {
  if (h === undefined) return undefined;
  const out: [string, string][] = [];
  for (const [k, values] of h) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k)) continue;
    for (const v of values) {
      if (/[\r\n\0\u0100-\uffff]/.test(v)) continue;
      out.push([k, v]);
    }
  }
  return out;
}
