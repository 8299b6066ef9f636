// Start-up with Storage.confChangeIndexes: the membership rebuilt from the hinted entries equals the one from a full
// scan of the tail, only ConfChange entries are read, and a wrong hint crashes instead of yielding a wrong membership.

import { encodeConfChange } from './conf-change-codec.js';
import { createRaftNode, type RaftNode } from './raw-node.js';
import { fixedRandom, MemoryStorage } from './testing/index.js';
import { AssertionError, ConfChangeType, type Entry, EntryType, type Storage } from './types.js';

function conf(index: number, type: ConfChangeType, nodeId: number): Entry {
  const data = encodeConfChange({ type, nodeId, context: `10.0.0.${nodeId}:7000` });
  return { index, term: 2, type: EntryType.ConfChange, data };
}

function plain(index: number, type = EntryType.Normal): Entry {
  return { index, term: 2, type, data: new Uint8Array([index]) };
}

/**
 * Voters 1-3 at the bootstrap snapshot (index 1); a local snapshot at 3 (after AddVoter 4) that keeps the entries
 * below it; then more changes, an undecodable one and an invalid one (both skipped by every node).
 */
function storageWithChanges(): MemoryStorage {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3] });
  storage.append([
    plain(2),
    conf(3, ConfChangeType.AddVoter, 4),
    plain(4, EntryType.Noop),
    conf(5, ConfChangeType.AddLearner, 5),
    plain(6),
    { index: 7, term: 2, type: EntryType.ConfChange, data: new Uint8Array([0xff, 0xff]) },
    conf(8, ConfChangeType.RemoveNode, 9),
    conf(9, ConfChangeType.PromoteLearner, 5),
    plain(10),
    conf(11, ConfChangeType.AddLearner, 6),
  ]);
  storage.setHardState({ term: 2, vote: 1, commit: 6 });
  storage.createSnapshot(
    3,
    {
      confState: { voters: [1, 2, 3, 4], learners: [] },
      addresses: new Map([[4, '10.0.0.4:7000']]),
    },
    new Uint8Array([3]),
  );
  return storage;
}

/** The storage without the optional method, and recording the indexes of the entries it returns. */
function observed(
  storage: Storage,
  hint?: Storage['confChangeIndexes'],
): { storage: Storage; read: number[] } {
  const read: number[] = [];
  return {
    read,
    storage: {
      initialState: () => storage.initialState(),
      entries: (lo, hi, maxBytes) => {
        const entries = storage.entries(lo, hi, maxBytes);
        read.push(...entries.map((e) => e.index));
        return entries;
      },
      term: (index) => storage.term(index),
      firstIndex: () => storage.firstIndex(),
      lastIndex: () => storage.lastIndex(),
      snapshot: () => storage.snapshot(),
      ...(hint === undefined ? {} : { confChangeIndexes: hint }),
    },
  };
}

function start(storage: Storage): RaftNode {
  return createRaftNode({ id: 1, random: fixedRandom() }, storage);
}

describe('restart with the ConfChange index hint', () => {
  test('gives the same membership as a full scan, reading only the ConfChange entries after the snapshot', () => {
    const memory = storageWithChanges();
    const scanned = observed(memory);
    const hinted = observed(memory, (lo, hi) => memory.confChangeIndexes(lo, hi));
    const withoutHint = start(scanned.storage);
    const withHint = start(hinted.storage);

    expect(memory.confChangeIndexes(4, 12)).toEqual([5, 7, 8, 9, 11]);
    expect(withHint.membership()).toEqual(withoutHint.membership());
    expect(withHint.appliedMembership()).toEqual(withoutHint.appliedMembership());
    expect(withHint.status().confState).toEqual(withoutHint.status().confState);
    expect(withHint.membership().confState).toEqual({ voters: [1, 2, 3, 4, 5], learners: [6] });
    expect(withHint.appliedMembership().confState).toEqual({ voters: [1, 2, 3, 4], learners: [] });

    expect(scanned.read).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(hinted.read).toEqual([5, 7, 8, 9, 11]);
  });

  test('an empty tail or a tail without changes needs no entry read', () => {
    const memory = MemoryStorage.bootstrap({ voters: [1, 2, 3] });
    const empty = observed(memory, (lo, hi) => memory.confChangeIndexes(lo, hi));
    expect(start(empty.storage).membership().confState.voters).toEqual([1, 2, 3]);
    memory.append([plain(2), plain(3, EntryType.Noop)]);
    const quiet = observed(memory, (lo, hi) => memory.confChangeIndexes(lo, hi));
    expect(start(quiet.storage).membership().confState.voters).toEqual([1, 2, 3]);
    expect([empty.read, quiet.read]).toEqual([[], []]);
  });

  test.each([
    ['an index that is not a ConfChange entry', [5, 6]],
    ['an index at or below the snapshot', [3, 5]],
    ['an index beyond the log', [5, 12]],
    ['indexes out of order', [7, 5]],
    ['a repeated index', [5, 5]],
  ])('a wrong hint throws: %s', (_, indexes) => {
    const memory = storageWithChanges();
    const wrong = observed(memory, () => indexes);
    expect(() => start(wrong.storage)).toThrow(AssertionError);
  });
});
