// The core's randomness in production: a seeded generator (xorshift32) whose seed comes from the OS, so a run
// can be replayed by passing the same seed.
import { randomInt } from 'node:crypto';
import type { Random } from '@regent/raft';

export function createRandom(seed: number = randomInt(1, 2 ** 31)): Random & { readonly seed: number } {
  let x = seed >>> 0 || 1;
  return {
    seed,
    nextInt: (n) => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x % n;
    },
  };
}
