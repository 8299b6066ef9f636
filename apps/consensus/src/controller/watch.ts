// Committed controller events for Watch(fromIndex): a bounded in-memory history of recent events plus live
// subscribers. A watcher older than the history (or starting at 0) first gets a Resync of the whole state.
// A subscriber that falls more than `subscriberQueueMax` events behind is ended; it resumes from its last index.
import { create } from '@bufbuild/protobuf';
import { type CommittedEvent, CommittedEventSchema } from '@regent/proto/admin';
import { type WatchResponse, WatchResponseSchema } from '@regent/proto/consensus';
import type { BrokerGroupState } from '@regent/proto/state';

export class WatcherTooSlowError extends Error {
  override readonly name = 'WatcherTooSlowError';
}

interface Subscriber {
  readonly queue: WatchResponse[];
  wake: (() => void) | undefined;
  failed: Error | undefined;
}

export interface WatchHubOptions {
  readonly historyEventsMax?: number;
  readonly subscriberQueueMax?: number;
  readonly subscribersMax?: number;
}

export class WatchHub {
  readonly #history: CommittedEvent[] = [];
  readonly #subscribers = new Set<Subscriber>();
  readonly #historyMax: number;
  readonly #queueMax: number;
  readonly #subscribersMax: number;
  /** Every event with index > #floor is in the history (events of index <= #floor may have been dropped). */
  #floor = 0;

  constructor(
    private readonly snapshotOfState: () => { index: number; groups: BrokerGroupState[] },
    options: WatchHubOptions = {},
  ) {
    this.#historyMax = options.historyEventsMax ?? 100_000;
    this.#queueMax = options.subscriberQueueMax ?? 10_000;
    this.#subscribersMax = options.subscribersMax ?? 256;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Records a committed event and hands it to live subscribers. */
  publish(event: Omit<CommittedEvent, '$typeName'>): void {
    const committed = create(CommittedEventSchema, event);
    this.#history.push(committed);
    if (this.#history.length > this.#historyMax) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyMax);
      this.#floor = Number(dropped[dropped.length - 1]!.index);
    }
    const message = create(WatchResponseSchema, { item: { case: 'event', value: committed } });
    for (const s of this.#subscribers) this.#push(s, message);
  }

  /** The state was replaced (snapshot restore): forget history; watchers must resync. */
  reset(index: number): void {
    this.#history.length = 0;
    this.#floor = index;
    for (const s of this.#subscribers) {
      s.failed = new WatcherTooSlowError('state restored from a snapshot; watch again from your last index');
      s.wake?.();
    }
  }

  #push(s: Subscriber, message: WatchResponse): void {
    if (s.failed) return;
    if (s.queue.length >= this.#queueMax) {
      s.failed = new WatcherTooSlowError(
        `watcher fell ${this.#queueMax} events behind; resume from your last index`,
      );
    } else {
      s.queue.push(message);
    }
    s.wake?.();
  }

  /** Streams from `fromIndex` (0: resync first) until `signal` aborts or the subscriber falls behind. */
  async *watch(fromIndex: number, signal: AbortSignal): AsyncGenerator<WatchResponse> {
    if (this.#subscribers.size >= this.#subscribersMax) {
      throw new WatcherTooSlowError(`too many watchers (${this.#subscribersMax})`);
    }
    const s: Subscriber = { queue: [], wake: undefined, failed: undefined };
    // Subscribe before reading history so nothing published in between is missed (duplicates are filtered).
    this.#subscribers.add(s);
    const onAbort = (): void => s.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      let next = fromIndex;
      if (fromIndex === 0 || fromIndex <= this.#floor) {
        const snap = this.snapshotOfState();
        yield create(WatchResponseSchema, {
          item: { case: 'resync', value: { index: BigInt(snap.index), groups: snap.groups } },
        });
        next = snap.index + 1;
      }
      for (const e of this.#history) {
        if (Number(e.index) >= next) yield create(WatchResponseSchema, { item: { case: 'event', value: e } });
      }
      const last = this.#history[this.#history.length - 1];
      let seen = last === undefined ? next - 1 : Math.max(next - 1, Number(last.index));
      let seenPosition = last === undefined ? Number.MAX_SAFE_INTEGER : last.position;
      while (!signal.aborted) {
        if (s.failed) throw s.failed;
        const message = s.queue.shift();
        if (message === undefined) {
          await new Promise<void>((resolve) => {
            s.wake = resolve;
          });
          s.wake = undefined;
          continue;
        }
        if (message.item.case !== 'event') continue;
        const e = message.item.value;
        const index = Number(e.index);
        if (index < seen || (index === seen && e.position <= seenPosition)) continue;
        seen = index;
        seenPosition = e.position;
        yield message;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#subscribers.delete(s);
    }
  }
}
