import { describe, expect, it } from 'vitest';
import { EpochCache, EpochCacheError, OFFSET_UNBOUNDED, truncationPoint } from './epoch-cache.js';

const cache = (...pairs: [number, number][]): EpochCache =>
  EpochCache.of(pairs.map(([epoch, startOffset]) => ({ epoch, startOffset: BigInt(startOffset) })));

describe('EpochCache.append', () => {
  const base = cache([1, 0], [3, 100]);
  it.each([
    { name: 'a higher epoch at a higher offset', epoch: 4, start: 200, ok: true },
    { name: 'the same epoch', epoch: 3, start: 200, reason: 'epoch-not-increasing' },
    { name: 'a lower epoch', epoch: 2, start: 200, reason: 'epoch-not-increasing' },
    { name: 'the same start offset', epoch: 4, start: 100, reason: 'start-not-increasing' },
    { name: 'a lower start offset', epoch: 4, start: 50, reason: 'start-not-increasing' },
  ])('$name', ({ epoch, start, ok, reason }) => {
    const result = base.append(epoch, BigInt(start));
    if (ok) {
      expect(result.ok).toBe(true);
    } else {
      expect(result).toEqual({ ok: false, reason });
    }
  });

  it('derives end offsets from the next entry and leaves the newest one open', () => {
    const result = base.append(4, 250n);
    expect(result.ok && result.cache.entries).toEqual([
      { epoch: 1, startOffset: 0n, endOffset: 100n },
      { epoch: 3, startOffset: 100n, endOffset: 250n },
      { epoch: 4, startOffset: 250n, endOffset: OFFSET_UNBOUNDED },
    ]);
    // Immutable: the original cache is unchanged.
    expect(base.size).toBe(2);
    expect(base.lastEpoch).toBe(3);
    expect(EpochCache.empty.lastEpoch).toBe(-1);
  });

  it('truncates by epoch and by offset, reopening the new last entry', () => {
    const c = cache([1, 0], [3, 100], [5, 300]);
    expect(c.truncateFromEpoch(3).entries).toEqual([
      { epoch: 1, startOffset: 0n, endOffset: OFFSET_UNBOUNDED },
    ]);
    expect(c.truncateFromOffset(300n).entries.map((e) => e.epoch)).toEqual([1, 3]);
    expect(c.truncateFromOffset(301n).entries.map((e) => e.epoch)).toEqual([1, 3, 5]);
    expect(c.truncateFromOffset(0n).size).toBe(0);
    expect(c.truncateFromOffset(300n).last?.endOffset).toBe(OFFSET_UNBOUNDED);
  });

  it('formats and parses the checkpoint text, rejecting bad order and bad lines', () => {
    const c = cache([1, 0], [3, 100]);
    expect(c.format()).toBe('1-0\n3-100\n');
    expect(EpochCache.parse(c.format()).entries).toEqual(c.entries);
    expect(() => EpochCache.parse('3-100\n1-200\n')).toThrow(EpochCacheError);
    expect(() => EpochCache.parse('x-1\n')).toThrow(EpochCacheError);
    expect(c.entryAt(99n)?.epoch).toBe(1);
    expect(c.entryAt(100n)?.epoch).toBe(3);
  });
});

describe('truncationPoint (§3.6)', () => {
  it.each([
    {
      name: 'same history: the smaller max offset',
      local: cache([1, 0], [2, 100]),
      localMax: 150,
      remote: cache([1, 0], [2, 100]),
      remoteMax: 180,
      point: 150n,
    },
    {
      name: 'old master that wrote past the failover: cut at the new epoch start',
      local: cache([1, 0]),
      localMax: 500,
      remote: cache([1, 0], [2, 400]),
      remoteMax: 900,
      point: 400n,
    },
    {
      name: 'diverged newest epoch (same number, other start): falls back to the older common epoch',
      local: cache([1, 0], [3, 450]),
      localMax: 600,
      remote: cache([1, 0], [2, 400], [3, 700]),
      remoteMax: 900,
      point: 400n,
    },
    {
      name: 'local epoch the master never had: skipped, common older epoch bounds',
      local: cache([1, 0], [2, 100], [4, 300]),
      localMax: 350,
      remote: cache([1, 0], [2, 100], [3, 250]),
      remoteMax: 400,
      point: 250n,
    },
    {
      name: 'master behind the slave inside the common epoch: bounded by the master max',
      local: cache([1, 0]),
      localMax: 300,
      remote: cache([1, 0]),
      remoteMax: 120,
      point: 120n,
    },
    {
      name: 'no common epoch',
      local: cache([2, 0]),
      localMax: 10,
      remote: cache([1, 0], [3, 5]),
      remoteMax: 10,
      point: undefined,
    },
    {
      name: 'same epoch, different start offset only',
      local: cache([1, 10]),
      localMax: 20,
      remote: cache([1, 0]),
      remoteMax: 20,
      point: undefined,
    },
    {
      name: 'empty local cache',
      local: cache(),
      localMax: 0,
      remote: cache([1, 0]),
      remoteMax: 5,
      point: undefined,
    },
    {
      name: 'empty remote cache',
      local: cache([1, 0]),
      localMax: 5,
      remote: cache(),
      remoteMax: 0,
      point: undefined,
    },
  ])('$name', ({ local, localMax, remote, remoteMax, point }) => {
    expect(
      truncationPoint(
        { cache: local, maxOffset: BigInt(localMax) },
        { cache: remote, maxOffset: BigInt(remoteMax) },
      ),
    ).toBe(point);
  });
});
