import { describe, expect, it } from 'vitest';
import {
  type Cursor,
  compareCursors,
  decodeCursor,
  encodeCursor,
  isAhead,
  maxCursor,
  resumeIndex,
  StateFormatError,
} from './cursor.js';

describe('cursor', () => {
  it.each<[Cursor | undefined, bigint]>([
    [undefined, 0n],
    [{ index: 7n }, 8n],
    [{ index: 7n, position: 0 }, 7n],
    [{ index: 7n, position: 3 }, 7n],
  ])('resume case %#', (cursor, expected) => {
    expect(resumeIndex(cursor)).toBe(expected);
  });

  it.each<[Cursor, Cursor, number]>([
    [{ index: 1n }, { index: 2n, position: 0 }, -1],
    [{ index: 2n, position: 0 }, { index: 2n, position: 1 }, -1],
    [{ index: 2n, position: 5 }, { index: 2n }, -1],
    [{ index: 2n }, { index: 2n }, 0],
    [{ index: 3n, position: 0 }, { index: 2n }, 1],
  ])('compare case %#', (a, b, expected) => {
    expect(compareCursors(a, b)).toBe(expected);
    expect(compareCursors(b, a)).toBe(-expected || 0);
  });

  it('an event is ahead only when it follows the cursor', () => {
    expect(isAhead(1n, 0, undefined)).toBe(true);
    expect(isAhead(5n, 1, { index: 5n, position: 0 })).toBe(true);
    expect(isAhead(5n, 0, { index: 5n, position: 0 })).toBe(false);
    expect(isAhead(5n, 9, { index: 5n })).toBe(false);
    expect(isAhead(4n, 0, { index: 5n, position: 0 })).toBe(false);
    expect(maxCursor(undefined, { index: 1n })).toEqual({ index: 1n });
    expect(maxCursor({ index: 9n }, { index: 1n })).toEqual({ index: 9n });
  });

  it('round-trips through the state file format, including uint64 indexes', () => {
    for (const cursor of [{ index: 0n }, { index: 42n, position: 3 }, { index: 2n ** 64n - 1n }]) {
      expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    }
  });

  it.each([
    'not json',
    '[]',
    '{"version":2,"index":"1"}',
    '{"version":1,"index":1}',
    '{"version":1,"index":"-1"}',
    '{"version":1,"index":"18446744073709551616"}',
    '{"version":1,"index":"1","position":-1}',
    '{"version":1,"index":"1","position":1.5}',
  ])('rejects %s', (text) => {
    expect(() => decodeCursor(text)).toThrow(StateFormatError);
  });
});
