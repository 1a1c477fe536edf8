import assert from "node:assert/strict";
import { decodeBase64, encodeBase64 } from "../../src/core/base64.ts";
import { rng } from "../_seeded.ts";

const text = (s: string) => new TextEncoder().encode(s);

// RFC 4648 §10, written down from the RFC, not produced by any encoder.
const RFC_VECTORS: [string, string][] = [
  ["", ""],
  ["f", "Zg=="],
  ["fo", "Zm8="],
  ["foo", "Zm9v"],
  ["foob", "Zm9vYg=="],
  ["fooba", "Zm9vYmE="],
  ["foobar", "Zm9vYmFy"],
];

Deno.test("encodeBase64() gives RFC 4648's test vectors, with and without padding", () => {
  for (const [plain, b64] of RFC_VECTORS) {
    assert.equal(encodeBase64(text(plain)), b64, plain);
    assert.equal(encodeBase64(text(plain), { pad: false }), b64.replace(/=+$/, ""), plain);
  }
});

Deno.test("encodeBase64() uses - and _ for 62 and 63 in the URL-safe alphabet only", () => {
  // 0xfb 0xff 0xfe: 111110 111111 111111 111110 = 62 63 63 62.
  const bytes = new Uint8Array([0xfb, 0xff, 0xfe]);
  assert.equal(encodeBase64(bytes), "+//+");
  assert.equal(encodeBase64(bytes, { url: true }), "-__-");
  // 0xfb 0xff: 111110 111111 1111(00) = 62 63 60, one "=".
  assert.equal(encodeBase64(bytes.subarray(0, 2)), "+/8=");
  assert.equal(encodeBase64(bytes.subarray(0, 2), { url: true, pad: false }), "-_8");
  // 0xff: 111111 11(0000) = 63 48, two "=".
  assert.equal(encodeBase64(new Uint8Array([0xff]), { url: true }), "_w==");
});

Deno.test("encodeBase64() and decodeBase64() agree with btoa/atob on random bytes of every length up to 70", () => {
  const random = rng(16);
  for (let n = 0; n <= 70; n++) {
    for (let k = 0; k < 5; k++) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
      const expected = btoa(String.fromCharCode(...bytes));
      assert.equal(encodeBase64(bytes), expected);
      assert.deepEqual(decodeBase64(expected), bytes);
      const url = expected.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
      assert.equal(encodeBase64(bytes, { url: true, pad: false }), url);
      assert.deepEqual(decodeBase64(url, { alphabet: "url" }), bytes);
      assert.deepEqual(decodeBase64(url, { alphabet: "either" }), bytes);
    }
  }
  // Large input: no spread of a huge argument list.
  const big = new Uint8Array(1 << 20).fill(0xa5);
  assert.equal(decodeBase64(encodeBase64(big))?.length, big.length);
});

Deno.test("decodeBase64() decodes RFC 4648's vectors, padded or not", () => {
  for (const [plain, b64] of RFC_VECTORS) {
    assert.deepEqual(decodeBase64(b64), text(plain), b64);
    assert.deepEqual(decodeBase64(b64.replace(/=+$/, "")), text(plain), b64);
  }
});

Deno.test("decodeBase64() refuses other alphabets, stray characters and bad padding", () => {
  assert.equal(decodeBase64("-_8"), undefined, "URL-safe characters in standard base64");
  assert.equal(decodeBase64("+/8", { alphabet: "url" }), undefined, "standard characters in base64url");
  assert.deepEqual(decodeBase64("+_8", { alphabet: "either" }), new Uint8Array([0xfb, 0xff]), "mixed, when allowed");
  for (
    const bad of [
      "Zm9v Yg==", // whitespace
      "Zm9v\nYg==",
      "Zm9vY", // one character over
      "Zg=", // padding that does not end on a multiple of 4
      "Zg===", // three "="
      "Z===",
      "Zm=v", // "=" inside
      "=Zm9",
      "Zm9vYg==Zm9v",
      "Zm9é",
      "Zm9\u{1F600}",
      "=",
      "==",
    ]
  ) {
    assert.equal(decodeBase64(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(decodeBase64("Zg", { alphabet: "nope" as "url" }), undefined);
});

Deno.test("decodeBase64() refuses exactly what atob refuses, apart from whitespace", () => {
  const random = rng(4648);
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.";
  for (let i = 0; i < 5000; i++) {
    const n = Math.floor(random() * 10);
    const s = Array.from({ length: n }, () => chars[Math.floor(random() * chars.length)]).join("");
    let expected: Uint8Array | undefined;
    try {
      expected = Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    } catch {
      expected = undefined;
    }
    assert.deepEqual(decodeBase64(s), expected, JSON.stringify(s));
  }
});
