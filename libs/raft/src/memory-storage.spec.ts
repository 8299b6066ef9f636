import { MemoryStorage } from './testing/memory-storage.js';
import { AssertionError, CompactedError, type Entry, EntryType, UnavailableError } from './types.js';

function ents(from: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ index: from + i, term, type: EntryType.Normal, data: new Uint8Array(8) }));
}

const conf = { confState: { voters: [1, 2, 3], learners: [] }, addresses: new Map<number, string>() };

describe('MemoryStorage', () => {
  test('bootstrap holds the initial membership in a snapshot at index 1', () => {
    const s = MemoryStorage.bootstrap({ voters: [1, 2, 3] });
    expect([s.firstIndex(), s.lastIndex(), s.term(1)]).toEqual([2, 1, 1]);
    expect(s.initialState().confState.voters).toEqual([1, 2, 3]);
    expect(s.initialState().hardState).toEqual({ term: 1, vote: 0, commit: 1 });
  });

  test('append replaces the suffix from the first new index', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1, 1, 1));
    s.append(ents(3, 2));
    expect(s.lastIndex()).toBe(3);
    expect(s.term(3)).toBe(2);
    expect(() => s.append(ents(5, 2))).toThrow(AssertionError);
  });

  test('entries are bounded by bytes but at least one is returned', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1, 1));
    expect(s.entries(1, 4, 0)).toHaveLength(1);
    expect(s.entries(1, 4, 48)).toHaveLength(2);
    expect(() => s.entries(1, 5, 100)).toThrow(UnavailableError);
  });

  test('compaction keeps the term of the compaction point and needs a snapshot covering it', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 2, 3, 4));
    s.setHardState({ term: 4, vote: 0, commit: 4 });
    expect(() => s.compact(2)).toThrow(AssertionError);
    s.createSnapshot(3, conf, new Uint8Array([1]));
    s.compact(2);
    expect([s.firstIndex(), s.term(2)]).toEqual([3, 2]);
    expect(() => s.term(1)).toThrow(CompactedError);
    expect(() => s.entries(2, 3, 100)).toThrow(CompactedError);
    expect(s.snapshot().metadata).toMatchObject({ index: 3, term: 3 });
  });

  test('a snapshot must be newer and cover committed state', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1));
    s.setHardState({ term: 1, vote: 0, commit: 1 });
    expect(() => s.createSnapshot(2, conf, new Uint8Array())).toThrow(AssertionError);
    s.createSnapshot(1, conf, new Uint8Array());
    expect(() => s.createSnapshot(1, conf, new Uint8Array())).toThrow(AssertionError);
  });

  test('applySnapshot replaces the whole log', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1));
    s.applySnapshot({ metadata: { index: 10, term: 4, ...conf }, data: new Uint8Array() });
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 10, 4]);
  });
});
