// The deterministic simulator, first half of the seeds (simulator-b.spec.ts runs the second half, so that
// vitest runs them on two workers). Each seed checks Raft's safety properties after every step and liveness
// after the faults heal. RAFT_SIM_SEEDS sets the total number of seeds (default 5000); RAFT_SIM_SEED=n
// replays one seed and prints its result (RAFT_SIM_TRACE_MESSAGES=1 adds every message to a failure's trace).

import { checkSeedWithReplayHint, runSeeds, seedChunks } from './testing/index.js';

const seedCount = Number(process.env.RAFT_SIM_SEEDS ?? 5000);
const replaySeed = process.env.RAFT_SIM_SEED;

describe('deterministic simulation (first half of the seeds)', () => {
  if (replaySeed !== undefined) {
    test(`replays seed ${replaySeed}`, () => {
      const traceMessages = process.env.RAFT_SIM_TRACE_MESSAGES === '1';
      console.log(JSON.stringify(checkSeedWithReplayHint(Number(replaySeed), traceMessages)));
    });
    return;
  }
  test.each(seedChunks(seedCount, 0, 2, 250))(
    'seeds %i..%i',
    (from, to) => {
      const totals = runSeeds(from, to);
      // The runs must exercise what they claim to check.
      expect(totals.acknowledged).toBeGreaterThan(totals.seeds);
      if (totals.seeds >= 100) {
        expect(totals.snapshotsInstalled).toBeGreaterThan(0);
        expect(totals.membershipChangesApplied).toBeGreaterThan(0);
        expect(totals.crashes).toBeGreaterThan(0);
        expect(totals.readsServed).toBeGreaterThan(0);
      }
    },
    120_000,
  );
});
