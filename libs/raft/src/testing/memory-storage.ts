// An in-memory Storage with the writes a runtime performs (etcd MemoryStorage). What it holds is what a node
// "persisted": the simulator keeps it across crashes and drops everything else.
// Holds: entries[i].index === offset + 1 + i; offsetTerm is the term at `offset` (the compaction point);
// offset <= snapshot index; hardState.commit <= lastIndex once a Ready was fully persisted.

import { bootstrapSnapshot } from '../bootstrap.js';
import { limitSize } from '../raft-log.js';
import {
  assert,
  CompactedError,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type NodeId,
  type Snapshot,
  type Storage,
  UnavailableError,
} from '../types.js';

const emptySnapshot: Snapshot = {
  metadata: { index: 0, term: 0, confState: { voters: [], learners: [] }, addresses: new Map() },
  data: new Uint8Array(0),
};

export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot = emptySnapshot;
  private offset = 0;
  private offsetTerm = 0;
  private ents: Entry[] = [];

  /** A founding member's storage: the bootstrap snapshot (index 1, term 1) with the initial membership. */
  static bootstrap(options: Parameters<typeof bootstrapSnapshot>[0]): MemoryStorage {
    const storage = new MemoryStorage();
    const { snapshot, hardState } = bootstrapSnapshot(options);
    storage.applySnapshot(snapshot);
    storage.setHardState(hardState);
    return storage;
  }

  initialState(): { hardState: HardState; confState: ConfState; addresses: ReadonlyMap<NodeId, string> } {
    return {
      hardState: this.hardState,
      confState: this.snap.metadata.confState,
      addresses: this.snap.metadata.addresses,
    };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.offset) throw new CompactedError(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - this.offset - 1, hi - this.offset - 1), maxBytes);
  }

  term(index: number): number {
    if (index < this.offset) throw new CompactedError(index, this.firstIndex());
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    return index === this.offset ? this.offsetTerm : this.ents[index - this.offset - 1]!.term;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.ents.length;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** The ConfChange entries in [lo, hi) by a filter of the log: the simulator's restarts take the hinted path. */
  confChangeIndexes(lo: number, hi: number): number[] {
    if (lo <= this.offset) throw new CompactedError(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    const indexes: number[] = [];
    for (let i = lo; i < hi; i++) {
      if (this.ents[i - this.offset - 1]!.type === EntryType.ConfChange) indexes.push(i);
    }
    return indexes;
  }

  hardStateNow(): HardState {
    return this.hardState;
  }

  // ---- writes (the runtime's side of Ready) ----

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /** Appends entries; an entry at index i replaces the stored entries from i on. Compacted ones are skipped. */
  append(entries: readonly Entry[]): void {
    const fresh = entries.filter((e) => e.index > this.offset);
    if (fresh.length === 0) return;
    const first = fresh[0]!.index;
    assert(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    this.ents = this.ents.slice(0, first - this.offset - 1).concat(fresh);
  }

  /** Replaces the whole log by `snapshot` (a snapshot received from the leader). */
  applySnapshot(snapshot: Snapshot): void {
    assert(
      snapshot.metadata.index > this.snap.metadata.index,
      `snapshot ${snapshot.metadata.index} is not newer than ${this.snap.metadata.index}`,
    );
    this.snap = snapshot;
    this.offset = snapshot.metadata.index;
    this.offsetTerm = snapshot.metadata.term;
    this.ents = [];
  }

  /** Records a snapshot of the state machine at applied index `index`; the log is kept (see compact). */
  createSnapshot(
    index: number,
    membership: { confState: ConfState; addresses: ReadonlyMap<NodeId, string> },
    data: Uint8Array,
  ): Snapshot {
    assert(
      index > this.snap.metadata.index,
      `snapshot ${index} is not newer than ${this.snap.metadata.index}`,
    );
    assert(index <= this.hardState.commit, `snapshot ${index} beyond commit ${this.hardState.commit}`);
    this.snap = {
      metadata: {
        index,
        term: this.term(index),
        confState: membership.confState,
        addresses: membership.addresses,
      },
      data,
    };
    return this.snap;
  }

  /** Discards entries up to `index`, which a snapshot must cover. */
  compact(index: number): void {
    if (index <= this.offset) return;
    assert(index <= this.snap.metadata.index, `compact ${index} beyond snapshot ${this.snap.metadata.index}`);
    this.offsetTerm = this.term(index);
    this.ents = this.ents.slice(index - this.offset);
    this.offset = index;
  }
}
