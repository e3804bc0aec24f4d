import assert from "node:assert/strict";
import { createLogger } from "../src/core/logger.ts";

function sink(maxChunk = Infinity) {
  const writes: string[] = [];
  const decoder = new TextDecoder();
  return {
    writes,
    writeSync(bytes: Uint8Array): number {
      const n = Math.min(bytes.length, maxChunk);
      writes.push(decoder.decode(bytes.subarray(0, n)));
      return n;
    },
  };
}

Deno.test("createLogger() writes queued lines together once the delay has passed", async () => {
  const out = sink();
  const logger = createLogger(out, { delayMs: 5 });
  logger.log("one");
  logger.log("two é");
  assert.deepEqual(out.writes, []);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(out.writes, ["one\ntwo é\n"]);
  logger.log("three");
  logger.flush();
  assert.deepEqual(out.writes, ["one\ntwo é\n", "three\n"]);
});

Deno.test("createLogger() flush() writes everything, even through short writes", () => {
  const out = sink(3);
  const logger = createLogger(out, { delayMs: 60_000 });
  logger.log("abcdefgh");
  logger.flush();
  assert.equal(out.writes.join(""), "abcdefgh\n");
  logger.flush();
  assert.equal(out.writes.join(""), "abcdefgh\n");
});
