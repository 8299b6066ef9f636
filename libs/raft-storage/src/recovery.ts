// Opening a storage directory: load the newest snapshot, delete WAL segments it wholly covers, replay the rest,
// repair a torn tail in the active segment, and reconcile the replayed log with the snapshot.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HardState, Snapshot } from '@regent/raft';
import { WalCorruptionError } from './errors.js';
import { ensureDirSync, fsyncDirSync } from './fs-util.js';
import { LogIndex } from './log-index.js';
import { EMPTY_MEMBERSHIP } from './membership.js';
import { listSnapshotFiles, loadSnapshotFile } from './snapshot-file.js';
import {
  createSegmentFile,
  listSegments,
  readSegmentHeader,
  type ScannedRecord,
  type ScannedRecordBody,
  type SegmentHeader,
  type SegmentName,
  scanSegment,
} from './wal.js';

export const ZERO_HARD_STATE: HardState = Object.freeze({ term: 0, vote: 0, commit: 0 });

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  metadata: Object.freeze({
    index: 0,
    term: 0,
    confState: EMPTY_MEMBERSHIP.confState,
    addresses: EMPTY_MEMBERSHIP.addresses,
  }),
  data: new Uint8Array(0),
});

export interface Layout {
  readonly dir: string;
  readonly walDir: string;
  readonly snapDir: string;
}

export function layoutOf(dir: string): Layout {
  return { dir, walDir: path.join(dir, 'wal'), snapDir: path.join(dir, 'snap') };
}

/** A live WAL segment as the storage tracks it. */
export interface SegmentState {
  readonly seq: number;
  readonly firstIndex: number;
  readonly path: string;
  /** Bytes of intact records (the append position for the active segment). */
  fileBytes: number;
  /** Bytes of the header record. */
  readonly headerBytes: number;
  /** Largest entry index recorded in the segment, live or superseded (0 when none). */
  maxEntryIndex: number;
}

export interface TornTail {
  readonly file: string;
  readonly offset: number;
  readonly bytesDropped: number;
  readonly reason: string;
}

export interface RecoveredState {
  readonly segments: SegmentState[];
  /** fd of the last segment, opened read-write. */
  readonly activeFd: number;
  readonly index: LogIndex;
  readonly hardState: HardState;
  readonly snapshot: Snapshot;
  /** Largest entry index ever written (the next segment header's highWater). */
  readonly highWater: number;
  readonly created: boolean;
  readonly segmentsScanned: number;
  readonly segmentsDeleted: number;
  readonly recordsScanned: number;
  readonly tornTail: TornTail | undefined;
}

export interface RecoveryOptions {
  readonly recordBytesMax: number;
  readonly snapshotBytesMax: number;
}

export function recover(layout: Layout, options: RecoveryOptions): RecoveredState {
  ensureDirSync(layout.dir, path.dirname(layout.dir));
  ensureDirSync(layout.walDir, layout.dir);
  ensureDirSync(layout.snapDir, layout.dir);
  removeTmpFiles(layout.walDir);
  removeTmpFiles(layout.snapDir);

  const snapshotFiles = listSnapshotFiles(layout.snapDir);
  const newest = snapshotFiles.at(-1);
  const snapshot =
    newest === undefined ? EMPTY_SNAPSHOT : loadSnapshotFile(newest.path, options.snapshotBytesMax);
  const names = listSegments(layout.walDir);
  if (names.length === 0) {
    if (newest !== undefined) {
      throw new WalCorruptionError(
        layout.walDir,
        0,
        `snapshot ${newest.path} exists but the WAL has no segment`,
      );
    }
    return createFresh(layout, options.recordBytesMax);
  }
  const recovered = replay(layout, options, snapshot, names);
  makeDurable(layout, recovered.activeFd);
  return recovered;
}

/**
 * After a kill -9 (no OS crash) the files may hold writes that were never synced — they are in the page cache — and
 * replay read them: a vote, entries, a snapshot file renamed just before the kill. The node is about to act on what
 * it read (answer votes, report its log), so it is made durable first: otherwise an OS crash after the restart could
 * take back what the node already told its peers. Sealed segments were fdatasynced when sealed.
 */
function makeDurable(layout: Layout, activeFd: number): void {
  fs.fdatasyncSync(activeFd);
  fsyncDirSync(layout.walDir);
  fsyncDirSync(layout.snapDir);
}

function removeTmpFiles(dir: string): void {
  const tmp = fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'));
  for (const name of tmp) fs.unlinkSync(path.join(dir, name));
  if (tmp.length > 0) fsyncDirSync(dir);
}

