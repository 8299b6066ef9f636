// The bounded FIFO between the watch reader and the publisher. Items leave only after the bus confirmed them,
// so the position (the cursor of the last confirmed item) never passes an unpublished notification.
import { assert } from './assert.js';
import { type Cursor, compareCursors } from './cursor.js';
import type { Notification } from './notification.js';

export interface PendingItem {
  readonly notification: Notification;
  /** When the watch delivered the event (unix ms, for the latency metric when the decision time is unknown). */
  readonly receivedAtMs: number;
  /**
   * Everything up to this cursor is handled once this item is published. While the item is the tail, the reader
   * moves it forward over events that need no notification. Undefined only before any position exists (the
   * first Resync of a pusher without state).
   */
  cursorAfter: Cursor | undefined;
}

export class PendingQueue {
  #items: PendingItem[] = [];
  #head = 0;

  constructor(readonly max: number) {
    assert(Number.isSafeInteger(max) && max > 0, `pending max ${max} must be a positive integer`);
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get full(): boolean {
    return this.size >= this.max;
  }

  /** Appends; the caller waits for room first (the queue never grows past `max`). */
  push(item: PendingItem): void {
    assert(this.size < this.max, `pending queue full (${this.size}/${this.max})`);
    const tail = this.#tail();
    if (tail !== undefined) {
      assert(notBefore(item.cursorAfter, tail.cursorAfter), 'pending cursors must not go back');
    }
    this.#items.push(item);
  }

  /** Moves the tail's cursor to `cursor`; false when the queue is empty (the caller then owns the cursor). */
  advanceTail(cursor: Cursor): boolean {
    const tail = this.#tail();
    if (tail === undefined) return false;
    assert(notBefore(cursor, tail.cursorAfter), 'pending cursor must not go back');
    tail.cursorAfter = cursor;
    return true;
  }

  /** The oldest `count` items, oldest first (a view; valid until the next `drop`). */
  peek(count: number): readonly PendingItem[] {
    return this.#items.slice(this.#head, this.#head + count);
  }

  /** Removes the oldest `count` items (after the bus confirmed them). */
  drop(count: number): void {
    assert(count >= 0 && count <= this.size, `drop ${count} of ${this.size}`);
    this.#head += count;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  #tail(): PendingItem | undefined {
    return this.size === 0 ? undefined : this.#items[this.#items.length - 1];
  }
}

function notBefore(a: Cursor | undefined, b: Cursor | undefined): boolean {
  if (b === undefined) return true;
  return a !== undefined && compareCursors(a, b) >= 0;
}
