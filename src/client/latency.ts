/**
 * Latency histograms for the load generator: an HdrHistogram (npm
 * `hdr-histogram-js`) of microseconds with three significant digits, and the
 * summary the reports print.
 *
 * @module
 */
import { HDR_HISTOGRAM_PACKAGE } from "../config/constants.ts";

// Through a variable, so the server's module graph does not hold the package
// (see HDR_HISTOGRAM_PACKAGE); the literal below is for the types only.
const specifier: string = HDR_HISTOGRAM_PACKAGE;
const hdr: typeof import("npm:hdr-histogram-js@3.0.1") = await import(
  specifier
);

/** Percentiles of a latency histogram, in microseconds. */
export interface LatencySummary {
  /** Number of samples. */
  count: number;
  /** Arithmetic mean. */
  mean: number;
  /** Smallest sample. */
  min: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** 99.9th percentile. */
  p999: number;
  /** Largest sample. */
  max: number;
}

/** Largest value a histogram keeps apart: ten minutes, in microseconds. */
const HIGHEST_US = 600_000_000;

/** A histogram of latencies in microseconds. */
export class LatencyHistogram {
  #histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    useWebAssembly: false,
  });

  /** Number of samples recorded. */
  get count(): number {
    return this.#histogram.totalCount;
  }

  /**
   * Records one sample.
   *
   * @param microseconds The latency; clamped to 1 µs through ten minutes.
   */
  record(microseconds: number): void {
    const value = Math.round(microseconds);
    this.#histogram.recordValue(
      value < 1 ? 1 : value > HIGHEST_US ? HIGHEST_US : value,
    );
  }

  /**
   * One percentile so far.
   *
   * @param percentile From 0 to 100.
   * @returns The value in microseconds; `0` without samples.
   */
  percentile(percentile: number): number {
    return this.count === 0
      ? 0
      : this.#histogram.getValueAtPercentile(percentile);
  }

  /** Forgets every sample. */
  reset(): void {
    this.#histogram.reset();
  }

  /**
   * Summarises the samples.
   *
   * @returns The summary; every field is `0` without samples.
   */
  summarize(): LatencySummary {
    const h = this.#histogram;
    if (h.totalCount === 0) {
      return {
        count: 0,
        mean: 0,
        min: 0,
        p50: 0,
        p90: 0,
        p99: 0,
        p999: 0,
        max: 0,
      };
    }
    return {
      count: h.totalCount,
      mean: h.mean,
      min: h.minNonZeroValue,
      p50: h.getValueAtPercentile(50),
      p90: h.getValueAtPercentile(90),
      p99: h.getValueAtPercentile(99),
      p999: h.getValueAtPercentile(99.9),
      max: h.maxValue,
    };
  }
}
