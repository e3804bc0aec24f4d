/**
 * The test lab's counters, shown in `/metrics`.
 *
 * @module
 */

/** What the test lab did, since the server started. */
export interface LabCounters {
  /** Connections opened with each lab parameter, by its name. */
  readonly connections: Map<string, number>;
  /** Handshakes refused on purpose by `status`. */
  refusals: number;
  /** Messages dropped on purpose by `drop`. */
  dropped: number;
  /** Messages held back by `delay` or `jitter`. */
  delayed: number;
  /** Stream messages sent (`emit` and the `stream` kind). */
  emitted: number;
  /** Times a stream paused for a peer that was not reading. */
  streamPauses: number;
  /** Connections closed with 1008 for holding too many delayed bytes. */
  delayOverflows: number;
  /** Closes the lab asked for (`close_after`, `close_in`, the `close` kind). */
  closes: number;
}

/**
 * Creates zeroed lab counters.
 *
 * @returns The counters.
 */
export function createLabCounters(): LabCounters {
  return {
    connections: new Map(),
    refusals: 0,
    dropped: 0,
    delayed: 0,
    emitted: 0,
    streamPauses: 0,
    delayOverflows: 0,
    closes: 0,
  };
}
