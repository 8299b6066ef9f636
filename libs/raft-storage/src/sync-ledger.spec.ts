// The sync ledger (fault injection only) names exactly the bytes a completed fsync made durable, and
// loseUnsyncedWrites turns a crashed storage directory into what a power failure would leave.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileStorage } from './file-storage.js';
import {
  entries,
  entryData,
  fileSize,
  open,
  snapFiles,
  snapshotAt,
  tmpDir,
  walFiles,
} from './storage.test-support.js';
import { loseUnsyncedWrites, readSyncLedger, SyncLedgerFormatError } from './sync-ledger.js';
import { createSegmentFile } from './wal.js';

/** An entry record with the 8-byte payloads of `entries()`: 12 frame + 18 fields + 8 data. */
const ENTRY_RECORD_BYTES = 38;
/** A hard-state record: 12 frame + 1 kind + 3 × 8. */
const HARD_STATE_RECORD_BYTES = 37;

function setup(segmentBytes?: number): { dir: string; ledgerPath: string; reopen: () => FileStorage } {
  const root = tmpDir();
  const dir = path.join(root, 'node');
  const ledgerPath = path.join(root, 'node.sync-ledger');
  return { dir, ledgerPath, reopen: () => open({ dir, syncLedgerPath: ledgerPath, segmentBytes }) };
}

function ledgerOf(ledgerPath: string): Record<string, number> {
  return Object.fromEntries(readSyncLedger(ledgerPath) ?? []);
}

const rel = (dir: string, file: string): string => path.relative(dir, file).split(path.sep).join('/');

describe('the sync ledger', () => {
  it('is off by default: nothing but wal/ and snap/ is written', async () => {
    const dir = tmpDir();
    const storage = open({ dir });
    storage.append(entries(1, 3, 1));
    await storage.sync();
    expect(fs.readdirSync(dir).sort()).toEqual(['snap', 'wal']);
  });

  it('names every file at open, then the length each completed sync made durable', async () => {
    const { dir, ledgerPath, reopen } = setup();
    const storage = reopen();
    const [segment] = walFiles(dir);
    const headerBytes = fileSize(segment!);
    expect(ledgerOf(ledgerPath)).toEqual({ [rel(dir, segment!)]: headerBytes });

    storage.append(entries(1, 3, 1));
    await storage.sync();
    const synced = headerBytes + 3 * ENTRY_RECORD_BYTES;
    expect(fileSize(segment!)).toBe(synced);
    expect(ledgerOf(ledgerPath)).toEqual({ [rel(dir, segment!)]: synced });

    storage.append(entries(4, 6, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 2 });
    expect(fileSize(segment!)).toBe(synced + 3 * ENTRY_RECORD_BYTES + HARD_STATE_RECORD_BYTES);
    expect(ledgerOf(ledgerPath)).toEqual({ [rel(dir, segment!)]: synced });

    await storage.sync();
    expect(ledgerOf(ledgerPath)).toEqual({ [rel(dir, segment!)]: fileSize(segment!) });
  });

  it('records the length at which an fdatasync was issued, not what was written while it ran', async () => {
    const { dir, ledgerPath, reopen } = setup();
    const storage = reopen();
    const [segment] = walFiles(dir);
    storage.append(entries(1, 2, 1));
    const issuedAt = fileSize(segment!);
    const running = storage.sync();
    storage.append(entries(3, 4, 1));
    await running;
    expect(ledgerOf(ledgerPath)[rel(dir, segment!)]).toBe(issuedAt);
    await storage.sync();
    expect(ledgerOf(ledgerPath)[rel(dir, segment!)]).toBe(issuedAt + 2 * ENTRY_RECORD_BYTES);
  });

  it('records a sealed segment whole and the next one once its directory entry is durable', async () => {
    const { dir, ledgerPath, reopen } = setup(512);
    const storage = reopen();
    storage.append(entries(1, 20, 1));
    const files = walFiles(dir);
    expect(files.length).toBeGreaterThan(1);
    const ledger = ledgerOf(ledgerPath);
    for (const sealed of files.slice(0, -1)) expect(ledger[rel(dir, sealed)]).toBe(fileSize(sealed));
    const active = files.at(-1)!;
    // Only the header of the active segment is durable: its entries were never synced.
    expect(ledger[rel(dir, active)]).toBeLessThan(fileSize(active));
    expect(Object.keys(ledger).sort()).toEqual(files.map((f) => rel(dir, f)));
  });

  it('adds a snapshot file once durable and drops pruned files and deleted segments', async () => {
    const { dir, ledgerPath, reopen } = setup(512);
    const storage = reopen();
    storage.append(entries(1, 30, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 30 });
    await storage.sync();
    for (const index of [10, 20, 30]) await storage.saveSnapshot(snapshotAt(index, 1));
    await storage.compact(30);
    const ledger = ledgerOf(ledgerPath);
    const files = [...walFiles(dir), ...snapFiles(dir)];
    expect(snapFiles(dir).map((f) => path.basename(f))).toEqual([
      '00000000000000000020.snap',
      '00000000000000000030.snap',
    ]);
    expect(ledger).toEqual(Object.fromEntries(files.map((f) => [rel(dir, f), fileSize(f)])));
  });

  it('after a kill -9, reopening makes what recovery read durable and names it', async () => {
    const { dir, ledgerPath, reopen } = setup();
    const first = reopen();
    first.append(entries(1, 4, 1));
    await first.close(); // a kill -9: the unsynced entries stay in the page cache
    const [segment] = walFiles(dir);
    expect(ledgerOf(ledgerPath)[rel(dir, segment!)]).toBeLessThan(fileSize(segment!));

    const second = reopen();
    expect(second.lastIndex()).toBe(4);
    expect(ledgerOf(ledgerPath)[rel(dir, segment!)]).toBe(fileSize(segment!));
    await second.close();
    expect(loseUnsyncedWrites({ dir, ledgerPath }).truncated).toEqual([]);
    expect(reopen().lastIndex()).toBe(4);
  });
});

