/**
 * Tests of `src/client/latency.ts`: the HdrHistogram summary.
 *
 * @module
 */
import assert from "node:assert/strict";
import { HDR_HISTOGRAM_PACKAGE } from "../src/config/constants.ts";
import { LatencyHistogram } from "../src/client/latency.ts";

function near(actual: number, expected: number, what: string): void {
  // Three significant digits: within 0.1%.
  assert.ok(
    Math.abs(actual - expected) <= expected * 0.001 + 1,
    `${what}: ${actual} is not within 0.1% of ${expected}`,
  );
}

Deno.test("LatencyHistogram summarises 1..10000 µs to three digits", () => {
  const histogram = new LatencyHistogram();
  for (let value = 1; value <= 10_000; value++) histogram.record(value);
  const summary = histogram.summarize();
  assert.equal(summary.count, 10_000);
  assert.equal(summary.min, 1);
  near(summary.mean, 5000.5, "mean");
  near(summary.p50, 5000, "p50");
  near(summary.p90, 9000, "p90");
  near(summary.p99, 9900, "p99");
  near(summary.p999, 9990, "p99.9");
  near(summary.max, 10_000, "max");
  near(histogram.percentile(99), 9900, "percentile(99)");
});

Deno.test("LatencyHistogram is all zeros when empty, and after reset()", () => {
  const histogram = new LatencyHistogram();
  const zero = {
    count: 0,
    mean: 0,
    min: 0,
    p50: 0,
    p90: 0,
    p99: 0,
    p999: 0,
    max: 0,
  };
  assert.deepEqual(histogram.summarize(), zero);
  assert.equal(histogram.percentile(99), 0);
  histogram.record(5);
  histogram.reset();
  assert.deepEqual(histogram.summarize(), zero);
});

Deno.test("LatencyHistogram clamps samples below 1 µs and above ten minutes", () => {
  const histogram = new LatencyHistogram();
  histogram.record(-3);
  histogram.record(0.2);
  histogram.record(1e12);
  const summary = histogram.summarize();
  assert.equal(summary.count, 3);
  assert.equal(summary.min, 1);
  near(summary.max, 600_000_000, "max");
});

Deno.test("latency.ts types the package it loads", async () => {
  const source = await Deno.readTextFile(
    new URL("../src/client/latency.ts", import.meta.url),
  );
  assert.ok(source.includes(`typeof import("${HDR_HISTOGRAM_PACKAGE}")`));
});
