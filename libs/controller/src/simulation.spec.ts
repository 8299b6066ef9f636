// The controller under a seeded deterministic simulation (testing/simulation.ts): Raft nodes with faults, brokers
// registering, heartbeating, dying and electing, an admin, and the leader's scans, all through a simulated
// executor with the consensus app's rules. Seeds: CONTROLLER_SIM_SEEDS=n runs 1..n; CONTROLLER_SIM_SEED=n replays
// one seed.
import { checkControllerSeed, ControllerSimulationError } from './testing/simulation.js';

function replayHint(seed: number): string {
  return `replay: CONTROLLER_SIM_SEED=${seed} npx vitest run src/simulation.spec.ts (from libs/controller)`;
}

function runSeed(seed: number) {
  try {
    return checkControllerSeed(seed);
  } catch (error) {
    if (!(error instanceof ControllerSimulationError)) throw error;
    throw new Error(`${error.message}\n${replayHint(seed)}\n--- trace (last lines) ---\n${error.trace.slice(-200).join('\n')}`);
  }
}

describe('controller simulation', () => {
  it('one seed', () => {
    const seed = Number(process.env.CONTROLLER_SIM_SEED ?? 1);
    const r = runSeed(seed);
    console.log(JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
  }, 600_000);
});
