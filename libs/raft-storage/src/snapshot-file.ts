// Snapshot files: <dir>/snap/<index 20 digits>.snap, written atomically and checksummed end to end.
//
// SNAPSHOT FILE FORMAT, version 1 (little-endian):
//   0        8  magic "RGNTSNAP"
//   8        2  u16 version = 1
//   10       2  u16 reserved = 0
//   12       4  u32 metadataBytes (M)
//   16       4  u32 metadataCrc: CRC-32C of the metadata
//   20       M  metadata: u64 index, u64 term, membership (conf state + addresses, see membership.ts)
//   20+M     8  u64 dataBytes (D)
//   28+M     D  data (the state machine's bytes)
//   28+M+D   4  u32 fileCrc: CRC-32C of bytes [0, 28+M+D)
// A SnapshotCorruptionError's offset is where the first failing check's region starts (20 for the metadata, 28+M for
// the data and trailer).
//
// Writing: `<name>.tmp` → write → fsync → rename → fsync snap/. Loading reads the whole file (bounded by
// snapshotBytesMax): a snapshot's data is held in memory by `Storage.snapshot()` anyway.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { membershipFromConfState, type Snapshot } from '@regent/raft';
import { ByteReader, ByteWriter, DecodeError } from './binary.js';
import { crc32c } from './crc32c.js';
import { SnapshotCorruptionError, SnapshotTooLargeError } from './errors.js';
import { fsyncDir, fsyncDirSync, writeAllSync } from './fs-util.js';
import { membershipBytes, readMembership, writeMembership } from './membership.js';

const MAGIC = new TextEncoder().encode('RGNTSNAP');
const VERSION = 1;
const HEAD_FIXED_BYTES = 20;
const TRAILER_BYTES = 4;
const SNAPSHOT_NAME = /^(\d{20})\.snap$/;

export function snapshotFileName(index: number): string {
  return `${String(index).padStart(20, '0')}.snap`;
}

export interface SnapshotFileName {
  readonly index: number;
  readonly path: string;
}

/** Snapshot files in `snapDir`, oldest (lowest index) first. */
export function listSnapshotFiles(snapDir: string): SnapshotFileName[] {
  const files: SnapshotFileName[] = [];
  for (const name of fs.readdirSync(snapDir)) {
    const match = SNAPSHOT_NAME.exec(name);
    if (match === null) continue;
    files.push({ index: Number(match[1]), path: path.join(snapDir, name) });
  }
  return files.sort((a, b) => a.index - b.index);
}

/** The file's bytes before the data: fixed header, metadata and the data length. */
function encodeHead(snapshot: Snapshot): Uint8Array {
  const { metadata } = snapshot;
  const metadataLength = 16 + membershipBytes(metadata);
  const head = new Uint8Array(HEAD_FIXED_BYTES + metadataLength + 8);
  const writer = new ByteWriter(head);
  writer.raw(MAGIC);
  writer.u16(VERSION);
  writer.u16(0);
  writer.u32(metadataLength);
  writer.u32(0); // metadata CRC, filled below
  writer.u64(metadata.index);
  writer.u64(metadata.term);
  writeMembership(writer, metadata);
  writer.u64(snapshot.data.byteLength);
  new DataView(head.buffer).setUint32(
    16,
    crc32c(head, HEAD_FIXED_BYTES, HEAD_FIXED_BYTES + metadataLength),
    true,
  );
  return head;
}

export function snapshotFileBytes(snapshot: Snapshot): number {
  return encodeHead(snapshot).byteLength + snapshot.data.byteLength + TRAILER_BYTES;
}

/** The three parts of a snapshot file (head, data, trailer); throws SnapshotTooLargeError past the limit. */
function fileParts(snapshot: Snapshot, snapshotBytesMax: number): Uint8Array[] {
  const head = encodeHead(snapshot);
  const fileBytes = head.byteLength + snapshot.data.byteLength + TRAILER_BYTES;
  if (fileBytes > snapshotBytesMax) throw new SnapshotTooLargeError(fileBytes, snapshotBytesMax);
  const trailer = new Uint8Array(TRAILER_BYTES);
  const fileCrc = crc32c(snapshot.data, 0, snapshot.data.byteLength, crc32c(head));
  new DataView(trailer.buffer).setUint32(0, fileCrc, true);
  return [head, snapshot.data, trailer];
}

/** Bytes checksummed per turn of the event loop when a snapshot file is written in the background (~1 ms). */
const CRC_SLICE_BYTES = 1 << 20;

/** `fileParts`, with the checksum of a large snapshot computed a slice per turn of the event loop. */
async function filePartsInTurns(snapshot: Snapshot, snapshotBytesMax: number): Promise<Uint8Array[]> {
  const head = encodeHead(snapshot);
  const fileBytes = head.byteLength + snapshot.data.byteLength + TRAILER_BYTES;
  if (fileBytes > snapshotBytesMax) throw new SnapshotTooLargeError(fileBytes, snapshotBytesMax);
  let crc = crc32c(head);
  const data = snapshot.data;
  for (let start = 0; start < data.byteLength; start += CRC_SLICE_BYTES) {
    crc = crc32c(data, start, Math.min(data.byteLength, start + CRC_SLICE_BYTES), crc);
    if (start + CRC_SLICE_BYTES < data.byteLength) await new Promise((resolve) => setImmediate(resolve));
  }
  const trailer = new Uint8Array(TRAILER_BYTES);
  new DataView(trailer.buffer).setUint32(0, crc, true);
  return [head, data, trailer];
}

