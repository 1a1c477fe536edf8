import assert from "node:assert/strict";
import { ByteReader, TruncatedInputError } from "../../src/core/byte_reader.ts";
import { ByteWriter } from "../../src/core/byte_writer.ts";
import { ChunkedReader, NEED_MORE } from "../../src/core/chunked_reader.ts";
import { ProtocolError } from "../../mod.ts";
import { concatBytes, detachBytes, equalBytes, toHex } from "../../src/core/bytes.ts";

Deno.test("ByteWriter() writes big-endian integers, floats and length-prefixed fields", () => {
  const bytes = new ByteWriter(1)
    .u8(0xab).i8(-1).u16(0x0102).i16(-2).u32(0x01020304).i32(-3)
    .u64(0x0102030405060708n).i64(-4n).f64(1.5).bool(true)
    .lengthPrefixed(new Uint8Array([9, 9]), 1).string("é", 2).string("", 4)
    .finish();
  assert.deepEqual(
    [...bytes],
    [
      0xab,
      0xff,
      1,
      2,
      0xff,
      0xfe,
      1,
      2,
      3,
      4,
      0xff,
      0xff,
      0xff,
      0xfd,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xfc,
      0x3f,
      0xf8,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      2,
      9,
      9,
      0,
      2,
      0xc3,
      0xa9,
      0,
      0,
      0,
      0,
    ],
  );
  const r = new ByteReader(bytes);
  assert.equal(r.u8(), 0xab);
  assert.equal(r.i8(), -1);
  assert.equal(r.u16(), 0x0102);
  assert.equal(r.i16(), -2);
  assert.equal(r.u32(), 0x01020304);
  assert.equal(r.i32(), -3);
  assert.equal(r.u64(), 0x0102030405060708n);
  assert.equal(r.i64(), -4n);
  assert.equal(r.f64(), 1.5);
  assert.equal(r.bool(), true);
  assert.deepEqual([...r.lengthPrefixed(1)], [9, 9]);
  assert.equal(r.string(2), "é");
  assert.equal(r.string(4), "");
  assert.equal(r.remaining, 0);
});

Deno.test("ByteWriter() throws RangeError for values that do not fit", () => {
  const w = new ByteWriter();
  assert.throws(() => w.u8(256), RangeError);
  assert.throws(() => w.u16(-1), RangeError);
  assert.throws(() => w.u32(1.5), RangeError);
  assert.throws(() => w.i8(128), RangeError);
  assert.throws(() => w.u64(-1n), RangeError);
  assert.throws(() => w.lengthPrefixed(new Uint8Array(256), 1), RangeError);
  assert.equal(w.length, 0);
});

Deno.test("ByteReader() reports truncation, bad booleans, invalid UTF-8 and oversized fields as ProtocolError", () => {
  assert.throws(() => new ByteReader(new Uint8Array([1, 2, 3])).u32(), TruncatedInputError);
  assert.throws(() => new ByteReader(new Uint8Array([2])).bool(), ProtocolError);
  assert.throws(() => new ByteReader(new Uint8Array([0, 2, 0xc3, 0x28])).string(2), ProtocolError);
  const err = assert.throws(() => new ByteReader(new Uint8Array([0, 0, 1, 0])).lengthPrefixed(4, 10), ProtocolError);
  void err;
  assert.ok(new TruncatedInputError("x") instanceof ProtocolError);
});

function frame(payload: Uint8Array): Uint8Array {
  return new ByteWriter().lengthPrefixed(payload, 4).finish();
}

const decodeFrame = (r: ByteReader) => r.lengthPrefixed(4, 1 << 20);

Deno.test("ChunkedReader.read() returns NEED_MORE until a value is whole, for every split of the input", () => {
  const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([4])];
  const all = new Uint8Array(frames.reduce((n, f) => n + 4 + f.length, 0));
  let at = 0;
  for (const f of frames) {
    all.set(frame(f), at);
    at += 4 + f.length;
  }
  for (let a = 0; a <= all.length; a++) {
    for (let b = a; b <= all.length; b++) {
      const input = new ChunkedReader();
      const out: number[][] = [];
      for (const chunk of [all.slice(0, a), all.slice(a, b), all.slice(b)]) {
        input.push(chunk);
        for (let v = input.read(decodeFrame); v !== NEED_MORE; v = input.read(decodeFrame)) out.push([...v]);
      }
      assert.deepEqual(out, [[1, 2, 3], [], [4]], `split at ${a}, ${b}`);
      assert.equal(input.buffered, 0);
    }
  }
});

Deno.test("ChunkedReader.read() never overwrites bytes it handed out", () => {
  const input = new ChunkedReader();
  input.push(new Uint8Array([0, 0, 0, 2, 7, 7, 0, 0]));
  const first = input.read(decodeFrame);
  assert.notEqual(first, NEED_MORE);
  input.push(new Uint8Array([0, 2, 8, 8]));
  const second = input.read(decodeFrame);
  assert.deepEqual([...(first as Uint8Array)], [7, 7]);
  assert.deepEqual([...(second as Uint8Array)], [8, 8]);
});

