// A bounded window of in-flight AppendEntries messages to one follower (etcd tracker/inflights.go): each slot
// holds the last index a message carried. Holds: 0 <= count <= capacity; indexes strictly increase in the ring.

import { assert } from './types.js';

export class Inflights {
  private readonly ring: number[];
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, `inflights capacity ${capacity} must be > 0`);
    this.ring = new Array<number>(capacity).fill(0);
  }

  get count(): number {
    return this.size;
  }

  full(): boolean {
    return this.size === this.capacity;
  }

  /** Records a message whose last entry is `lastIndex`; callers check `full()` first. */
  add(lastIndex: number): void {
    assert(!this.full(), `inflights full (${this.capacity}) when adding ${lastIndex}`);
    const newest = this.size > 0 ? this.ring[(this.start + this.size - 1) % this.capacity]! : -1;
    assert(lastIndex > newest, `inflight index ${lastIndex} must exceed the newest ${newest}`);
    this.ring[(this.start + this.size) % this.capacity] = lastIndex;
    this.size++;
  }

  /** Frees every message whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.size > 0 && this.ring[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
    if (this.size === 0) this.start = 0;
  }

  /** Frees the oldest message (a heartbeat answered while the window is full: let one probe through). */
  freeFirstOne(): void {
    if (this.size === 0) return;
    this.freeLE(this.ring[this.start]!);
  }

  reset(): void {
    this.start = 0;
    this.size = 0;
  }
}
