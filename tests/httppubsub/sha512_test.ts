import assert from "node:assert/strict";
import { hmacSha512, sha512, takeSha512 } from "../../src/httppubsub/sha512.ts";
import { toHex as hex } from "../../src/core/bytes.ts";
import { encodeBase64 as base64Encode } from "../../src/core/base64.ts";
import { base64Decode } from "../../src/httppubsub/authorization_header.ts";
import { readCapped } from "../../src/httppubsub/body.ts";
import { rng } from "../_seeded.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const unhex = (s: string) => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));

// FIPS 180-2 appendix C and the NIST example values.
const ABC =
  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
const TWO_BLOCKS =
  "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909";
const MILLION_A =
  "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b";

Deno.test("sha512() gives the FIPS 180-2 digests, in this thread and on crypto.subtle past 1 MiB", async () => {
  assert.equal(hex(await sha512(ascii("abc"))), ABC);
  const two =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  assert.equal(hex(await sha512(ascii(two))), TWO_BLOCKS);
  assert.equal(hex(await sha512(new Uint8Array(1_000_000).fill(0x61))), MILLION_A);
  // Past the cut-over to crypto.subtle, the same digest as hashing in pieces here.
  const big = new Uint8Array(1024 * 1024 + 5).map((_, i) => i * 7);
  const h = await takeSha512();
  h.update(big.subarray(0, 1000));
  h.update(big.subarray(1000));
  assert.deepEqual(await sha512(big), h.digest());
});

Deno.test("takeSha512() hashes kept across awaits do not mix, and a digest cannot be taken twice", async () => {
  const a = await takeSha512();
  const b = await takeSha512();
  a.update(ascii("a"));
  b.update(ascii("ab"));
  await new Promise((r) => setTimeout(r, 0));
  a.update(ascii("bc"));
  const c = await takeSha512(); // not b's nor a's instance while they are in use
  c.update(ascii("abc"));
  assert.equal(hex(a.digest()), ABC);
  assert.equal(hex(c.digest()), ABC);
  b.update(ascii("c"));
  assert.equal(hex(b.digest()), ABC);
  assert.throws(() => b.digest(), TypeError);
  assert.throws(() => b.update(ascii("x")), TypeError);
  // Taken again from the pool, the instance starts afresh.
  const d = await takeSha512();
  d.update(ascii("abc"));
  assert.equal(hex(d.digest()), ABC);
});

Deno.test("hmacSha512() gives the RFC 4231 HMAC-SHA-512 codes", async () => {
  // Test cases 1, 2 and 6 (a key longer than the block).
  const cases: [Uint8Array, Uint8Array, string][] = [
    [
      new Uint8Array(20).fill(0x0b),
      ascii("Hi There"),
      "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    ],
    [
      ascii("Jefe"),
      ascii("what do ya want for nothing?"),
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    ],
    [
      new Uint8Array(131).fill(0xaa),
      ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
      "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
    ],
  ];
  for (const [key, message, code] of cases) {
    const sign = await hmacSha512(key);
    assert.equal(hex(sign(message)), code);
    assert.equal(hex(sign(message)), code, "signing again starts afresh");
  }
  assert.equal(hex((await hmacSha512(unhex("0b".repeat(20))))(ascii("Hi There"))), cases[0]![2]);
});

/** The former implementation, on the platform's atob/btoa: the reference for the table-driven one. */
function referenceDecode(text: string): Uint8Array | undefined {
  let s = text.replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return undefined;
  s += "=".repeat((4 - s.length % 4) % 4);
  try {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

Deno.test("base64Encode() and base64Decode() agree with btoa/atob on random text and bytes (seed 12)", () => {
  const random = rng(12);
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= \u00e9\n:";
  for (let i = 0; i < 50_000; i++) {
    const length = Math.floor(random() * 14);
    let text = "";
    for (let j = 0; j < length; j++) {
      text += chars[Math.floor(random() * (random() < 0.9 ? 64 : chars.length))];
    }
    assert.deepEqual(base64Decode(text), referenceDecode(text), JSON.stringify(text));
    const bytes = new Uint8Array(Math.floor(random() * 70)).map(() => Math.floor(random() * 256));
    const encoded = base64Encode(bytes);
    assert.equal(encoded, btoa(String.fromCharCode(...bytes)));
    assert.deepEqual(base64Decode(encoded), bytes);
  }
});

Deno.test("readCapped() takes a declared body whole, and refuses one declared or streamed past the cap", async () => {
  const body = new Uint8Array(100).fill(7);
  assert.deepEqual(await readCapped(new Response(body), 100), body);
  assert.equal(await readCapped(new Response(body), 99), undefined);
  // Without Content-Length (a stream) or with Content-Encoding, the body is read and counted.
  const stream = () => new Response(new Blob([body]).stream());
  assert.deepEqual(await readCapped(stream(), 100), body);
  assert.equal(await readCapped(stream(), 99), undefined);
  const encoded = new Response(body, { headers: { "content-length": "10", "content-encoding": "gzip" } });
  assert.equal(await readCapped(encoded, 50), undefined);
  assert.deepEqual(await readCapped(null, 0), new Uint8Array(0));
  // Over real HTTP: what the server sends with Content-Length arrives whole.
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response(body));
  const url = `http://127.0.0.1:${server.addr.port}/`;
  assert.deepEqual(await readCapped(await fetch(url), 100), body);
  assert.equal(await readCapped(await fetch(url), 10), undefined);
});
