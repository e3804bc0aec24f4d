import assert from "node:assert/strict";
import { createRandom } from "../src/core/random.ts";

Deno.test("createRandom() repeats its sequence for a seed", () => {
  const a = createRandom(7);
  const b = createRandom(7);
  const first = Array.from({ length: 100 }, () => a());
  assert.deepEqual(Array.from({ length: 100 }, () => b()), first);
  const c = createRandom(8);
  assert.notDeepEqual(Array.from({ length: 100 }, () => c()), first);
});

Deno.test("createRandom() stays in [0, 1) and spreads evenly", () => {
  const random = createRandom(12345);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = random();
    assert.ok(x >= 0 && x < 1, String(x));
    buckets[Math.floor(x * 10)]++;
  }
  // 10,000 expected in each; 5 standard deviations is about ±475.
  for (const n of buckets) {
    assert.ok(Math.abs(n - 10_000) < 500, String(buckets));
  }
});

Deno.test("createRandom() without a seed is Math.random", () => {
  assert.equal(createRandom(), Math.random);
});
