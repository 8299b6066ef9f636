// Runs the deterministic simulator over many seeds. RAFT_SIM_SEEDS sets how many (default 2000);
// RAFT_SIM_SEED=n replays one seed with its trace.

import { checkSeed, SimulationError, type SimulationResult } from './testing/index.js';

const replaySeed = process.env.RAFT_SIM_SEED;
const seedCount = Number(process.env.RAFT_SIM_SEEDS ?? 2000);

function runOrReport(seed: number): SimulationResult {
  try {
    return checkSeed(seed);
  } catch (error) {
    if (error instanceof SimulationError) {
      const trace = error.trace.slice(-150).join('\n');
      throw new Error(
        `${error.message}\nreplay: RAFT_SIM_SEED=${seed} npx vitest run src/simulator.spec.ts\n--- trace ---\n${trace}`,
      );
    }
    throw error;
  }
}

describe('deterministic simulation', () => {
  if (replaySeed !== undefined) {
    test(`seed ${replaySeed}`, () => {
      const result = runOrReport(Number(replaySeed));
      console.log(JSON.stringify(result));
    });
    return;
  }

  test(`${seedCount} seeds keep Raft's safety properties and recover after faults heal`, () => {
    const totals = { acknowledged: 0, reads: 0, snapshots: 0, changes: 0, crashes: 0, terms: 0 };
    for (let seed = 1; seed <= seedCount; seed++) {
      const r = runOrReport(seed);
      totals.acknowledged += r.acknowledged;
      totals.reads += r.readsServed;
      totals.snapshots += r.snapshotsInstalled;
      totals.changes += r.membershipChangesApplied;
      totals.crashes += r.crashes;
      totals.terms += r.leaderTerms;
    }
    console.log(`simulated ${seedCount} seeds: ${JSON.stringify(totals)}`);
    // The runs must exercise what they claim to check.
    expect(totals.acknowledged).toBeGreaterThan(seedCount);
    if (seedCount >= 200) {
      expect(totals.snapshots).toBeGreaterThan(0);
      expect(totals.changes).toBeGreaterThan(0);
      expect(totals.crashes).toBeGreaterThan(0);
      expect(totals.reads).toBeGreaterThan(0);
    }
  });
});
