// Small synchronous and asynchronous file helpers: full writes/reads at a position and directory fsync.

import * as fs from 'node:fs';

/** Writes all of `bytes` at `position`; `fs.writeSync` may write less than asked. */
export function writeAllSync(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.byteLength) {
    written += fs.writeSync(fd, bytes, written, bytes.byteLength - written, position + written);
  }
}

/** Reads up to `length` bytes at `position` into `target[0, length)`; returns the count (short only at EOF). */
export function readUpToSync(fd: number, target: Uint8Array, length: number, position: number): number {
  let read = 0;
  while (read < length) {
    const n = fs.readSync(fd, target, read, length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  return read;
}

/** fsync a directory so that file creations, renames and deletions in it are durable. */
export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fdatasync on the libuv thread pool. */
export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });
}

/** Creates `dir` (and parents) if missing and makes its entry durable in the parent. Returns true if created. */
export function ensureDirSync(dir: string, parent: string): boolean {
  if (fs.existsSync(dir)) return false;
  fs.mkdirSync(dir, { recursive: true });
  fsyncDirSync(parent);
  return true;
}
