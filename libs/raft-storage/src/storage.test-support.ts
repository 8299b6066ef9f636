// Fixtures shared by the storage specs: temporary directories, entry builders, file inspection and crash simulation.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Entry, EntryType, type Snapshot } from '@regent/raft';
import { afterEach } from 'vitest';
import { type FileStorage, openFileStorage } from './file-storage.js';
import type { FileStorageOptions } from './storage-options.js';

const created: string[] = [];
const opened: FileStorage[] = [];

/** A fresh directory removed after the test (storages opened through `open` are closed first). */
export function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regent-raft-storage-'));
  created.push(dir);
  return dir;
}

export function open(options: FileStorageOptions): FileStorage {
  const storage = openFileStorage(options);
  opened.push(storage);
  return storage;
}

afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close();
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Deterministic payload for (index, term, salt) of `bytes` bytes. */
export function payload(index: number, term: number, bytes = 8, salt = 0): Uint8Array {
  const data = new Uint8Array(bytes);
  let x = (index * 2654435761 + term * 40503 + salt * 97 + 1) >>> 0;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

export function entry(index: number, term: number, data: Uint8Array = payload(index, term)): Entry {
  return { index, term, type: EntryType.Normal, data };
}

/** Entries [from, to] (inclusive) with one term. */
export function entries(from: number, to: number, term: number, bytes = 8, salt = 0): Entry[] {
  const result: Entry[] = [];
  for (let i = from; i <= to; i++) result.push(entry(i, term, payload(i, term, bytes, salt)));
  return result;
}

export function snapshotAt(
  index: number,
  term: number,
  data = payload(index, term, 32, 7),
  voters = [1, 2, 3],
): Snapshot {
  return {
    metadata: {
      index,
      term,
      confState: { voters, learners: [] },
      addresses: new Map(voters.map((id) => [id, `127.0.0.1:${7000 + id}`])),
    },
    data,
  };
}

export function walFiles(dir: string): string[] {
  const walDir = path.join(dir, 'wal');
  return fs
    .readdirSync(walDir)
    .filter((name) => name.endsWith('.seg'))
    .sort()
    .map((name) => path.join(walDir, name));
}

export function snapFiles(dir: string): string[] {
  const snapDir = path.join(dir, 'snap');
  return fs
    .readdirSync(snapDir)
    .filter((name) => name.endsWith('.snap'))
    .sort()
    .map((name) => path.join(snapDir, name));
}

export function fileSize(file: string): number {
  return fs.statSync(file).size;
}

/** Bytes of a segment's header record (frame header + payload length from the first u32). */
export function segmentHeaderBytes(file: string): number {
  const head = fs.readFileSync(file).subarray(0, 4);
  return 12 + new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
}

/** XORs `mask` into the byte at `offset`. */
export function flipByte(file: string, offset: number, mask = 0x5a): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const byte = new Uint8Array(1);
    fs.readSync(fd, byte, 0, 1, offset);
    byte[0]! ^= mask;
    fs.writeSync(fd, byte, 0, 1, offset);
  } finally {
    fs.closeSync(fd);
  }
}

export function entryData(list: readonly Entry[]): number[][] {
  return list.map((e) => [e.index, e.term, ...e.data]);
}
