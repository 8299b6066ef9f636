// Waiting: bounded exponential backoff with jitter, abortable sleeps, and a wake-up signal between loops.
import { assert } from './assert.js';

export interface BackoffOptions {
  /** First delay, ms. */
  readonly initialMs: number;
  /** Largest delay, ms (the bound that keeps recovery quick once the other side is back). */
  readonly maxMs: number;
}

/** Doubling delays from `initialMs` up to `maxMs`, each drawn from [delay/2, delay] so retries spread out. */
export class Backoff {
  #delayMs: number;

  constructor(
    readonly options: BackoffOptions,
    readonly random: () => number = Math.random,
  ) {
    assert(
      options.initialMs > 0 && options.maxMs >= options.initialMs,
      `bad backoff ${JSON.stringify(options)}`,
    );
    this.#delayMs = options.initialMs;
  }

  next(): number {
    const delayMs = this.#delayMs;
    this.#delayMs = Math.min(this.options.maxMs, delayMs * 2);
    return Math.round(delayMs / 2 + (delayMs / 2) * this.random());
  }

  reset(): void {
    this.#delayMs = this.options.initialMs;
  }
}

export { sleep } from '@regent/service-kit';

/** A level-free wake-up: `wait()` resolves at the next `notify()`, on abort, or after `timeoutMs`. */
export class Wakeup {
  #waiters: (() => void)[] = [];

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  wait(signal?: AbortSignal, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#waiters = this.#waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.#waiters.push(done);
    });
  }
}
