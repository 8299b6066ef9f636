// Seeded random walk over a FileStorage holding Normal, ConfChange and Noop entries: appends, appends that truncate
// a conflicting suffix, hard states, snapshots, compaction, snapshot installs and reopens (some cutting unsynced bytes
// off the active segment). After every step `confChangeIndexes` must equal a filter of `entries()` over the whole
// log and random sub-ranges. CONF_INDEXES_SEED=<n> replays one seed.

import * as fs from 'node:fs';
import { type Entry, EntryType } from '@regent/raft';
import { createSeededRandom, type SeededRandom } from '@regent/raft/testing';
import { describe, expect, it } from 'vitest';
import type { FileStorage } from './file-storage.js';
import {
  fileSize,
  open,
  payload,
  segmentHeaderBytes,
  snapshotAt,
  tmpDir,
  walFiles,
} from './storage.test-support.js';
import type { FileStorageOptions } from './storage-options.js';

const STEPS = 150;
const SEEDS =
  process.env.CONF_INDEXES_SEED === undefined
    ? Array.from({ length: 12 }, (_, k) => k + 1)
    : [Number(process.env.CONF_INDEXES_SEED)];

interface Counts {
  confChanges: number;
  truncations: number;
  compactions: number;
  installs: number;
  reopens: number;
  cuts: number;
}

class Walk {
  storage: FileStorage;
  /** The largest term written so far: every new entry and hard state uses it. */
  term = 1;
  /** The active segment and its size at the last sync: bytes after it may be lost in a cut. */
  syncPoint: { path: string; size: number };

  constructor(
    readonly options: FileStorageOptions,
    readonly rng: SeededRandom,
    readonly counts: Counts,
  ) {
    this.storage = open(options);
    this.syncPoint = this.#activeSegment();
  }

  async step(): Promise<string> {
    const roll = this.rng.nextInt(100);
    if (roll < 45) return this.#append();
    if (roll < 60) return this.#commit();
    if (roll < 72) return this.#snapshot();
    if (roll < 78) return this.#install();
    return this.#reopen();
  }

