// Role events as async iterables, one bounded queue per subscriber. Every event describes a whole state (not a
// delta), so when a subscriber falls `bufferMax` events behind, its queue is replaced by one event describing the
// current state: it skips intermediate states but never ends up in a wrong one. Overflows are counted.
// `roleEventOf` is the event describing a state; `eventKey` tells which states subscribers see as the same.
import { assert } from './assert.js';
import type { RoleState } from './role.js';

export type FenceReason =
  /** Registered or not, the controller has not told the broker its role yet. */
  | 'starting'
  /** The group has no master; the broker asked for an election. */
  | 'no-master'
  /** No heartbeat was acknowledged for `selfFenceAfterMs` (only when that option is on). */
  | 'controller-unreachable'
  /** Registration failed permanently; the agent terminated. */
  | 'registration-failed'
  /** The agent stopped (stop, abort, or a fatal error). */
  | 'stopped';

export type RoleEvent =
  | {
      readonly type: 'became-master';
      readonly masterEpoch: number;
      readonly syncStateSet: readonly bigint[];
      readonly syncStateSetEpoch: number;
    }
  | {
      readonly type: 'became-slave';
      readonly masterBrokerId: bigint;
      readonly masterAddress: string;
      readonly masterEpoch: number;
    }
  | { readonly type: 'fenced'; readonly reason: FenceReason };

/** The event describing the agent's state: fenced for `reason`, else its role at `state.masterEpoch`. */
export function roleEventOf(reason: FenceReason | undefined, state: RoleState): RoleEvent {
  if (reason !== undefined) return { type: 'fenced', reason };
  if (state.role === 'master') {
    return {
      type: 'became-master',
      masterEpoch: state.masterEpoch,
      syncStateSet: state.syncStateSet,
      syncStateSetEpoch: state.syncStateSetEpoch,
    };
  }
  assert(state.masterBrokerId !== undefined, 'a slave knows its master');
  return {
    type: 'became-slave',
    masterBrokerId: state.masterBrokerId,
    masterAddress: state.masterAddress,
    masterEpoch: state.masterEpoch,
  };
}

/**
 * Events with equal keys describe the same fence reason, or the same role under the same master and masterEpoch;
 * the agent publishes only a new key.
 */
export function eventKey(event: RoleEvent): string {
  switch (event.type) {
    case 'fenced':
      return `fenced:${event.reason}`;
    case 'became-master':
      return `master:${event.masterEpoch}`;
    case 'became-slave':
      return `slave:${event.masterEpoch}:${event.masterBrokerId}`;
  }
}

export class TooManySubscribersError extends Error {
  override readonly name = 'TooManySubscribersError';
}

interface Subscriber {
  queue: RoleEvent[];
  wake: (() => void) | undefined;
}

export class RoleEventHub {
  private readonly subscribers = new Set<Subscriber>();
  private closed = false;
  /** Events dropped by overflowing subscriber queues. */
  droppedCount = 0;

  constructor(
    private readonly limits: { readonly bufferMax: number; readonly subscribersMax: number },
    /** The event describing the current state. */
    private readonly current: () => RoleEvent,
  ) {}

  publish(event: RoleEvent): void {
    if (this.closed) return;
    for (const s of this.subscribers) {
      if (s.queue.length >= this.limits.bufferMax) {
        this.droppedCount += s.queue.length;
        s.queue = [this.current()];
      } else {
        s.queue.push(event);
      }
      this.wakeUp(s);
    }
  }

  /** Ends every iterator after it drained its queue. */
  close(): void {
    this.closed = true;
    for (const s of this.subscribers) this.wakeUp(s);
  }

  /** A new iterator; its first event is the current state. Throws `TooManySubscribersError` at the limit. */
  subscribe(): AsyncIterableIterator<RoleEvent> {
    if (this.subscribers.size >= this.limits.subscribersMax) {
      throw new TooManySubscribersError(`at most ${this.limits.subscribersMax} role event subscribers`);
    }
    const s: Subscriber = { queue: [this.current()], wake: undefined };
    this.subscribers.add(s);
    const done = (): IteratorResult<RoleEvent> => {
      this.subscribers.delete(s);
      return { done: true, value: undefined };
    };
    const iterator: AsyncIterableIterator<RoleEvent> = {
      next: async () => {
        for (;;) {
          const event = s.queue.shift();
          if (event !== undefined) return { done: false, value: event };
          if (this.closed || !this.subscribers.has(s)) return done();
          await new Promise<void>((resolve) => (s.wake = resolve));
        }
      },
      return: async () => {
        const result = done();
        this.wakeUp(s);
        return result;
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private wakeUp(s: Subscriber): void {
    const wake = s.wake;
    s.wake = undefined;
    wake?.();
  }
}
