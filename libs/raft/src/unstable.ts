// The part of the log not yet persisted (etcd log_unstable.go): an optional incoming snapshot and entries from
// `offset`. Holds: entries[i].index === offset + i; with a snapshot, offset === snapshot index + 1.

import { assert, type Entry, type Snapshot } from './types.js';

export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];

  constructor(public offset: number) {}

  /** The first index, known only when a snapshot is pending. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot && this.snapshot.metadata.index === index
        ? this.snapshot.metadata.term
        : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /** Entries up to (index, term) were persisted; drops them unless the log changed meanwhile. */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.maybeTerm(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot?.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends `entries`, truncating any unstable suffix at or after entries[0].index. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    const end = this.offset + this.entries.length;
    if (first === end) {
      this.entries.push(...entries);
    } else if (first <= this.offset) {
      // Replaces everything unstable; the runtime overwrites the persisted suffix from `first` on.
      this.offset = first;
      this.entries = [...entries];
    } else {
      assert(first < end, `append at ${first} leaves a gap after unstable end ${end}`);
      this.entries = this.entries.slice(0, first - this.offset).concat(entries);
    }
  }

  /** Entries in [lo, hi), both within the unstable range. */
  slice(lo: number, hi: number): Entry[] {
    const end = this.offset + this.entries.length;
    assert(
      this.offset <= lo && lo <= hi && hi <= end,
      `unstable slice [${lo}, ${hi}) out of [${this.offset}, ${end})`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
