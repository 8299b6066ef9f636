// What `openFileStorage` accepts and reports: the options with their defaults and the limits checked once at open,
// the open report, the stats and the metrics hook.

import type { HardState, Snapshot } from '@regent/raft';
import type { TornTail } from './recovery.js';

const MiB = 1024 * 1024;
/** Offsets are kept in Uint32Arrays: a segment (which may exceed segmentBytes by one record) must stay below 4 GiB. */
const SEGMENT_OFFSET_LIMIT_BYTES = 0xffff_ffff;

export interface FileStorageOptions {
  /** Directory owned by this storage: it holds `wal/` and `snap/`. Created if missing. */
  readonly dir: string;
  /** A segment rolls over before a record would take it past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Largest WAL record (12-byte frame header + payload; an entry's payload is 18 bytes + data). Default 16 MiB. */
  readonly recordBytesMax?: number;
  /** Budget for cached entries: data bytes plus 256 bytes per entry (measured object overhead). Default 64 MiB. */
  readonly cacheBytesMax?: number;
  /** Largest snapshot file. Default 1 GiB. */
  readonly snapshotBytesMax?: number;
  /** Snapshot files kept on disk (newest first). Default 2. */
  readonly snapshotsRetained?: number;
  /** Read-only file descriptors kept open for sealed segments (LRU). Default 16. */
  readonly readFdsMax?: number;
  /**
   * The founding state of a new cluster's member: `bootstrapSnapshot(...)` from @regent/raft (a snapshot carrying
   * the initial membership, and its hard state). Installed durably during open when the storage is pristine (no
   * entries, zero term and vote, and no snapshot or exactly this one: an interrupted bootstrap is completed);
   * ignored otherwise — `openReport.bootstrapped` tells which. A node that joins an existing cluster passes nothing
   * and receives its membership with the leader's snapshot.
   */
  readonly bootstrap?: { readonly snapshot: Snapshot; readonly hardState: HardState };
  readonly metrics?: StorageMetricsHook;
  /**
   * FAULT INJECTION ONLY, never in production: a file in which the storage keeps its *sync ledger* — for every file
   * of `dir`, how many of its bytes are known durable (see sync-ledger.ts). `loseUnsyncedWrites` reads it after a
   * kill -9 to make `dir` look as after a power failure. Costs one small write and rename per sync.
   */
  readonly syncLedgerPath?: string;
}

/** Observes WAL syncs, e.g. to feed a Prometheus histogram. Must not throw. */
export interface StorageMetricsHook {
  /** After every fdatasync that `sync()` performs, with its duration in milliseconds. */
  onSync?(durationMs: number): void;
}

export interface StorageStats {
  readonly syncCount: number;
  readonly syncDurationMsTotal: number;
  readonly syncDurationMsMax: number;
  readonly walBytesWritten: number;
  readonly segmentCount: number;
  readonly segmentRollovers: number;
  readonly cacheBytes: number;
  readonly cacheEntries: number;
  /** Bytes of the typed arrays indexing the live log. */
  readonly indexBytes: number;
  /** Entries read back from segment files (cache misses). */
  readonly entriesReadFromDisk: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
}

export interface OpenReport {
  /** True when the directory held no WAL and an empty one was created. */
  readonly created: boolean;
  /** True when this open installed `options.bootstrap`. */
  readonly bootstrapped: boolean;
  readonly segmentsScanned: number;
  /** Segments wholly covered by the snapshot, deleted without being read. */
  readonly segmentsDeleted: number;
  readonly recordsScanned: number;
  /** The torn tail truncated from the active segment, if any. */
  readonly tornTail: TornTail | undefined;
  readonly snapshotIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly durationMs: number;
}

/** The limits of `FileStorageOptions` with their defaults applied (see `limitsOf`). */
export interface Limits {
  readonly segmentBytes: number;
  readonly recordBytesMax: number;
  readonly cacheBytesMax: number;
  readonly snapshotBytesMax: number;
  readonly snapshotsRetained: number;
  readonly readFdsMax: number;
}

export function limitsOf(options: FileStorageOptions): Limits {
  const limits: Limits = {
    segmentBytes: options.segmentBytes ?? 64 * MiB,
    recordBytesMax: options.recordBytesMax ?? 16 * MiB,
    cacheBytesMax: options.cacheBytesMax ?? 64 * MiB,
    snapshotBytesMax: options.snapshotBytesMax ?? 1024 * MiB,
    snapshotsRetained: options.snapshotsRetained ?? 2,
    readFdsMax: options.readFdsMax ?? 16,
  };
  const check = (name: keyof Limits, min: number): void => {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || value < min)
      throw new RangeError(`${name} must be an integer >= ${min}: ${value}`);
  };
  check('segmentBytes', 256);
  check('recordBytesMax', 256);
  check('cacheBytesMax', 0);
  check('snapshotBytesMax', 64);
  check('snapshotsRetained', 1);
  check('readFdsMax', 1);
  if (limits.segmentBytes + limits.recordBytesMax > SEGMENT_OFFSET_LIMIT_BYTES) {
    throw new RangeError(`segmentBytes + recordBytesMax must stay below 4 GiB`);
  }
  return Object.freeze(limits);
}