describe('loseUnsyncedWrites', () => {
  it('cuts every file to its durable length: reopening recovers the last synced entry and hard state', async () => {
    const { dir, ledgerPath, reopen } = setup();
    const storage = reopen();
    storage.append(entries(1, 5, 2));
    storage.setHardState({ term: 2, vote: 1, commit: 3 });
    await storage.sync();
    const [segment] = walFiles(dir);
    const synced = fileSize(segment!);
    storage.append(entries(6, 9, 3));
    storage.setHardState({ term: 3, vote: 2, commit: 5 });
    const written = fileSize(segment!);
    await storage.close();

    const report = loseUnsyncedWrites({ dir, ledgerPath });
    expect(report).toEqual({
      ledgerFound: true,
      truncated: [{ file: segment, fromBytes: written, toBytes: synced }],
      zeroed: [],
      deleted: [],
      shorterThanDurable: [],
    });
    const after = reopen();
    expect(after.openReport.tornTail).toBeUndefined();
    expect(after.lastIndex()).toBe(5);
    expect(after.initialState().hardState).toEqual({ term: 2, vote: 1, commit: 3 });
    expect(entryData(after.entries(1, 6, Number.MAX_SAFE_INTEGER))).toEqual(entryData(entries(1, 5, 2)));
  });

  it('torn: keeps a prefix of the unsynced bytes, and recovery drops the torn record', async () => {
    const { dir, ledgerPath, reopen } = setup();
    const storage = reopen();
    storage.append(entries(1, 5, 2));
    await storage.sync();
    storage.append(entries(6, 9, 3));
    storage.setHardState({ term: 3, vote: 2, commit: 5 });
    await storage.close();

    const unsynced = 4 * ENTRY_RECORD_BYTES + HARD_STATE_RECORD_BYTES;
    const report = loseUnsyncedWrites({ dir, ledgerPath, tail: { kind: 'torn', keptFraction: 0.5 } });
    const kept = Math.floor(unsynced / 2); // 2 whole entry records and part of the third
    expect(report.truncated[0]!.fromBytes - report.truncated[0]!.toBytes).toBe(unsynced - kept);
    const after = reopen();
    expect(after.lastIndex()).toBe(7);
    expect(after.openReport.tornTail?.bytesDropped).toBe(kept - 2 * ENTRY_RECORD_BYTES);
    expect(after.initialState().hardState).toEqual({ term: 0, vote: 0, commit: 0 });
  });

  it('zeroed: the size survives but the unsynced bytes read as zeros, a torn tail to recovery', async () => {
    const { dir, ledgerPath, reopen } = setup();
    const storage = reopen();
    storage.append(entries(1, 5, 2));
    await storage.sync();
    storage.append(entries(6, 9, 3));
    await storage.close();
    const [segment] = walFiles(dir);
    const written = fileSize(segment!);

    const report = loseUnsyncedWrites({ dir, ledgerPath, tail: { kind: 'zeroed' } });
    const unsynced = 4 * ENTRY_RECORD_BYTES;
    expect(report.zeroed).toEqual([{ file: segment, fromByte: written - unsynced, bytes: unsynced }]);
    expect(fileSize(segment!)).toBe(written);
    const after = reopen();
    expect(after.lastIndex()).toBe(5);
    expect(after.openReport.tornTail?.bytesDropped).toBe(unsynced);
  });

  it('deletes files the ledger does not name: a segment renamed before its directory fsync, a tmp file', async () => {
    const { dir, ledgerPath, reopen } = setup();
    const storage = reopen();
    storage.append(entries(1, 3, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 3 });
    await storage.sync();
    await storage.close();
    // As if the process died inside a rollover, between the rename of segment 2 and the directory fsync.
    const orphan = createSegmentFile(
      path.join(dir, 'wal'),
      { seq: 2, firstIndex: 4, highWater: 3, hardState: { term: 1, vote: 1, commit: 3 } },
      1 << 20,
    ).path;
    const tmp = path.join(dir, 'snap', '00000000000000000003.snap.tmp');
    fs.writeFileSync(tmp, 'partial');

    const report = loseUnsyncedWrites({ dir, ledgerPath });
    expect([...report.deleted].sort()).toEqual([tmp, orphan].sort());
    expect(fs.existsSync(orphan)).toBe(false);
    const after = reopen();
    expect(after.stats().segmentCount).toBe(1);
    expect(after.lastIndex()).toBe(3);
  });

  it('reports a file shorter than its durable length and leaves it alone', async () => {
    const { dir, ledgerPath, reopen } = setup();
    const storage = reopen();
    storage.append(entries(1, 3, 1));
    await storage.sync();
    await storage.close();
    const [segment] = walFiles(dir);
    const durable = fileSize(segment!);
    fs.truncateSync(segment!, durable - 5);
    const report = loseUnsyncedWrites({ dir, ledgerPath });
    expect(report.shorterThanDurable).toEqual([{ file: segment, bytes: durable - 5, durable }]);
    expect(report.truncated).toEqual([]);
    expect(fileSize(segment!)).toBe(durable - 5);
  });

  it('changes nothing without a ledger, and refuses a malformed one', async () => {
    const { dir, ledgerPath, reopen } = setup();
    const storage = reopen();
    storage.append(entries(1, 3, 1));
    await storage.close();
    const [segment] = walFiles(dir);
    const written = fileSize(segment!);
    fs.unlinkSync(ledgerPath);
    expect(loseUnsyncedWrites({ dir, ledgerPath })).toMatchObject({ ledgerFound: false, truncated: [] });
    expect(fileSize(segment!)).toBe(written);
    fs.writeFileSync(ledgerPath, 'regent-sync-ledger 1\nwal/x.seg -3\n');
    expect(() => loseUnsyncedWrites({ dir, ledgerPath })).toThrow(SyncLedgerFormatError);
    fs.writeFileSync(ledgerPath, 'something else\n');
    expect(() => readSyncLedger(ledgerPath)).toThrow(SyncLedgerFormatError);
  });
});