function createFresh(layout: Layout, recordBytesMax: number): RecoveredState {
  const header: SegmentHeader = { seq: 1, firstIndex: 1, highWater: 0, hardState: ZERO_HARD_STATE };
  const created = createSegmentFile(layout.walDir, header, recordBytesMax);
  const segment: SegmentState = {
    seq: 1,
    firstIndex: 1,
    path: created.path,
    fileBytes: created.fileBytes,
    headerBytes: created.fileBytes,
    maxEntryIndex: 0,
  };
  return {
    segments: [segment],
    activeFd: fs.openSync(created.path, 'r+'),
    index: new LogIndex(0, 0),
    hardState: ZERO_HARD_STATE,
    snapshot: EMPTY_SNAPSHOT,
    highWater: 0,
    created: true,
    segmentsScanned: 0,
    segmentsDeleted: 0,
    recordsScanned: 0,
    tornTail: undefined,
  };
}

/** Index of the first segment that is not wholly covered by a snapshot at `snapshotIndex`. */
function firstUncovered(headers: readonly SegmentHeader[], snapshotIndex: number): number {
  if (snapshotIndex === 0) return 0;
  let first = 0;
  // headers[k].highWater bounds every entry index in segments < k; the last segment is never deleted.
  for (let k = 1; k < headers.length; k++) if (headers[k]!.highWater <= snapshotIndex) first = k;
  return first;
}

function readHeaders(names: readonly SegmentName[], recordBytesMax: number): SegmentHeader[] {
  const headers: SegmentHeader[] = [];
  for (const name of names) {
    const header = readSegmentHeader(name.path, recordBytesMax);
    if (header.seq !== name.seq || header.firstIndex !== name.firstIndex) {
      throw new WalCorruptionError(
        name.path,
        0,
        `header says seq ${header.seq} firstIndex ${header.firstIndex}, the name says ${name.seq}-${name.firstIndex}`,
      );
    }
    const previous = headers.at(-1);
    if (previous !== undefined && header.highWater < previous.highWater) {
      throw new WalCorruptionError(
        name.path,
        0,
        `highWater ${header.highWater} < previous ${previous.highWater}`,
      );
    }
    headers.push(header);
  }
  return headers;
}

function replay(
  layout: Layout,
  options: RecoveryOptions,
  snapshot: Snapshot,
  allNames: readonly SegmentName[],
): RecoveredState {
  const headers = readHeaders(allNames, options.recordBytesMax);
  const snapshotIndex = snapshot.metadata.index;
  const keepFrom = firstUncovered(headers, snapshotIndex);
  for (const name of allNames.slice(0, keepFrom)) fs.unlinkSync(name.path);
  if (keepFrom > 0) fsyncDirSync(layout.walDir);
  const names = allNames.slice(keepFrom);

  const log = new ReplayedLog(snapshotIndex);
  const segments: SegmentState[] = [];
  let hardState = headers[keepFrom]!.hardState;
  let highWater = headers[keepFrom]!.highWater;
  let recordsScanned = 0;
  let tornTail: TornTail | undefined;
  let activeFd = -1;

  for (const [i, name] of names.entries()) {
    const isLast = i === names.length - 1;
    const fd = fs.openSync(name.path, isLast ? 'r+' : 'r');
    let keepFdOpen = false;
    try {
      const fileBytes = fs.fstatSync(fd).size;
      const segment: SegmentState = { ...name, fileBytes, headerBytes: 0, maxEntryIndex: 0 };
      let headerBytes = 0;
      const onRecord = (scanned: ScannedRecord): void => {
        recordsScanned++;
        const { record } = scanned;
        if (scanned.offset === 0) {
          if (record.kind !== 'segmentHeader') corrupt(name.path, 0, `first record is ${record.kind}`);
          headerBytes = scanned.recordBytes;
          hardState = record.header.hardState;
          highWater = Math.max(highWater, record.header.highWater);
          return;
        }
        switch (record.kind) {
          case 'segmentHeader':
            corrupt(name.path, scanned.offset, 'a second segment header');
            break;
          case 'entry':
            log.entry(record, name, scanned);
            segment.maxEntryIndex = Math.max(segment.maxEntryIndex, record.index);
            highWater = Math.max(highWater, record.index);
            return;
          case 'hardState':
            hardState = record.hardState;
            return;
          case 'snapshotMarker':
            log.marker(record.index, record.term, record.dropLog, name.path, scanned.offset);
            return;
        }
      };
      const scan = scanSegment(
        name.path,
        fd,
        fileBytes,
        { tornTailAllowed: isLast, recordBytesMax: options.recordBytesMax },
        onRecord,
      );
      if (headerBytes === 0) {
        corrupt(name.path, 0, `segment header is damaged (${scan.torn?.reason ?? 'empty file'})`);
      }
      if (scan.torn !== undefined) {
        fs.ftruncateSync(fd, scan.validBytes);
        fs.fsyncSync(fd);
        tornTail = { file: name.path, ...scan.torn, bytesDropped: fileBytes - scan.validBytes };
      }
      segments.push({ ...segment, fileBytes: scan.validBytes, headerBytes });
      if (isLast) {
        activeFd = fd;
        keepFdOpen = true;
      }
    } finally {
      if (!keepFdOpen) fs.closeSync(fd);
    }
  }

  const index = log.reconcile(snapshot.metadata.index, snapshot.metadata.term, names[0]!.path);
  return {
    segments,
    activeFd,
    index,
    hardState,
    snapshot,
    highWater,
    created: false,
    segmentsScanned: names.length,
    segmentsDeleted: keepFrom,
    recordsScanned,
    tornTail,
  };
}

