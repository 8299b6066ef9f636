import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SnapshotCorruptionError, WalCorruptionError } from './errors.js';
import {
  entries,
  entryData,
  fileSize,
  flipByte,
  open,
  segmentHeaderBytes,
  snapFiles,
  snapshotAt,
  tmpDir,
  walFiles,
} from './storage.test-support.js';
import { ENTRY_RECORD_OVERHEAD_BYTES } from './wal.js';

const DATA_BYTES = 20;
const ENTRY_BYTES = ENTRY_RECORD_OVERHEAD_BYTES + DATA_BYTES;

/** A closed store holding entries 1..count (one term, synced) in a single segment. */
async function storeWith(count: number): Promise<{ dir: string; segment: string; headerBytes: number }> {
  const dir = tmpDir();
  const storage = open({ dir });
  storage.append(entries(1, count, 1, DATA_BYTES));
  await storage.sync();
  await storage.close();
  const [segment] = walFiles(dir);
  return { dir, segment: segment!, headerBytes: segmentHeaderBytes(segment!) };
}

function openError(options: Parameters<typeof open>[0]): unknown {
  try {
    open(options);
  } catch (error) {
    return error;
  }
  throw new Error('open succeeded');
}

describe('torn tail', () => {
  it.each([
    ['a few payload bytes', 5],
    ['all but the frame header', ENTRY_BYTES - 12],
    ['into the frame header', ENTRY_BYTES - 4],
  ])('truncates a last record missing %s and continues', async (_, chopped) => {
    const { dir, segment } = await storeWith(10);
    const size = fileSize(segment);
    fs.truncateSync(segment, size - chopped);

    const storage = open({ dir });
    expect(storage.lastIndex()).toBe(9);
    expect(storage.openReport.tornTail).toMatchObject({ file: segment, offset: size - ENTRY_BYTES });
    expect(fileSize(segment)).toBe(size - ENTRY_BYTES);
    expect(entryData(storage.entries(1, 10, Number.POSITIVE_INFINITY))).toEqual(
      entryData(entries(1, 9, 1, DATA_BYTES)),
    );

    storage.append(entries(10, 12, 2, DATA_BYTES));
    await storage.sync();
    await storage.close();
    const reopened = open({ dir });
    expect(reopened.openReport.tornTail).toBeUndefined();
    expect(reopened.lastIndex()).toBe(12);
    expect(reopened.term(10)).toBe(2);
  });

  it('treats a checksum mismatch in the very last record as a torn tail', async () => {
    const { dir, segment } = await storeWith(10);
    const size = fileSize(segment);
    flipByte(segment, size - 3);
    const storage = open({ dir });
    expect(storage.lastIndex()).toBe(9);
    expect(storage.openReport.tornTail?.offset).toBe(size - ENTRY_BYTES);
  });

  it('treats a zero-filled tail (size extended, data never written) as torn', async () => {
    const { dir, segment } = await storeWith(10);
    const size = fileSize(segment);
    fs.appendFileSync(segment, new Uint8Array(4096));
    const storage = open({ dir });
    expect(storage.lastIndex()).toBe(10);
    expect(storage.openReport.tornTail).toMatchObject({ offset: size, bytesDropped: 4096 });
  });
});

