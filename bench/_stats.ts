/**
 * Latency samples and their summary.
 *
 * @module
 */

/** Percentiles of a set of latency samples, in microseconds. */
export interface LatencySummary {
  /** Number of samples. */
  count: number;
  /** Arithmetic mean. */
  mean: number;
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

/** A growable buffer of numeric samples, cheap to append to in a hot loop. */
export class SampleBuffer {
  #data = new Float64Array(1024);
  #length = 0;

  /** Number of samples held. */
  get length(): number {
    return this.#length;
  }

  /**
   * Appends one sample.
   *
   * @param value The sample.
   */
  push(value: number): void {
    if (this.#length === this.#data.length) {
      const grown = new Float64Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data[this.#length++] = value;
  }

  /**
   * Summarises the samples with nearest-rank percentiles.
   *
   * @returns The summary; every field is `0` when there are no samples.
   */
  summarize(): LatencySummary {
    const sorted = this.#data.slice(0, this.#length).sort();
    return summarizeSorted(sorted);
  }
}

/**
 * Summarises samples that are already sorted in ascending order.
 *
 * @param sorted The samples, ascending.
 * @returns The summary; every field is `0` when there are no samples.
 */
export function summarizeSorted(sorted: Float64Array): LatencySummary {
  const count = sorted.length;
  if (count === 0) {
    return { count, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  }
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count,
    mean: sum / count,
    p50: rank(sorted, 0.5),
    p90: rank(sorted, 0.9),
    p99: rank(sorted, 0.99),
    p999: rank(sorted, 0.999),
    max: sorted[count - 1] ?? 0,
  };
}

function rank(sorted: Float64Array, quantile: number): number {
  const index = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil(quantile * sorted.length) - 1),
  );
  return sorted[index] ?? 0;
}
