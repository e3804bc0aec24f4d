/**
 * The fixed-rate generator's clock, run as a worker: it sleeps with
 * `Atomics.wait` (sub-millisecond, unlike `setTimeout`) until each scheduled
 * send time and then bumps a shared counter with `Atomics.notify`, which
 * wakes the generator's `Atomics.waitAsync`. The generator's main thread thus
 * sleeps between sends instead of spinning, and is woken within tens of
 * microseconds of each send time.
 *
 * Protocol: the main thread posts one {@linkcode ClockStart}; the worker ticks
 * until the shared stop flag is set, then posts `"stopped"`.
 *
 * @module
 */

/** What the main thread tells the clock. */
export interface ClockStart {
  /** `[0]`: ticks so far (written by the clock); `[1]`: non-zero to stop. */
  shared: SharedArrayBuffer;
  /** First tick, as `performance.timeOrigin + performance.now()` (ms). */
  startMs: number;
  /** Time between ticks, ms (fractions allowed). */
  periodMs: number;
}

/** Index of the tick counter in the shared `Int32Array`. */
export const TICKS = 0;
/** Index of the stop flag in the shared `Int32Array`. */
export const STOP = 1;

/**
 * Ticks until stopped. A tick that is late (the worker was descheduled) is
 * not repeated: the counter is a wake-up, the generator reads the time itself
 * and sends everything that has come due.
 *
 * @param start The schedule.
 * @param now The absolute time in ms.
 */
export function tick(start: ClockStart, now: () => number): void {
  const flags = new Int32Array(start.shared);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let next = start.startMs;
  while (Atomics.load(flags, STOP) === 0) {
    const wait = next - now();
    if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
    Atomics.add(flags, TICKS, 1);
    Atomics.notify(flags, TICKS);
    next += start.periodMs;
    // Behind by more than a tick: skip to the present rather than burst.
    const late = now() - next;
    if (late > start.periodMs) {
      next += Math.floor(late / start.periodMs) * start.periodMs;
    }
  }
}

// The generator imports this module for its types only (`import type`, erased),
// so this runs in the worker alone.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<ClockStart>) => void) | null;
  postMessage(message: string): void;
};
scope.onmessage = (event) => {
  tick(event.data, () => performance.timeOrigin + performance.now());
  scope.postMessage("stopped");
};
