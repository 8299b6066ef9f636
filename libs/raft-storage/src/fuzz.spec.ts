// Corruption fuzzing: damage bytes of WAL segments of a synced store and reopen. Open must either succeed with the
// state after some prefix of the written records (a damaged last record is a torn tail) or throw WalCorruptionError
// naming the damaged file at or before the damaged byte. It must never present data that was not written.

import * as fs from 'node:fs';
import type { HardState } from '@regent/raft';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WalCorruptionError } from './errors.js';
import { type FileStorage, openFileStorage } from './file-storage.js';
import { differences, replay, type WrittenRecord } from './model.test-support.js';
import { entries, open, tmpDir, walFiles } from './storage.test-support.js';
import type { FileStorageOptions } from './storage-options.js';

/** Writes a store with truncations, hard states and several segments; returns the records in write order. */
async function buildStore(options: FileStorageOptions, rounds: number): Promise<WrittenRecord[]> {
  const storage = open(options);
  const written: WrittenRecord[] = [];
  let last = 0;
  let term = 1;
  const setHardState = (hardState: HardState): void => {
    storage.setHardState(hardState);
    written.push({ kind: 'hardState', hardState });
  };
  for (let round = 0; round < rounds; round++) {
    // Overwrite the uncommitted tail every other round, as a follower would after a leader change.
    const start = round % 2 === 1 ? last - 3 : last + 1;
    const batch = entries(start, start + 7, term, 5 + ((round * 7) % 23), round);
    storage.append(batch);
    for (const e of batch) written.push({ kind: 'entry', index: e.index, term: e.term, data: e.data });
    last = start + 7;
    setHardState({ term, vote: 1 + (round % 3), commit: last - 4 });
    term++;
    await storage.sync();
  }
  await storage.close();
  return written;
}

/**
 * Opens the damaged store and judges the outcome: `failure` describes an unacceptable one; `torn` tells whether a
 * torn tail was truncated.
 */
async function judge(
  options: FileStorageOptions,
  written: readonly WrittenRecord[],
  file: string,
  lastDamagedByte: number,
): Promise<{ failure: string | undefined; torn: boolean }> {
  let storage: FileStorage;
  try {
    storage = openFileStorage(options);
  } catch (error) {
    if (!(error instanceof WalCorruptionError))
      return { failure: `open threw ${String(error)}`, torn: false };
    if (error.file !== file)
      return { failure: `error names ${error.file}, damage is in ${file}`, torn: false };
    if (error.offset > lastDamagedByte) {
      return {
        failure: `error offset ${error.offset} is after the damage at ${lastDamagedByte}`,
        torn: false,
      };
    }
    return { failure: undefined, torn: false };
  }
  try {
    const torn = storage.openReport.tornTail !== undefined;
    for (let k = written.length; k >= 0; k--) {
      if (differences(storage, replay(written.slice(0, k))).length === 0) return { failure: undefined, torn };
    }
    return { failure: `state is no prefix: ${differences(storage, replay(written)).join('; ')}`, torn };
  } finally {
    await storage.close();
  }
}

function snapshotFiles(files: readonly string[]): Map<string, Buffer> {
  return new Map(files.map((file) => [file, fs.readFileSync(file)]));
}

function restore(saved: ReadonlyMap<string, Buffer>): void {
  for (const [file, bytes] of saved) fs.writeFileSync(file, bytes);
}

describe('corrupted WAL bytes', () => {
  it('every single damaged byte of a small store is detected or recovered as a prefix', async () => {
    const dir = tmpDir();
    const options: FileStorageOptions = { dir, segmentBytes: 400, cacheBytesMax: 0 };
    const written = await buildStore(options, 4);
    const files = walFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    const saved = snapshotFiles(files);
    const failures: string[] = [];
    let recovered = 0;
    for (const file of files) {
      const size = saved.get(file)!.byteLength;
      for (let offset = 0; offset < size; offset++) {
        const damaged = Buffer.from(saved.get(file)!);
        damaged[offset]! ^= 1 + ((offset * 37) % 255);
        fs.writeFileSync(file, damaged);
        const { failure, torn } = await judge(options, written, file, offset);
        if (failure !== undefined) failures.push(`${file}@${offset}: ${failure}`);
        if (torn) recovered++;
        restore(saved);
      }
    }
    expect(failures).toEqual([]);
    expect(recovered).toBeGreaterThan(0);
  }, 120_000);

  it('random multi-byte damage is detected or recovered as a prefix', async () => {
    const dir = tmpDir();
    const options: FileStorageOptions = { dir, segmentBytes: 1024, cacheBytesMax: 256 };
    const written = await buildStore(options, 12);
    const files = walFiles(dir);
    const saved = snapshotFiles(files);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(files.length - 1),
        fc.nat(),
        fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 16 }),
        async (fileIndex, position, masks) => {
          const file = files[fileIndex]!;
          const damaged = Buffer.from(saved.get(file)!);
          const start = position % damaged.byteLength;
          let lastDamagedByte = start;
          for (const [i, mask] of masks.entries()) {
            if (start + i >= damaged.byteLength) break;
            damaged[start + i]! ^= mask;
            lastDamagedByte = start + i;
          }
          fs.writeFileSync(file, damaged);
          try {
            const { failure } = await judge(options, written, file, lastDamagedByte);
            if (failure !== undefined) expect.fail(failure);
          } finally {
            restore(saved);
          }
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);
});
