import { AssertionError, EntryType } from '@regent/raft';
import { describe, expect, it } from 'vitest';
import { LOG_INDEX_SLOT_BYTES, LogIndex } from './log-index.js';

function filled(count: number, dummyIndex = 0): LogIndex {
  const index = new LogIndex(dummyIndex, 0);
  for (let i = dummyIndex + 1; i <= dummyIndex + count; i++)
    index.push(i, Math.ceil(i / 10), EntryType.Normal, i % 3, i * 100, 50 + i);
  return index;
}

describe('LogIndex', () => {
  it('stores term, segment, position and size per entry', () => {
    const index = filled(25);
    expect([index.firstIndex, index.lastIndex]).toEqual([1, 25]);
    expect([index.term(0), index.term(10), index.term(11)]).toEqual([0, 1, 2]);
    expect([index.seq(7), index.position(7), index.recordBytes(7)]).toEqual([1, 700, 57]);
    expect(() => index.seq(0)).toThrow(AssertionError);
    expect(() => index.term(26)).toThrow(AssertionError);
    expect(() => index.push(27, 3, EntryType.Normal, 0, 0, 0)).toThrow(AssertionError);
  });

  it.each([
    ['truncateAfter keeps a prefix', (i: LogIndex) => i.truncateAfter(12), [1, 12, 0]],
    ['truncateAfter the dummy empties the log', (i: LogIndex) => i.truncateAfter(0), [1, 0, 0]],
    ['compactTo keeps the term at the new dummy', (i: LogIndex) => i.compactTo(15), [16, 25, 2]],
    ['compactTo the last index empties the log', (i: LogIndex) => i.compactTo(25), [26, 25, 3]],
    ['reset forgets everything', (i: LogIndex) => i.reset(40, 9), [41, 40, 9]],
  ] as const)('%s', (_, change, [first, last, dummyTerm]) => {
    const index = filled(25);
    change(index);
    expect([index.firstIndex, index.lastIndex, index.term(index.dummyIndex)]).toEqual([
      first,
      last,
      dummyTerm,
    ]);
    index.push(last + 1, 9, EntryType.Normal, 4, 4, 4);
    expect([index.lastIndex, index.term(last + 1), index.seq(last + 1)]).toEqual([last + 1, 9, 4]);
  });

  it('grows with the live log and shrinks after compaction', () => {
    const index = filled(100_000);
    expect(index.memoryBytes).toBeLessThanOrEqual(2 * 100_000 * LOG_INDEX_SLOT_BYTES);
    index.compactTo(99_000);
    expect(index.memoryBytes).toBeLessThanOrEqual(4 * 1024 * LOG_INDEX_SLOT_BYTES);
    expect([index.term(99_000), index.position(99_500), index.lastIndex]).toEqual([9900, 9_950_000, 100_000]);
  });

  it('reuses space at the front when compaction and appends alternate', () => {
    const index = filled(1000);
    const bytes = index.memoryBytes;
    for (let round = 0; round < 100; round++) {
      index.compactTo(index.lastIndex - 10);
      for (let k = 0; k < 100; k++) index.push(index.lastIndex + 1, 200, EntryType.Normal, 1, 1, 1);
    }
    expect(index.memoryBytes).toBe(bytes);
    expect(index.lastIndex).toBe(11_000);
  });
});
