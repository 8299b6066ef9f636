import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssertionError, bootstrapSnapshot, CompactedError, UnavailableError } from '@regent/raft';
import { describe, expect, it } from 'vitest';
import { RecordTooLargeError, StorageClosedError } from './errors.js';
import type { FileStorage } from './file-storage.js';
import { writeSnapshotFileSync } from './snapshot-file.js';
import {
  entries,
  entry,
  entryData,
  open,
  payload,
  snapFiles,
  snapshotAt,
  tmpDir,
  walFiles,
} from './storage.test-support.js';
import { ENTRY_RECORD_OVERHEAD_BYTES } from './wal.js';

const founding = bootstrapSnapshot({
  voters: [1, 2, 3],
  learners: [4],
  addresses: new Map([
    [1, '127.0.0.1:7001'],
    [2, '127.0.0.1:7002'],
    [3, '127.0.0.1:7003'],
    [4, '127.0.0.1:7004'],
  ]),
});

describe('a brand-new storage', () => {
  it('starts empty, with an empty membership, when nothing bootstraps it', () => {
    const storage = open({ dir: tmpDir() });
    expect(storage.openReport).toMatchObject({ created: true, bootstrapped: false });
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(0)]).toEqual([1, 0, 0]);
    expect(storage.snapshot().metadata.index).toBe(0);
    expect(storage.initialState()).toEqual({
      hardState: { term: 0, vote: 0, commit: 0 },
      confState: { voters: [], learners: [] },
      addresses: new Map(),
    });
  });

  it('installs the bootstrap snapshot and hard state durably, once', async () => {
    const dir = tmpDir();
    const storage = open({ dir, bootstrap: founding });
    expect(storage.openReport).toMatchObject({ created: true, bootstrapped: true });
    const expectState = (s: FileStorage): void => {
      expect([s.firstIndex(), s.lastIndex(), s.term(1)]).toEqual([2, 1, 1]);
      expect(s.initialState()).toEqual({
        hardState: founding.hardState,
        confState: founding.snapshot.metadata.confState,
        addresses: founding.snapshot.metadata.addresses,
      });
    };
    expectState(storage);
    storage.append(entries(2, 4, 1));
    await storage.sync();
    await storage.close();

    const reopened = open({ dir, bootstrap: founding });
    expect(reopened.openReport).toMatchObject({ created: false, bootstrapped: false });
    expect([reopened.firstIndex(), reopened.lastIndex(), reopened.term(1)]).toEqual([2, 4, 1]);
    expect(reopened.initialState().hardState).toEqual(founding.hardState);
    expect(reopened.snapshot().metadata.confState).toEqual(founding.snapshot.metadata.confState);
  });

  it('completes a bootstrap interrupted after the snapshot file was written', async () => {
    const dir = tmpDir();
    await open({ dir }).close();
    writeSnapshotFileSync(path.join(dir, 'snap'), founding.snapshot, 1 << 20);
    const storage = open({ dir, bootstrap: founding });
    expect(storage.openReport.bootstrapped).toBe(true);
    expect(storage.initialState().hardState).toEqual(founding.hardState);
    expect(storage.lastIndex()).toBe(1);
  });

  it('does not bootstrap a storage that already holds state', async () => {
    const dir = tmpDir();
    const storage = open({ dir });
    storage.append(entries(1, 2, 1));
    await storage.sync();
    await storage.close();
    const reopened = open({ dir, bootstrap: founding });
    expect(reopened.openReport.bootstrapped).toBe(false);
    expect(reopened.snapshot().metadata.index).toBe(0);
  });
});

