// The live WAL segments and their file descriptors: writes to the active segment with rollover, group-commit
// fdatasync, LRU read fds of sealed segments, and the deletion of segments a compaction covers.

import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { assert, type HardState } from '@regent/raft';
import { RecordTooLargeError } from './errors.js';
import { fdatasync, fsyncDir, writeAllSync } from './fs-util.js';
import type { LogIndex } from './log-index.js';
import type { RecoveredState, SegmentState } from './recovery.js';
import type { Limits, StorageMetricsHook, StorageStats } from './storage-options.js';
import type { SyncLedger } from './sync-ledger.js';
import { createSegmentFile, recordBytes, type WalRecord, writeRecord } from './wal.js';

export interface SegmentFilesOptions {
  readonly walDir: string;
  readonly limits: Limits;
  /** The segments, active fd and high water that recovery left. */
  readonly recovered: Pick<RecoveredState, 'segments' | 'activeFd' | 'highWater'>;
  /** The live log's index, owned by the storage; read here for the next index and the compacted index. */
  readonly index: LogIndex;
  readonly metrics: StorageMetricsHook | undefined;
  /** Records an I/O error of a write path as the storage's failure and returns the error to throw. */
  readonly fail: (error: unknown, what: string) => Error;
}

/** Where a written record landed. */
export interface RecordPosition {
  readonly seq: number;
  readonly offset: number;
  readonly recordBytes: number;
}

/** The WAL's segment files as the storage (the single writer) holds them open. */
export class SegmentFiles {
  readonly #walDir: string;
  readonly #limits: Limits;
  readonly #index: LogIndex;
  readonly #metrics: StorageMetricsHook | undefined;
  readonly #fail: (error: unknown, what: string) => Error;
  /** Fault injection only; updated after each fsync it reports, before anything may depend on that fsync. */
  #ledger: SyncLedger | undefined;
  /** Oldest first; the last one is the active segment. */
  readonly #segments: SegmentState[];
  #activeFd: number;
  #highWater: number;

  /** Read-only fds of sealed segments by seq, least recently used first. */
  readonly #readFds = new Map<number, number>();
  /** fds with an fdatasync in flight, and those to close once it finishes. */
  readonly #syncingFds = new Set<number>();
  readonly #closeAfterSync = new Set<number>();

  /** Incremented by every write; `sync()` makes everything up to the value it captured durable. */
  #writeSeq = 0;
  #syncedSeq = 0;
  #syncRunning: { seq: number; promise: Promise<void> } | undefined;
  #syncQueued: Promise<void> | undefined;

  #syncCount = 0;
  #syncDurationMsTotal = 0;
  #syncDurationMsMax = 0;
  #walBytesWritten = 0;
  #segmentRollovers = 0;

  constructor(options: SegmentFilesOptions) {
    this.#walDir = options.walDir;
    this.#limits = options.limits;
    this.#index = options.index;
    this.#metrics = options.metrics;
    this.#fail = options.fail;
    this.#segments = options.recovered.segments;
    this.#activeFd = options.recovered.activeFd;
    this.#highWater = options.recovered.highWater;
  }

  /** From now on fsyncs and deletions are reported to `ledger`. Set once, when all of the storage dir is durable. */
  useLedger(ledger: SyncLedger | undefined): void {
    this.#ledger = ledger;
  }

  /**
   * Frames and writes `records` to the active segment, rolling over between records when a segment is full.
   * Throws RecordTooLargeError before writing anything. Returns where each record landed. `hardState` is the newest
   * one written before `records`: a segment created on the way carries it in its header.
   */
  write(records: readonly WalRecord[], hardState: HardState): RecordPosition[] {
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

    const positions: RecordPosition[] = [];
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
          this.#rollover(records[i]!, hardState);
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

  /**
   * Resolves once everything written before the call is on disk (fdatasync of the active segment; sealed segments
   * were synced when they were sealed). Calls made while one fdatasync runs share the next one.
   */
  sync(): Promise<void> {
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

  /** Fdatasyncs the active segment on the calling thread (while opening, before the ledger is in use). */
  syncBlocking(): void {
    fs.fdatasyncSync(this.#activeFd);
    this.#syncedSeq = this.#writeSeq;
  }

  /** The fdatasyncs in flight or queued, for `close()` to wait for. */
  syncsInFlight(): (Promise<void> | undefined)[] {
    return [this.#syncRunning?.promise, this.#syncQueued];
  }

  /** The segment with sequence number `seq`, if it is live. */
  bySeq(seq: number): SegmentState | undefined {
    return this.#segments.find((candidate) => candidate.seq === seq);
  }

  /** An fd to read segment `seq` through: the active one's, or a sealed one's from the LRU (opened if missing). */
  fdFor(seq: number): number {
    if (seq === this.#active().seq) return this.#activeFd;
    const open = this.#readFds.get(seq);
    if (open !== undefined) {
      this.#readFds.delete(seq);
      this.#readFds.set(seq, open);
      return open;
    }
    const segment = this.bySeq(seq);
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
   * Deletes sealed segments, oldest first, whose entries are all at or below the compacted index. Nothing is
   * deleted while there is no snapshot (`snapshotIndex` 0).
   */
  async deleteCovered(snapshotIndex: number): Promise<void> {
    if (snapshotIndex === 0) return;
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
    await fsyncDir(this.#walDir);
    for (const segment of dead) this.#ledger?.deleted(segment.path);
  }

  /** Closes every fd, the active segment's last. Only once no fdatasync is in flight (see `syncsInFlight`). */
  closeAll(): void {
    for (const fd of this.#readFds.values()) fs.closeSync(fd);
    this.#readFds.clear();
    for (const fd of this.#closeAfterSync) fs.closeSync(fd);
    this.#closeAfterSync.clear();
    fs.closeSync(this.#activeFd);
  }

  stats(): Pick<
    StorageStats,
    | 'syncCount'
    | 'syncDurationMsTotal'
    | 'syncDurationMsMax'
    | 'walBytesWritten'
    | 'segmentCount'
    | 'segmentRollovers'
  > {
    return {
      syncCount: this.#syncCount,
      syncDurationMsTotal: this.#syncDurationMsTotal,
      syncDurationMsMax: this.#syncDurationMsMax,
      walBytesWritten: this.#walBytesWritten,
      segmentCount: this.#segments.length,
      segmentRollovers: this.#segmentRollovers,
    };
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
  #rollover(next: WalRecord, hardState: HardState): void {
    const sealed = this.#active();
    fs.fdatasyncSync(this.#activeFd);
    this.#syncedSeq = this.#writeSeq;
    this.#ledger?.durable(sealed.path, sealed.fileBytes);
    const firstIndex = next.kind === 'entry' ? next.entry.index : this.#index.lastIndex + 1;
    const created = createSegmentFile(
      this.#walDir,
      {
        seq: sealed.seq + 1,
        firstIndex,
        highWater: this.#highWater,
        hardState,
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

  #closeFd(fd: number): void {
    if (this.#syncingFds.has(fd)) this.#closeAfterSync.add(fd);
    else fs.closeSync(fd);
  }
}
