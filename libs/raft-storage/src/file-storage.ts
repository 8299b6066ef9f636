// The durable Raft storage: a segmented WAL plus snapshot files behind the core's synchronous `Storage` read port,
// with the write API the runtime drives (append / setHardState / sync, snapshots, compaction).

import { performance } from 'node:perf_hooks';
import {
  AssertionError,
  assert,
  CompactedError,
  type ConfState,
  type Entry,
  type HardState,
  type NodeId,
  type Snapshot,
  type Storage,
  UnavailableError,
} from '@regent/raft';
import { EntryCache } from './entry-cache.js';
import { EntryReader } from './entry-reader.js';
import { SnapshotTooLargeError, StorageClosedError, StorageFailedError } from './errors.js';
import type { LogIndex } from './log-index.js';
import { type Layout, layoutOf, type RecoveredState, recover } from './recovery.js';
import { SegmentFiles } from './segment-files.js';
import { writeSnapshotFileSync } from './snapshot-file.js';
import { SnapshotStore } from './snapshot-store.js';
import {
  type FileStorageOptions,
  type Limits,
  limitsOf,
  type OpenReport,
  type StorageStats,
} from './storage-options.js';
import { SyncLedger } from './sync-ledger.js';
import type { WalRecord } from './wal.js';
import { assertHardStateStep, newEntries } from './write-checks.js';

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
  readonly #index: LogIndex;
  readonly #cache: EntryCache;
  readonly #segments: SegmentFiles;
  readonly #reader: EntryReader;
  /** Created at the end of the open, with the sync ledger if any. */
  readonly #snapshots: SnapshotStore;
  #hardState: HardState;
  #snapshot: Snapshot;

  /** Serialises snapshot and compaction operations. */
  #ops: Promise<unknown> = Promise.resolve();
  #applyingSnapshot = false;
  #failed: unknown;
  #closed = false;

  /** Use `openFileStorage`. `openStarted` is the performance.now() at which opening began. */
  constructor(
    layout: Layout,
    limits: Limits,
    recovered: RecoveredState,
    options: Pick<FileStorageOptions, 'bootstrap' | 'metrics' | 'syncLedgerPath'>,
    openStarted: number,
  ) {
    this.#index = recovered.index;
    this.#cache = new EntryCache(limits.cacheBytesMax);
    this.#segments = new SegmentFiles({
      walDir: layout.walDir,
      limits,
      recovered,
      index: this.#index,
      metrics: options.metrics,
      fail: (error, what) => this.#fail(error, what),
    });
    this.#reader = new EntryReader({
      index: this.#index,
      cache: this.#cache,
      segments: this.#segments,
      recordBytesMax: limits.recordBytesMax,
    });
    // A crash between applySnapshot and the next hard state can leave commit below the snapshot index; the
    // snapshot's entries are committed by definition, so the invariant commit >= snapshot index is restored here.
    const snapshotIndex = recovered.snapshot.metadata.index;
    this.#hardState =
      recovered.hardState.commit < snapshotIndex
        ? Object.freeze({ ...recovered.hardState, commit: snapshotIndex })
        : recovered.hardState;
    this.#snapshot = recovered.snapshot;
    const bootstrapped =
      options.bootstrap !== undefined && this.#bootstrapIfPristine(options.bootstrap, layout, limits);
    // recover() made everything it read durable and bootstrapping syncs what it writes: all of `dir` is durable now.
    const ledger =
      options.syncLedgerPath === undefined ? undefined : new SyncLedger(options.syncLedgerPath, layout.dir);
    ledger?.recordAll();
    this.#segments.useLedger(ledger);
    this.#snapshots = new SnapshotStore(layout.snapDir, limits, ledger);
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
  #bootstrapIfPristine(
    bootstrap: { readonly snapshot: Snapshot; readonly hardState: HardState },
    layout: Layout,
    limits: Limits,
  ): boolean {
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
      writeSnapshotFileSync(layout.snapDir, bootstrap.snapshot, limits.snapshotBytesMax);
      this.#segments.write([{ kind: 'snapshotMarker', index, term, dropLog: true }], this.#hardState);
      this.#index.reset(index, term);
      this.#snapshot = bootstrap.snapshot;
    }
    this.setHardState(bootstrap.hardState);
    this.#segments.syncBlocking();
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
    return this.#reader.read(lo, hi, maxBytes);
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

  /**
   * The ConfChange entries in [lo, hi), ascending, from the in-memory index (no file read). The index is the log:
   * appends, truncating appends, compaction, snapshot installs and recovery (which reads each record's type) all
   * go through it, so the answer always matches `entries(lo, hi)`.
   */
  confChangeIndexes(lo: number, hi: number): number[] {
    this.#checkOpen();
    assert(lo <= hi, `confChangeIndexes(${lo}, ${hi}): lo > hi`);
    if (lo <= this.#index.dummyIndex) throw new CompactedError(lo, this.#index.firstIndex);
    if (hi > this.#index.lastIndex + 1) throw new UnavailableError(hi - 1, this.#index.lastIndex);
    return this.#index.confChangeIndexes(lo, hi);
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
    const committed = Math.max(this.#snapshot.metadata.index, this.#hardState.commit);
    const fresh = newEntries(entries, committed, this.#index);
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

    const positions = this.#segments.write(
      fresh.map((entry): WalRecord => ({ kind: 'entry', entry })),
      this.#hardState,
    );
    if (first.index <= lastIndex) {
      this.#index.truncateAfter(first.index - 1);
      this.#cache.truncateFrom(first.index);
    }
    for (const [i, entry] of fresh.entries()) {
      const position = positions[i]!;
      this.#index.push(
        entry.index,
        entry.term,
        entry.type,
        position.seq,
        position.offset,
        position.recordBytes,
      );
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
    assertHardStateStep(current, hardState, this.#index.lastIndex);
    const copy = Object.freeze({ term: hardState.term, vote: hardState.vote, commit: hardState.commit });
    this.#segments.write([{ kind: 'hardState', hardState: copy }], this.#hardState);
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
    return this.#segments.sync();
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
      await this.#durably(() => this.#snapshots.write(snapshot));
      this.#segments.write([{ kind: 'snapshotMarker', index, term, dropLog: false }], this.#hardState);
      await this.sync();
      this.#snapshot = snapshot;
      await this.#durably(() => this.#snapshots.prune());
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
        await this.#durably(() => this.#snapshots.write(snapshot));
        const matches = index <= this.#index.lastIndex && this.#index.term(index) === term;
        const records: WalRecord[] = [{ kind: 'snapshotMarker', index, term, dropLog: !matches }];
        // Invariant commit >= snapshot index: the snapshot's entries are committed by definition.
        const hardState = this.#hardState;
        const raised = hardState.commit < index ? Object.freeze({ ...hardState, commit: index }) : hardState;
        if (raised !== hardState) records.push({ kind: 'hardState', hardState: raised });
        this.#segments.write(records, this.#hardState);
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
        await this.#durably(() => this.#segments.deleteCovered(this.#snapshot.metadata.index));
        await this.#durably(() => this.#snapshots.prune());
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
      await this.#durably(() => this.#segments.deleteCovered(this.#snapshot.metadata.index));
    });
  }

  stats(): StorageStats {
    return {
      ...this.#segments.stats(),
      cacheBytes: this.#cache.bytes,
      cacheEntries: this.#cache.size,
      indexBytes: this.#index.memoryBytes,
      entriesReadFromDisk: this.#reader.entriesReadFromDisk,
      firstIndex: this.#index.firstIndex,
      lastIndex: this.#index.lastIndex,
      snapshotIndex: this.#snapshot.metadata.index,
    };
  }

  /** Waits for running syncs and operations, then closes every file. Unsynced writes are not synced. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.allSettled([this.#ops, ...this.#segments.syncsInFlight()]);
    this.#closed = true;
    this.#segments.closeAll();
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
}
