// Snapshot files written in the background (the checksum a slice per turn) read back and verify like any other.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSnapshotFile, writeSnapshotFile, writeSnapshotFileSync } from './snapshot-file.js';
import { snapshotAt } from './storage.test-support.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('writeSnapshotFile', () => {
  it('checksums a multi-megabyte snapshot in slices to the same file as the one-go writer', async () => {
    const data = new Uint8Array(3 * 1024 * 1024 + 123);
    for (let i = 0; i < data.byteLength; i++) data[i] = (i * 131 + 17) & 0xff;
    const snapshot = snapshotAt(42, 3, data);
    const a = mkdtempSync(join(tmpdir(), 'snap-a-'));
    const b = mkdtempSync(join(tmpdir(), 'snap-b-'));
    dirs.push(a, b);
    const sliced = await writeSnapshotFile(a, snapshot, 1 << 30);
    const whole = writeSnapshotFileSync(b, snapshot, 1 << 30);
    expect(readFileSync(sliced).equals(readFileSync(whole))).toBe(true);
    const loaded = loadSnapshotFile(sliced, 1 << 30);
    expect(loaded.metadata.index).toBe(42);
    expect(Buffer.from(loaded.data).equals(Buffer.from(data))).toBe(true);
    // A flipped byte past the first slice is caught by the checksum.
    const bytes = readFileSync(sliced);
    bytes[2 * 1024 * 1024] ^= 0xff;
    writeFileSync(sliced, bytes);
    expect(() => loadSnapshotFile(sliced, 1 << 30)).toThrow();
  });
});
