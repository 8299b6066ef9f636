// The write-ahead log's on-disk format: segment naming, record framing and codecs, and the recovery scanner that
// tells a torn tail (truncate and continue) from corruption (refuse to open).
//
// WAL FILE FORMAT, version 1. All integers little-endian; "u64" fields hold safe integers (< 2^53) as two u32 halves.
//
// Directory: <dir>/wal/<seq>-<firstIndex>.seg, both 20-digit zero-padded decimals, e.g.
//   wal/00000000000000000001-00000000000000000001.seg
// `seq` orders the segments (replay order); `firstIndex` is lastIndex + 1 when the segment was created. The sequence
// number is needed because a follower truncation can make a later segment start at a lower index than an earlier one.
// A segment is created complete with its header record as `<name>.tmp`, fsynced, renamed, and the directory fsynced;
// leftover `*.tmp` files are deleted on open. Only the highest-seq segment (the active one) is ever appended to; before
// a new segment is created the previous one is fdatasynced, so every sealed segment is complete on disk.
//
// Record frame (every record, including the segment header):
//   u32 payloadBytes        length of the payload (>= 1); 12 + payloadBytes <= recordBytesMax
//   u32 payloadCrc          CRC-32C of the payload
//   u32 headerCrc           CRC-32C of the 8 bytes above (so a damaged length is detected, never trusted)
//   payload: u8 kind, then the kind's fields:
//   1 SegmentHeader   u32 magic 0x4C574752 ("RGWL"), u16 version = 1, u64 seq, u64 firstIndex,
//                     u64 highWater (largest entry index ever written before this segment was created),
//                     u64 term, u64 vote, u64 commit (the hard state when the segment was created)
//   2 Entry           u8 entryType, u64 term, u64 index, data (rest of the payload)
//   3 HardState       u64 term, u64 vote, u64 commit (the newest record wins)
//   4 SnapshotMarker  u64 index, u64 term, u8 dropLog (written after the snapshot file is durable; dropLog = 1 when
//                     applying the snapshot discarded the whole log because it did not contain (index, term))
// There is no padding or alignment (unlike etcd): the length word has its own checksum, so a torn or flipped length
// is detected rather than avoided. Records follow each other and the file ends after the last record.
//
// Log truncation is implicit (as in etcd's WAL): an Entry record whose index is <= the current last index replaces
// that entry and discards everything after it. Nothing is rewritten in place; superseded records stay until their
// segment is deleted. Each segment header repeats the hard state, so deleting old segments never loses term/vote.
//
// Recovery rules (scanSegment): a damaged record is one with a short header, a header checksum mismatch, a length that
// runs past the end of the file, or a payload checksum mismatch. In the active (last) segment a damaged record is a
// torn tail, and the file is truncated at its start, only if no intact record begins anywhere after it (a write that
// was cut short leaves nothing intact behind it). Any other damage, any damage in a sealed segment, and any intact but
// inconsistent record (bad kind, index gap, decreasing term, oversize length) is a WalCorruptionError naming the
// file and byte offset.
//
// Replay on open (recovery.ts): load the newest snapshot file (index s); delete, unread, the segments before the
// first segment whose header highWater <= s (they hold only entries <= s); replay the rest in seq order (a dropLog
// marker empties the log at that point); finally keep the entries after s if the replayed log holds (s, term of the
// snapshot) or starts right after s, and none otherwise. At run time a sealed segment is deleted only when every
// entry it holds is <= the compacted index, which never exceeds the snapshot index.
//
// Durability: `sync()` is one fdatasync of the active segment; sealed segments were fdatasynced when sealed. Opening
// fdatasyncs the active segment and fsyncs wal/ and snap/ before the node acts on what replay read (after a kill -9,
// unsynced writes survive in the page cache and would otherwise be read, acted on, then lost to an OS crash).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Entry, EntryType, HardState } from '@regent/raft';
import { ByteReader, ByteWriter, DecodeError } from './binary.js';
import { crc32c } from './crc32c.js';
import { RecordTooLargeError, WalCorruptionError } from './errors.js';
import { fsyncDirSync, readUpToSync, writeAllSync } from './fs-util.js';

export const RECORD_HEADER_BYTES = 12;
export const SEGMENT_MAGIC = 0x4c574752;
export const WAL_FORMAT_VERSION = 1;
/** Frame header + kind + entryType + term + index: an Entry record is this plus `data.byteLength`. */
export const ENTRY_RECORD_OVERHEAD_BYTES = RECORD_HEADER_BYTES + 1 + 1 + 8 + 8;

