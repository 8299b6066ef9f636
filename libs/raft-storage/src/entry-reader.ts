// Reads entries for the `Storage` port: the cached tail from memory, the rest from segment files in runs of one disk
// read each, within the caller's byte budget (sizes as the core counts them: entrySizeBytes).

import { type Entry, entryOverheadBytes, entrySizeBytes } from '@regent/raft';
import type { EntryCache } from './entry-cache.js';
import { WalCorruptionError } from './errors.js';
import { readUpToSync } from './fs-util.js';
import type { LogIndex } from './log-index.js';
import type { SegmentFiles } from './segment-files.js';
import { decodeRecordAt, ENTRY_RECORD_OVERHEAD_BYTES } from './wal.js';

/** Largest file span one disk read in `entries()` covers (beyond a single record). */
const READ_SPAN_BYTES_MAX = 1024 * 1024;

export interface EntryReaderOptions {
  readonly index: LogIndex;
  readonly cache: EntryCache;
  readonly segments: SegmentFiles;
  readonly recordBytesMax: number;
}

/** The read path of the storage; it shares the index, cache and segments with the writer and changes none of them. */
export class EntryReader {
  readonly #index: LogIndex;
  readonly #cache: EntryCache;
  readonly #segments: SegmentFiles;
  readonly #recordBytesMax: number;
  /** Buffer of the current disk read; grows (doubling) to the largest span read. */
  #scratch = new Uint8Array(64 * 1024);
  #entriesReadFromDisk = 0;

  constructor(options: EntryReaderOptions) {
    this.#index = options.index;
    this.#cache = options.cache;
    this.#segments = options.segments;
    this.#recordBytesMax = options.recordBytesMax;
  }

  /** Entries read back from segment files (cache misses). */
  get entriesReadFromDisk(): number {
    return this.#entriesReadFromDisk;
  }

  /**
   * Entries [lo, hi) up to `maxBytes` in all, but at least one. The caller has checked that the log holds them:
   * dummyIndex < lo <= hi <= lastIndex + 1.
   */
  read(lo: number, hi: number, maxBytes: number): Entry[] {
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
    const segment = this.#segments.bySeq(seq)!;
    const read = readUpToSync(this.#segments.fdFor(seq), this.#scratch, spanBytes, spanStart);
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
        this.#recordBytesMax,
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
