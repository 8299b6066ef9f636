// The deterministic simulator, second half of the seeds (see simulator-a.spec.ts; two files so that vitest
// runs them on two workers). RAFT_SIM_SEEDS sets the total number of seeds.

import { runSeeds, seedChunks } from './testing/index.js';

const seedCount = Number(process.env.RAFT_SIM_SEEDS ?? 5000);

describe.skipIf(process.env.RAFT_SIM_SEED !== undefined)(
  'deterministic simulation (second half of the seeds)',
  () => {
    test.each(seedChunks(seedCount, 1, 2, 250))(
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
  },
);
