/**
 * A small seeded pseudo-random generator (mulberry32), so that a test lab
 * connection's `drop` and `jitter` decisions can be replayed from `seed`.
 * Not for anything that needs unpredictability: connection ids use
 * `crypto.getRandomValues`.
 *
 * @module
 */

/** Returns a number in `[0, 1)`, like `Math.random`. */
export type Random = () => number;

/**
 * Creates a generator: with a seed, the same sequence every time; without
 * one, `Math.random`.
 *
 * @param seed Any integer; only its low 32 bits are used.
 * @returns The generator.
 *
 * @example Usage
 * ```ts
 * import { createRandom } from "./random.ts";
 * const a = createRandom(7);
 * const b = createRandom(7);
 * console.log(a() === b()); // true
 * ```
 */
export function createRandom(seed?: number): Random {
  if (seed === undefined) return Math.random;
  let state = seed >>> 0;
  return function mulberry32(): number {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
