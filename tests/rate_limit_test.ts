import assert from "node:assert/strict";
import { takeToken } from "../src/core/rate_limit.ts";

Deno.test("takeToken() allows a burst of rate messages, then refills over time", () => {
  const bucket = { tokens: 10, refilledAt: 0 };
  for (let i = 0; i < 10; i++) {
    assert.equal(takeToken(bucket, 10, 0), true, `message ${i}`);
  }
  assert.equal(takeToken(bucket, 10, 0), false);
  assert.equal(takeToken(bucket, 10, 50), false);
  assert.equal(takeToken(bucket, 10, 100), true);
  assert.equal(takeToken(bucket, 10, 100), false);
  // A long pause refills up to the bucket size, not beyond.
  let passed = 0;
  while (takeToken(bucket, 10, 60_000)) passed++;
  assert.equal(passed, 10);
});
