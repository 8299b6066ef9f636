// The replicated controller under a seeded deterministic simulation (testing/simulation.ts): 3 or 5 Raft nodes with
// lossy, reordering, partitioned networks and crashes; broker groups whose brokers register, heartbeat, die, come
// back, elect and alter their SyncStateSets; an admin; the leader's scans — all through a simulated executor with
// the consensus app's rules. After every applied entry and every step the controller's invariants hold, every
// acknowledged reply is backed by the committed history, and all nodes agree byte for byte at equal indexes.
//
//   CONTROLLER_SIM_SEEDS=n     run seeds 1..n (default below)
//   CONTROLLER_SIM_SEED=n      replay one seed (with a trace on failure)
//   CONTROLLER_SIM_BREAK=a,b   turn executor rules off (speculativeState, answerAfterApply, leaderBarrier,
//                              readIndex, confirmElectionReads) to watch the checks catch a broken executor
import type { ExecutorRules } from './testing/sim-plan.js';
import {
  ControllerSimulationError,
  type ControllerSimulationResult,
  checkControllerSeed,
  runControllerSimulation,
} from './testing/simulation.js';

/** 0.25–0.8 s per seed here (about 30 s of simulated time each), depending on the machine's load. */
const defaultSeeds = 64;
const seedsPerTest = 8;
const ruleNames: readonly (keyof ExecutorRules)[] = [
  'speculativeState',
  'answerAfterApply',
  'leaderBarrier',
  'readIndex',
  'confirmElectionReads',
];

function brokenRules(): Partial<Record<keyof ExecutorRules, boolean>> {
  const names = (process.env.CONTROLLER_SIM_BREAK ?? '').split(',').filter((name) => name !== '');
  const rules: Partial<Record<keyof ExecutorRules, boolean>> = {};
  for (const name of names) {
    if (!ruleNames.includes(name as keyof ExecutorRules)) {
      throw new Error(`CONTROLLER_SIM_BREAK: unknown rule ${name} (one of ${ruleNames.join(', ')})`);
    }
    rules[name as keyof ExecutorRules] = false;
  }
  return rules;
}

const rules = brokenRules();

function replayHint(seed: number): string {
  const broken = process.env.CONTROLLER_SIM_BREAK
    ? `CONTROLLER_SIM_BREAK=${process.env.CONTROLLER_SIM_BREAK} `
    : '';
  return `replay: ${broken}CONTROLLER_SIM_SEED=${seed} npx vitest run src/simulation.spec.ts (from libs/controller)`;
}

/** Runs a seed; on failure, an error with the seed, the replay command and the tail of the trace. */
function runSeed(seed: number): ControllerSimulationResult {
  try {
    return checkControllerSeed(seed, rules);
  } catch (error) {
    if (!(error instanceof ControllerSimulationError)) throw error;
    const trace = error.trace.slice(-200).join('\n');
    throw new Error(`${error.message}\n${replayHint(seed)}\n--- trace (last lines) ---\n${trace}`);
  }
}

interface Totals {
  seeds: number;
  simulatedMs: number;
  leaderTerms: number;
  nodeCrashes: number;
  snapshotsInstalled: number;
  brokerDeaths: number;
  counts: Record<string, number>;
}

const totals: Totals = {
  seeds: 0,
  simulatedMs: 0,
  leaderTerms: 0,
  nodeCrashes: 0,
  snapshotsInstalled: 0,
  brokerDeaths: 0,
  counts: {},
};

function add(result: ControllerSimulationResult): void {
  totals.seeds += 1;
  totals.simulatedMs += result.simulatedMs;
  totals.leaderTerms += result.leaderTerms;
  totals.nodeCrashes += result.nodeCrashes;
  totals.snapshotsInstalled += result.snapshotsInstalled;
  totals.brokerDeaths += result.brokerDeaths;
  for (const [key, value] of Object.entries(result.counts))
    totals.counts[key] = (totals.counts[key] ?? 0) + value;
}

/** The first seed in [1, last] whose simulation fails under `broken`, with its error. */
function firstFailure(
  broken: Partial<ExecutorRules>,
  last: number,
): { seed: number; error: ControllerSimulationError } | undefined {
  for (let seed = 1; seed <= last; seed += 1) {
    try {
      runControllerSimulation({ seed, rules: broken });
    } catch (error) {
      if (error instanceof ControllerSimulationError) return { seed, error };
      throw error;
    }
  }
  return undefined;
}

describe('controller simulation', () => {
  const single = process.env.CONTROLLER_SIM_SEED;
  if (single !== undefined) {
    it(`seed ${single}`, () => {
      const result = runSeed(Number(single));
      console.log(JSON.stringify({ ...result, trace: undefined }));
    }, 600_000);
    return;
  }

  const seeds = Number(process.env.CONTROLLER_SIM_SEEDS ?? defaultSeeds);
  for (let from = 1; from <= seeds; from += seedsPerTest) {
    const to = Math.min(seeds, from + seedsPerTest - 1);
    it(`seeds ${from}..${to}`, () => {
      for (let seed = from; seed <= to; seed += 1) add(runSeed(seed));
    }, 600_000);
  }

  afterAll(() => {
    if (totals.seeds > 0) console.log(`controller simulation totals ${JSON.stringify(totals)}`);
  });

  it('replays a seed exactly', () => {
    const a = runControllerSimulation({ seed: 3, trace: true });
    const b = runControllerSimulation({ seed: 3, trace: true });
    expect(b).toEqual(a);
    expect(a.counts.entries).toBeGreaterThan(10);
    expect(a.trace.length).toBeGreaterThan(100);
  }, 60_000);

  describe('catches a deliberately broken executor', () => {
    it('one that answers writes before they are committed', () => {
      const failure = firstFailure({ answerAfterApply: false }, 8);
      expect(failure?.error.message).toMatch(
        /acknowledged .* (not registered|not in the committed history|committed undefined)/,
      );
    }, 120_000);

    it('one that validates requests against the applied state only (no speculative state)', () => {
      const failure = firstFailure({ speculativeState: false }, 16);
      expect(failure?.error.message).toMatch(
        /acknowledged (broker id .* held by|SyncStateSet .* committed \[)/,
      );
    }, 120_000);
  });
});
