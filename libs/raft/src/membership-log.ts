// Which membership holds at which log index. Membership changes take effect as soon as their entry is in the
// log, committed or not (Raft thesis §4.1), so truncating the log rolls them back. Holds: `changes` ascend by
// index, all above `base.index`; `current()` is the membership after the last ConfChange entry in the log.

import { decodeConfChange } from './conf-change-codec.js';
import { applyConfChange, checkConfChange, type Membership } from './membership.js';
import { assert, type Entry, EntryType } from './types.js';

interface Point {
  readonly index: number;
  readonly membership: Membership;
}

export class MembershipLog {
  private base: Point;
  private changes: Point[] = [];

  constructor(membership: Membership, index: number) {
    this.base = { index, membership };
  }

  current(): Membership {
    return this.last().membership;
  }

  /** The index of the entry that set the current membership (the base index when none is in the log). */
  lastChangeIndex(): number {
    return this.last().index;
  }

  /** The membership before the last change (the base when there is none). */
  previous(): Membership {
    return this.changes.length >= 2 ? this.changes.at(-2)!.membership : this.base.membership;
  }

  /** The membership in force at `index` (>= the base index). */
  at(index: number): Membership {
    assert(index >= this.base.index, `membership at ${index} is below the base ${this.base.index}`);
    for (let i = this.changes.length - 1; i >= 0; i--) {
      if (this.changes[i]!.index <= index) return this.changes[i]!.membership;
    }
    return this.base.membership;
  }

  /**
   * Records the entries appended from entries[0].index on (dropping changes at or after it first). A change
   * that does not fit is skipped, identically on every node. Returns whether the current membership changed.
   */
  append(entries: readonly Entry[]): boolean {
    if (entries.length === 0) return false;
    const before = this.current();
    this.truncateFrom(entries[0]!.index);
    for (const e of entries) {
      if (e.type === EntryType.ConfChange) this.record(e);
    }
    return this.current() !== before;
  }

  private record(e: Entry): void {
    let change: ReturnType<typeof decodeConfChange>;
    try {
      change = decodeConfChange(e.data);
    } catch {
      return;
    }
    const current = this.current();
    if (checkConfChange(current, change) !== undefined) return;
    this.changes.push({ index: e.index, membership: applyConfChange(current, change) });
  }

  private truncateFrom(index: number): void {
    assert(index > this.base.index, `truncating at ${index} would drop the base ${this.base.index}`);
    while (this.changes.length > 0 && this.changes.at(-1)!.index >= index) this.changes.pop();
  }

  /** A snapshot replaced the log. */
  restore(membership: Membership, index: number): void {
    this.base = { index, membership };
    this.changes = [];
  }

  /** Forgets the history at or below `index` (applied: the log is never truncated there). */
  compactTo(index: number): void {
    if (index <= this.base.index) return;
    this.base = { index, membership: this.at(index) };
    this.changes = this.changes.filter((c) => c.index > index);
  }

  private last(): Point {
    return this.changes.at(-1) ?? this.base;
  }
}
