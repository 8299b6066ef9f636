// The durable Raft storage: a segmented WAL plus snapshot files behind the core's synchronous `Storage` read port,
// with the write API the runtime drives (append / setHardState / sync, snapshots, compaction).

import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  AssertionError,
  assert,
  CompactedError,
  type ConfState,
  type Entry,
  entryOverheadBytes,
  entrySizeBytes,
  type HardState,
  type NodeId,
  type Snapshot,
  type Storage,
  UnavailableError,
} from '@regent/raft';
import { EntryCache } from './entry-cache.js';
import {
  RecordTooLargeError,
  SnapshotTooLargeError,
  StorageClosedError,
  StorageFailedError,
  WalCorruptionError,
} from './errors.js';
import { fdatasync, fsyncDir, readUpToSync, writeAllSync } from './fs-util.js';
import type { LogIndex } from './log-index.js';
import {
  type Layout,
  layoutOf,
  type RecoveredState,
  recover,
  type SegmentState,
  type TornTail,
} from './recovery.js';
import {
  listSnapshotFiles,
  snapshotFileBytes,
  writeSnapshotFile,
  writeSnapshotFileSync,
} from './snapshot-file.js';
import { SyncLedger } from './sync-ledger.js';
import {
  createSegmentFile,
  decodeRecordAt,
  ENTRY_RECORD_OVERHEAD_BYTES,
  recordBytes,
  type WalRecord,
  writeRecord,
} from './wal.js';

const MiB = 1024 * 1024;
/** Largest file span one disk read in `entries()` covers (beyond a single record). */
const READ_SPAN_BYTES_MAX = MiB;
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

interface Limits {
  readonly segmentBytes: number;
  readonly recordBytesMax: number;
  readonly cacheBytesMax: number;
  readonly snapshotBytesMax: number;
  readonly snapshotsRetained: number;
  readonly readFdsMax: number;
}

