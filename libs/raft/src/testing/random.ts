// A small seeded PRNG (mulberry32) implementing the core's Random port plus helpers for tests and the
// simulator. The same seed yields the same sequence on every platform.

import type { Random } from '../types.js';

export interface SeededRandom extends Random {
  /** A float in [0, 1). */
  nextFloat(): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A new independent generator derived from this one. */
  fork(): SeededRandom;
}

export function createSeededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const nextFloat = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const nextInt = (n: number): number => Math.floor(nextFloat() * n);
  return {
    nextFloat,
    nextInt,
    chance: (p) => nextFloat() < p,
    pick: (items) => items[nextInt(items.length)]!,
    fork: () => createSeededRandom(Math.floor(nextFloat() * 4294967296)),
  };
}

/** A Random that always returns `value` (clamped below n): fixed election timeouts in scripted tests. */
export function fixedRandom(value = 0): Random {
  return { nextInt: (n) => Math.min(value, n - 1) };
}