const KIND_SEGMENT_HEADER = 1;
const KIND_ENTRY = 2;
const KIND_HARD_STATE = 3;
const KIND_SNAPSHOT_MARKER = 4;

export interface SegmentHeader {
  readonly seq: number;
  readonly firstIndex: number;
  readonly highWater: number;
  readonly hardState: HardState;
}

export type WalRecord =
  | { readonly kind: 'segmentHeader'; readonly header: SegmentHeader }
  | { readonly kind: 'entry'; readonly entry: Entry }
  | { readonly kind: 'hardState'; readonly hardState: HardState }
  | {
      readonly kind: 'snapshotMarker';
      readonly index: number;
      readonly term: number;
      readonly dropLog: boolean;
    };

// ---------------------------------------------------------------------------------------------------------------
// Segment names

const SEGMENT_NAME = /^(\d{20})-(\d{20})\.seg$/;

export function segmentFileName(seq: number, firstIndex: number): string {
  return `${String(seq).padStart(20, '0')}-${String(firstIndex).padStart(20, '0')}.seg`;
}

export interface SegmentName {
  readonly seq: number;
  readonly firstIndex: number;
  readonly path: string;
}

/** The segments in `walDir` ordered by seq. Files that are not segments (e.g. `*.tmp`) are not listed. */
export function listSegments(walDir: string): SegmentName[] {
  const segments: SegmentName[] = [];
  for (const name of fs.readdirSync(walDir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match === null) continue;
    const seq = Number(match[1]);
    const firstIndex = Number(match[2]);
    if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) {
      throw new WalCorruptionError(path.join(walDir, name), 0, 'segment name is out of range');
    }
    segments.push({ seq, firstIndex, path: path.join(walDir, name) });
  }
  segments.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < segments.length; i++) {
    if (segments[i]!.seq === segments[i - 1]!.seq) {
      throw new WalCorruptionError(segments[i]!.path, 0, `two segments share seq ${segments[i]!.seq}`);
    }
  }
  return segments;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

function payloadBytes(record: WalRecord): number {
  switch (record.kind) {
    case 'segmentHeader':
      return 1 + 4 + 2 + 8 * 6;
    case 'entry':
      return 1 + 1 + 8 + 8 + record.entry.data.byteLength;
    case 'hardState':
      return 1 + 8 * 3;
    case 'snapshotMarker':
      return 1 + 8 + 8 + 1;
  }
}

/** Bytes of the framed record (header + payload). */
export function recordBytes(record: WalRecord): number {
  return RECORD_HEADER_BYTES + payloadBytes(record);
}

function writePayload(writer: ByteWriter, record: WalRecord): void {
  switch (record.kind) {
    case 'segmentHeader': {
      const { header } = record;
      writer.u8(KIND_SEGMENT_HEADER);
      writer.u32(SEGMENT_MAGIC);
      writer.u16(WAL_FORMAT_VERSION);
      writer.u64(header.seq);
      writer.u64(header.firstIndex);
      writer.u64(header.highWater);
      writeHardState(writer, header.hardState);
      return;
    }
    case 'entry':
      writer.u8(KIND_ENTRY);
      writer.u8(record.entry.type);
      writer.u64(record.entry.term);
      writer.u64(record.entry.index);
      writer.raw(record.entry.data);
      return;
    case 'hardState':
      writer.u8(KIND_HARD_STATE);
      writeHardState(writer, record.hardState);
      return;
    case 'snapshotMarker':
      writer.u8(KIND_SNAPSHOT_MARKER);
      writer.u64(record.index);
      writer.u64(record.term);
      writer.u8(record.dropLog ? 1 : 0);
      return;
  }
}

function writeHardState(writer: ByteWriter, hardState: HardState): void {
  writer.u64(hardState.term);
  writer.u64(hardState.vote);
  writer.u64(hardState.commit);
}

/** Frames `record` into `target` at `offset`; returns the offset after it. `target` must have room (recordBytes). */
export function writeRecord(target: Uint8Array, offset: number, record: WalRecord): number {
  const writer = new ByteWriter(target, offset + RECORD_HEADER_BYTES);
  writePayload(writer, record);
  const payloadEnd = writer.offset;
  const payloadLength = payloadEnd - offset - RECORD_HEADER_BYTES;
  const header = new ByteWriter(target, offset);
  header.u32(payloadLength);
  header.u32(crc32c(target, offset + RECORD_HEADER_BYTES, payloadEnd));
  header.u32(crc32c(target, offset, offset + 8));
  return payloadEnd;
}

