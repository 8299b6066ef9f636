// Bounded exponential backoff with "equal jitter": the n-th delay is uniform in [d/2, d] with
// d = min(maxMs, minMs * 2^n). Every retry loop of the agent uses one, so no loop spins and none waits unbounded.
import { assert } from './assert.js';
import type { Random } from './clock.js';

export interface BackoffOptions {
  readonly minMs: number;
  readonly maxMs: number;
}

export interface Backoff {
  /** The delay before the next attempt, in milliseconds. */
  next(): number;
  /** Call after a success: the next delay starts from `minMs` again. */
  reset(): void;
}

export function createBackoff(options: BackoffOptions, random: Random): Backoff {
  assert(
    options.minMs > 0 && options.maxMs >= options.minMs,
    `backoff bounds ${options.minMs}..${options.maxMs}`,
  );
  let attempts = 0;
  return {
    next: () => {
      const ceilingMs = Math.min(options.maxMs, options.minMs * 2 ** Math.min(attempts, 30));
      attempts++;
      return Math.round(ceilingMs / 2 + (random() * ceilingMs) / 2);
    },
    reset: () => {
      attempts = 0;
    },
  };
}