function corrupt(file: string, offset: number, reason: string): never {
  throw new WalCorruptionError(file, offset, reason);
}

/**
 * The log as the WAL's records describe it, replayed in write order: an entry at or below the last index truncates
 * before it, a dropLog marker empties the log. Before the first entry or marker the log's start is unknown
 * (segments before it may have been deleted), so the first entry defines it and the dummy's term is unknown (NaN).
 */
class ReplayedLog {
  readonly index = new LogIndex(0, Number.NaN);
  #started = false;

  constructor(readonly snapshotIndex: number) {}

  entry(
    record: Extract<ScannedRecordBody, { kind: 'entry' }>,
    segment: SegmentName,
    scanned: ScannedRecord,
  ): void {
    const { index: entryIndex, term } = record;
    if (entryIndex < 1) corrupt(segment.path, scanned.offset, `entry index ${entryIndex}`);
    const log = this.index;
    if (!this.#started || entryIndex <= log.dummyIndex) {
      log.reset(entryIndex - 1, Number.NaN);
      this.#started = true;
    } else if (entryIndex > log.lastIndex + 1) {
      corrupt(
        segment.path,
        scanned.offset,
        `entry ${entryIndex} leaves a gap after last index ${log.lastIndex}`,
      );
    } else if (entryIndex <= log.lastIndex) {
      log.truncateAfter(entryIndex - 1);
    }
    const previousTerm = log.term(entryIndex - 1);
    if (term < previousTerm) {
      corrupt(
        segment.path,
        scanned.offset,
        `entry ${entryIndex} has term ${term} < ${previousTerm} before it`,
      );
    }
    log.push(entryIndex, term, record.type, segment.seq, scanned.offset, scanned.recordBytes);
  }

  marker(markerIndex: number, term: number, dropLog: boolean, file: string, offset: number): void {
    if (markerIndex > this.snapshotIndex) {
      corrupt(
        file,
        offset,
        `marker for snapshot ${markerIndex} but the newest snapshot file is ${this.snapshotIndex}`,
      );
    }
    const log = this.index;
    if (dropLog) {
      log.reset(markerIndex, term);
      this.#started = true;
    } else if (this.#started && markerIndex >= log.dummyIndex && markerIndex <= log.lastIndex) {
      const logTerm = log.term(markerIndex);
      if (!Number.isNaN(logTerm) && logTerm !== term) {
        corrupt(
          file,
          offset,
          `snapshot marker (${markerIndex}, term ${term}) but the log has term ${logTerm} there`,
        );
      }
    }
  }

  /** The live log after the snapshot (index, term): everything <= index is dropped, a conflicting log entirely. */
  reconcile(snapshotIndex: number, snapshotTerm: number, firstFile: string): LogIndex {
    const log = this.index;
    if (!this.#started) {
      log.reset(snapshotIndex, snapshotTerm);
    } else if (log.dummyIndex > snapshotIndex) {
      corrupt(
        firstFile,
        0,
        `the WAL starts at index ${log.dummyIndex + 1}, after snapshot index ${snapshotIndex}`,
      );
    } else if (snapshotIndex > log.lastIndex) {
      log.reset(snapshotIndex, snapshotTerm);
    } else {
      const term = log.term(snapshotIndex);
      if (Number.isNaN(term) || term === snapshotTerm) {
        log.compactTo(snapshotIndex);
        log.setDummyTerm(snapshotTerm);
      } else {
        log.reset(snapshotIndex, snapshotTerm);
      }
    }
    return log;
  }
}
