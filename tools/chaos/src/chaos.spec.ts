// A short chaos run against real processes with a fixed seed: faults must actually be injected, operations
// recorded and checked, and no checker may find a violation. (The checkers' own failure cases are in check/.)
import { describe, expect, it } from 'vitest';
import { runChaos } from './run.js';

describe('chaos, short run', () => {
  it('injects faults, checks the history and finds no violation (seed 7)', async () => {
    const lines: string[] = [];
    const result = await runChaos({
      seed: 7,
      durationS: 15,
      groups: 2,
      convergenceBoundMs: 20_000,
      log: (line) => lines.push(line),
    });
    const report = [...result.details, ...lines.slice(-40)].join('\n');
    expect(result.metrics.faultsInjected, report).toBeGreaterThan(0);
    // The plan of seed 7 opens with a power failure on a consensus node, which must have found its sync ledger.
    expect(result.metrics['faults_disk-loss'], report).toBeGreaterThan(0);
    expect(result.metrics.diskLossWithoutLedger, report).toBe(0);
    expect(result.metrics.operationsChecked, report).toBeGreaterThan(50);
    expect(result.metrics.okOperations, report).toBeGreaterThan(20);
    expect(result.violations, report).toEqual([]);
  }, 300_000);
});