describe('append and read', () => {
  it('reads back entries, terms and bounds', () => {
    const storage = open({ dir: tmpDir() });
    const written = [...entries(1, 5, 1), ...entries(6, 10, 2)];
    storage.append(written);
    expect(storage.firstIndex()).toBe(1);
    expect(storage.lastIndex()).toBe(10);
    expect(storage.term(5)).toBe(1);
    expect(storage.term(6)).toBe(2);
    expect(entryData(storage.entries(1, 11, Number.POSITIVE_INFINITY))).toEqual(entryData(written));
    expect(entryData(storage.entries(3, 6, Number.POSITIVE_INFINITY))).toEqual(
      entryData(written.slice(2, 5)),
    );
    expect(storage.entries(4, 4, 0)).toEqual([]);
  });

  it('limits entries() by maxBytes but always returns at least one', () => {
    const storage = open({ dir: tmpDir() });
    storage.append(entries(1, 10, 1, 100));
    // Sizes as the core counts them: data bytes + entryOverheadBytes (16).
    expect(storage.entries(1, 11, 0)).toHaveLength(1);
    expect(storage.entries(1, 11, 250)).toHaveLength(2);
    expect(storage.entries(1, 11, 348)).toHaveLength(3);
  });

  it('applies the same maxBytes rule to entries read from disk', () => {
    const storage = open({ dir: tmpDir(), cacheBytesMax: 0 });
    storage.append(entries(1, 10, 1, 100));
    expect(storage.entries(1, 11, 0)).toHaveLength(1);
    expect(storage.entries(1, 11, 250)).toHaveLength(2);
    expect(storage.entries(1, 11, 347)).toHaveLength(2);
    expect(entryData(storage.entries(1, 11, 1160))).toEqual(entryData(entries(1, 10, 1, 100)));
    expect(storage.stats().entriesReadFromDisk).toBeGreaterThan(0);
  });

  it('throws CompactedError below the first index and UnavailableError past the last', async () => {
    const storage = open({ dir: tmpDir() });
    storage.append(entries(1, 10, 1));
    expect(() => storage.entries(0, 2, 100)).toThrow(CompactedError);
    expect(() => storage.entries(5, 12, 100)).toThrow(UnavailableError);
    expect(() => storage.term(11)).toThrow(UnavailableError);
    storage.setHardState({ term: 1, vote: 1, commit: 8 });
    await storage.saveSnapshot(snapshotAt(6, 1));
    await storage.compact(6);
    expect(storage.firstIndex()).toBe(7);
    expect(storage.term(6)).toBe(1);
    expect(() => storage.term(5)).toThrow(CompactedError);
    expect(() => storage.entries(6, 8, 100)).toThrow(expect.objectContaining({ index: 6, firstIndex: 7 }));
    expect(() => storage.entries(6, 8, 100)).toThrow(CompactedError);
  });

  it('truncates a conflicting suffix, in memory and after a restart', async () => {
    const dir = tmpDir();
    const storage = open({ dir });
    storage.append(entries(1, 10, 1));
    storage.append(entries(6, 7, 2, 8, 1));
    expect(storage.lastIndex()).toBe(7);
    expect(storage.term(6)).toBe(2);
    const expected = [...entries(1, 5, 1), ...entries(6, 7, 2, 8, 1)];
    expect(entryData(storage.entries(1, 8, Number.POSITIVE_INFINITY))).toEqual(entryData(expected));
    await storage.sync();
    await storage.close();
    const reopened = open({ dir });
    expect(reopened.lastIndex()).toBe(7);
    expect(entryData(reopened.entries(1, 8, Number.POSITIVE_INFINITY))).toEqual(entryData(expected));
  });

  it('refuses to truncate committed entries or to leave a gap', () => {
    const storage = open({ dir: tmpDir() });
    storage.append(entries(1, 5, 1));
    storage.setHardState({ term: 1, vote: 0, commit: 3 });
    expect(() => storage.append(entries(3, 4, 2))).toThrow(AssertionError);
    expect(() => storage.append(entries(7, 8, 1))).toThrow(AssertionError);
    expect(storage.lastIndex()).toBe(5);
  });

  it('skips entries at or below the snapshot index', async () => {
    const storage = open({ dir: tmpDir() });
    storage.append(entries(1, 5, 1));
    storage.setHardState({ term: 1, vote: 0, commit: 5 });
    await storage.saveSnapshot(snapshotAt(4, 1));
    storage.append(entries(3, 7, 1));
    expect(storage.lastIndex()).toBe(7);
    expect(entryData(storage.entries(1, 8, Number.POSITIVE_INFINITY))).toEqual(entryData(entries(1, 7, 1)));
  });

  it('rejects a record larger than recordBytesMax without writing anything', () => {
    const storage = open({ dir: tmpDir(), recordBytesMax: 1024 });
    storage.append(entries(1, 2, 1));
    const tooBig = entry(3, 1, new Uint8Array(1024 - ENTRY_RECORD_OVERHEAD_BYTES + 1));
    expect(() => storage.append([entry(3, 1), { ...tooBig, index: 4 }])).toThrow(RecordTooLargeError);
    expect(storage.lastIndex()).toBe(2);
    storage.append([entry(3, 1, new Uint8Array(1024 - ENTRY_RECORD_OVERHEAD_BYTES))]);
    expect(storage.lastIndex()).toBe(3);
  });

  it('keeps the entry cache within cacheBytesMax', () => {
    const storage = open({ dir: tmpDir(), cacheBytesMax: 10_000 });
    storage.append(entries(1, 1000, 1, 100));
    expect(storage.stats().cacheBytes).toBeLessThanOrEqual(10_000);
    expect(storage.stats().cacheEntries).toBeGreaterThan(0);
    expect(entryData(storage.entries(1, 1001, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(1, 1000, 1, 100)),
    );
  });
});

describe('durability', () => {
  it('recovers everything synced after a restart, reading from disk', async () => {
    const dir = tmpDir();
    const storage = open({ dir });
    storage.append(entries(1, 20, 1, 50));
    storage.setHardState({ term: 2, vote: 3, commit: 15 });
    storage.append(entries(21, 30, 2, 50));
    await storage.sync();
    await storage.close();

    const reopened = open({ dir, cacheBytesMax: 0 });
    expect(reopened.initialState().hardState).toEqual({ term: 2, vote: 3, commit: 15 });
    expect(reopened.lastIndex()).toBe(30);
    const expected = [...entries(1, 20, 1, 50), ...entries(21, 30, 2, 50)];
    expect(entryData(reopened.entries(1, 31, Number.POSITIVE_INFINITY))).toEqual(entryData(expected));
  });

  it('shares fdatasyncs between concurrent sync() calls and reports them to the metrics hook', async () => {
    const durations: number[] = [];
    const storage = open({ dir: tmpDir(), metrics: { onSync: (durationMs) => durations.push(durationMs) } });
    storage.append(entries(1, 1, 1));
    const first = storage.sync();
    storage.append(entries(2, 2, 1));
    const second = storage.sync();
    storage.append(entries(3, 3, 1));
    const third = storage.sync();
    expect(third).toBe(second);
    await Promise.all([first, second, third]);
    expect(storage.stats().syncCount).toBe(2);
    expect(durations).toHaveLength(2);
    await storage.sync();
    expect(storage.stats().syncCount).toBe(2);
  });

  it('persist() appends, records the hard state and syncs', async () => {
    const dir = tmpDir();
    const storage = open({ dir });
    await storage.persist({ entries: entries(1, 3, 1), hardState: { term: 1, vote: 1, commit: 2 } });
    expect(storage.stats().syncCount).toBe(1);
    await storage.close();
    const reopened = open({ dir });
    expect(reopened.lastIndex()).toBe(3);
    expect(reopened.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 2 });
  });

  it('rejects hard states that break Raft invariants', () => {
    const storage = open({ dir: tmpDir() });
    storage.append(entries(1, 3, 1));
    storage.setHardState({ term: 2, vote: 1, commit: 2 });
    expect(() => storage.setHardState({ term: 1, vote: 1, commit: 2 })).toThrow(AssertionError);
    expect(() => storage.setHardState({ term: 2, vote: 2, commit: 2 })).toThrow(AssertionError);
    expect(() => storage.setHardState({ term: 2, vote: 1, commit: 1 })).toThrow(AssertionError);
    expect(() => storage.setHardState({ term: 2, vote: 1, commit: 4 })).toThrow(AssertionError);
    storage.setHardState({ term: 3, vote: 2, commit: 3 });
    expect(storage.hardState()).toEqual({ term: 3, vote: 2, commit: 3 });
  });

  it('throws StorageClosedError after close', async () => {
    const storage = open({ dir: tmpDir() });
    await storage.close();
    expect(() => storage.lastIndex()).toThrow(StorageClosedError);
    expect(() => storage.append(entries(1, 1, 1))).toThrow(StorageClosedError);
    await expect(storage.sync()).rejects.toThrow(StorageClosedError);
  });
});

