// The storage's snapshot directory once it is open: snapshot files written durably and reported to the sync
// ledger, and pruned to the newest `snapshotsRetained`.

import * as fs from 'node:fs';
import type { Snapshot } from '@regent/raft';
import { fsyncDir } from './fs-util.js';
import { listSnapshotFiles, snapshotFileBytes, writeSnapshotFile } from './snapshot-file.js';
import type { Limits } from './storage-options.js';
import type { SyncLedger } from './sync-ledger.js';

export class SnapshotStore {
  readonly #snapDir: string;
  readonly #limits: Pick<Limits, 'snapshotBytesMax' | 'snapshotsRetained'>;
  /** Fault injection only; updated after each fsync it reports. */
  readonly #ledger: SyncLedger | undefined;

  constructor(
    snapDir: string,
    limits: Pick<Limits, 'snapshotBytesMax' | 'snapshotsRetained'>,
    ledger: SyncLedger | undefined,
  ) {
    this.#snapDir = snapDir;
    this.#limits = limits;
    this.#ledger = ledger;
  }

  /** Writes `snapshot`'s file durably (see writeSnapshotFile). */
  async write(snapshot: Snapshot): Promise<void> {
    const file = await writeSnapshotFile(this.#snapDir, snapshot, this.#limits.snapshotBytesMax);
    this.#ledger?.durable(file, snapshotFileBytes(snapshot));
  }

  /** Keeps the newest `snapshotsRetained` snapshot files. */
  async prune(): Promise<void> {
    const files = listSnapshotFiles(this.#snapDir);
    const excess = files.slice(0, Math.max(0, files.length - this.#limits.snapshotsRetained));
    for (const file of excess) await fs.promises.unlink(file.path);
    if (excess.length === 0) return;
    await fsyncDir(this.#snapDir);
    for (const file of excess) this.#ledger?.deleted(file.path);
  }
}