/** Frames a batch of records into one buffer, checking each against `recordBytesMax` before anything is written. */
export function encodeRecords(records: readonly WalRecord[], recordBytesMax: number): Uint8Array {
  let total = 0;
  for (const record of records) {
    const bytes = recordBytes(record);
    if (bytes > recordBytesMax) {
      throw new RecordTooLargeError(
        bytes,
        recordBytesMax,
        record.kind === 'entry' ? record.entry.index : undefined,
      );
    }
    total += bytes;
  }
  const target = new Uint8Array(total);
  let offset = 0;
  for (const record of records) offset = writeRecord(target, offset, record);
  return target;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

export type FrameCheck =
  | { readonly ok: true; readonly payloadBytes: number }
  | { readonly ok: false; readonly reason: string; readonly fatal: boolean };

/**
 * Checks the 12-byte frame header at `bytes[offset]` (which must be in the buffer) without looking at the payload.
 * `fatal` marks damage that can never be a torn tail: an intact header declaring an impossible length.
 */
function checkHeaderBytes(bytes: Uint8Array, offset: number, recordBytesMax: number): FrameCheck {
  if (crc32c(bytes, offset, offset + 8) !== u32At(bytes, offset + 8)) {
    return { ok: false, reason: 'record header checksum mismatch', fatal: false };
  }
  const payloadLength = u32At(bytes, offset);
  if (payloadLength === 0 || RECORD_HEADER_BYTES + payloadLength > recordBytesMax) {
    return {
      ok: false,
      reason: `record length ${RECORD_HEADER_BYTES + payloadLength} outside [${RECORD_HEADER_BYTES + 1}, recordBytesMax ${recordBytesMax}]`,
      fatal: true,
    };
  }
  return { ok: true, payloadBytes: payloadLength };
}

/** Checks the frame header at `bytes[offset]` and that the whole frame fits before buffer position `end`. */
export function checkFrameHeader(
  bytes: Uint8Array,
  offset: number,
  end: number,
  recordBytesMax: number,
): FrameCheck {
  if (end - offset < RECORD_HEADER_BYTES) {
    return { ok: false, reason: `truncated record header (${end - offset} bytes)`, fatal: false };
  }
  const frame = checkHeaderBytes(bytes, offset, recordBytesMax);
  if (frame.ok && offset + RECORD_HEADER_BYTES + frame.payloadBytes > end) {
    return {
      ok: false,
      reason: `record of ${frame.payloadBytes} payload bytes runs past the end of the file`,
      fatal: false,
    };
  }
  return frame;
}

/** True when the payload of the frame at `offset` (header already checked) matches its checksum. */
export function payloadChecksumMatches(bytes: Uint8Array, offset: number, payloadLength: number): boolean {
  const start = offset + RECORD_HEADER_BYTES;
  return crc32c(bytes, start, start + payloadLength) === u32At(bytes, offset + 4);
}

function u64At(bytes: Uint8Array, offset: number): number {
  const value = u32At(bytes, offset + 4) * 0x1_0000_0000 + u32At(bytes, offset);
  if (!Number.isSafeInteger(value)) throw new DecodeError(`u64 at ${offset} is not a safe integer`);
  return value;
}

/** Little-endian u32 at `offset` (no DataView: this runs once per record during recovery). */
function u32At(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>>
    0
  );
}

/** Decodes a checksummed payload. Throws DecodeError when the bytes are not a valid record. */
export function decodePayload(bytes: Uint8Array, start: number, end: number): WalRecord {
  const reader = new ByteReader(bytes, start, end);
  const kind = reader.u8();
  switch (kind) {
    case KIND_SEGMENT_HEADER:
      return { kind: 'segmentHeader', header: readSegmentHeaderPayload(reader) };
    case KIND_ENTRY: {
      const type = reader.u8() as EntryType;
      const term = reader.u64();
      const index = reader.u64();
      const data = reader.copy(reader.remaining);
      return { kind: 'entry', entry: { term, index, type, data } };
    }
    case KIND_HARD_STATE: {
      const hardState = readHardState(reader);
      reader.expectEnd();
      return { kind: 'hardState', hardState };
    }
    case KIND_SNAPSHOT_MARKER: {
      const index = reader.u64();
      const term = reader.u64();
      const dropLog = reader.u8();
      reader.expectEnd();
      if (dropLog > 1) throw new DecodeError(`snapshot marker dropLog flag ${dropLog}`);
      return { kind: 'snapshotMarker', index, term, dropLog: dropLog === 1 };
    }
    default:
      throw new DecodeError(`unknown record kind ${kind}`);
  }
}

