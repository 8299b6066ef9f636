// Property test: random sequences of append / hard state / sync / crash / snapshot / compaction against an
// in-memory model. A crash closes the storage, drops the unsynced tail of the active segment (truncated or zero-
// filled at a random point past the last synced size), and reopens: the recovered state must be the state after
// some prefix of the written records that contains every synced record.

import * as fs from 'node:fs';
import type { HardState } from '@regent/raft';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FileStorage } from './file-storage.js';
import { apply, differences, emptyState, range, replay, type WrittenRecord } from './model.test-support.js';
import {
  entry,
  fileSize,
  open,
  payload,
  segmentHeaderBytes,
  snapshotAt,
  tmpDir,
  walFiles,
} from './storage.test-support.js';
import type { FileStorageOptions } from './storage-options.js';

type Op =
  | {
      readonly kind: 'append';
      readonly pick: number;
      readonly count: number;
      readonly bump: boolean;
      readonly bytes: number;
    }
  | { readonly kind: 'hardState'; readonly pick: number; readonly bump: boolean; readonly vote: number }
  | { readonly kind: 'sync' }
  | { readonly kind: 'crash'; readonly pick: number; readonly zeroFill: boolean }
  | { readonly kind: 'saveSnapshot'; readonly pick: number }
  | { readonly kind: 'applySnapshot'; readonly pick: number; readonly conflict: boolean }
  | { readonly kind: 'compact'; readonly pick: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      pick: fc.nat(),
      count: fc.integer({ min: 1, max: 12 }),
      bump: fc.boolean(),
      bytes: fc.integer({ min: 0, max: 60 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('hardState' as const),
      pick: fc.nat(),
      bump: fc.boolean(),
      vote: fc.nat(3),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sync' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('crash' as const), pick: fc.nat(), zeroFill: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('saveSnapshot' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('applySnapshot' as const),
      pick: fc.nat(),
      conflict: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), pick: fc.nat() }) },
);

/** Drives one storage directory through a sequence of operations, mirroring each on the model. */
class Run {
  storage: FileStorage;
  state = emptyState();
  written: WrittenRecord[] = [];
  /** Records known durable (a prefix of `written`). */
  synced = 0;
  syncPoint: { path: string; size: number };
  step = 0;

  constructor(
    readonly dir: string,
    readonly options: FileStorageOptions,
  ) {
    this.storage = open(options);
    this.syncPoint = this.#lastSegment();
  }

