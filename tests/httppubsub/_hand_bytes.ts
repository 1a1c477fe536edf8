// Building request bodies and frames by hand from the spec's layouts (independent of the library's codec): big-endian
// fields and length prefixes, for the tests that speak the wire themselves.
const enc = new TextEncoder();

/** Joins byte arrays and plain byte lists into one array. */
export function cat(...parts: (Uint8Array | number[])[]): Uint8Array<ArrayBuffer> {
  const all = parts.map((p) => p instanceof Uint8Array ? p : new Uint8Array(p));
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A big-endian u16. */
export const u16 = (n: number): number[] => [n >> 8, n & 0xff];

/** `lp16(x)`: a u16 length, then the bytes (a string is UTF-8). */
export const lp16 = (b: Uint8Array | string): Uint8Array<ArrayBuffer> => {
  const bytes = typeof b === "string" ? enc.encode(b) : b;
  return cat(u16(bytes.length), bytes);
};

/** `lp8(x)`: a u8 length, then the bytes. */
export const lp8 = (b: Uint8Array): Uint8Array<ArrayBuffer> => cat([b.length], b);
