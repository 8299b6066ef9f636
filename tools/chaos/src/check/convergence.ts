// Every live broker converges to its group's final master within a bound after the faults stopped. A broker's
// belief changes only to a newer masterEpoch (from its own answers and NATS notifications); it has converged once
// its belief is the final (masterEpoch, master) and stays so.
import type { BeliefChange, FinalGroupState, Violation } from './types.js';
import { groupBy } from './util.js';

export interface ConvergenceInput {
  readonly finals: readonly FinalGroupState[];
  readonly beliefs: readonly BeliefChange[];
  /** broker → group, for every broker alive at the end. */
  readonly liveBrokers: ReadonlyMap<string, string>;
  /** When every fault was healed. */
  readonly healedAtMs: number;
  readonly boundMs: number;
}

export function checkConvergence(input: ConvergenceInput): {
  readonly violations: Violation[];
  /** Slowest broker's convergence time after the heal, ms (0 when converged before it). */
  readonly convergenceMsMax: number;
} {
  const finals = new Map(input.finals.map((f) => [f.group, f]));
  const byBroker = groupBy(input.beliefs, (b) => b.broker);
  const violations: Violation[] = [];
  let convergenceMsMax = 0;
  for (const [broker, group] of input.liveBrokers) {
    const final = finals.get(group);
    if (final === undefined) continue;
    const changes = [...(byBroker.get(broker) ?? [])].sort((a, b) => a.atMs - b.atMs);
    const last = changes.at(-1);
    const converged =
      last !== undefined &&
      last.masterEpoch === final.view.masterEpoch &&
      last.masterBrokerId === final.view.masterBrokerId;
    if (!converged) {
      violations.push({
        checker: 'convergence',
        group,
        message:
          `${broker} believes master ${last?.masterBrokerId ?? 'none'} at masterEpoch ${last?.masterEpoch ?? 0}; ` +
          `the final master is ${final.view.masterBrokerId ?? 'none'} at masterEpoch ${final.view.masterEpoch}`,
      });
      continue;
    }
    const afterHealMs = Math.max(0, last.atMs - input.healedAtMs);
    convergenceMsMax = Math.max(convergenceMsMax, afterHealMs);
    if (afterHealMs > input.boundMs) {
      violations.push({
        checker: 'convergence',
        group,
        message: `${broker} converged ${Math.round(afterHealMs)} ms after the heal, more than ${input.boundMs} ms`,
      });
    }
  }
  return { violations, convergenceMsMax };
}
