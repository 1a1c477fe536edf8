/**
 * `NotifyTrace`: the tracing blob lonelypss puts in a RESPONSE_NOTIFY, the
 * broadcaster half of lonelypsp's "simple" tracer (the only tracer lonelypss
 * has). Every other answer of lonelypss carries empty tracing.
 *
 * Layout (big-endian): `u8 truncated(0)`, `u16 count`, count ×
 * [`u16 len, name`, `u16 len, extra JSON`, `f64 seconds since the epoch`],
 * then `u64 request received (ns)`, `u64 response sent (ns)`. The extra JSON
 * is written as Python's `json.dumps` writes it (`", "` and `": "`
 * separators, DEL and non-ASCII escaped).
 *
 * @module
 */

/** The extra fields of one event: flat JSON values. */
export type TraceExtra = Record<string, string | number | null>;

interface TraceEvent {
  name: string;
  extra: string;
  at: number;
}

/** `json.dumps` of a flat object, byte for byte: `{"a": 1, "b": "x"}`, `\uXXXX` for DEL and beyond ASCII. */
function pythonJson(extra: TraceExtra | undefined): string {
  if (extra === undefined) return "{}";
  const parts = Object.entries(extra).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{${parts.join(", ")}}`.replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/**
 * The events of one notify as lonelypss records them, in order:
 * `auth_tentatively_accepted`, `auth_accepted`, then per subscriber row
 * `exact_subscriber_found` / `glob_subscriber_found`, `sending_receive`,
 * `network_error` or `response_received` and its outcome, and finally
 * `no_more_subscribers`.
 *
 * @example
 * ```ts ignore
 * const trace = new NotifyTrace();
 * trace.event("auth_tentatively_accepted");
 * trace.event("auth_accepted");
 * trace.event("no_more_subscribers");
 * console.log(trace.encode().length); // 118
 * ```
 */
export class NotifyTrace {
  readonly #received = nowNs();
  readonly #events: TraceEvent[] = [];

  /**
   * Records one event now.
   *
   * @param name The event's name.
   * @param extra Its fields; none is `{}`.
   */
  event(name: string, extra?: TraceExtra): void {
    this.#events.push({ name, extra: pythonJson(extra), at: (performance.timeOrigin + performance.now()) / 1000 });
  }

  /**
   * Encodes the blob, stamping the response time.
   *
   * @returns The tracing bytes.
   */
  encode(): Uint8Array {
    const enc = new TextEncoder();
    let size = 3 + 16;
    const kept: { name: Uint8Array; extra: Uint8Array; at: number }[] = [];
    let truncated = false;
    for (const e of this.#events) {
      const name = enc.encode(e.name);
      const extra = enc.encode(e.extra);
      const add = 2 + name.length + 2 + extra.length + 8;
      // lonelypss stops before the blob reaches 2^16 - 17 bytes and sets the truncated flag.
      if (size - 16 + add >= 0x10000 - 17) {
        truncated = true;
        break;
      }
      size += add;
      kept.push({ name, extra, at: e.at });
    }
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    out[0] = truncated ? 1 : 0;
    view.setUint16(1, kept.length);
    let at = 3;
    for (const k of kept) {
      view.setUint16(at, k.name.length);
      out.set(k.name, at + 2);
      at += 2 + k.name.length;
      view.setUint16(at, k.extra.length);
      out.set(k.extra, at + 2);
      at += 2 + k.extra.length;
      view.setFloat64(at, k.at);
      at += 8;
    }
    view.setBigUint64(at, this.#received);
    view.setBigUint64(at + 8, nowNs());
    return out;
  }
}
