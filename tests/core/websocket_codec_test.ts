// RFC 6455 framing: hand-written vectors from the RFC (§1.3, §5.7) and frames built byte by byte here, never by
// our encoder; plus a time-bounded fuzzer of the decoder.
import assert from "node:assert/strict";
import { ProtocolError } from "../../mod.ts";
import {
  acceptFor,
  checkHandshake,
  checkProtocols,
  parseHandshakeResponse,
  parseWebSocketUrl,
} from "../../src/core/websocket_handshake.ts";
import {
  decodeClosePayload,
  encodeClosePayload,
  encodeFrame,
  FrameDecoder,
  type Incoming,
  isValidCloseCode,
  WebSocketProtocolError,
} from "../../src/core/websocket_codec.ts";
import { rng } from "../_seeded.ts";

const hex = (s: string) => new Uint8Array(s.trim().split(/\s+/).map((h) => parseInt(h, 16)));

function decodeAll(bytes: Uint8Array, max = 1 << 20, chunk = bytes.length): Incoming[] {
  const d = new FrameDecoder({ maxMessageSize: max, initialBufferSize: 8 });
  const out: Incoming[] = [];
  for (let i = 0; i < bytes.length; i += chunk) {
    d.push(bytes.subarray(i, i + chunk));
    for (let m = d.next(); m !== undefined; m = d.next()) out.push(m);
  }
  return out;
}

function failure(bytes: Uint8Array, max = 1 << 20): WebSocketProtocolError {
  try {
    decodeAll(bytes, max);
  } catch (err) {
    assert.ok(err instanceof WebSocketProtocolError, String(err));
    assert.ok(err instanceof ProtocolError);
    return err;
  }
  assert.fail(`no error for ${[...bytes].map((b) => b.toString(16)).join(" ")}`);
}

