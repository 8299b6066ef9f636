import { RaftLog } from './raft-log.js';
import { MemoryStorage } from './testing/memory-storage.js';
import { AssertionError, CompactedError, type Entry, EntryType, UnavailableError } from './types.js';

/** Entries with the given terms, from index `from`. */
function ents(from: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ index: from + i, term, type: EntryType.Normal, data: new Uint8Array(4) }));
}

/** A log over storage holding `terms` from index 1 (all persisted). */
function logWith(...terms: number[]): RaftLog {
  const storage = new MemoryStorage();
  storage.append(ents(1, ...terms));
  return new RaftLog(storage);
}

describe('RaftLog', () => {
  test.each([
    { name: 'all match', append: ents(1, 1, 2), want: 0 },
    { name: 'new entries after the log', append: ents(3, 3, 3), want: 4 },
    { name: 'conflict in the middle', append: ents(2, 2, 4), want: 3 },
    { name: 'conflict at the first', append: ents(1, 5), want: 1 },
  ])('findConflict: $name → $want', ({ append, want }) => {
    const log = logWith(1, 2, 3);
    expect(log.findConflict(append)).toBe(want);
  });

  // The follower's log holds terms [1,1,1,4,4,5,5,6,6,6] (Raft Figure 7 (a)-style).
  test.each([
    { index: 10, term: 6, want: [10, 6] },
    { index: 10, term: 5, want: [7, 5] },
    { index: 10, term: 3, want: [3, 1] },
    { index: 5, term: 4, want: [5, 4] },
    { index: 10, term: 0, want: [0, 0] },
    { index: 20, term: 6, want: [10, 6] },
  ])('findConflictByTerm($index, $term) → $want', ({ index, term, want }) => {
    const log = logWith(1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
    expect(log.findConflictByTerm(index, term)).toEqual(want);
  });

  test.each([
    // Raft §5.3: reject when the entry at prevIndex does not have prevTerm.
    {
      name: 'prev mismatch',
      prev: [2, 9],
      append: ents(3, 9),
      commit: 3,
      want: undefined,
      last: 3,
      committed: 0,
    },
    {
      name: 'prev beyond the log',
      prev: [5, 3],
      append: ents(6, 3),
      commit: 6,
      want: undefined,
      last: 3,
      committed: 0,
    },
    {
      name: 'appends and commits min(commit, last new)',
      prev: [3, 3],
      append: ents(4, 4, 4),
      commit: 9,
      want: 5,
      last: 5,
      committed: 5,
    },
    {
      name: 'heartbeat commits up to prev',
      prev: [2, 2],
      append: [],
      commit: 3,
      want: 2,
      last: 3,
      committed: 2,
    },
    {
      name: 'truncates a conflicting suffix',
      prev: [1, 1],
      append: ents(2, 4),
      commit: 0,
      want: 2,
      last: 2,
      committed: 0,
    },
    {
      name: 'keeps a matching suffix (old message)',
      prev: [1, 1],
      append: ents(2, 2),
      commit: 0,
      want: 2,
      last: 3,
      committed: 0,
    },
  ])('maybeAppend: $name', ({ prev, append, commit, want, last, committed }) => {
    const log = logWith(1, 2, 3);
    expect(log.maybeAppend(prev[0]!, prev[1]!, commit, append)).toBe(want);
    expect(log.lastIndex()).toBe(last);
    expect(log.committed).toBe(committed);
  });

  test('overwriting a committed entry is a broken invariant', () => {
    const log = logWith(1, 2, 3);
    log.commitTo(2);
    expect(() => log.maybeAppend(1, 1, 3, ents(2, 5))).toThrow(AssertionError);
  });

  test.each([
    { lastIndex: 3, lastTerm: 4, want: true },
    { lastIndex: 1, lastTerm: 4, want: true },
    { lastIndex: 3, lastTerm: 3, want: true },
    { lastIndex: 4, lastTerm: 3, want: true },
    { lastIndex: 2, lastTerm: 3, want: false },
    { lastIndex: 9, lastTerm: 2, want: false },
  ])('isUpToDate($lastIndex, $lastTerm) vs [1,2,3] → $want (§5.4.1)', ({ lastIndex, lastTerm, want }) => {
    expect(logWith(1, 2, 3).isUpToDate(lastIndex, lastTerm)).toBe(want);
  });

  test('maybeCommit commits only entries of the given term (§5.4.2)', () => {
    const log = logWith(1, 2, 3);
    expect(log.maybeCommit(2, 3)).toBe(false);
    expect(log.maybeCommit(3, 3)).toBe(true);
    expect(log.committed).toBe(3);
    expect(() => log.commitTo(4)).toThrow(AssertionError);
  });

  test('slice spans storage and the unstable tail and respects the byte limit', () => {
    const log = logWith(1, 1, 1);
    log.append(ents(4, 2, 2));
    expect(log.slice(2, 6, Number.MAX_SAFE_INTEGER).map((e) => e.index)).toEqual([2, 3, 4, 5]);
    // Each entry counts 4 payload + 16 overhead bytes: 45 bytes fit two.
    expect(log.slice(2, 6, 45).map((e) => e.index)).toEqual([2, 3]);
    expect(log.slice(4, 6, 1).map((e) => e.index)).toEqual([4]);
  });

  test('term lookups below the compaction point and beyond the end', () => {
    const storage = new MemoryStorage();
    storage.append(ents(1, 1, 1, 2, 2));
    storage.setHardState({ term: 2, vote: 0, commit: 4 });
    storage.createSnapshot(
      3,
      { confState: { voters: [1], learners: [] }, addresses: new Map() },
      new Uint8Array(),
    );
    storage.compact(3);
    const log = new RaftLog(storage);
    expect(log.firstIndex()).toBe(4);
    expect(log.term(3)).toBe(2);
    expect(() => log.term(2)).toThrow(CompactedError);
    expect(() => log.term(5)).toThrow(UnavailableError);
    expect(log.tryTerm(2)).toBeUndefined();
    expect(() => log.slice(3, 5, 100)).toThrow(CompactedError);
  });

  test('stableTo drops persisted entries unless the log changed meanwhile', () => {
    const log = logWith(1);
    log.append(ents(2, 2, 2));
    log.stableTo(2, 9);
    expect(log.unstable.entries).toHaveLength(2);
    log.stableTo(2, 2);
    expect(log.unstable.entries.map((e) => e.index)).toEqual([3]);
    expect(log.persistedIndex()).toBe(2);
  });

  test('restore replaces the log with a snapshot', () => {
    const log = logWith(1, 1);
    log.restore({
      metadata: { index: 10, term: 3, confState: { voters: [1], learners: [] }, addresses: new Map() },
      data: new Uint8Array(),
    });
    expect([log.firstIndex(), log.lastIndex(), log.committed, log.term(10)]).toEqual([11, 10, 10, 3]);
    expect(log.hasPendingSnapshot()).toBe(true);
    expect(log.nextCommittedEntries(100)).toEqual([]);
    expect(log.persistedIndex()).toBe(0);
  });
});