/** Writes `snapshot` durably as snap/<index>.snap (tmp, fsync, rename, directory fsync). Returns the final path. */
export async function writeSnapshotFile(
  snapDir: string,
  snapshot: Snapshot,
  snapshotBytesMax: number,
): Promise<string> {
  const parts = await filePartsInTurns(snapshot, snapshotBytesMax);
  const finalPath = path.join(snapDir, snapshotFileName(snapshot.metadata.index));
  const tmpPath = `${finalPath}.tmp`;
  const handle = await fs.promises.open(tmpPath, 'w');
  try {
    await handle.writev(parts, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmpPath, finalPath);
  await fsyncDir(snapDir);
  return finalPath;
}

/** `writeSnapshotFile` with synchronous I/O, for use while opening. */
export function writeSnapshotFileSync(snapDir: string, snapshot: Snapshot, snapshotBytesMax: number): string {
  const parts = fileParts(snapshot, snapshotBytesMax);
  const finalPath = path.join(snapDir, snapshotFileName(snapshot.metadata.index));
  const tmpPath = `${finalPath}.tmp`;
  const fd = fs.openSync(tmpPath, 'w');
  try {
    let position = 0;
    for (const part of parts) {
      writeAllSync(fd, part, position);
      position += part.byteLength;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmpPath, finalPath);
  fsyncDirSync(snapDir);
  return finalPath;
}

/** Loads and verifies a snapshot file. Throws SnapshotCorruptionError (file, offset) or SnapshotTooLargeError. */
export function loadSnapshotFile(file: string, snapshotBytesMax: number): Snapshot {
  const fileBytes = fs.statSync(file).size;
  if (fileBytes > snapshotBytesMax) throw new SnapshotTooLargeError(fileBytes, snapshotBytesMax);
  const read = fs.readFileSync(file);
  const bytes = new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
  const fail = (offset: number, reason: string, cause?: unknown): never => {
    throw new SnapshotCorruptionError(file, offset, reason, cause === undefined ? undefined : { cause });
  };
  if (bytes.byteLength < HEAD_FIXED_BYTES + 8 + TRAILER_BYTES)
    fail(0, `file is only ${bytes.byteLength} bytes`);
  for (let i = 0; i < MAGIC.byteLength; i++) if (bytes[i] !== MAGIC[i]) fail(0, 'bad magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(8, true);
  if (version !== VERSION) fail(8, `unsupported snapshot format version ${version}`);
  if (view.getUint16(10, true) !== 0) fail(10, 'reserved field is not zero');
  const metadataLength = view.getUint32(12, true);
  const metadataEnd = HEAD_FIXED_BYTES + metadataLength;
  if (metadataEnd + 8 + TRAILER_BYTES > bytes.byteLength)
    fail(12, `metadata length ${metadataLength} out of range`);
  if (crc32c(bytes, HEAD_FIXED_BYTES, metadataEnd) !== view.getUint32(16, true)) {
    fail(HEAD_FIXED_BYTES, 'metadata checksum mismatch');
  }
  const reader = new ByteReader(bytes, HEAD_FIXED_BYTES, metadataEnd);
  let metadata: Snapshot['metadata'] | undefined;
  try {
    const index = reader.u64();
    const term = reader.u64();
    const membership = readMembership(reader);
    reader.expectEnd();
    metadata = { index, term, confState: membership.confState, addresses: membership.addresses };
  } catch (cause) {
    if (!(cause instanceof DecodeError)) throw cause;
    fail(HEAD_FIXED_BYTES, `metadata does not decode: ${cause.message}`, cause);
  }
  // The Raft core asserts a well-formed membership at start; a malformed one on disk is corruption, not a crash.
  const membershipProblem = membershipFromConfState(metadata!.confState, metadata!.addresses);
  if (typeof membershipProblem === 'string')
    fail(HEAD_FIXED_BYTES, `membership is malformed: ${membershipProblem}`);
  let dataLength = 0;
  try {
    dataLength = new ByteReader(bytes, metadataEnd, metadataEnd + 8).u64();
  } catch (cause) {
    if (!(cause instanceof DecodeError)) throw cause;
    fail(metadataEnd, `data length does not decode: ${cause.message}`, cause);
  }
  const dataStart = metadataEnd + 8;
  if (dataStart + dataLength + TRAILER_BYTES !== bytes.byteLength) {
    fail(metadataEnd, `data length ${dataLength} does not match the file size ${bytes.byteLength}`);
  }
  const trailerStart = dataStart + dataLength;
  if (crc32c(bytes, 0, trailerStart) !== view.getUint32(trailerStart, true)) {
    fail(dataStart, 'file checksum mismatch (data or trailer damaged)');
  }
  const expectedName = snapshotFileName(metadata!.index);
  if (path.basename(file) !== expectedName)
    fail(HEAD_FIXED_BYTES, `index ${metadata!.index} does not match the name`);
  return { metadata: metadata!, data: bytes.slice(dataStart, trailerStart) };
}
