// A node with 1,000,000 entries: the index stays compact, the cache bounded, and a restart behind a snapshot scans
// only the segments after it. Speed is measured and printed, never asserted (see STYLE.md); the asserted facts are
// what makes a restart fast: how many segments and records open reads.

import { type Entry, EntryType } from '@regent/raft';
import { describe, expect, it } from 'vitest';
import { open, snapshotAt, tmpDir, walFiles } from './storage.test-support.js';

const ENTRY_COUNT = 1_000_000;
const BATCH = 10_000;
const MiB = 1024 * 1024;

function batch(from: number): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index < from + BATCH; index++) {
    const data = new Uint8Array(16);
    new DataView(data.buffer).setFloat64(0, index, true);
    result.push({ index, term: 1 + Math.floor(index / 250_000), type: EntryType.Normal, data });
  }
  return result;
}

describe('1,000,000 entries', () => {
  it('index ≤ 32 MiB, bounded cache, and a restart behind a snapshot scans only the active segment', async () => {
    const dir = tmpDir();
    const options = { dir, segmentBytes: 8 * MiB, cacheBytesMax: 4 * MiB };
    const storage = open(options);
    for (let from = 1; from <= ENTRY_COUNT; from += BATCH) storage.append(batch(from));
    storage.setHardState({ term: 4, vote: 1, commit: ENTRY_COUNT });
    await storage.sync();

    const stats = storage.stats();
    expect(stats.lastIndex).toBe(ENTRY_COUNT);
    expect(stats.indexBytes).toBeLessThanOrEqual(32 * MiB);
    expect(stats.cacheBytes).toBeLessThanOrEqual(4 * MiB);
    const segments = walFiles(dir).length;
    expect(segments).toBeGreaterThan(3);
    const [first] = storage.entries(1, 2, 0);
    expect(new DataView(first!.data.buffer).getFloat64(0, true)).toBe(1);

    await storage.saveSnapshot(snapshotAt(ENTRY_COUNT - 10, storage.term(ENTRY_COUNT - 10)));
    await storage.close();

    // Restart without compaction: covered segments are deleted unread, only the active one is scanned.
    const started = performance.now();
    const reopened = open(options);
    const openMs = performance.now() - started;
    console.info(
      `open with ${ENTRY_COUNT} entries behind a snapshot: ${openMs.toFixed(0)} ms`,
      reopened.openReport,
    );
    expect(reopened.openReport.segmentsScanned).toBe(1);
    expect(reopened.openReport.segmentsDeleted).toBe(segments - 1);
    expect(reopened.firstIndex()).toBe(ENTRY_COUNT - 9);
    expect(reopened.lastIndex()).toBe(ENTRY_COUNT);
    expect(reopened.initialState().hardState).toEqual({ term: 4, vote: 1, commit: ENTRY_COUNT });
    const tail = reopened.entries(ENTRY_COUNT - 9, ENTRY_COUNT + 1, Number.POSITIVE_INFINITY);
    expect(tail.map((e) => new DataView(e.data.buffer).getFloat64(0, true))).toEqual(
      Array.from({ length: 10 }, (_, i) => ENTRY_COUNT - 9 + i),
    );
    expect(reopened.stats().indexBytes).toBeLessThan(2 * MiB);
  }, 120_000);
});