function limitsOf(options: FileStorageOptions): Limits {
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

/**
 * Opens (creating or recovering) the storage in `options.dir`. Synchronous: it runs once at startup.
 * Throws WalCorruptionError / SnapshotCorruptionError when the files are damaged beyond a torn tail.
 */
export function openFileStorage(options: FileStorageOptions): FileStorage {
  const started = performance.now();
  const limits = limitsOf(options);
  const layout = layoutOf(options.dir);
  const recovered = recover(layout, {
    recordBytesMax: limits.recordBytesMax,
    snapshotBytesMax: limits.snapshotBytesMax,
  });
  return new FileStorage(layout, limits, recovered, options, started);
}

/**
 * Durable storage for one Raft node.
 *
 * Write contract (the runtime is the single writer):
 * - `append(entries)` and `setHardState(hs)` write to the active segment synchronously (page cache, no fsync) and
 *   are visible to reads at once. They are durable only when a later `sync()` resolves. Group commit: any number of
 *   appends, then one `sync()`; concurrent `sync()` calls share fdatasyncs. Per Ready: append the entries, set the
 *   hard state, `await sync()`, and only then send messages / acknowledge (`persist()` does the three).
 * - `append` truncates a conflicting suffix: entries from `entries[0].index` on replace the log's. Entries at or
 *   below max(snapshot index, commit) are skipped (committed, hence identical: asserted).
 * - When a segment is full, `append` rolls over: it fdatasyncs the full segment and creates the next one (tmp file,
 *   fsync, rename, directory fsync), blocking the event loop for those fsyncs once per `segmentBytes`.
 * - `saveSnapshot` (a snapshot of the local state machine) and `applySnapshot` (one received from the leader) return
 *   once the snapshot file and its WAL marker are durable. `compact(index)` (index <= snapshot index) drops entries
 *   <= index and deletes the segments whose entries are all <= index.
 * - Any I/O error on a write path fails the storage: every later write throws StorageFailedError. Stop the node.
 *
 * After a restart, `firstIndex()` is the snapshot index + 1 (compaction below the snapshot is not persisted).
 */
export class FileStorage implements Storage {
  readonly openReport: OpenReport;
  readonly #layout: Layout;
  readonly #limits: Limits;
  readonly #metrics: StorageMetricsHook | undefined;
  /** Fault injection only; updated after each fsync it reports, before anything may depend on that fsync. */
  readonly #ledger: SyncLedger | undefined;
  readonly #index: LogIndex;
  readonly #cache: EntryCache;
  /** Oldest first; the last one is the active segment. */
  readonly #segments: SegmentState[];
  #activeFd: number;
  #hardState: HardState;
  #snapshot: Snapshot;
  #highWater: number;

  /** Read-only fds of sealed segments by seq, least recently used first. */
  readonly #readFds = new Map<number, number>();
  /** fds with an fdatasync in flight, and those to close once it finishes. */
  readonly #syncingFds = new Set<number>();
  readonly #closeAfterSync = new Set<number>();
  #scratch = new Uint8Array(64 * 1024);

  /** Incremented by every write; `sync()` makes everything up to the value it captured durable. */
  #writeSeq = 0;
  #syncedSeq = 0;
  #syncRunning: { seq: number; promise: Promise<void> } | undefined;
  #syncQueued: Promise<void> | undefined;
  /** Serialises snapshot and compaction operations. */
  #ops: Promise<unknown> = Promise.resolve();
  #applyingSnapshot = false;
  #failed: unknown;
  #closed = false;

  #syncCount = 0;
  #syncDurationMsTotal = 0;
  #syncDurationMsMax = 0;
  #walBytesWritten = 0;
  #segmentRollovers = 0;
  #entriesReadFromDisk = 0;

  /** Use `openFileStorage`. `openStarted` is the performance.now() at which opening began. */
  constructor(
    layout: Layout,
    limits: Limits,
    recovered: RecoveredState,
    options: Pick<FileStorageOptions, 'bootstrap' | 'metrics' | 'syncLedgerPath'>,
    openStarted: number,
  ) {
    this.#layout = layout;
    this.#limits = limits;
    this.#metrics = options.metrics;
    this.#index = recovered.index;
    this.#cache = new EntryCache(limits.cacheBytesMax);
    this.#segments = recovered.segments;
    this.#activeFd = recovered.activeFd;
    // A crash between applySnapshot and the next hard state can leave commit below the snapshot index; the
    // snapshot's entries are committed by definition, so the invariant commit >= snapshot index is restored here.
    const snapshotIndex = recovered.snapshot.metadata.index;
    this.#hardState =
      recovered.hardState.commit < snapshotIndex
        ? Object.freeze({ ...recovered.hardState, commit: snapshotIndex })
        : recovered.hardState;
    this.#snapshot = recovered.snapshot;
    this.#highWater = recovered.highWater;
    const bootstrapped = options.bootstrap !== undefined && this.#bootstrapIfPristine(options.bootstrap);
    // recover() made everything it read durable and bootstrapping syncs what it writes: all of `dir` is durable now.
    this.#ledger =
      options.syncLedgerPath === undefined ? undefined : new SyncLedger(options.syncLedgerPath, layout.dir);
    this.#ledger?.recordAll();
    this.openReport = Object.freeze({
      created: recovered.created,
      bootstrapped,
      segmentsScanned: recovered.segmentsScanned,
      segmentsDeleted: recovered.segmentsDeleted,
      recordsScanned: recovered.recordsScanned,
      tornTail: recovered.tornTail,
      snapshotIndex: this.#snapshot.metadata.index,
      firstIndex: this.#index.firstIndex,
      lastIndex: this.#index.lastIndex,
      durationMs: performance.now() - openStarted,
    });
  }

  /**
   * Installs the founding snapshot and hard state when the storage is pristine, synchronously and durably: snapshot
   * file, then a marker and the hard state in the WAL, then fdatasync. Every crash point leaves either a pristine
   * storage or one holding exactly the bootstrap snapshot with a zero term, which the next open completes.
   */
  #bootstrapIfPristine(bootstrap: { readonly snapshot: Snapshot; readonly hardState: HardState }): boolean {
    const { index, term } = bootstrap.snapshot.metadata;
    const current = this.#snapshot.metadata;
    const sameSnapshot = current.index === index && current.term === term;
    const pristine =
      this.#index.lastIndex === current.index &&
      this.#hardState.term === 0 &&
      this.#hardState.vote === 0 &&
      (current.index === 0 || sameSnapshot);
    if (!pristine) return false;
    assert(index > 0, `bootstrap snapshot index ${index}`);
    if (!sameSnapshot) {
      writeSnapshotFileSync(this.#layout.snapDir, bootstrap.snapshot, this.#limits.snapshotBytesMax);
      this.#write([{ kind: 'snapshotMarker', index, term, dropLog: true }]);
      this.#index.reset(index, term);
      this.#snapshot = bootstrap.snapshot;
    }
    this.setHardState(bootstrap.hardState);
    fs.fdatasyncSync(this.#activeFd);
    this.#syncedSeq = this.#writeSeq;
    return true;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Storage (read port)

  initialState(): { hardState: HardState; confState: ConfState; addresses: ReadonlyMap<NodeId, string> } {
    this.#checkOpen();
    const { confState, addresses } = this.#snapshot.metadata;
    return { hardState: this.#hardState, confState, addresses };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    this.#checkOpen();
    assert(lo <= hi, `entries(${lo}, ${hi}): lo > hi`);
    if (lo <= this.#index.dummyIndex) throw new CompactedError(lo, this.#index.firstIndex);
    if (hi > this.#index.lastIndex + 1) throw new UnavailableError(hi - 1, this.#index.lastIndex);
    const result: Entry[] = [];
    const budget = { bytes: 0, max: maxBytes };
    let next = lo;
    while (next < hi) {
      const cached = this.#cache.get(next);
      if (cached === undefined) {
        const after = this.#readRun(next, hi, result, budget);
        if (after === next) break;
        next = after;
        continue;
      }
      if (!fitsBudget(result, budget, entrySizeBytes(cached))) break;
      result.push(cached);
      next++;
    }
    return result;
  }

  term(index: number): number {
    this.#checkOpen();
    if (index < this.#index.dummyIndex) throw new CompactedError(index, this.#index.firstIndex);
    if (index > this.#index.lastIndex) throw new UnavailableError(index, this.#index.lastIndex);
    return this.#index.term(index);
  }

  firstIndex(): number {
    this.#checkOpen();
    return this.#index.firstIndex;
  }

  lastIndex(): number {
    this.#checkOpen();
    return this.#index.lastIndex;
  }

  snapshot(): Snapshot {
    this.#checkOpen();
    return this.#snapshot;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Write API (the runtime)

  /** The newest hard state given to `setHardState` (durable once a later `sync()` resolves). */
  hardState(): HardState {
    return this.#hardState;
  }

  /**
   * Appends `entries` (consecutive indexes, non-decreasing terms), truncating any suffix of the log from
   * `entries[0].index` on. Entries <= max(snapshot index, commit) are committed and must equal the log's (asserted):
   * they are skipped, so committed entries are never rewritten. Throws RecordTooLargeError (nothing written)
   * when an entry's record exceeds `recordBytesMax`. The storage owns the entries' data from now on.
   */
  append(entries: readonly Entry[]): void {
    this.#checkAppendable();
    const fresh = this.#newEntries(entries);
    if (fresh.length === 0) return;
    const first = fresh[0]!;
    const lastIndex = this.#index.lastIndex;
    assert(
      first.index <= lastIndex + 1,
      `append at ${first.index} leaves a gap after last index ${lastIndex}`,
    );
    const previousTerm = this.#index.term(first.index - 1);
    assert(
      first.term >= previousTerm,
      `entry ${first.index} term ${first.term} < previous term ${previousTerm}`,
    );

    const positions = this.#write(fresh.map((entry): WalRecord => ({ kind: 'entry', entry })));
    if (first.index <= lastIndex) {
      this.#index.truncateAfter(first.index - 1);
      this.#cache.truncateFrom(first.index);
    }
    for (const [i, entry] of fresh.entries()) {
      const position = positions[i]!;
      this.#index.push(entry.index, entry.term, position.seq, position.offset, position.recordBytes);
      this.#cache.append(entry);
    }
  }

  /** Records the hard state (no-op when unchanged). Call after `append` of the same Ready: commit <= lastIndex. */
  setHardState(hardState: HardState): void {
    this.#checkAppendable();
    const current = this.#hardState;
    if (
      hardState.term === current.term &&
      hardState.vote === current.vote &&
      hardState.commit === current.commit
    ) {
      return;
    }
    assert(
      hardState.term >= current.term,
      `hard state term ${hardState.term} < persisted term ${current.term}`,
    );
    assert(
      hardState.term > current.term || current.vote === 0 || hardState.vote === current.vote,
      `vote changed from ${current.vote} to ${hardState.vote} within term ${current.term}`,
    );
    assert(
      hardState.commit >= current.commit,
      `commit ${hardState.commit} < persisted commit ${current.commit}`,
    );
    assert(
      hardState.commit <= this.#index.lastIndex,
      `commit ${hardState.commit} > last index ${this.#index.lastIndex}`,
    );
    const copy = Object.freeze({ term: hardState.term, vote: hardState.vote, commit: hardState.commit });
    this.#write([{ kind: 'hardState', hardState: copy }]);
    this.#hardState = copy;
  }

  /**
   * Resolves once everything written before the call is on disk (fdatasync of the active segment; sealed segments
   * were synced when they were sealed). Calls made while one fdatasync runs share the next one.
   */
  sync(): Promise<void> {
    try {
      this.#checkWritable();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#syncQueued !== undefined) return this.#syncQueued;
    const running = this.#syncRunning;
    if (running !== undefined) {
      if (this.#writeSeq <= running.seq) return running.promise;
      const queued = running.promise.then(() => {
        this.#syncQueued = undefined;
        return this.#syncNow();
      });
      this.#syncQueued = queued;
      queued.catch(() => {
        this.#syncQueued = undefined;
      });
      return queued;
    }
    return this.#syncNow();
  }

  /** One Ready's worth of persistence: append, set the hard state, sync. */
  async persist(update: {
    readonly entries?: readonly Entry[];
    readonly hardState?: HardState;
  }): Promise<void> {
    if (update.entries !== undefined) this.append(update.entries);
    if (update.hardState !== undefined) this.setHardState(update.hardState);
    await this.sync();
  }

  /**
   * Saves a snapshot of the local state machine at an applied (hence committed) index that is still in the log.
   * Resolves once the file and its WAL marker are durable; the newest `snapshotsRetained` files are kept. Does not
   * compact: call `compact()` when the entries below it are no longer needed. Resolves false, doing nothing, when
   * the snapshot is not newer than the current one (e.g. a leader's snapshot was applied meanwhile).
   */
  saveSnapshot(snapshot: Snapshot): Promise<boolean> {
    return this.#exclusive(async () => {
      this.#checkWritable();
      const { index, term } = snapshot.metadata;
      if (index <= this.#snapshot.metadata.index) return false;
      assert(index <= this.#hardState.commit, `snapshot ${index} is beyond commit ${this.#hardState.commit}`);
      assert(
        index <= this.#index.lastIndex,
        `snapshot ${index} is beyond last index ${this.#index.lastIndex}`,
      );
      const logTerm = this.#index.term(index);
      assert(logTerm === term, `snapshot (${index}, term ${term}) but the log has term ${logTerm}`);
      await this.#durably(() => this.#writeSnapshotFile(snapshot));
      this.#write([{ kind: 'snapshotMarker', index, term, dropLog: false }]);
      await this.sync();
      this.#snapshot = snapshot;
      await this.#durably(() => this.#pruneSnapshots());
      return true;
    });
  }

  /**
   * Installs a snapshot received from the leader (newer than the current one). If the log holds (index, term) the
   * entries after it are kept; otherwise the whole log is discarded. Entries <= index are dropped and the segments
   * they wholly fill are deleted. The hard state's commit is raised to the snapshot index if it is below (written
   * with the marker). No append or setHardState may run until it resolves.
   */
  applySnapshot(snapshot: Snapshot): Promise<void> {
    return this.#exclusive(async () => {
      this.#checkWritable();
      const { index, term } = snapshot.metadata;
      const current = this.#snapshot.metadata;
      assert(
        index > current.index,
        `snapshot ${index} is not newer than the current snapshot ${current.index}`,
      );
      this.#applyingSnapshot = true;
      try {
        await this.#durably(() => this.#writeSnapshotFile(snapshot));
        const matches = index <= this.#index.lastIndex && this.#index.term(index) === term;
        const records: WalRecord[] = [{ kind: 'snapshotMarker', index, term, dropLog: !matches }];
        // Invariant commit >= snapshot index: the snapshot's entries are committed by definition.
        const hardState = this.#hardState;
        const raised = hardState.commit < index ? Object.freeze({ ...hardState, commit: index }) : hardState;
        if (raised !== hardState) records.push({ kind: 'hardState', hardState: raised });
        this.#write(records);
        this.#hardState = raised;
        await this.sync();
        if (matches) {
          this.#index.compactTo(index);
          this.#cache.dropThrough(index);
        } else {
          this.#index.reset(index, term);
          this.#cache.clear();
        }
        this.#snapshot = snapshot;
        await this.#durably(() => this.#deleteCoveredSegments());
        await this.#durably(() => this.#pruneSnapshots());
      } finally {
        this.#applyingSnapshot = false;
      }
    });
  }

  /**
   * Drops entries <= `index` (which must not exceed the snapshot index) and deletes the sealed segments whose
   * entries are all <= `index`, then fsyncs the WAL directory. Runs after any pending snapshot operation.
   */
  compact(index: number): Promise<void> {
    return this.#exclusive(async () => {
      this.#checkWritable();
      if (index <= this.#index.dummyIndex) return;
      const snapshotIndex = this.#snapshot.metadata.index;
      assert(index <= snapshotIndex, `compact(${index}) beyond snapshot index ${snapshotIndex}`);
      assert(index <= this.#index.lastIndex, `compact(${index}) beyond last index ${this.#index.lastIndex}`);
      this.#index.compactTo(index);
      this.#cache.dropThrough(index);
      await this.#durably(() => this.#deleteCoveredSegments());
    });
  }

  stats(): StorageStats {
    return {
      syncCount: this.#syncCount,
      syncDurationMsTotal: this.#syncDurationMsTotal,
      syncDurationMsMax: this.#syncDurationMsMax,
      walBytesWritten: this.#walBytesWritten,
      segmentCount: this.#segments.length,
      segmentRollovers: this.#segmentRollovers,
      cacheBytes: this.#cache.bytes,
      cacheEntries: this.#cache.size,
      indexBytes: this.#index.memoryBytes,
      entriesReadFromDisk: this.#entriesReadFromDisk,
      firstIndex: this.#index.firstIndex,
      lastIndex: this.#index.lastIndex,
      snapshotIndex: this.#snapshot.metadata.index,
    };
  }

  /** Waits for running syncs and operations, then closes every file. Unsynced writes are not synced. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.allSettled([this.#ops, this.#syncRunning?.promise, this.#syncQueued]);
    this.#closed = true;
    for (const fd of this.#readFds.values()) fs.closeSync(fd);
    this.#readFds.clear();
    for (const fd of this.#closeAfterSync) fs.closeSync(fd);
    this.#closeAfterSync.clear();
    fs.closeSync(this.#activeFd);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals

  #checkOpen(): void {
    if (this.#closed) throw new StorageClosedError();
  }

  #checkWritable(): void {
    this.#checkOpen();
    if (this.#failed !== undefined) {
      throw new StorageFailedError('storage failed earlier; reopen it', { cause: this.#failed });
    }
  }

  #checkAppendable(): void {
    this.#checkWritable();
    assert(!this.#applyingSnapshot, 'append or setHardState while applySnapshot is in progress');
  }

  /**
   * Validates a batch and returns the entries above max(snapshot index, commit). Those at or below it are committed,
   * hence already in the log with the same term (asserted where the index still holds them), and are skipped.
   */
  #newEntries(entries: readonly Entry[]): readonly Entry[] {
    for (const [i, entry] of entries.entries()) {
      assert(Number.isSafeInteger(entry.index) && entry.index >= 1, `entry index ${entry.index}`);
      assert(Number.isSafeInteger(entry.term) && entry.term >= 0, `entry ${entry.index} term ${entry.term}`);
      if (i === 0) continue;
      const previous = entries[i - 1]!;
      assert(
        entry.index === previous.index + 1,
        `entries not consecutive: ${previous.index} then ${entry.index}`,
      );
      assert(
        entry.term >= previous.term,
        `entry ${entry.index} term ${entry.term} < previous ${previous.term}`,
      );
    }
    const committed = Math.max(this.#snapshot.metadata.index, this.#hardState.commit);
    let from = 0;
    for (; from < entries.length && entries[from]!.index <= committed; from++) {
      const entry = entries[from]!;
      if (entry.index >= this.#index.dummyIndex && entry.index <= this.#index.lastIndex) {
        const term = this.#index.term(entry.index);
        assert(
          term === entry.term,
          `committed entry ${entry.index} has term ${term}, append brings ${entry.term}`,
        );
      }
    }
    return from === 0 ? entries : entries.slice(from);
  }

  /**
   * Frames and writes `records` to the active segment, rolling over between records when a segment is full.
   * Throws RecordTooLargeError before writing anything. Returns where each record landed.
   */
  #write(records: readonly WalRecord[]): { seq: number; offset: number; recordBytes: number }[] {
    const sizes = records.map((record) => {
      const bytes = recordBytes(record);
      if (bytes > this.#limits.recordBytesMax) {
        throw new RecordTooLargeError(
          bytes,
          this.#limits.recordBytesMax,
          record.kind === 'entry' ? record.entry.index : undefined,
        );
      }
      return bytes;
    });
    const buffer = new Uint8Array(sizes.reduce((sum, size) => sum + size, 0));
    let end = 0;
    for (const record of records) end = writeRecord(buffer, end, record);

    const positions: { seq: number; offset: number; recordBytes: number }[] = [];
    let spanStart = 0;
    let spanBytes = 0;
    let spanFirst = 0;
    /** Writes records [spanFirst, upTo) — bytes [spanStart, spanStart + spanBytes) — at the end of the segment. */
    const flush = (upTo: number): void => {
      if (spanBytes === 0) return;
      const active = this.#active();
      writeAllSync(this.#activeFd, buffer.subarray(spanStart, spanStart + spanBytes), active.fileBytes);
      active.fileBytes += spanBytes;
      this.#walBytesWritten += spanBytes;
      this.#writeSeq++;
      for (let i = spanFirst; i < upTo; i++) {
        const record = records[i]!;
        if (record.kind === 'entry') this.#noteEntryWritten(record.entry.index, active);
      }
      spanStart += spanBytes;
      spanBytes = 0;
      spanFirst = upTo;
    };
    try {
      for (const [i, size] of sizes.entries()) {
        const used = this.#active().fileBytes + spanBytes;
        if (used + size > this.#limits.segmentBytes && used > this.#active().headerBytes) {
          flush(i);
          this.#rollover(records[i]!);
        }
        positions.push({
          seq: this.#active().seq,
          offset: this.#active().fileBytes + spanBytes,
          recordBytes: size,
        });
        spanBytes += size;
      }
      flush(records.length);
    } catch (error) {
      throw this.#fail(error, 'WAL write failed');
    }
    return positions;
  }

  #noteEntryWritten(index: number, segment: SegmentState): void {
    this.#highWater = Math.max(this.#highWater, index);
    segment.maxEntryIndex = Math.max(segment.maxEntryIndex, index);
  }

  #active(): SegmentState {
    return this.#segments.at(-1)!;
  }

  /**
   * Seals the active segment (fdatasync: every sealed segment is complete on disk before a later one exists) and
   * creates the next. `next` is the record about to be written: an entry names the new segment's first index.
   */
  #rollover(next: WalRecord): void {
    const sealed = this.#active();
    fs.fdatasyncSync(this.#activeFd);
    this.#syncedSeq = this.#writeSeq;
    this.#ledger?.durable(sealed.path, sealed.fileBytes);
    const firstIndex = next.kind === 'entry' ? next.entry.index : this.#index.lastIndex + 1;
    const created = createSegmentFile(
      this.#layout.walDir,
      {
        seq: sealed.seq + 1,
        firstIndex,
        highWater: this.#highWater,
        hardState: this.#hardState,
      },
      this.#limits.recordBytesMax,
    );
    this.#ledger?.durable(created.path, created.fileBytes);
    const fd = fs.openSync(created.path, 'r+');
    this.#closeFd(this.#activeFd);
    this.#activeFd = fd;
    this.#segments.push({
      seq: sealed.seq + 1,
      firstIndex,
      path: created.path,
      fileBytes: created.fileBytes,
      headerBytes: created.fileBytes,
      maxEntryIndex: 0,
    });
    this.#segmentRollovers++;
  }

  #syncNow(): Promise<void> {
    const seq = this.#writeSeq;
    if (seq <= this.#syncedSeq) return Promise.resolve();
    const fd = this.#activeFd;
    const segment = this.#active();
    const syncedBytes = segment.fileBytes;
    this.#syncingFds.add(fd);
    const started = performance.now();
    const promise = fdatasync(fd)
      .then(
        () => {
          if (this.#segments.includes(segment)) this.#ledger?.durable(segment.path, syncedBytes);
          const durationMs = performance.now() - started;
          this.#syncCount++;
          this.#syncDurationMsTotal += durationMs;
          this.#syncDurationMsMax = Math.max(this.#syncDurationMsMax, durationMs);
          this.#syncedSeq = Math.max(this.#syncedSeq, seq);
          this.#metrics?.onSync?.(durationMs);
        },
        (error: unknown) => {
          throw this.#fail(error, 'WAL fdatasync failed');
        },
      )
      .finally(() => {
        this.#syncingFds.delete(fd);
        if (this.#closeAfterSync.delete(fd)) fs.closeSync(fd);
        if (this.#syncRunning?.promise === promise) this.#syncRunning = undefined;
      });
    this.#syncRunning = { seq, promise };
    return promise;
  }

  #fail(error: unknown, what: string): Error {
    if (error instanceof StorageFailedError || error instanceof AssertionError) return error;
    this.#failed ??= error;
    return new StorageFailedError(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }

  /** Runs an I/O step of a write path; any error fails the storage. */
  async #durably<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof SnapshotTooLargeError) throw error;
      throw this.#fail(error, 'storage I/O failed');
    }
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#ops.then(operation);
    this.#ops = result.catch(() => undefined);
    return result;
  }

  #closeFd(fd: number): void {
    if (this.#syncingFds.has(fd)) this.#closeAfterSync.add(fd);
    else fs.closeSync(fd);
  }

  #fdFor(seq: number): number {
    if (seq === this.#active().seq) return this.#activeFd;
    const open = this.#readFds.get(seq);
    if (open !== undefined) {
      this.#readFds.delete(seq);
      this.#readFds.set(seq, open);
      return open;
    }
    const segment = this.#segments.find((candidate) => candidate.seq === seq);
    assert(segment !== undefined, `no segment with seq ${seq}`);
    const fd = fs.openSync(segment.path, 'r');
    this.#readFds.set(seq, fd);
    if (this.#readFds.size > this.#limits.readFdsMax) {
      const [oldestSeq, oldestFd] = this.#readFds.entries().next().value!;
      this.#readFds.delete(oldestSeq);
      this.#closeFd(oldestFd);
    }
    return fd;
  }

  /**
   * Reads entries [from, …) that are not cached, from one segment with one read of at most READ_SPAN_BYTES_MAX
   * (or one record), within the byte budget (sizes as the core counts them: entrySizeBytes). Returns the index
   * after the last entry read.
   */
  #readRun(from: number, hi: number, result: Entry[], budget: { bytes: number; max: number }): number {
    const index = this.#index;
    const seq = index.seq(from);
    const spanStart = index.position(from);
    let to = from;
    let spanEnd = spanStart;
    let runBytes = 0;
    while (to < hi && this.#cache.get(to) === undefined && index.seq(to) === seq) {
      const position = index.position(to);
      const end = position + index.recordBytes(to);
      if (to > from && (position < spanEnd || end - spanStart > READ_SPAN_BYTES_MAX)) break;
      const entryBytes = index.recordBytes(to) - ENTRY_RECORD_OVERHEAD_BYTES + entryOverheadBytes;
      if (result.length + (to - from) > 0 && budget.bytes + runBytes + entryBytes > budget.max) break;
      runBytes += entryBytes;
      spanEnd = end;
      to++;
    }
    if (to === from) return from;
    const spanBytes = spanEnd - spanStart;
    if (this.#scratch.byteLength < spanBytes)
      this.#scratch = new Uint8Array(Math.max(spanBytes, this.#scratch.byteLength * 2));
    const segment = this.#segments.find((candidate) => candidate.seq === seq)!;
    const read = readUpToSync(this.#fdFor(seq), this.#scratch, spanBytes, spanStart);
    if (read !== spanBytes) {
      throw new WalCorruptionError(
        segment.path,
        spanStart + read,
        `short read: ${read} of ${spanBytes} bytes`,
      );
    }
    for (let i = from; i < to; i++) {
      const at = index.position(i) - spanStart;
      const record = decodeRecordAt(
        segment.path,
        this.#scratch,
        at,
        at + index.recordBytes(i),
        index.position(i),
        this.#limits.recordBytesMax,
      );
      if (record.kind !== 'entry' || record.entry.index !== i || record.entry.term !== index.term(i)) {
        throw new WalCorruptionError(
          segment.path,
          index.position(i),
          `expected entry ${i} (term ${index.term(i)})`,
        );
      }
      result.push(record.entry);
    }
    budget.bytes += runBytes;
    this.#entriesReadFromDisk += to - from;
    return to;
  }

  /** Deletes sealed segments, oldest first, whose entries are all at or below the compacted index. */
  async #deleteCoveredSegments(): Promise<void> {
    if (this.#snapshot.metadata.index === 0) return;
    const dead: SegmentState[] = [];
    while (this.#segments.length > 1 && this.#segments[0]!.maxEntryIndex <= this.#index.dummyIndex) {
      dead.push(this.#segments.shift()!);
    }
    for (const segment of dead) {
      const fd = this.#readFds.get(segment.seq);
      if (fd !== undefined) {
        this.#readFds.delete(segment.seq);
        this.#closeFd(fd);
      }
      await fs.promises.unlink(segment.path);
    }
    if (dead.length === 0) return;
    await fsyncDir(this.#layout.walDir);
    for (const segment of dead) this.#ledger?.deleted(segment.path);
  }

  /** Keeps the newest `snapshotsRetained` snapshot files. */
  async #pruneSnapshots(): Promise<void> {
    const files = listSnapshotFiles(this.#layout.snapDir);
    const excess = files.slice(0, Math.max(0, files.length - this.#limits.snapshotsRetained));
    for (const file of excess) await fs.promises.unlink(file.path);
    if (excess.length === 0) return;
    await fsyncDir(this.#layout.snapDir);
    for (const file of excess) this.#ledger?.deleted(file.path);
  }

  /** Writes `snapshot`'s file durably (see writeSnapshotFile). */
  async #writeSnapshotFile(snapshot: Snapshot): Promise<void> {
    const file = await writeSnapshotFile(this.#layout.snapDir, snapshot, this.#limits.snapshotBytesMax);
    this.#ledger?.durable(file, snapshotFileBytes(snapshot));
  }
}

function fitsBudget(
  result: readonly Entry[],
  budget: { bytes: number; max: number },
  bytes: number,
): boolean {
  if (result.length > 0 && budget.bytes + bytes > budget.max) return false;
  budget.bytes += bytes;
  return true;
}
