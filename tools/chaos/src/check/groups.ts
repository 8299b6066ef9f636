// Linearizability of the controller operations, one broker group at a time (the groups share no state), against
// the hand-written group model. Operations with an unknown outcome may or may not have taken effect; reads with an
// unknown outcome say nothing and are dropped. Elections the controller started itself come from the replicated
// audit trail: required, effective some time after the leader decided them.
import {
  checkLinearizable,
  type SearchOperation,
  type SearchOptions,
  type SearchResult,
} from './linearizability.js';
import { initialModelState, type ModelContext, type ModelState, step } from './model.js';
import type { AuditRecord, Operation, Violation } from './types.js';

/** Slack on the leader's decision time before a controller election may have taken effect, ms. */
export const AUDIT_CLOCK_SLACK_MS = 1_000;

const readKinds = new Set(['getReplicaInfo', 'getNextBrokerId', 'registerBroker']);

export interface GroupCheck {
  readonly group: string;
  readonly operations: number;
  readonly result: SearchResult;
  /** True when the audit trail covered every masterEpoch (elections were then matched against it). */
  readonly auditComplete: boolean;
}

/** The audit records by masterEpoch when they cover 1..highest epoch seen anywhere; else undefined. */
export function completeElections(
  records: readonly AuditRecord[],
  highestEpochSeen: number,
): Map<number, AuditRecord> | undefined {
  const byEpoch = new Map<number, AuditRecord>();
  for (const r of records) byEpoch.set(r.masterEpoch, r);
  const highest = Math.max(highestEpochSeen, ...byEpoch.keys());
  for (let e = 1; e <= highest; e++) if (!byEpoch.has(e)) return undefined;
  return byEpoch;
}

function highestEpoch(ops: readonly Operation[]): number {
  let highest = 0;
  for (const o of ops) {
    if (o.output.type === 'ok' && o.output.view !== undefined)
      highest = Math.max(highest, o.output.view.masterEpoch);
  }
  return highest;
}

/** The search operations of one group: the recorded ones plus the controller's own elections. */
export function searchOperations(
  ops: readonly Operation[],
  audit: readonly AuditRecord[],
): SearchOperation<Operation>[] {
  const out: SearchOperation<Operation>[] = [];
  for (const o of ops) {
    const unknown = o.output.type === 'unknown';
    if (unknown && readKinds.has(o.input.kind)) continue;
    out.push({
      id: o.id,
      invokeMs: o.invokeMs,
      returnMs: unknown ? Number.POSITIVE_INFINITY : o.returnMs,
      required: !unknown,
      op: o,
    });
  }
  let syntheticId = -1;
  for (const r of audit) {
    if (r.trigger !== 'controller') continue;
    const op: Operation = {
      id: syntheticId--,
      client: 'controller',
      group: r.group,
      input: { kind: 'controllerElect', masterBrokerId: r.masterBrokerId, masterEpoch: r.masterEpoch },
      invokeMs: r.decidedAtMs - AUDIT_CLOCK_SLACK_MS,
      returnMs: Number.POSITIVE_INFINITY,
      output: { type: 'ok' },
    };
    out.push({ id: op.id, invokeMs: op.invokeMs, returnMs: Number.POSITIVE_INFINITY, required: true, op });
  }
  return out;
}

/** Checks one group's operations. */
export function checkGroup(
  group: string,
  ops: readonly Operation[],
  audit: readonly AuditRecord[],
  options: SearchOptions = {},
): GroupCheck {
  const elections = completeElections(audit, highestEpoch(ops));
  const ctx: ModelContext = elections === undefined ? {} : { elections };
  const result = checkLinearizable<ModelState, Operation>(
    {
      init: initialModelState,
      step: (state, op) => step(state, op.input, op.output, ctx),
      key: (state) => state.key,
    },
    searchOperations(ops, audit),
    options,
  );
  return { group, operations: ops.length, result, auditComplete: elections !== undefined };
}

/** Checks every group; a violation names the longest linearizable prefix's tail and the stuck operation. */
export function checkLinearizability(
  ops: readonly Operation[],
  audit: readonly AuditRecord[],
  options: SearchOptions = {},
): { readonly checks: GroupCheck[]; readonly violations: Violation[] } {
  const groups = [...new Set(ops.map((o) => o.group))].sort();
  const checks: GroupCheck[] = [];
  const violations: Violation[] = [];
  for (const group of groups) {
    const check = checkGroup(
      group,
      ops.filter((o) => o.group === group),
      audit.filter((r) => r.group === group),
      options,
    );
    checks.push(check);
    if (check.result.kind === 'violation') {
      const tail = check.result.longestPrefix.slice(-8);
      violations.push({
        checker: 'linearizability',
        group,
        message:
          `no linearization of ${check.operations} operations; the longest linearizable prefix has ` +
          `${check.result.longestPrefix.length}, after which operation ${check.result.stuckAt} cannot be placed`,
        operationIds: [...tail, ...(check.result.stuckAt === undefined ? [] : [check.result.stuckAt])],
      });
    }
  }
  return { checks, violations };
}
