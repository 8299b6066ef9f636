// The node's log: persisted entries behind the Storage port plus the unstable tail (etcd log.go).
// Holds: applied <= committed <= lastIndex; firstIndex - 1 <= applied (everything compacted was applied) except
// while a restored snapshot waits for advance().

import {
  assert,
  CompactedError,
  type Entry,
  type Snapshot,
  type Storage,
  UnavailableError,
} from './types.js';
import { Unstable } from './unstable.js';

/** The size an entry counts for in byte limits: its payload plus a fixed header estimate. */
export const entryOverheadBytes = 16;

export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + entryOverheadBytes;
}

/** The longest prefix of `entries` within `maxBytes`, but at least one entry. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    total += entrySizeBytes(entries[i]!);
    if (i > 0 && total > maxBytes) return entries.slice(0, i);
  }
  return entries;
}

export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  /** Called after every append with the appended entries (membership changes take effect on append). */
  onAppend: (entries: readonly Entry[]) => void = () => {};

  constructor(readonly storage: Storage) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    assert(first >= 1 && last >= first - 1, `storage range [${first}, ${last}] is malformed`);
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  /** At startup: the state machine is restored from the snapshot at `snapshotIndex` (committed by definition). */
  startAt(snapshotIndex: number): void {
    const first = this.firstIndex();
    assert(
      snapshotIndex >= first - 1 && snapshotIndex <= this.lastIndex(),
      `snapshot ${snapshotIndex} out of [${first - 1}, ${this.lastIndex()}]: storage compacted past its snapshot`,
    );
    this.applied = snapshotIndex;
    this.committed = Math.max(this.committed, snapshotIndex);
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term at `index`; throws CompactedError below firstIndex - 1, UnavailableError above lastIndex. */
  term(index: number): number {
    const term = this.tryTerm(index);
    if (term !== undefined) return term;
    const first = this.firstIndex();
    if (index < first - 1) throw new CompactedError(index, first);
    throw new UnavailableError(index, this.lastIndex());
  }

  /** The term at `index`, or undefined when it is compacted or beyond the log (no exception on the hot path). */
  tryTerm(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    const unstable = this.unstable.maybeTerm(index);
    if (unstable !== undefined) return unstable;
    try {
      return this.storage.term(index);
    } catch (error) {
      // The runtime compacted concurrently with this read.
      if (error instanceof CompactedError) return undefined;
      throw error;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(index: number, term: number): boolean {
    return this.tryTerm(index) === term;
  }

  /** Raft §5.4.1: a log ending at (lastIndex, lastTerm) is at least as up to date as this one. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** The index of the first entry whose term differs from the log's (or is beyond it); 0 when all match. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term (fast backtracking, etcd
   * findConflictByTerm). Stops with term 0 at a compacted index; [0, 0] when none.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const t = this.tryTerm(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
    }
    return [0, 0];
  }

  /**
   * Raft §5.3 receiver rule: when the entry at prevIndex has prevTerm, appends `entries` (truncating a
   * conflicting suffix), commits up to min(leaderCommit, last new index), and returns that last new index.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: readonly Entry[]) {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(
        conflict > this.committed,
        `entry ${conflict} conflicts with committed entry (commit ${this.committed})`,
      );
      this.append(entries.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Appends entries that follow on from index entries[0].index - 1 (which must be in the log). */
  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    assert(after >= this.committed, `append after ${after} would overwrite committed ${this.committed}`);
    assert(after <= this.lastIndex(), `append after ${after} leaves a gap (last ${this.lastIndex()})`);
    this.unstable.truncateAndAppend(entries);
    this.onAppend(entries);
    return this.lastIndex();
  }

  /** Entries in [lo, hi) within `maxBytes` (at least one); throws CompactedError when lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    assert(
      lo <= hi && hi <= this.lastIndex() + 1,
      `slice [${lo}, ${hi}) out of [${first}, ${this.lastIndex()}]`,
    );
    if (lo === hi) return [];
    const offset = this.unstable.offset;
    let out: Entry[] = [];
    if (lo < offset) {
      const stored = this.storage.entries(lo, Math.min(hi, offset), maxBytes);
      assert(stored.length > 0 && stored[0]!.index === lo, `storage returned no entry at ${lo}`);
      if (stored.length < Math.min(hi, offset) - lo) return limitSize(stored, maxBytes);
      out = stored;
    }
    if (hi > offset) out = out.concat(this.unstable.slice(Math.max(lo, offset), hi));
    return limitSize(out, maxBytes);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} is beyond lastIndex ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Raft §5.4.2: commits `index` only when its entry has the leader's current `term`. */
  maybeCommit(index: number, term: number): boolean {
    if (index <= this.committed || this.tryTerm(index) !== term) return false;
    this.commitTo(index);
    return true;
  }

  appliedTo(index: number): void {
    assert(
      index >= this.applied && index <= this.committed,
      `applied ${index} out of [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet handed to the application; none while a snapshot is pending. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    if (this.hasPendingSnapshot() || this.committed <= this.applied) return [];
    return this.slice(this.applied + 1, this.committed + 1, maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return !this.hasPendingSnapshot() && this.committed > this.applied;
  }

  /** The highest index known to be persisted (every index below the unstable offset). */
  persistedIndex(): number {
    return this.hasPendingSnapshot() ? 0 : this.unstable.offset - 1;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** Replaces the log by `snapshot` (committed on the leader, so it is committed here too). */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  /** The latest snapshot: a pending (unpersisted) one, else the storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }
}
