// Time and randomness ports. Every timer and every "now" of the agent goes through a `Clock`, every jitter through
// a `Random`, so tests can drive them and production code never asks "am I in a test".

/** Cancels a scheduled timer; calling it after the timer fired is a no-op. */
export type Cancel = () => void;

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (used in the register check code and for elapsed times). */
  nowMs(): number;
  /** Runs `fn` once after `delayMs` milliseconds. */
  setTimer(fn: () => void, delayMs: number): Cancel;
}

/** A number in [0, 1). */
export type Random = () => number;

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimer: (fn, delayMs) => {
    const timer = setTimeout(fn, delayMs);
    return () => clearTimeout(timer);
  },
};

export const systemRandom: Random = () => Math.random();

/** Resolves after `delayMs`, or at once when `cancelled` resolves first. */
export function sleep(clock: Clock, delayMs: number, cancelled?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const cancel = clock.setTimer(resolve, delayMs);
    void cancelled?.then(() => {
      cancel();
      resolve();
    });
  });
}