/** Like decodePayload, but an entry's data is neither copied nor returned. */
function decodeForScan(bytes: Uint8Array, start: number, end: number): ScannedRecordBody {
  if (bytes[start] !== KIND_ENTRY) {
    return decodePayload(bytes, start, end) as Exclude<WalRecord, { kind: 'entry' }>;
  }
  if (end - start < 18) throw new DecodeError(`entry record of ${end - start} payload bytes`);
  const type = bytes[start + 1] as EntryType;
  return { kind: 'entry', type, term: u64At(bytes, start + 2), index: u64At(bytes, start + 10) };
}

function readSegmentHeaderPayload(reader: ByteReader): SegmentHeader {
  const magic = reader.u32();
  if (magic !== SEGMENT_MAGIC) throw new DecodeError(`bad segment magic 0x${magic.toString(16)}`);
  const version = reader.u16();
  if (version !== WAL_FORMAT_VERSION) throw new DecodeError(`unsupported WAL format version ${version}`);
  const seq = reader.u64();
  const firstIndex = reader.u64();
  const highWater = reader.u64();
  const hardState = readHardState(reader);
  reader.expectEnd();
  return { seq, firstIndex, highWater, hardState };
}

function readHardState(reader: ByteReader): HardState {
  const term = reader.u64();
  const vote = reader.u64();
  const commit = reader.u64();
  return { term, vote, commit };
}

/**
 * Verifies and decodes the record whose frame starts at `bytes[offset]` (file position `fileOffset`) and must end by
 * buffer position `end`. Used for reads of records the index points at, so any failure is corruption.
 */
