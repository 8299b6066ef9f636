// The sync ledger: an opt-in side file naming, for every file of a storage directory, how many of its bytes are
// known durable. Fault injection reads it to simulate an OS crash or power failure (see `loseUnsyncedWrites`); it is
// never enabled in production.
//
// SYNC LEDGER FORMAT, version 1 (UTF-8 text):
//   regent-sync-ledger 1
//   <path relative to the storage dir, e.g. wal/<seq>-<firstIndex>.seg or snap/<index>.snap> <durable bytes>
//   …
// What holds: a file is listed only once its directory entry is durable (after the directory fsync that followed
// its creation or rename); its count is a length whose bytes were durable (written before an fsync/fdatasync that
// has returned). Counts never decrease while a storage is open; a file is dropped once its deletion is durable.
// Every update rewrites the whole ledger (a few lines) to `<ledger>.tmp` and renames it over the ledger, so a
// kill -9 leaves the previous or the next version, never a torn one. The ledger itself is not fsynced: the harness
// kills processes, not the OS, and the page cache survives a process kill.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAllSync } from './fs-util.js';

const HEADER = 'regent-sync-ledger 1';
/** Most files a ledger may name: a storage holds a few segments and snapshots; far more means a bug. */
const LEDGER_FILES_MAX = 100_000;

/** Known durable bytes by path relative to the storage dir (`wal/…`, `snap/…`). */
export type SyncLedgerEntries = ReadonlyMap<string, number>;

/** Writes the ledger of one storage directory. Not for production use. */
export class SyncLedger {
  readonly #ledgerPath: string;
  readonly #storageDir: string;
  readonly #durableBytes = new Map<string, number>();

  constructor(ledgerPath: string, storageDir: string) {
    this.#ledgerPath = ledgerPath;
    this.#storageDir = storageDir;
  }