Deno.test("acceptFor() gives RFC 6455 §1.3's accept for its sample key", async () => {
  assert.equal(await acceptFor("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("encodeFrame() writes RFC 6455 §5.7's masked 'Hello' and masked pong byte for byte", () => {
  const mask = hex("37 fa 21 3d");
  const hello = new TextEncoder().encode("Hello");
  assert.deepEqual(encodeFrame(0x1, hello, mask), hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
  assert.deepEqual(encodeFrame(0xa, hello, mask), hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"));
  // Unmasked forms of §5.7 (what a server sends).
  assert.deepEqual(encodeFrame(0x1, hello, undefined), hex("81 05 48 65 6c 6c 6f"));
  assert.deepEqual(encodeFrame(0x9, hello, undefined), hex("89 05 48 65 6c 6c 6f"));
  assert.deepEqual(encodeFrame(0x1, hello.subarray(0, 3), undefined, false), hex("01 03 48 65 6c"));
});

Deno.test("encodeFrame() uses the 16-bit and 64-bit lengths of §5.7 (256 bytes, 64 KiB)", () => {
  const f256 = encodeFrame(0x2, new Uint8Array(256).fill(7), undefined);
  assert.deepEqual(f256.subarray(0, 4), hex("82 7e 01 00"));
  assert.equal(f256.length, 260);
  const f64k = encodeFrame(0x2, new Uint8Array(65536).fill(9), undefined);
  assert.deepEqual(f64k.subarray(0, 10), hex("82 7f 00 00 00 00 00 01 00 00"));
  assert.equal(f64k.length, 65546);
  // 125 is the largest 7-bit length, 126 the first 16-bit one, 65535 the last.
  assert.deepEqual(encodeFrame(0x2, new Uint8Array(125), undefined).subarray(0, 2), hex("82 7d"));
  assert.deepEqual(encodeFrame(0x2, new Uint8Array(126), undefined).subarray(0, 4), hex("82 7e 00 7e"));
  assert.deepEqual(encodeFrame(0x2, new Uint8Array(65535), undefined).subarray(0, 4), hex("82 7e ff ff"));
  // A masked 16-bit-length frame: mask bit, length, key, then the masked payload.
  const masked = encodeFrame(0x2, new Uint8Array(300).fill(0xff), hex("01 02 03 04"));
  assert.deepEqual(masked.subarray(0, 8), hex("82 fe 01 2c 01 02 03 04"));
  assert.deepEqual(masked.subarray(8, 12), hex("fe fd fc fb"));
  assert.equal(masked.length, 308);
});

Deno.test("FrameDecoder reads §5.7's single-frame, fragmented, ping and long examples, in any chunking", () => {
  const bytes = new Uint8Array([
    ...hex("81 05 48 65 6c 6c 6f"), // "Hello"
    ...hex("01 03 48 65 6c"), // "Hel" ...
    ...hex("89 05 48 65 6c 6c 6f"), // a ping between fragments (§5.4)
    ...hex("80 02 6c 6f"), // ... "lo"
    ...hex("82 7e 01 00"),
    ...new Uint8Array(256).fill(1),
    ...hex("82 7f 00 00 00 00 00 01 00 00"),
    ...new Uint8Array(65536).fill(2),
    ...hex("8a 00"), // empty pong
    ...hex("88 02 03 e8"), // close 1000
  ]);
  for (const chunk of [1, 2, 3, 7, 1000, bytes.length]) {
    const got = decodeAll(bytes, 1 << 20, chunk);
    assert.equal(got.length, 7, `chunk ${chunk}`);
    assert.deepEqual(got[0], { kind: "text", data: "Hello" });
    assert.equal(got[1]!.kind, "ping");
    assert.deepEqual((got[1] as { data: Uint8Array }).data, new TextEncoder().encode("Hello"));
    assert.deepEqual(got[2], { kind: "text", data: "Hello" });
    assert.deepEqual(got[3], { kind: "binary", data: new Uint8Array(256).fill(1) });
    assert.deepEqual(got[4], { kind: "binary", data: new Uint8Array(65536).fill(2) });
    assert.deepEqual(got[5], { kind: "pong", data: new Uint8Array(0) });
    assert.deepEqual(got[6], { kind: "close", code: 1000, reason: "" });
  }
});

Deno.test("FrameDecoder refuses what RFC 6455 forbids a server, with the close code to send", () => {
  const cases: [string, Uint8Array, number][] = [
    ["masked frame", hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), 1002],
    ["RSV1 without extension", hex("c1 01 41"), 1002],
    ["RSV3", hex("91 01 41"), 1002],
    ["reserved data opcode 3", hex("83 00"), 1002],
    ["reserved control opcode 11", hex("8b 00"), 1002],
    ["fragmented ping", hex("09 00"), 1002],
    ["ping of 126 bytes", new Uint8Array([0x89, 0x7e, 0x00, 0x7e, ...new Uint8Array(126)]), 1002],
    ["continuation with nothing in progress", hex("80 01 41"), 1002],
    ["new text while fragmented", hex("01 01 41 81 01 42"), 1002],
    ["64-bit length with the top bit", hex("82 7f 80 00 00 00 00 00 00 01"), 1002],
    ["text that is not UTF-8", hex("81 02 c3 28"), 1007],
    ["fragmented text split inside bad UTF-8", hex("01 01 ed 80 02 a0 80"), 1007],
    ["close of one byte", hex("88 01 03"), 1002],
    ["close code 1005 on the wire", hex("88 02 03 ed"), 1002],
    ["close code 999", hex("88 02 03 e7"), 1002],
    ["close code 5000", hex("88 02 13 88"), 1002],
    ["close reason not UTF-8", hex("88 04 03 e8 ff fe"), 1007],
  ];
  for (const [name, bytes, code] of cases) {
    const err = failure(bytes);
    assert.equal(err.closeCode, code, name);
  }
});

Deno.test("FrameDecoder refuses a message over maxMessageSize from its header, before the payload", () => {
  const d = new FrameDecoder({ maxMessageSize: 1000 });
  d.push(hex("82 7e 03 e9")); // 1001 bytes announced, none sent
  assert.throws(() => d.next(), (e: unknown) => e instanceof WebSocketProtocolError && e.closeCode === 1009);
  // Fragments count together: 600 + 600 > 1000.
  const parts = new Uint8Array([0x02, 0x7e, 0x02, 0x58, ...new Uint8Array(600), 0x80, 0x7e, 0x02, 0x58]);
  assert.equal(failure(parts, 1000).closeCode, 1009);
  // Exactly at the limit is fine.
  assert.equal(decodeAll(new Uint8Array([0x82, 0x7e, 0x03, 0xe8, ...new Uint8Array(1000)]), 1000).length, 1);
  // A 64-bit length near 2^53 is refused without allocating.
  assert.equal(failure(hex("82 7f 00 1f ff ff ff ff ff ff"), 1000).closeCode, 1009);
});

Deno.test("FrameDecoder keeps a text message's BOM and multi-byte characters split across fragments", () => {
  const euro = [0xe2, 0x82, 0xac];
  const bytes = new Uint8Array([0x01, 0x02, 0xef, 0xbb, 0x00, 0x02, 0xbf, euro[0]!, 0x80, 0x02, euro[1]!, euro[2]!]);
  assert.deepEqual(decodeAll(bytes), [{ kind: "text", data: "\ufeff€" }]);
});

Deno.test("close payloads: codes valid on the wire, encode/decode against hand bytes", () => {
  for (const c of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1014, 3000, 4999]) {
    assert.ok(isValidCloseCode(c), String(c));
  }
  for (const c of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 1000.5]) {
    assert.ok(!isValidCloseCode(c), String(c));
  }
  assert.deepEqual(encodeClosePayload(1000, "ok"), hex("03 e8 6f 6b"));
  assert.deepEqual(encodeClosePayload(), new Uint8Array(0));
  assert.throws(() => encodeClosePayload(1005), RangeError);
  assert.throws(() => encodeClosePayload(1000, "x".repeat(124)), RangeError);
  assert.deepEqual(decodeClosePayload(hex("0f a1 62 79 65")), { code: 4001, reason: "bye" });
  assert.deepEqual(decodeClosePayload(new Uint8Array(0)), { code: 1005, reason: "" });
});

Deno.test("parseWebSocketUrl() and checkProtocols() refuse what the WHATWG constructor refuses", () => {
  assert.equal(parseWebSocketUrl("http://a:1/x?y").href, "ws://a:1/x?y");
  assert.equal(parseWebSocketUrl("https://a/").protocol, "wss:");
  for (const bad of ["ftp://a/", "not a url", "ws://a/#frag", "ws://a/#"]) {
    assert.throws(() => parseWebSocketUrl(bad), (e: unknown) => e instanceof DOMException && e.name === "SyntaxError");
  }
  assert.deepEqual(checkProtocols(["a", "b.c"]), ["a", "b.c"]);
  for (const bad of [["a", "A"], ["a b"], [""], ["x,y"]]) {
    assert.throws(() => checkProtocols(bad), (e: unknown) => e instanceof DOMException && e.name === "SyntaxError");
  }
});

Deno.test("parseHandshakeResponse() and checkHandshake() accept RFC 6455's answer and refuse wrong ones", async () => {
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  const accept = await acceptFor(key);
  const ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
  const bytes = new TextEncoder().encode(ok + "\x81\x00");
  assert.equal(parseHandshakeResponse(bytes.subarray(0, 20)), undefined);
  const res = parseHandshakeResponse(bytes)!;
  assert.equal(res.length, ok.length);
  assert.equal(checkHandshake(res, accept, ["superchat", "chat"], "ws://x"), "chat");
  const variants: [string, string][] = [
    [ok.replace("101 Switching Protocols", "200 OK"), "status 200"],
    [ok.replace("Upgrade: websocket", "Upgrade: h2c"), "Upgrade"],
    [ok.replace("Connection: Upgrade", "Connection: close"), "Connection"],
    [ok.replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), "Accept"],
    [ok.replace("chat\r\n", "chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"), "extension"],
    [ok.replace("Protocol: chat", "Protocol: other"), "subprotocol other"],
  ];
  for (const [text, why] of variants) {
    const r = parseHandshakeResponse(new TextEncoder().encode(text))!;
    assert.throws(() => checkHandshake(r, accept, ["chat"], "ws://x"), (e: unknown) => {
      return e instanceof ProtocolError && (e as Error).message.includes(why);
    }, why);
  }
  assert.throws(() => parseHandshakeResponse(new TextEncoder().encode("garbage\r\n\r\n")), ProtocolError);
  assert.throws(() => parseHandshakeResponse(new Uint8Array(20_000).fill(65)), ProtocolError);
});