export function decodeRecordAt(
  file: string,
  bytes: Uint8Array,
  offset: number,
  end: number,
  fileOffset: number,
  recordBytesMax: number,
): WalRecord {
  const frame = checkFrameHeader(bytes, offset, end, recordBytesMax);
  if (!frame.ok) throw new WalCorruptionError(file, fileOffset, frame.reason);
  if (!payloadChecksumMatches(bytes, offset, frame.payloadBytes)) {
    throw new WalCorruptionError(file, fileOffset, 'record payload checksum mismatch');
  }
  const start = offset + RECORD_HEADER_BYTES;
  try {
    return decodePayload(bytes, start, start + frame.payloadBytes);
  } catch (cause) {
    if (cause instanceof DecodeError)
      throw new WalCorruptionError(file, fileOffset, cause.message, { cause });
    throw cause;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Recovery scan

const SCAN_CHUNK_BYTES = 1 << 20;

/** What recovery needs from a record: entries without their data (it is read back on demand). */
export type ScannedRecordBody =
  | Exclude<WalRecord, { kind: 'entry' }>
  | { readonly kind: 'entry'; readonly index: number; readonly term: number; readonly type: EntryType };

export interface ScannedRecord {
  readonly record: ScannedRecordBody;
  /** File offset of the frame. */
  readonly offset: number;
  /** Frame bytes (header + payload). */
  readonly recordBytes: number;
}

export interface SegmentScan {
  /** Bytes that hold intact records; equals the file size unless a torn tail was found. */
  readonly validBytes: number;
  readonly torn: { readonly offset: number; readonly reason: string } | undefined;
}

/**
 * Reads every record of one segment in order, in chunks of at most max(1 MiB, one record) of memory. `onRecord` may
 * throw a WalCorruptionError for records that are intact but inconsistent. A torn tail is reported, not repaired:
 * the caller truncates the file.
 */
export function scanSegment(
  file: string,
  fd: number,
  fileBytes: number,
  options: { readonly tornTailAllowed: boolean; readonly recordBytesMax: number },
  onRecord: (scanned: ScannedRecord) => void,
): SegmentScan {
  let buffer = new Uint8Array(Math.min(SCAN_CHUNK_BYTES, Math.max(fileBytes, RECORD_HEADER_BYTES)));
  let bufferStart = 0;
  let bufferEnd = 0;
  /** Makes the buffer hold file bytes [position, position + count) (count <= what is left in the file). */
  const load = (position: number, count: number): void => {
    if (position >= bufferStart && position + count <= bufferEnd) return;
    if (count > buffer.byteLength) buffer = new Uint8Array(count);
    const length = Math.min(buffer.byteLength, fileBytes - position);
    const read = readUpToSync(fd, buffer, length, position);
    if (read !== length)
      throw new WalCorruptionError(file, position + read, 'segment shrank while being read');
    bufferStart = position;
    bufferEnd = position + read;
  };
  const damaged = (offset: number, reason: string, fatal: boolean): SegmentScan => {
    if (fatal || !options.tornTailAllowed) throw new WalCorruptionError(file, offset, reason);
    const intact = findIntactRecordAfter(fd, offset, fileBytes, options.recordBytesMax);
    if (intact !== undefined) {
      throw new WalCorruptionError(file, offset, `${reason}; an intact record follows at byte ${intact}`);
    }
    return { validBytes: offset, torn: { offset, reason } };
  };

  let offset = 0;
  while (offset < fileBytes) {
    const left = fileBytes - offset;
    if (left < RECORD_HEADER_BYTES) return damaged(offset, `truncated record header (${left} bytes)`, false);
    load(offset, RECORD_HEADER_BYTES);
    const frame = checkHeaderBytes(buffer, offset - bufferStart, options.recordBytesMax);
    if (!frame.ok) return damaged(offset, frame.reason, frame.fatal);
    const frameBytes = RECORD_HEADER_BYTES + frame.payloadBytes;
    if (frameBytes > left) {
      return damaged(
        offset,
        `record of ${frame.payloadBytes} payload bytes runs past the end of the file`,
        false,
      );
    }
    load(offset, frameBytes);
    const at = offset - bufferStart;
    if (!payloadChecksumMatches(buffer, at, frame.payloadBytes)) {
      return damaged(offset, 'record payload checksum mismatch', false);
    }
    let record: ScannedRecordBody;
    try {
      record = decodeForScan(buffer, at + RECORD_HEADER_BYTES, at + frameBytes);
    } catch (cause) {
      if (cause instanceof DecodeError) throw new WalCorruptionError(file, offset, cause.message, { cause });
      throw cause;
    }
    onRecord({ record, offset, recordBytes: frameBytes });
    offset += frameBytes;
  }
  return { validBytes: fileBytes, torn: undefined };
}

/**
 * The offset of the first intact record (header and payload checksums match, length within limits) that starts
 * after `offset`, or undefined. Reads the rest of the file into memory: at most one segment plus one record.
 */
export function findIntactRecordAfter(
  fd: number,
  offset: number,
  fileBytes: number,
  recordBytesMax: number,
): number | undefined {
  const tail = new Uint8Array(fileBytes - offset);
  readUpToSync(fd, tail, tail.byteLength, offset);
  for (let at = 1; at + RECORD_HEADER_BYTES < tail.byteLength; at++) {
    const payloadLength = u32At(tail, at);
    if (payloadLength === 0 || RECORD_HEADER_BYTES + payloadLength > recordBytesMax) continue;
    if (at + RECORD_HEADER_BYTES + payloadLength > tail.byteLength) continue;
    if (crc32c(tail, at, at + 8) !== u32At(tail, at + 8)) continue;
    if (payloadChecksumMatches(tail, at, payloadLength)) return offset + at;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Segment files

/** Reads and verifies only the header record of a segment (cheap: used to skip segments covered by a snapshot). */
export function readSegmentHeader(file: string, recordBytesMax: number): SegmentHeader {
  const fd = fs.openSync(file, 'r');
  try {
    const fileBytes = fs.fstatSync(fd).size;
    const head = new Uint8Array(Math.min(fileBytes, RECORD_HEADER_BYTES));
    readUpToSync(fd, head, head.byteLength, 0);
    const frame = checkFrameHeader(head, 0, fileBytes, recordBytesMax);
    if (!frame.ok) throw new WalCorruptionError(file, 0, `segment header: ${frame.reason}`);
    const bytes = new Uint8Array(RECORD_HEADER_BYTES + frame.payloadBytes);
    readUpToSync(fd, bytes, bytes.byteLength, 0);
    const record = decodeRecordAt(file, bytes, 0, bytes.byteLength, 0, recordBytesMax);
    if (record.kind !== 'segmentHeader') {
      throw new WalCorruptionError(file, 0, `first record is ${record.kind}, not a segment header`);
    }
    return record.header;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates a segment holding only its header: written to `<name>.tmp`, fsynced, renamed, directory fsynced. Returns
 * the final path and its size in bytes.
 */
export function createSegmentFile(
  walDir: string,
  header: SegmentHeader,
  recordBytesMax: number,
): { path: string; fileBytes: number } {
  const bytes = encodeRecords([{ kind: 'segmentHeader', header }], recordBytesMax);
  const finalPath = path.join(walDir, segmentFileName(header.seq, header.firstIndex));
  const tmpPath = `${finalPath}.tmp`;
  const fd = fs.openSync(tmpPath, 'w');
  try {
    writeAllSync(fd, bytes, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmpPath, finalPath);
  fsyncDirSync(walDir);
  return { path: finalPath, fileBytes: bytes.byteLength };
}