Deno.test("ChunkedReader.push() refuses to hold more than maxBuffered bytes", () => {
  const input = new ChunkedReader({ maxBuffered: 8 });
  input.push(new Uint8Array([0, 0, 0, 100, 1, 2]));
  assert.equal(input.read(decodeFrame), NEED_MORE);
  assert.throws(() => input.push(new Uint8Array(5)), ProtocolError);
  assert.throws(() => new ChunkedReader({ maxBuffered: 0 }), RangeError);
});

Deno.test("ChunkedReader.read() lets decoder errors through and drain() takes the rest", () => {
  const input = new ChunkedReader();
  input.push(new Uint8Array([5, 1, 2]));
  assert.throws(() => input.read((r) => r.bool()), ProtocolError);
  assert.deepEqual([...input.drain()], [5, 1, 2]);
  assert.equal(input.buffered, 0);
});

Deno.test("ChunkedReader.read() fuzzed with random bytes yields only values, NEED_MORE or ProtocolError", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let round = 0; round < 2000; round++) {
    const input = new ChunkedReader({ maxBuffered: 4096 });
    const decode = (r: ByteReader) => {
      const kind = r.u8();
      if (kind > 3) throw new ProtocolError(`unknown kind ${kind}`);
      return kind === 0 ? r.string(2, 512) : kind === 1 ? r.bool() : kind === 2 ? r.u64() : r.lengthPrefixed(1);
    };
    try {
      for (let c = 0; c < 8; c++) {
        const chunk = new Uint8Array(Math.floor(rand() * 40));
        for (let i = 0; i < chunk.length; i++) {
          chunk[i] = rand() < 0.3 ? Math.floor(rand() * 4) : Math.floor(rand() * 256);
        }
        input.push(chunk);
        for (let v = input.read(decode); v !== NEED_MORE; v = input.read(decode)) void v;
      }
    } catch (err) {
      assert.ok(err instanceof ProtocolError, `round ${round}: ${String(err)}`);
    }
  }
});

Deno.test("ByteWriter.view() and reset() reuse one buffer; ByteReader.bool(false) takes any non-zero byte", () => {
  const w = new ByteWriter(16);
  const first = w.u16(0x0102).view();
  assert.deepEqual([...first], [1, 2]);
  const second = w.reset().u8(9).view();
  assert.deepEqual([...second], [9]);
  assert.equal(first.buffer, second.buffer, "no new allocation");
  assert.equal(new ByteReader(new Uint8Array([7])).bool(false), true);
  assert.equal(new ByteReader(new Uint8Array([0])).bool(false), false);
  assert.throws(() => new ByteReader(new Uint8Array([7])).bool(), ProtocolError);
});

Deno.test("concatBytes() joins parts in order into a new array, with or without the total given", () => {
  const a = new Uint8Array([1, 2]);
  const b = new Uint8Array(0);
  const c = new Uint8Array([3, 4, 5]).subarray(1);
  assert.deepEqual([...concatBytes([a, b, c])], [1, 2, 4, 5]);
  assert.deepEqual([...concatBytes([a, b, c], 4)], [1, 2, 4, 5]);
  assert.deepEqual(concatBytes([]), new Uint8Array(0));
  const out = concatBytes([a]);
  out[0] = 9;
  assert.equal(a[0], 1, "the result is a copy");
});

Deno.test("equalBytes() compares contents, and reads every byte even when the first differs", () => {
  assert.equal(equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])), true);
  assert.equal(equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])), false);
  assert.equal(equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])), false);
  assert.equal(equalBytes(new Uint8Array(0), new Uint8Array(0)), true);
  // Constant time for equal lengths: no early exit at the first difference.
  const read = new Set<string>();
  const spy = (bytes: Uint8Array) =>
    new Proxy(bytes, {
      get(target, key) {
        if (typeof key === "string" && /^\d+$/.test(key)) read.add(key);
        const v = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  assert.equal(equalBytes(spy(new Uint8Array(64)), new Uint8Array(64).fill(1)), false);
  assert.equal(read.size, 64, "stopped reading after the first difference");
});

Deno.test("toHex() writes two lower-case digits a byte", () => {
  assert.equal(toHex(new Uint8Array([0, 1, 15, 16, 171, 255])), "00010f10abff");
  assert.equal(toHex(new Uint8Array(0)), "");
});

Deno.test("detachBytes() keeps a view whose buffer is at most twice its size plus 16 KiB, and copies one cut from more", () => {
  // A 1 KiB message of an 11 KiB WebSocket frame (a pull's batch of 10): kept, not copied a second time.
  const frame = new Uint8Array(11 * 1024).fill(7);
  const small = frame.subarray(1024, 2048);
  assert.equal(detachBytes(small), small);
  // The same message cut from a 64 KiB read chunk: copied, so that it does not keep the chunk alive.
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const cut = chunk.subarray(1024, 2048);
  const detached = detachBytes(cut);
  assert.notEqual(detached.buffer, chunk.buffer);
  assert.equal(detached.buffer.byteLength, 1024);
  assert.deepEqual(detached, cut);
  // The bound itself: 2 × 1,024 + 16,384 bytes of buffer is kept, one more byte is copied.
  const edge = new Uint8Array(2 * 1024 + 16 * 1024);
  assert.equal(detachBytes(edge.subarray(0, 1024)).buffer, edge.buffer);
  assert.notEqual(detachBytes(new Uint8Array(edge.length + 1).subarray(0, 1024)).buffer.byteLength, edge.length + 1);
});
