// The broker's epoch cache (RocketMQ `EpochFileCache`): which masterEpoch wrote which range of the commit log, as
// ⟨epoch, startOffset⟩ entries, and the truncation point a slave computes against a new master (§3.6).
// Pure and immutable: every change returns a new cache. Offsets are bigint commit-log byte positions.
import { assert } from './assert.js';

/** The end offset of the newest entry (RocketMQ's Long.MAX_VALUE): "open until the next epoch starts". */
export const OFFSET_UNBOUNDED = 2n ** 63n - 1n;

/** One epoch's range of the commit log: [startOffset, endOffset). `endOffset` is the next entry's start. */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: bigint;
  readonly endOffset: bigint;
}

export type EpochAppendResult =
  | { readonly ok: true; readonly cache: EpochCache }
  | { readonly ok: false; readonly reason: 'epoch-not-increasing' | 'start-not-increasing' };

/**
 * An ordered list of epoch entries. Holds: epochs strictly increase, start offsets strictly increase, every
 * start offset is ≥ 0, and each entry's end is the next entry's start (the last one's is `OFFSET_UNBOUNDED`).
 */
export class EpochCache {
  static readonly empty = new EpochCache([]);

  private constructor(private readonly list: readonly EpochEntry[]) {}

  /** Builds a cache from ⟨epoch, startOffset⟩ pairs in order; throws `EpochCacheError` on a bad order. */
  static of(pairs: readonly { readonly epoch: number; readonly startOffset: bigint }[]): EpochCache {
    let cache = EpochCache.empty;
    for (const { epoch, startOffset } of pairs) {
      const result = cache.append(epoch, startOffset);
      if (!result.ok) throw new EpochCacheError(`entry ⟨${epoch}, ${startOffset}⟩: ${result.reason}`);
      cache = result.cache;
    }
    return cache;
  }

  /** Parses the checkpoint text: one `epoch-startOffset` line per entry (RocketMQ's `epochFileCheckpoint`). */
  static parse(text: string): EpochCache {
    const pairs = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .map((line) => {
        const m = /^(\d+)-(\d+)$/.exec(line);
        if (m === null) throw new EpochCacheError(`bad epoch line ${JSON.stringify(line)}`);
        return { epoch: Number(m[1]), startOffset: BigInt(m[2]!) };
      });
    return EpochCache.of(pairs);
  }

  get entries(): readonly EpochEntry[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  /** The newest entry, if any. */
  get last(): EpochEntry | undefined {
    return this.list[this.list.length - 1];
  }

  /** The newest epoch, or -1 when the cache is empty (the heartbeat's "unknown"). */
  get lastEpoch(): number {
    return this.last?.epoch ?? -1;
  }

  entry(epoch: number): EpochEntry | undefined {
    return this.list.find((e) => e.epoch === epoch);
  }

  /** The entry whose range holds `offset`, if any. */
  entryAt(offset: bigint): EpochEntry | undefined {
    return this.list.find((e) => e.startOffset <= offset && offset < e.endOffset);
  }

  /** Appends ⟨epoch, startOffset⟩; refused unless both are strictly greater than the newest entry's. */
  append(epoch: number, startOffset: bigint): EpochAppendResult {
    assert(Number.isInteger(epoch) && epoch >= 0, `epoch ${epoch} must be a non-negative integer`);
    assert(startOffset >= 0n, `startOffset ${startOffset} must be >= 0`);
    const last = this.last;
    if (last !== undefined && epoch <= last.epoch) return { ok: false, reason: 'epoch-not-increasing' };
    if (last !== undefined && startOffset <= last.startOffset)
      return { ok: false, reason: 'start-not-increasing' };
    const closed = last === undefined ? [] : [...this.list.slice(0, -1), { ...last, endOffset: startOffset }];
    return {
      ok: true,
      cache: new EpochCache([...closed, { epoch, startOffset, endOffset: OFFSET_UNBOUNDED }]),
    };
  }

  /** Drops every entry with an epoch ≥ `epoch` (before a master appends its new epoch). */
  truncateFromEpoch(epoch: number): EpochCache {
    return EpochCache.reopen(this.list.filter((e) => e.epoch < epoch));
  }

  /** Drops every entry that starts at or beyond `offset` (after the commit log was cut at `offset`). */
  truncateFromOffset(offset: bigint): EpochCache {
    return EpochCache.reopen(this.list.filter((e) => e.startOffset < offset));
  }

  /** The checkpoint text, one `epoch-startOffset` line per entry. */
  format(): string {
    return this.list.map((e) => `${e.epoch}-${e.startOffset}\n`).join('');
  }

  private static reopen(kept: readonly EpochEntry[]): EpochCache {
    const last = kept[kept.length - 1];
    if (last === undefined) return EpochCache.empty;
    return new EpochCache([...kept.slice(0, -1), { ...last, endOffset: OFFSET_UNBOUNDED }]);
  }
}

/** An epoch checkpoint that breaks the cache's ordering (a corrupt file); never thrown for `append`. */
export class EpochCacheError extends Error {
  override readonly name = 'EpochCacheError';
}

/** One side of a truncation handshake: its epoch cache and its commit log's max offset. */
export interface EpochView {
  readonly cache: EpochCache;
  readonly maxOffset: bigint;
}

/**
 * The offset a slave (`local`) must truncate its commit log to before following a master (`remote`) (RocketMQ
 * `findConsistentPoint` as `AutoSwitchHAClient.doTruncate` calls it): walking local epochs from the newest, the
 * first epoch the master also has with the same start offset is the common history; the point is the smaller of
 * the two ends of that epoch, each end bounded by its side's max offset. `undefined` when there is no common epoch
 * (including an empty cache on either side; an empty local cache means a fresh replica, which the caller handles).
 */
export function truncationPoint(local: EpochView, remote: EpochView): bigint | undefined {
  const entries = local.cache.entries;
  for (let i = entries.length - 1; i >= 0; i--) {
    const mine = entries[i]!;
    const theirs = remote.cache.entry(mine.epoch);
    if (theirs === undefined || theirs.startOffset !== mine.startOffset) continue;
    return min(min(mine.endOffset, local.maxOffset), min(theirs.endOffset, remote.maxOffset));
  }
  return undefined;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
