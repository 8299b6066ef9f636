// Running simulator seeds from tests: one seed with a traced replay on failure, a range of seeds with totals,
// and the split of all seeds into parts and chunks for parallel test files.

import { SimulationError } from './sim-trace.js';
import { runSimulation, type SimulationResult } from './simulator.js';

/** Runs a seed; on failure re-runs it with tracing and throws a SimulationError that carries the trace. */
export function checkSeed(seed: number, traceMessages = false): SimulationResult {
  try {
    return runSimulation({ seed });
  } catch (error) {
    try {
      runSimulation({ seed, trace: true, traceMessages });
    } catch (traced) {
      if (traced instanceof SimulationError) throw traced;
    }
    throw error;
  }
}

export interface SeedTotals {
  seeds: number;
  acknowledged: number;
  readsServed: number;
  snapshotsInstalled: number;
  membershipChangesApplied: number;
  crashes: number;
  leaderTerms: number;
}

/**
 * Runs seeds [from, to]; on the first failure throws an Error naming the seed, how to replay it
 * (RAFT_SIM_SEED=n) and the tail of its trace.
 */
export function runSeeds(from: number, to: number): SeedTotals {
  const totals: SeedTotals = {
    seeds: 0,
    acknowledged: 0,
    readsServed: 0,
    snapshotsInstalled: 0,
    membershipChangesApplied: 0,
    crashes: 0,
    leaderTerms: 0,
  };
  for (let seed = from; seed <= to; seed++) {
    const r = checkSeedWithReplayHint(seed);
    totals.seeds++;
    totals.acknowledged += r.acknowledged;
    totals.readsServed += r.readsServed;
    totals.snapshotsInstalled += r.snapshotsInstalled;
    totals.membershipChangesApplied += r.membershipChangesApplied;
    totals.crashes += r.crashes;
    totals.leaderTerms += r.leaderTerms;
  }
  return totals;
}

export function checkSeedWithReplayHint(seed: number, traceMessages = false): SimulationResult {
  try {
    return checkSeed(seed, traceMessages);
  } catch (error) {
    if (!(error instanceof SimulationError)) throw error;
    const trace = error.trace.slice(-150).join('\n');
    throw new Error(
      `${error.message}\nreplay: RAFT_SIM_SEED=${seed} npx vitest run src/simulator-a.spec.ts (in libs/raft; ` +
        `RAFT_SIM_TRACE_MESSAGES=1 traces every message)\n--- trace ---\n${trace}`,
    );
  }
}

/** Splits seeds 1..total into `parts` parts and each part into chunks of at most `chunkSize`: [from, to]. */
export function seedChunks(
  total: number,
  part: number,
  parts: number,
  chunkSize: number,
): [number, number][] {
  const per = Math.ceil(total / parts);
  const lo = part * per + 1;
  const hi = Math.min(total, (part + 1) * per);
  const chunks: [number, number][] = [];
  for (let from = lo; from <= hi; from += chunkSize) chunks.push([from, Math.min(hi, from + chunkSize - 1)]);
  return chunks;
}
