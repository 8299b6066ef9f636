// Corruption fuzzing of snapshot files (fuzz.spec.ts covers WAL segments). A store with a snapshot is damaged and
// reopened. Damage the checksums can see (flips anywhere, truncation, appended bytes, a zero-filled tail) must be
// refused with SnapshotCorruptionError naming the file at or before the damage. Damage made to look intact (the
// metadata changed and both CRCs recomputed, as a buggy writer or a forger would) tests the metadata decoder itself:
// it must refuse with SnapshotCorruptionError or WalCorruptionError, or load a snapshot whose metadata is exactly
// what the bytes say and is a valid membership (distinct, non-zero ids; no node both voter and learner). Nothing
// else may escape open (no RangeError, TypeError or assertion).

import * as fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from './binary.js';
import { crc32c } from './crc32c.js';
import { SnapshotCorruptionError, WalCorruptionError } from './errors.js';
import type { FileStorage } from './file-storage.js';
import { membershipBytes, writeMembership } from './membership.js';
import { entries, open, snapFiles, snapshotAt, tmpDir } from './storage.test-support.js';

const HEAD_FIXED_BYTES = 20;

/** A closed store holding entries 1..40 and a snapshot at 30 with a 5-voter, 1-learner membership. */
async function storeWithSnapshot(): Promise<{ dir: string; file: string; bytes: Buffer }> {
  const dir = tmpDir();
  const storage = open({ dir });
  storage.append(entries(1, 40, 2));
  storage.setHardState({ term: 2, vote: 1, commit: 35 });
  await storage.sync();
  const snapshot = snapshotAt(
    30,
    2,
    new Uint8Array(700).map((_, i) => (i * 31) % 251),
    [1, 2, 3, 4, 5],
  );
  await storage.saveSnapshot({
    ...snapshot,
    metadata: {
      ...snapshot.metadata,
      confState: { voters: [1, 2, 3, 4, 5], learners: [6] },
      addresses: new Map([...snapshot.metadata.addresses, [6, '127.0.0.1:7006']]),
    },
  });
  await storage.close();
  const [file] = snapFiles(dir);
  return { dir, file: file!, bytes: fs.readFileSync(file!) };
}

type Outcome =
  | { kind: 'refused'; error: SnapshotCorruptionError | WalCorruptionError }
  | { kind: 'opened'; storage: FileStorage };

function reopen(dir: string): Outcome {
  try {
    return { kind: 'opened', storage: open({ dir }) };
  } catch (error) {
    if (error instanceof SnapshotCorruptionError || error instanceof WalCorruptionError)
      return { kind: 'refused', error };
    throw new Error(`open threw ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
  }
}

/** Damage the checksums see: must be refused, naming the snapshot file at or before the first damaged byte. */
function expectDetected(dir: string, file: string, firstDamagedByte: number): void {
  const outcome = reopen(dir);
  if (outcome.kind === 'opened') throw new Error(`damage at byte ${firstDamagedByte} was not detected`);
  expect(outcome.error).toBeInstanceOf(SnapshotCorruptionError);
  expect((outcome.error as SnapshotCorruptionError).file).toBe(file);
  // The offset is where the failing check's region starts. Damage to a fixed-header field that passes its own
  // check (the metadata length, the metadata CRC at 16..19) surfaces as the metadata check failing, at 20.
  const { offset } = outcome.error as SnapshotCorruptionError;
  expect(offset).toBeLessThanOrEqual(Math.max(firstDamagedByte, HEAD_FIXED_BYTES));
}

/** Rewrites both CRCs so the file looks intact. */
function resealed(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  const metadataEnd = HEAD_FIXED_BYTES + out.readUInt32LE(12);
  if (metadataEnd + 12 > out.byteLength) return out;
  out.writeUInt32LE(crc32c(out, HEAD_FIXED_BYTES, metadataEnd), 16);
  out.writeUInt32LE(crc32c(out, 0, out.byteLength - 4), out.byteLength - 4);
  return out;
}

describe('corrupted snapshot files', () => {
  it('random multi-byte damage, truncation, appended bytes and zeroed tails are detected (property)', async () => {
    const { dir, file, bytes } = await storeWithSnapshot();
    const size = bytes.byteLength;
    const damage = fc.oneof(
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.nat(size - 1),
        masks: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 16 }),
      }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(size - 1) }),
      fc.record({
        kind: fc.constant('append' as const),
        extra: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      }),
      fc.record({ kind: fc.constant('zero-tail' as const), length: fc.integer({ min: 1, max: size }) }),
    );
    await fc.assert(
      fc.asyncProperty(damage, async (d) => {
        let damaged: Buffer;
        let first: number;
        switch (d.kind) {
          case 'flip':
            damaged = Buffer.from(bytes);
            for (const [i, mask] of d.masks.entries()) if (d.at + i < size) damaged[d.at + i]! ^= mask;
            first = d.at;
            break;
          case 'truncate':
            damaged = bytes.subarray(0, d.at);
            first = d.at;
            break;
          case 'append':
            damaged = Buffer.concat([bytes, d.extra]);
            first = size;
            break;
          case 'zero-tail':
            damaged = Buffer.from(bytes);
            damaged.fill(0, size - d.length);
            // Zeroing bytes that were zero already is no damage; the first real change counts.
            first = damaged.findIndex((b, i) => b !== bytes[i]);
            if (first < 0) return;
            break;
        }
        fs.writeFileSync(file, damaged);
        try {
          expectDetected(dir, file, first);
        } finally {
          fs.writeFileSync(file, bytes);
        }
      }),
      { numRuns: 400 },
    );
    // Restored, the store opens with its snapshot.
    expect(open({ dir }).snapshot().metadata.index).toBe(30);
  }, 120_000);

  it('metadata damaged behind recomputed CRCs is refused or decoded exactly and validly (property)', async () => {
    const { dir, file, bytes } = await storeWithSnapshot();
    const metadataEnd = HEAD_FIXED_BYTES + bytes.readUInt32LE(12);
    const verdicts = { refused: 0, opened: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: HEAD_FIXED_BYTES, max: metadataEnd - 1 }),
            fc.integer({ min: 1, max: 255 }),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        async (flips) => {
          const damaged = Buffer.from(bytes);
          for (const [at, mask] of flips) damaged[at]! ^= mask;
          fs.writeFileSync(file, resealed(damaged));
          try {
            const outcome = reopen(dir);
            if (outcome.kind === 'refused') {
              verdicts.refused++;
              return;
            }
            verdicts.opened++;
            const { metadata } = outcome.storage.snapshot();
            // Exactly what the bytes say: the loaded metadata encodes back to the damaged region.
            const encoded = new Uint8Array(16 + membershipBytes(metadata));
            const writer = new ByteWriter(encoded);
            writer.u64(metadata.index);
            writer.u64(metadata.term);
            writeMembership(writer, metadata);
            expect(
              Buffer.from(encoded).equals(damaged.subarray(HEAD_FIXED_BYTES, metadataEnd)),
              'metadata not decoded exactly',
            ).toBe(true);
            const { voters, learners } = metadata.confState;
            const ids = [...voters, ...learners];
            expect(new Set(ids).size, `duplicate member in ${JSON.stringify({ voters, learners })}`).toBe(
              ids.length,
            );
            expect(
              ids.every((id) => Number.isSafeInteger(id) && id > 0),
              `bad id in ${ids}`,
            ).toBe(true);
            await outcome.storage.close();
          } finally {
            fs.writeFileSync(file, bytes);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(verdicts.refused).toBeGreaterThan(0);
  }, 120_000);
});