  /** Replaces the ledger with every file of `wal/` and `snap/` at its current size. Only when all of it is durable. */
  recordAll(): void {
    this.#durableBytes.clear();
    for (const sub of ['wal', 'snap']) {
      const dir = path.join(this.#storageDir, sub);
      for (const name of fs.readdirSync(dir)) {
        const stat = fs.statSync(path.join(dir, name));
        if (stat.isFile()) this.#durableBytes.set(`${sub}/${name}`, stat.size);
      }
    }
    this.#save();
  }

  /** `file` (absolute, inside the storage dir) has at least `bytes` durable bytes and a durable directory entry. */
  durable(file: string, bytes: number): void {
    const key = this.#key(file);
    const known = this.#durableBytes.get(key);
    if (known !== undefined && bytes <= known) return;
    this.#durableBytes.set(key, bytes);
    this.#save();
  }

  /** The deletion of `file` is durable (its directory was fsynced after the unlink). */
  deleted(file: string): void {
    if (this.#durableBytes.delete(this.#key(file))) this.#save();
  }

  #key(file: string): string {
    const relative = path.relative(this.#storageDir, file).split(path.sep).join('/');
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new Error(`sync ledger: ${file} is outside ${this.#storageDir}`);
    }
    return relative;
  }

  #save(): void {
    const lines = [HEADER, ...[...this.#durableBytes].map(([file, bytes]) => `${file} ${bytes}`)];
    const tmp = `${this.#ledgerPath}.tmp`;
    fs.writeFileSync(tmp, `${lines.join('\n')}\n`);
    fs.renameSync(tmp, this.#ledgerPath);
  }
}

export class SyncLedgerFormatError extends Error {
  override readonly name = 'SyncLedgerFormatError';
}

/** Reads a ledger; undefined when there is none (the storage never finished opening with the ledger enabled). */
export function readSyncLedger(ledgerPath: string): SyncLedgerEntries | undefined {
  let text: string;
  try {
    text = fs.readFileSync(ledgerPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const lines = text.split('\n').filter((line) => line !== '');
  if (lines[0] !== HEADER) throw new SyncLedgerFormatError(`${ledgerPath}: first line is not "${HEADER}"`);
  if (lines.length - 1 > LEDGER_FILES_MAX) {
    throw new SyncLedgerFormatError(`${ledgerPath}: ${lines.length - 1} files > ${LEDGER_FILES_MAX}`);
  }
  const entries = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const match = /^((?:wal|snap)\/[^/\s]+) (\d+)$/.exec(line);
    const bytes = Number(match?.[2]);
    if (match === null || !Number.isSafeInteger(bytes)) {
      throw new SyncLedgerFormatError(`${ledgerPath}: bad line ${JSON.stringify(line)}`);
    }
    entries.set(match[1]!, bytes);
  }
  return entries;
}

/**
 * What survives of a file's bytes past its durable length at a power failure. The file system may keep any prefix
 * of them, or (with delayed allocation / writeback ordering) a size whose unwritten blocks read as zeros.
 */
export type UnsyncedTail =
  /** The file ends at its durable length. */
  | { readonly kind: 'cut' }
  /** A prefix of the unsynced bytes survived: `keptFraction` (in [0, 1)) of them, a torn write at the end. */
  | { readonly kind: 'torn'; readonly keptFraction: number }
  /** The size survived but the unsynced bytes read as zeros. */
  | { readonly kind: 'zeroed' };

export interface Truncation {
  readonly file: string;
  readonly fromBytes: number;
  readonly toBytes: number;
}

export interface Zeroing {
  readonly file: string;
  readonly fromByte: number;
  readonly bytes: number;
}

export interface Shortfall {
  readonly file: string;
  readonly bytes: number;
  readonly durable: number;
}

export interface PowerLossReport {
  /** False when there was no ledger: nothing was changed. */
  readonly ledgerFound: boolean;
  readonly truncated: readonly Truncation[];
  readonly zeroed: readonly Zeroing[];
  /** Files whose directory entry was not durable (created or renamed after the last directory fsync, or `*.tmp`). */
  readonly deleted: readonly string[];
  /** Files shorter than their durable length: durable bytes went missing, which no crash may cause. Left alone. */
  readonly shorterThanDurable: readonly Shortfall[];
}

/**
 * Makes the storage directory `dir` look as it would after a power failure, from the sync ledger its (dead) process
 * kept: files absent from the ledger are deleted and every file loses what lies past its durable length as `tail`
 * says. The process using `dir` must not be running. Deleted files whose deletion was not yet durable are not
 * brought back (their bytes are gone), and only the ledger's files are judged: not the directories themselves.
 */
export function loseUnsyncedWrites(options: {
  readonly dir: string;
  readonly ledgerPath: string;
  readonly tail?: UnsyncedTail;
}): PowerLossReport {
  const ledger = readSyncLedger(options.ledgerPath);
  const tail = options.tail ?? { kind: 'cut' };
  if (tail.kind === 'torn' && !(tail.keptFraction >= 0 && tail.keptFraction < 1)) {
    throw new RangeError(`keptFraction must be in [0, 1): ${tail.keptFraction}`);
  }
  const truncated: Truncation[] = [];
  const zeroed: Zeroing[] = [];
  const deleted: string[] = [];
  const shorterThanDurable: Shortfall[] = [];
  for (const sub of ledger === undefined ? [] : ['wal', 'snap']) {
    const subDir = path.join(options.dir, sub);
    if (!fs.existsSync(subDir)) continue;
    for (const name of fs.readdirSync(subDir).sort()) {
      const file = path.join(subDir, name);
      const fileBytes = fs.statSync(file).size;
      const durable = ledger!.get(`${sub}/${name}`);
      if (durable === undefined) {
        fs.unlinkSync(file);
        deleted.push(file);
      } else if (fileBytes < durable) {
        shorterThanDurable.push({ file, bytes: fileBytes, durable });
      } else if (fileBytes > durable && tail.kind === 'zeroed') {
        writeZeros(file, durable, fileBytes - durable);
        zeroed.push({ file, fromByte: durable, bytes: fileBytes - durable });
      } else if (fileBytes > durable) {
        const kept = tail.kind === 'torn' ? Math.floor((fileBytes - durable) * tail.keptFraction) : 0;
        fs.truncateSync(file, durable + kept);
        truncated.push({ file, fromBytes: fileBytes, toBytes: durable + kept });
      }
    }
  }
  return { ledgerFound: ledger !== undefined, truncated, zeroed, deleted, shorterThanDurable };
}

function writeZeros(file: string, position: number, bytes: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    writeAllSync(fd, new Uint8Array(bytes), position);
  } finally {
    fs.closeSync(fd);
  }
}