Deno.test("FrameDecoder yields only messages or WebSocketProtocolError on random and mutated input (fuzz)", () => {
  const seeds = [
    hex("81 05 48 65 6c 6c 6f 01 03 48 65 6c 89 00 80 02 6c 6f 88 02 03 e8"),
    new Uint8Array([0x82, 0x7e, 0x01, 0x00, ...new Uint8Array(256)]),
    hex("82 7f 00 00 00 00 00 00 00 03 01 02 03 8a 01 00"),
  ];
  const budgetMs = 250; // per input: a hang or a blow-up fails, a loaded machine does not
  for (let seed = 1; seed <= 3000; seed++) {
    const r = rng(seed);
    let input: Uint8Array;
    if (seed % 3 === 0) {
      input = crypto.getRandomValues(new Uint8Array(Math.floor(r() * 64)));
    } else {
      input = seeds[seed % seeds.length]!.slice();
      for (let k = 0; k < 1 + Math.floor(r() * 4); k++) {
        input[Math.floor(r() * input.length)] = Math.floor(r() * 256);
      }
    }
    const max = 1 + Math.floor(r() * 4096);
    const started = performance.now();
    try {
      const d = new FrameDecoder({ maxMessageSize: max, initialBufferSize: 1 + Math.floor(r() * 32) });
      const step = 1 + Math.floor(r() * 8);
      for (let i = 0; i < input.length; i += step) {
        d.push(input.subarray(i, i + step));
        for (let m = d.next(); m !== undefined; m = d.next()) {
          if (m.kind === "binary" || m.kind === "text") assert.ok(m.data.length <= max * 3);
        }
        assert.ok(d.buffered <= input.length);
      }
    } catch (err) {
      assert.ok(err instanceof WebSocketProtocolError, `seed ${seed}: ${err}`);
      assert.ok([1002, 1007, 1009].includes(err.closeCode), `seed ${seed}: ${err.closeCode}`);
    }
    const took = performance.now() - started;
    assert.ok(took < budgetMs, `seed ${seed} took ${took.toFixed(1)} ms (budget ${budgetMs})`);
  }
});
