import { describe, expect, it } from 'vitest';
import { ENTRY_CACHE_OVERHEAD_BYTES, EntryCache } from './entry-cache.js';
import { entries, entry } from './storage.test-support.js';

const COST = 10 + ENTRY_CACHE_OVERHEAD_BYTES;

function cached(cache: EntryCache, from: number, to: number): (number | undefined)[] {
  const result: (number | undefined)[] = [];
  for (let i = from; i <= to; i++) result.push(cache.get(i)?.index);
  return result;
}

describe('EntryCache', () => {
  it('evicts the oldest entries to stay within its budget', () => {
    const cache = new EntryCache(3 * COST);
    for (const e of entries(1, 5, 1, 10)) cache.append(e);
    expect(cache.bytes).toBe(3 * COST);
    expect(cached(cache, 1, 5)).toEqual([undefined, undefined, 3, 4, 5]);
  });

  it('truncates from the back and drops from the front', () => {
    const cache = new EntryCache(10 * COST);
    for (const e of entries(1, 8, 1, 10)) cache.append(e);
    cache.truncateFrom(6);
    cache.dropThrough(2);
    expect(cached(cache, 1, 8)).toEqual([undefined, undefined, 3, 4, 5, undefined, undefined, undefined]);
    expect(cache.bytes).toBe(3 * COST);
  });

  it('restarts when an append is not contiguous, and never caches an entry larger than the budget', () => {
    const cache = new EntryCache(4 * COST);
    for (const e of entries(1, 3, 1, 10)) cache.append(e);
    cache.append(entry(10, 1, new Uint8Array(10)));
    expect(cached(cache, 1, 10).filter((i) => i !== undefined)).toEqual([10]);
    cache.append(entry(11, 1, new Uint8Array(5 * COST)));
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });

  it('holds nothing with a zero budget', () => {
    const cache = new EntryCache(0);
    cache.append(entry(1, 1));
    expect(cache.size).toBe(0);
  });
});
