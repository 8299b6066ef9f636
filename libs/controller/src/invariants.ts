// The controller's safety properties, checkable on one state and across a history of states (used by tests and
// by the simulators elsewhere): at most one master per group per masterEpoch, epochs never decrease, and the
// master is in its SyncStateSet.
import { type ControllerState, compareIds, type GroupState } from './state.js';

export interface InvariantViolation {
  readonly brokerName: string;
  readonly message: string;
}

function checkGroup(group: GroupState, state: ControllerState): InvariantViolation[] {
  const violations: InvariantViolation[] = [];
  const fail = (message: string) => violations.push({ brokerName: group.brokerName, message });
  const isr = group.syncStateSet;
  for (let i = 1; i < isr.length; i += 1) {
    if (compareIds(isr[i - 1] as bigint, isr[i] as bigint) >= 0)
      fail(`SyncStateSet ${isr.join(',')} is not strictly ascending`);
  }
  for (const id of isr) if (!group.replicas.has(id)) fail(`SyncStateSet member ${id} is not registered`);
  const master = group.masterBrokerId;
  if (master !== undefined && !isr.includes(master))
    fail(`master ${master} is not in its SyncStateSet ${isr.join(',')}`);
  if (master !== undefined && !group.replicas.has(master)) fail(`master ${master} is not registered`);
  for (const id of group.replicas.keys()) {
    if (id >= group.nextAssignBrokerId)
      fail(`broker id ${id} >= nextAssignBrokerId ${group.nextAssignBrokerId}`);
  }
  if (group.masterEpoch < 0 || group.syncStateSetEpoch < 0)
    fail(`negative epoch ${group.masterEpoch}/${group.syncStateSetEpoch}`);
  if (master !== undefined && group.masterEpoch === 0) fail(`master ${master} at masterEpoch 0`);
  if (group.replicas.size === 0) fail('group without replicas');
  if (group.audit.length > state.limits.auditRecordsPerGroupMax) fail(`${group.audit.length} audit records`);
  return violations;
}

/** Invariants of one state (per group, plus the table bounds). Empty when all hold. */
export function checkStateInvariants(state: ControllerState): InvariantViolation[] {
  const violations: InvariantViolation[] = [];
  for (const [name, group] of state.groups) {
    if (name !== group.brokerName)
      violations.push({ brokerName: name, message: `keyed under ${name} but named ${group.brokerName}` });
    violations.push(...checkGroup(group, state));
  }
  if (state.groups.size > state.limits.groupsMax)
    violations.push({ brokerName: '', message: `${state.groups.size} groups` });
  if (state.sessions.size > state.limits.sessionsMax)
    violations.push({ brokerName: '', message: `${state.sessions.size} sessions` });
  return violations;
}

/** Checks a sequence of states, possibly of several nodes (`source`), against each other. */
export interface HistoryChecker {
  /** Records `state` as observed from `source` and returns the violations it reveals (with `checkStateInvariants`). */
  observe(state: ControllerState, source?: string): InvariantViolation[];
}

interface Seen {
  masterEpoch: number;
  syncStateSetEpoch: number;
}

/**
 * A history checker. Per source, epochs must never decrease; across all sources, one (group, masterEpoch) has at
 * most one master. Observe after every applied entry: a group that disappears from a source's state starts a new
 * life (RocketMQ re-creates a cleaned group from epoch 0), and its cross-source record is forgotten then; the
 * per-group memory of masters is bounded to the `epochsPerGroupMax` newest epochs.
 */
export function createHistoryChecker(options: { readonly epochsPerGroupMax?: number } = {}): HistoryChecker {
  const epochsPerGroupMax = options.epochsPerGroupMax ?? 4_096;
  const seenBySource = new Map<string, Map<string, Seen>>();
  const mastersByGroup = new Map<string, Map<number, bigint>>();

  function rememberMaster(group: GroupState): InvariantViolation[] {
    if (group.masterBrokerId === undefined) return [];
    let masters = mastersByGroup.get(group.brokerName);
    if (masters === undefined) {
      masters = new Map();
      mastersByGroup.set(group.brokerName, masters);
    }
    const known = masters.get(group.masterEpoch);
    if (known !== undefined) {
      if (known === group.masterBrokerId) return [];
      return [
        {
          brokerName: group.brokerName,
          message: `two masters at masterEpoch ${group.masterEpoch}: ${known} and ${group.masterBrokerId}`,
        },
      ];
    }
    masters.set(group.masterEpoch, group.masterBrokerId);
    if (masters.size > epochsPerGroupMax) {
      const lowest = Math.min(...masters.keys());
      masters.delete(lowest);
    }
    return [];
  }

  return {
    observe(state, source = 'default') {
      const violations = checkStateInvariants(state);
      let seen = seenBySource.get(source);
      if (seen === undefined) {
        seen = new Map();
        seenBySource.set(source, seen);
      }
      for (const name of [...seen.keys()]) {
        if (!state.groups.has(name)) {
          seen.delete(name);
          mastersByGroup.delete(name);
        }
      }
      for (const [name, group] of state.groups) {
        const before = seen.get(name);
        if (before !== undefined && group.masterEpoch < before.masterEpoch) {
          violations.push({
            brokerName: name,
            message: `masterEpoch went back from ${before.masterEpoch} to ${group.masterEpoch}`,
          });
        }
        if (before !== undefined && group.syncStateSetEpoch < before.syncStateSetEpoch) {
          violations.push({
            brokerName: name,
            message: `syncStateSetEpoch went back from ${before.syncStateSetEpoch} to ${group.syncStateSetEpoch}`,
          });
        }
        seen.set(name, { masterEpoch: group.masterEpoch, syncStateSetEpoch: group.syncStateSetEpoch });
        violations.push(...rememberMaster(group));
      }
      return violations;
    },
  };
}
