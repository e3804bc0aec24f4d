import assert from "node:assert/strict";
import {
  binaryStreamFrame,
  readBinaryStreamFrame,
  textStreamFrame,
} from "../src/protocol/stream_frames.ts";

Deno.test("textStreamFrame() pads to the size and parses back", () => {
  for (const size of [32, 64, 65, 1024, 100_000]) {
    const frame = textStreamFrame(12, 1795593713557.25, size);
    assert.equal(frame.length, Math.max(size, frame.length));
    const message = JSON.parse(frame);
    assert.equal(message.type, "stream");
    assert.equal(message.seq, 12);
    assert.equal(message.t, 1795593713557.25);
    assert.match(message.pad, /^x*$/);
    assert.deepEqual(Object.keys(message), ["type", "seq", "t", "pad"]);
  }
  // Too small for its fields: as short as they allow, never cut.
  const short = textStreamFrame(123456, 1795593713557.125, 32);
  assert.equal(JSON.parse(short).pad, "");
  assert.ok(short.length > 32);
});

Deno.test("textStreamFrame() carries a wsecho.v1 id", () => {
  const frame = textStreamFrame(1, 5.5, 200, JSON.stringify("s-1"));
  assert.equal(frame.length, 200);
  assert.deepEqual(Object.keys(JSON.parse(frame)), [
    "type",
    "id",
    "seq",
    "t",
    "pad",
  ]);
  assert.equal(JSON.parse(frame).id, "s-1");
  assert.equal(JSON.parse(textStreamFrame(1, 5.5, 64, "7")).id, 7);
});

Deno.test("binaryStreamFrame() writes seq and t big-endian, then zeros", () => {
  const frame = binaryStreamFrame(258, 1.5, 40);
  assert.equal(frame.byteLength, 40);
  const bytes = new Uint8Array(frame);
  assert.deepEqual([...bytes.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 1, 2]);
  // 1.5 as a float64 is 0x3FF8000000000000.
  assert.deepEqual([...bytes.subarray(8, 16)], [0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
  assert.ok(bytes.subarray(16).every((b) => b === 0));
  assert.deepEqual(readBinaryStreamFrame(frame), { seq: 258, t: 1.5 });
  assert.notEqual(binaryStreamFrame(1, 1, 40), binaryStreamFrame(1, 1, 40));
  assert.throws(() => readBinaryStreamFrame(new ArrayBuffer(15)), RangeError);
});
