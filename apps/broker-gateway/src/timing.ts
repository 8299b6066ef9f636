// Time helpers of the gateway: per-call deadlines (the caller's, capped by --request-timeout-ms), abortable sleeps
// and retry backoff. Deadlines are on the monotonic `performance.now()` clock, in milliseconds.
import { Code, ConnectError } from '@connectrpc/connect';

/** A call's deadline: `signal` aborts when it passes or when the caller's own signal aborts. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** The budget the call started with, in ms. */
  readonly budgetMs: number;
  /** Milliseconds left (0 once passed). */
  remainingMs(): number;
  /** Releases the timer and the listener on the parent signal. */
  dispose(): void;
}

/** A deadline of `budgetMs` from now that also follows `parent` (the caller going away). */
export function createDeadline(budgetMs: number, parent?: AbortSignal): Deadline {
  const startedMs = performance.now();
  const controller = new AbortController();
  const expire = (): void =>
    controller.abort(new ConnectError(`deadline of ${budgetMs} ms passed`, Code.DeadlineExceeded));
  const follow = (): void => controller.abort(parent?.reason);
  const timer = setTimeout(expire, Math.max(0, budgetMs));
  if (parent?.aborted) follow();
  else parent?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    budgetMs,
    remainingMs: () =>
      controller.signal.aborted ? 0 : Math.max(0, budgetMs - (performance.now() - startedMs)),
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', follow);
    },
  };
}

/** The budget of a forwarded call: the caller's deadline if it has one, never more than `capMs`. */
export function callBudgetMs(callerTimeoutMs: number | undefined, capMs: number): number {
  return callerTimeoutMs === undefined ? capMs : Math.max(0, Math.min(callerTimeoutMs, capMs));
}

export { sleep } from '@regent/service-kit';

export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

/** Exponential backoff with ±50 % jitter (spreads gateways retrying against a new leader). */
export function backoffMs(attempt: number, backoff: Backoff): number {
  const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.5 + Math.random()));
}

/** A signal that aborts when any of `signals` does; `dispose` removes its listeners. */
export function anySignal(signals: readonly AbortSignal[]): {
  readonly signal: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  const listeners: (() => void)[] = [];
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    const abort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    listeners.push(() => signal.removeEventListener('abort', abort));
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const remove of listeners) remove();
    },
  };
}