  #lastSegment(): { path: string; size: number } {
    const path = walFiles(this.dir).at(-1)!;
    return { path, size: fileSize(path) };
  }

  #markSynced(): void {
    this.synced = this.written.length;
    this.syncPoint = this.#lastSegment();
  }

  #record(record: WrittenRecord): void {
    this.written.push(record);
    apply(this.state, record);
  }

  async run(op: Op): Promise<void> {
    this.step++;
    switch (op.kind) {
      case 'append':
        return this.#append(op);
      case 'hardState':
        return this.#hardState(op);
      case 'sync':
        await this.storage.sync();
        return this.#markSynced();
      case 'crash':
        return this.#crash(op);
      case 'saveSnapshot':
        return this.#saveSnapshot(op);
      case 'applySnapshot':
        return this.#applySnapshot(op);
      case 'compact':
        return this.#compact(op);
    }
  }

  #append(op: Extract<Op, { kind: 'append' }>): void {
    const { state } = this;
    const low = Math.max(state.hardState.commit, state.snapshot.index) + 1;
    const start = low + (op.pick % (state.last + 2 - low));
    const term = state.terms[start - 1]! + (op.bump ? 1 : 0);
    const batch = range(start, start + op.count - 1).map((i) =>
      entry(i, term, payload(i, term, op.bytes, this.step)),
    );
    this.storage.append(batch);
    for (const e of batch) this.#record({ kind: 'entry', index: e.index, term: e.term, data: e.data });
  }

  #setHardState(next: HardState): void {
    const current = this.state.hardState;
    this.storage.setHardState(next);
    if (next.term !== current.term || next.vote !== current.vote || next.commit !== current.commit) {
      this.#record({ kind: 'hardState', hardState: next });
    }
  }

  #hardState(op: Extract<Op, { kind: 'hardState' }>): void {
    const { hardState, terms, last } = this.state;
    const term = Math.max(hardState.term, terms[last]!) + (op.bump ? 1 : 0);
    const vote = term === hardState.term && hardState.vote !== 0 ? hardState.vote : op.vote;
    const commit = hardState.commit + (op.pick % (last - hardState.commit + 1));
    this.#setHardState({ term, vote, commit });
  }

  async #crash(op: Extract<Op, { kind: 'crash' }>): Promise<void> {
    await this.storage.close();
    const last = walFiles(this.dir).at(-1)!;
    const floor = last === this.syncPoint.path ? this.syncPoint.size : segmentHeaderBytes(last);
    const size = fileSize(last);
    const cut = floor + (op.pick % (size - floor + 1));
    if (op.zeroFill) fs.writeFileSync(last, fs.readFileSync(last).fill(0, cut));
    else fs.truncateSync(last, cut);

    this.storage = open(this.options);
    for (let k = this.synced; k <= this.written.length; k++) {
      const candidate = replay(this.written.slice(0, k));
      if (differences(this.storage, candidate).length === 0) {
        this.written.length = k;
        this.state = candidate;
        this.#markSynced();
        return;
      }
    }
    const problems = differences(this.storage, replay(this.written.slice(0, this.synced)));
    expect.fail(
      `recovered state matches no prefix >= ${this.synced} of ${this.written.length}: ${problems.join('; ')}`,
    );
  }

  async #saveSnapshot(op: Extract<Op, { kind: 'saveSnapshot' }>): Promise<void> {
    const { snapshot, hardState, terms } = this.state;
    if (hardState.commit <= snapshot.index) return;
    const index = snapshot.index + 1 + (op.pick % (hardState.commit - snapshot.index));
    const taken = snapshotAt(index, terms[index]!, payload(index, terms[index]!, 16, this.step));
    await this.storage.saveSnapshot(taken);
    this.#record({
      kind: 'snapshot',
      index,
      term: terms[index]!,
      data: taken.data,
      dropLog: false,
      fromLeader: false,
    });
    this.#markSynced();
  }

  async #applySnapshot(op: Extract<Op, { kind: 'applySnapshot' }>): Promise<void> {
    const { snapshot, hardState, terms, last } = this.state;
    let index: number;
    let term: number;
    if (op.conflict) {
      index = hardState.commit + 1 + (op.pick % (last - hardState.commit + 3));
      term = Math.max(terms[last]!, hardState.term) + 1;
    } else {
      if (last <= snapshot.index) return;
      index = snapshot.index + 1 + (op.pick % (last - snapshot.index));
      term = terms[index]!;
    }
    const received = snapshotAt(index, term, payload(index, term, 24, this.step));
    const dropLog = !(index <= last && terms[index] === term);
    await this.storage.applySnapshot(received);
    this.#record({ kind: 'snapshot', index, term, data: received.data, dropLog, fromLeader: true });
    this.#markSynced();
    const { hardState: after } = this.state;
    const newTerm = Math.max(after.term, term);
    this.#setHardState({
      term: newTerm,
      vote: newTerm === after.term ? after.vote : 0,
      commit: Math.max(after.commit, index),
    });
  }

  async #compact(op: Extract<Op, { kind: 'compact' }>): Promise<void> {
    const { compacted, snapshot } = this.state;
    if (snapshot.index <= compacted) return;
    const index = compacted + 1 + (op.pick % (snapshot.index - compacted));
    await this.storage.compact(index);
    this.state.compacted = index;
  }
}

// FC_SEED replays a failing run (fast-check prints the seed); FC_RUNS runs more cases on purpose.
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const numRuns = Number(process.env.FC_RUNS ?? 40);

describe('storage against an in-memory model', () => {
  it('agrees after every operation, including crashes that drop unsynced bytes', {
    timeout: 180_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(256, 1024, 65_536),
        fc.constantFrom(0, 400, 1 << 20),
        fc.array(opArbitrary, { minLength: 1, maxLength: 80, size: 'max' }),
        async (segmentBytes, cacheBytesMax, ops) => {
          const dir = tmpDir();
          const run = new Run(dir, { dir, segmentBytes, cacheBytesMax, readFdsMax: 2 });
          try {
            for (const op of ops) {
              await run.run(op);
              const problems = differences(run.storage, run.state);
              if (problems.length > 0)
                expect.fail(`after step ${run.step} (${op.kind}): ${problems.join('; ')}`);
            }
          } finally {
            await run.storage.close();
            fs.rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns, seed },
    );
  });
});