  #append(): string {
    const s = this.storage;
    const low = Math.max(s.hardState().commit, s.snapshot().metadata.index) + 1;
    const start = low + this.rng.nextInt(s.lastIndex() + 2 - low);
    const truncates = start <= s.lastIndex();
    if (truncates) this.counts.truncations++;
    if (truncates || this.rng.chance(0.1)) this.term++;
    const batch: Entry[] = [];
    const count = 1 + this.rng.nextInt(8);
    for (let index = start; index < start + count; index++) {
      const type = this.rng.pick([EntryType.Normal, EntryType.Normal, EntryType.ConfChange, EntryType.Noop]);
      batch.push({ index, term: this.term, type, data: payload(index, this.term, this.rng.nextInt(40)) });
    }
    s.append(batch);
    return `append [${start}, ${start + count}) term ${this.term}`;
  }

  async #commit(): Promise<string> {
    const s = this.storage;
    await this.#sync();
    const { commit } = s.hardState();
    const next = commit + this.rng.nextInt(s.lastIndex() - commit + 1);
    s.setHardState({ term: this.term, vote: 1, commit: next });
    await this.#sync();
    return `commit ${next}`;
  }

  async #snapshot(): Promise<string> {
    const s = this.storage;
    const current = s.snapshot().metadata.index;
    const { commit } = s.hardState();
    if (commit <= current) return 'snapshot (nothing committed)';
    const index = current + 1 + this.rng.nextInt(commit - current);
    await s.saveSnapshot(snapshotAt(index, s.term(index)));
    this.syncPoint = this.#activeSegment();
    if (this.rng.chance(0.3)) return `snapshot ${index}`;
    const compactTo = s.firstIndex() + this.rng.nextInt(index - s.firstIndex() + 1);
    await s.compact(compactTo);
    this.counts.compactions++;
    return `snapshot ${index}, compact ${compactTo}`;
  }

  /** A snapshot from a leader: one the log holds (entries after it kept) or a conflicting one (log dropped). */
  async #install(): Promise<string> {
    const s = this.storage;
    const { commit } = s.hardState();
    const last = s.lastIndex();
    let index: number;
    let term: number;
    if (this.rng.chance(0.5) && last > commit) {
      index = commit + 1 + this.rng.nextInt(last - commit);
      term = s.term(index);
    } else {
      index = Math.max(commit, s.snapshot().metadata.index) + 1 + this.rng.nextInt(4);
      term = ++this.term;
    }
    await s.applySnapshot(snapshotAt(index, term));
    this.syncPoint = this.#activeSegment();
    this.counts.installs++;
    return `install snapshot (${index}, term ${term})`;
  }

  /** Close and reopen; half the time first cut the active segment anywhere after its last synced byte. */
  async #reopen(): Promise<string> {
    await this.storage.close();
    let what = 'reopen';
    if (this.rng.chance(0.5)) {
      const active = walFiles(this.options.dir).at(-1)!;
      const floor = active === this.syncPoint.path ? this.syncPoint.size : segmentHeaderBytes(active);
      const cut = floor + this.rng.nextInt(fileSize(active) - floor + 1);
      fs.truncateSync(active, cut);
      this.counts.cuts++;
      what = `reopen after cutting ${active} at ${cut}`;
    }
    this.storage = open(this.options);
    this.syncPoint = this.#activeSegment();
    this.counts.reopens++;
    return what;
  }

  async #sync(): Promise<void> {
    await this.storage.sync();
    this.syncPoint = this.#activeSegment();
  }

  #activeSegment(): { path: string; size: number } {
    const path = walFiles(this.options.dir).at(-1)!;
    return { path, size: fileSize(path) };
  }

  /** The hint equals the brute-force filter over the whole log and a few random sub-ranges. */
  check(): void {
    const s = this.storage;
    const first = s.firstIndex();
    const end = s.lastIndex() + 1;
    const ranges: [number, number][] = [[first, end]];
    for (let k = 0; k < 3; k++) {
      const lo = first + this.rng.nextInt(end - first + 1);
      ranges.push([lo, lo + this.rng.nextInt(end - lo + 1)]);
    }
    for (const [lo, hi] of ranges) {
      const expected = s
        .entries(lo, hi, Number.POSITIVE_INFINITY)
        .filter((e) => e.type === EntryType.ConfChange)
        .map((e) => e.index);
      expect(s.confChangeIndexes(lo, hi), `confChangeIndexes(${lo}, ${hi})`).toEqual(expected);
    }
    this.counts.confChanges += s.confChangeIndexes(first, end).length;
  }
}

describe('FileStorage.confChangeIndexes', () => {
  it('matches a filter of the entries through appends, truncations, compaction, installs and reopens', {
    timeout: 120_000,
  }, async () => {
    const counts: Counts = {
      confChanges: 0,
      truncations: 0,
      compactions: 0,
      installs: 0,
      reopens: 0,
      cuts: 0,
    };
    for (const seed of SEEDS) {
      const rng = createSeededRandom(seed);
      const dir = tmpDir();
      const options: FileStorageOptions = {
        dir,
        segmentBytes: rng.pick([512, 2048, 65_536]),
        cacheBytesMax: rng.pick([0, 1024, 1 << 20]),
      };
      const walk = new Walk(options, rng, counts);
      let what = 'open';
      try {
        walk.check();
        for (let step = 1; step <= STEPS; step++) {
          what = `step ${step}: ${await walk.step()}`;
          walk.check();
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`seed ${seed} (CONF_INDEXES_SEED=${seed} replays it), after ${what}: ${message}`, {
          cause: error,
        });
      } finally {
        await walk.storage.close();
      }
    }
    // The walk must have exercised what it claims to (a walk without them would pass vacuously).
    if (SEEDS.length > 1) {
      for (const [name, count] of Object.entries(counts)) {
        expect(count, name).toBeGreaterThan(0);
      }
    }
  });
});
