// Runs every checker over a recorded run and sums up what was checked.
import { checkConvergence } from './convergence.js';
import { checkDurability } from './durability.js';
import { checkMonotonicEpochs } from './epochs.js';
import { checkLinearizability, type GroupCheck } from './groups.js';
import type { SearchOptions } from './linearizability.js';
import { checkSingleMaster } from './masters.js';
import type {
  AuditRecord,
  BeliefChange,
  FinalGroupState,
  ObservedNotification,
  Operation,
  Violation,
} from './types.js';

export interface RecordedRun {
  readonly operations: readonly Operation[];
  readonly notifications: readonly ObservedNotification[];
  readonly audit: readonly AuditRecord[];
  readonly finals: readonly FinalGroupState[];
  readonly beliefs: readonly BeliefChange[];
  readonly liveBrokers: ReadonlyMap<string, string>;
  readonly healedAtMs: number;
  readonly convergenceBoundMs: number;
}

export interface CheckReport {
  readonly violations: readonly Violation[];
  readonly groups: readonly GroupCheck[];
  readonly metrics: {
    readonly violations: number;
    readonly operationsChecked: number;
    readonly unknownOutcomes: number;
    readonly definiteFailures: number;
    readonly acknowledgedMutations: number;
    readonly controllerElections: number;
    readonly notificationsChecked: number;
    readonly masterEpochsChecked: number;
    readonly linearizabilitySearchSteps: number;
    readonly linearizabilityInconclusive: number;
    readonly groupsWithCompleteAudit: number;
    readonly convergenceMsMax: number;
  };
}

export function checkRun(run: RecordedRun, options: SearchOptions = {}): CheckReport {
  const lin = checkLinearizability(run.operations, run.audit, options);
  const masters = checkSingleMaster(run.operations, run.notifications, run.audit);
  const epochs = checkMonotonicEpochs(run.operations, run.notifications);
  const durability = checkDurability(run.operations, run.finals);
  const convergence = checkConvergence({
    finals: run.finals,
    beliefs: run.beliefs,
    liveBrokers: run.liveBrokers,
    healedAtMs: run.healedAtMs,
    boundMs: run.convergenceBoundMs,
  });
  const violations = [
    ...lin.violations,
    ...masters.violations,
    ...epochs.violations,
    ...durability.violations,
    ...convergence.violations,
  ];
  return {
    violations,
    groups: lin.checks,
    metrics: {
      violations: violations.length,
      operationsChecked: run.operations.length,
      unknownOutcomes: run.operations.filter((o) => o.output.type === 'unknown').length,
      definiteFailures: run.operations.filter((o) => o.output.type === 'fail').length,
      acknowledgedMutations: durability.acknowledgedMutations,
      controllerElections: run.audit.filter((r) => r.trigger === 'controller').length,
      notificationsChecked: run.notifications.length,
      masterEpochsChecked: masters.epochsSeen,
      linearizabilitySearchSteps: lin.checks.reduce((sum, c) => sum + c.result.steps, 0),
      linearizabilityInconclusive: lin.checks.filter((c) => c.result.kind === 'inconclusive').length,
      groupsWithCompleteAudit: lin.checks.filter((c) => c.auditComplete).length,
      convergenceMsMax: Math.round(convergence.convergenceMsMax),
    },
  };
}

/** A few lines describing the operations `ids` (for a failure report). */
export function excerpt(operations: readonly Operation[], ids: readonly number[]): string[] {
  const byId = new Map(operations.map((o) => [o.id, o]));
  return ids.flatMap((id) => {
    const o = byId.get(id);
    if (o === undefined) return [`#${id} (controller election from the audit trail)`];
    const returned = o.output.type === 'unknown' ? '∞' : o.returnMs.toFixed(0);
    return [
      `#${o.id} ${o.client} [${o.invokeMs.toFixed(0)}, ${returned}] ${JSON.stringify(o.input)} → ${JSON.stringify(o.output)}`,
    ];
  });
}
