import assert from "node:assert/strict";
import { toHex as hex } from "../../src/core/bytes.ts";
import { encodeAuthDocument } from "../../src/httppubsub/auth_document.ts";
import { base64Decode } from "../../src/httppubsub/authorization_header.ts";
import { toBytes } from "../../src/httppubsub/codec.ts";
import { strongEtag } from "../../src/httppubsub/strong_etag.ts";
import { hmacAuth } from "../../src/httppubsub/auth.ts";

const SECRET = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw";
const URL_ = "http://127.0.0.1:3002/v1/receive#1";
const REC = "http://127.0.0.1:3002/v1/recover#1";
const sha = async (s: string) => new Uint8Array(await crypto.subtle.digest("SHA-512", new TextEncoder().encode(s)));
const signer = () => hmacAuth(SECRET, { now: () => 1700000000.5, nonce: () => "n0nce1" });

Deno.test("hmacAuth() reproduces the SUBSCRIBE_EXACT vector", async () => {
  assert.equal(base64Decode(SECRET)?.length, 64);
  const h = await signer().authorize({ type: "subscribe-exact", url: URL_, recovery: REC, topic: "foo/bar" });
  assert.equal(
    h,
    "X-HMAC 1700000000:n0nce1:ZVQ/bRWhDR8N2BYMQ30Vi/wEXQj9Y5Q7p3i654Pl0tdiDnXWro9MfcS3aC4V2NY8mKY56eU9rlSnmmx+/M87HA==",
  );
});
Deno.test("hmacAuth() reproduces the NOTIFY vector", async () => {
  const h = await signer().authorize({
    type: "notify",
    topic: "foo/baz",
    identifier: new Uint8Array([0, 1, 2, 3]),
    sha512: await sha("Hello, world!"),
  });
  assert.equal(
    h,
    "X-HMAC 1700000000:n0nce1:LNOFzZNtZkSamXDtlecpK/fOIgXMFs7BrAMSkcft6YiiVc3oDHn2rVH3AFwnQnD1R9zlkyKWEvGTBpauCA6isQ==",
  );
});
Deno.test("hmacAuth() reproduces the RECEIVE vector", async () => {
  const h = await signer().authorize({
    type: "receive",
    url: URL_,
    topic: "foo/baz",
    identifier: new Uint8Array(8).fill(0xaa),
    sha512: await sha("Hello, world!"),
  });
  assert.equal(
    h,
    "X-HMAC 1700000000:n0nce1:87ypXrSRIo5K9AvERhq3KDPrQb6aLupIPZrryMzJzeFjSIKYLyz+qyLPY6HNXywtewqH8CClWQb/VdyjsTuUqg==",
  );
});
Deno.test("strongEtag() reproduces the vectors", async () => {
  assert.equal(
    hex(await strongEtag(URL_, { exact: [], glob: [] })),
    "03512062471ca61bf527a26c5ea744d56571c43a0d65722455ad8894f6fc31e35252e4d6c2385d59bc721875bf78f21ccbcdccd1912532a6b24b684f2ab354b1",
  );
  assert.equal(
    hex(
      await strongEtag(URL_, {
        exact: [{ key: toBytes("b"), recovery: "" }, { key: toBytes("a"), recovery: REC }],
        glob: [{ key: "c/*", recovery: REC }],
      }),
    ),
    "4eae8c52069932f7477d11165267d83f342c92965cbaca937dbe0833d46d50a65da5450481dd79cae9eabc129dd789ea869fe9bc22669717eef948a8bbc97e40",
  );
  void encodeAuthDocument;
});