describe('segments', () => {
  it('rolls over at segmentBytes and reads across segments after a restart', async () => {
    const dir = tmpDir();
    const storage = open({ dir, segmentBytes: 1024, cacheBytesMax: 0, readFdsMax: 2 });
    for (let i = 1; i <= 100; i += 10) storage.append(entries(i, i + 9, 1, 40));
    await storage.sync();
    const files = walFiles(dir);
    expect(files.length).toBeGreaterThan(5);
    expect(storage.stats().segmentRollovers).toBe(files.length - 1);
    for (const file of files) expect(fs.statSync(file).size).toBeLessThanOrEqual(1024);
    expect(path.basename(files[0]!)).toBe('00000000000000000001-00000000000000000001.seg');
    expect(entryData(storage.entries(1, 101, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(1, 100, 1, 40)),
    );
    await storage.close();

    const reopened = open({ dir, segmentBytes: 1024, cacheBytesMax: 0, readFdsMax: 2 });
    expect(reopened.openReport.segmentsScanned).toBe(files.length);
    expect(entryData(reopened.entries(1, 101, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(1, 100, 1, 40)),
    );
  });

  it('names a segment by its sequence number and the first index it was created for', () => {
    const dir = tmpDir();
    const storage = open({ dir, segmentBytes: 512 });
    storage.append(entries(1, 40, 1, 20));
    const names = walFiles(dir).map((file) => path.basename(file));
    const firstIndexes = names.map((name) => Number(name.slice(21, 41)));
    expect(names.map((name) => Number(name.slice(0, 20)))).toEqual(names.map((_, i) => i + 1));
    expect(firstIndexes[0]).toBe(1);
    for (let i = 1; i < firstIndexes.length; i++)
      expect(firstIndexes[i]).toBeGreaterThan(firstIndexes[i - 1]!);
    expect(storage.stats().segmentCount).toBe(names.length);
  });

  it('rolls over while an fdatasync of the previous segment is in flight', async () => {
    const dir = tmpDir();
    const storage = open({ dir, segmentBytes: 512, readFdsMax: 1, cacheBytesMax: 0 });
    storage.append(entries(1, 3, 1, 20));
    const inFlight = storage.sync();
    storage.append(entries(4, 40, 1, 20));
    expect(storage.stats().segmentRollovers).toBeGreaterThan(2);
    expect(entryData(storage.entries(1, 41, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(1, 40, 1, 20)),
    );
    await Promise.all([inFlight, storage.sync()]);
    await storage.close();
    const reopened = open({ dir, segmentBytes: 512 });
    expect(entryData(reopened.entries(1, 41, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(1, 40, 1, 20)),
    );
  });

  it('truncation back into an earlier segment survives a restart', async () => {
    const dir = tmpDir();
    const storage = open({ dir, segmentBytes: 512 });
    storage.append(entries(1, 40, 1, 20));
    storage.append(entries(5, 12, 2, 20, 3));
    await storage.sync();
    await storage.close();
    const reopened = open({ dir, segmentBytes: 512 });
    expect(reopened.lastIndex()).toBe(12);
    const expected = [...entries(1, 4, 1, 20), ...entries(5, 12, 2, 20, 3)];
    expect(entryData(reopened.entries(1, 13, Number.POSITIVE_INFINITY))).toEqual(entryData(expected));
  });
});

describe('snapshots and compaction', () => {
  it('deletes old segments only once a snapshot covers all their entries', async () => {
    const dir = tmpDir();
    const storage = open({ dir, segmentBytes: 1024 });
    storage.append(entries(1, 100, 1, 40));
    storage.setHardState({ term: 1, vote: 1, commit: 100 });
    await storage.sync();
    const before = walFiles(dir);

    await storage.compact(0);
    expect(walFiles(dir)).toEqual(before);
    await expect(storage.compact(10)).rejects.toThrow(AssertionError);

    await storage.saveSnapshot(snapshotAt(50, 1));
    expect(walFiles(dir)).toEqual(before);
    await storage.compact(50);
    const after = walFiles(dir);
    expect(after.length).toBeLessThan(before.length);
    expect(after).toEqual(before.slice(before.length - after.length));
    // The oldest remaining segment still holds entry 51.
    expect(entryData(storage.entries(51, 101, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(51, 100, 1, 40)),
    );
    await storage.close();

    const reopened = open({ dir, segmentBytes: 1024, cacheBytesMax: 0 });
    expect(reopened.firstIndex()).toBe(51);
    expect(reopened.term(50)).toBe(1);
    expect(reopened.snapshot().metadata.index).toBe(50);
    expect(reopened.initialState().confState).toEqual({ voters: [1, 2, 3], learners: [] });
    expect(entryData(reopened.entries(51, 101, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(51, 100, 1, 40)),
    );
  });

  it('ignores a local snapshot that is not newer than the current one', async () => {
    const storage = open({ dir: tmpDir() });
    storage.append(entries(1, 10, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 10 });
    expect(await storage.saveSnapshot(snapshotAt(6, 1))).toBe(true);
    expect(await storage.saveSnapshot(snapshotAt(6, 1))).toBe(false);
    expect(await storage.saveSnapshot(snapshotAt(4, 1))).toBe(false);
    expect(storage.snapshot().metadata.index).toBe(6);
  });

  it('keeps the newest two snapshot files', async () => {
    const dir = tmpDir();
    const storage = open({ dir });
    storage.append(entries(1, 10, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 10 });
    for (const index of [2, 4, 6, 8]) await storage.saveSnapshot(snapshotAt(index, 1));
    expect(snapFiles(dir).map((file) => path.basename(file))).toEqual([
      '00000000000000000006.snap',
      '00000000000000000008.snap',
    ]);
    await storage.close();
    const reopened = open({ dir });
    expect(reopened.snapshot().metadata.index).toBe(8);
    expect(reopened.snapshot().data).toEqual(snapshotAt(8, 1).data);
    expect(reopened.snapshot().metadata.addresses).toEqual(snapshotAt(8, 1).metadata.addresses);
  });

  it('deletes covered segments on open when compaction did not happen before a restart', async () => {
    const dir = tmpDir();
    const storage = open({ dir, segmentBytes: 1024 });
    storage.append(entries(1, 100, 1, 40));
    storage.setHardState({ term: 1, vote: 1, commit: 100 });
    await storage.saveSnapshot(snapshotAt(90, 1));
    const before = walFiles(dir).length;
    await storage.close();
    const reopened = open({ dir, segmentBytes: 1024 });
    expect(reopened.openReport.segmentsDeleted).toBeGreaterThan(0);
    expect(reopened.openReport.segmentsScanned + reopened.openReport.segmentsDeleted).toBe(before);
    expect(walFiles(dir)).toHaveLength(before - reopened.openReport.segmentsDeleted);
    expect(reopened.firstIndex()).toBe(91);
    expect(entryData(reopened.entries(91, 101, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(91, 100, 1, 40)),
    );
  });

  it('applySnapshot keeps the log after a matching (index, term)', async () => {
    const dir = tmpDir();
    const storage = open({ dir });
    storage.append(entries(1, 10, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 3 });
    await storage.applySnapshot(snapshotAt(6, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 6 });
    expect(storage.firstIndex()).toBe(7);
    expect(storage.lastIndex()).toBe(10);
    await storage.sync();
    await storage.close();
    const reopened = open({ dir });
    expect(reopened.firstIndex()).toBe(7);
    expect(entryData(reopened.entries(7, 11, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(7, 10, 1)),
    );
  });

  it('applySnapshot drops a conflicting log, also after a restart', async () => {
    const dir = tmpDir();
    const storage = open({ dir, segmentBytes: 1024 });
    storage.append(entries(1, 40, 1, 20));
    storage.setHardState({ term: 1, vote: 1, commit: 3 });
    await storage.applySnapshot(snapshotAt(20, 2));
    expect(storage.firstIndex()).toBe(21);
    expect(storage.lastIndex()).toBe(20);
    expect(storage.term(20)).toBe(2);
    storage.setHardState({ term: 2, vote: 0, commit: 20 });
    storage.append(entries(21, 25, 2, 20, 5));
    await storage.sync();
    await storage.close();
    const reopened = open({ dir, segmentBytes: 1024 });
    expect(reopened.firstIndex()).toBe(21);
    expect(reopened.lastIndex()).toBe(25);
    expect(reopened.term(20)).toBe(2);
    expect(entryData(reopened.entries(21, 26, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(21, 25, 2, 20, 5)),
    );
  });

  it('reconciles a conflicting log with a snapshot file whose WAL marker was lost in a crash', async () => {
    const dir = tmpDir();
    const storage = open({ dir });
    storage.append(entries(1, 10, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 3 });
    await storage.sync();
    const [segment] = walFiles(dir);
    const syncedBytes = fs.statSync(segment!).size;
    await storage.applySnapshot(snapshotAt(8, 2));
    await storage.close();
    fs.truncateSync(segment!, syncedBytes); // the marker record never reached the disk
    const reopened = open({ dir });
    expect(reopened.snapshot().metadata.index).toBe(8);
    expect(reopened.firstIndex()).toBe(9);
    expect(reopened.lastIndex()).toBe(8);
    expect(reopened.term(8)).toBe(2);
  });

  it('returns the snapshot membership from initialState once a snapshot exists', async () => {
    const storage = open({ dir: tmpDir() });
    storage.append(entries(1, 3, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 3 });
    await storage.saveSnapshot(snapshotAt(3, 1, payload(3, 1), [1, 2]));
    expect(storage.initialState().confState).toEqual({ voters: [1, 2], learners: [] });
  });
});

describe('memory', () => {
  it('indexes entries in typed arrays whose size follows the live log', async () => {
    const storage = open({ dir: tmpDir(), cacheBytesMax: 64 * 1024 });
    for (let i = 1; i <= 100_000; i += 1000) storage.append(entries(i, i + 999, 1, 4));
    const indexBytes = storage.stats().indexBytes;
    expect(indexBytes).toBeLessThanOrEqual(100_000 * 2 * 20);
    expect(storage.stats().cacheBytes).toBeLessThanOrEqual(64 * 1024);
    storage.setHardState({ term: 1, vote: 1, commit: 100_000 });
    await storage.saveSnapshot(snapshotAt(99_990, 1));
    await storage.compact(99_990);
    expect(storage.stats().indexBytes).toBeLessThan(indexBytes / 10);
    expect(entryData(storage.entries(99_991, 100_001, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(99_991, 100_000, 1, 4)),
    );
  });
});