describe('corruption', () => {
  it('stops on a damaged payload in the middle, naming the file and the record offset', async () => {
    const { dir, segment, headerBytes } = await storeWith(10);
    const recordOffset = headerBytes + 2 * ENTRY_BYTES; // entry 3
    flipByte(segment, recordOffset + ENTRY_BYTES - 1);
    const error = openError({ dir });
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect(error).toMatchObject({ file: segment, offset: recordOffset });
    expect(String(error)).toContain(segment);
  });

  it('stops on a damaged length in the middle', async () => {
    const { dir, segment, headerBytes } = await storeWith(10);
    const recordOffset = headerBytes + 4 * ENTRY_BYTES; // entry 5
    flipByte(segment, recordOffset + 1, 0x01);
    expect(openError({ dir })).toMatchObject({
      name: 'WalCorruptionError',
      file: segment,
      offset: recordOffset,
    });
  });

  it('stops on a damaged segment header', async () => {
    const { dir, segment } = await storeWith(3);
    flipByte(segment, 20);
    expect(openError({ dir })).toMatchObject({ name: 'WalCorruptionError', file: segment, offset: 0 });
  });

  it('never treats damage in a sealed segment as a torn tail', async () => {
    const dir = tmpDir();
    const storage = open({ dir, segmentBytes: 1024 });
    storage.append(entries(1, 100, 1, DATA_BYTES));
    await storage.sync();
    await storage.close();
    const [first] = walFiles(dir);
    const size = fileSize(first!);
    flipByte(first!, size - 2);
    expect(openError({ dir, segmentBytes: 1024 })).toMatchObject({
      name: 'WalCorruptionError',
      file: first,
      offset: size - ENTRY_BYTES,
    });
  });

  it('reports an index gap when a middle segment is missing', async () => {
    const dir = tmpDir();
    const storage = open({ dir, segmentBytes: 1024 });
    storage.append(entries(1, 100, 1, DATA_BYTES));
    await storage.sync();
    await storage.close();
    const files = walFiles(dir);
    fs.unlinkSync(files[1]!);
    const error = openError({ dir, segmentBytes: 1024 });
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect((error as WalCorruptionError).file).toBe(files[2]);
    expect((error as WalCorruptionError).reason).toContain('gap');
  });

  it('refuses a snapshot without any WAL (the hard state would be lost)', async () => {
    const dir = tmpDir();
    const storage = open({ dir });
    storage.append(entries(1, 3, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 3 });
    await storage.saveSnapshot(snapshotAt(3, 1));
    await storage.close();
    for (const file of walFiles(dir)) fs.unlinkSync(file);
    expect(openError({ dir })).toBeInstanceOf(WalCorruptionError);
  });
});

describe('snapshot corruption', () => {
  async function storeWithSnapshot(): Promise<{ dir: string; file: string }> {
    const dir = tmpDir();
    const storage = open({ dir });
    storage.append(entries(1, 5, 1));
    storage.setHardState({ term: 1, vote: 1, commit: 5 });
    await storage.saveSnapshot(snapshotAt(5, 1, new Uint8Array(200).fill(7)));
    await storage.close();
    const [file] = snapFiles(dir);
    return { dir, file: file! };
  }

  it('a flipped byte in the data throws SnapshotCorruptionError at the data offset', async () => {
    const { dir, file } = await storeWithSnapshot();
    const size = fileSize(file);
    flipByte(file, size - 100);
    const error = openError({ dir });
    expect(error).toBeInstanceOf(SnapshotCorruptionError);
    const { offset } = error as SnapshotCorruptionError;
    expect((error as SnapshotCorruptionError).file).toBe(file);
    expect(offset).toBe(size - 4 - 200);
  });

  it('a flipped byte in the metadata throws SnapshotCorruptionError at the metadata offset', async () => {
    const { dir, file } = await storeWithSnapshot();
    flipByte(file, 30);
    expect(openError({ dir })).toMatchObject({ name: 'SnapshotCorruptionError', file, offset: 20 });
  });

  it('every single flipped byte is detected', async () => {
    const { dir, file } = await storeWithSnapshot();
    const size = fileSize(file);
    for (let offset = 0; offset < size; offset += 7) {
      flipByte(file, offset);
      const error = openError({ dir });
      expect(error, `byte ${offset}`).toBeInstanceOf(SnapshotCorruptionError);
      expect((error as SnapshotCorruptionError).offset).toBeLessThanOrEqual(offset);
      flipByte(file, offset);
    }
    expect(open({ dir }).snapshot().metadata.index).toBe(5);
  });

  it('leftover temporary files from an interrupted write are removed on open', async () => {
    const { dir } = await storeWithSnapshot();
    fs.writeFileSync(path.join(dir, 'snap', '00000000000000000009.snap.tmp'), 'partial');
    fs.writeFileSync(path.join(dir, 'wal', '00000000000000000002-00000000000000000006.seg.tmp'), 'partial');
    const storage = open({ dir });
    expect(storage.snapshot().metadata.index).toBe(5);
    expect(fs.readdirSync(path.join(dir, 'snap')).some((name) => name.endsWith('.tmp'))).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'wal')).some((name) => name.endsWith('.tmp'))).toBe(false);
  });
});
