// No acknowledged change lost: the state read after the faults healed (and every node restarted) reflects every
// acknowledged mutation, or a later change that supersedes it. An answered read counts too: a state a client saw
// cannot vanish either. For a view v: the final version is not older than v's; at v's masterEpoch the master is
// v's; at v's exact version the SyncStateSet is v's. An acknowledged ApplyBrokerId's id stays registered.
import { compareVersions } from './epochs.js';
import type { FinalGroupState, GroupView, Operation, Violation } from './types.js';

const mutatingKinds = new Set(['applyBrokerId', 'electMaster', 'adminElectMaster', 'alterSyncStateSet']);

function lostBy(v: GroupView, final: GroupView, masterKnown: boolean): string | undefined {
  const order = compareVersions(final, v);
  if (order < 0) {
    return `the final state (masterEpoch ${final.masterEpoch}, syncStateSetEpoch ${final.syncStateSetEpoch}) is older`;
  }
  if (masterKnown && final.masterEpoch === v.masterEpoch && final.masterBrokerId !== v.masterBrokerId) {
    return `the final master at masterEpoch ${v.masterEpoch} is ${final.masterBrokerId ?? 'none'}, not ${v.masterBrokerId ?? 'none'}`;
  }
  if (order === 0 && final.syncStateSet.join(',') !== v.syncStateSet.join(',')) {
    return `the final SyncStateSet at the same epochs is [${final.syncStateSet}], not [${v.syncStateSet}]`;
  }
  return undefined;
}

export function checkDurability(
  ops: readonly Operation[],
  finals: readonly FinalGroupState[],
): { readonly violations: Violation[]; readonly acknowledgedMutations: number } {
  const byGroup = new Map(finals.map((f) => [f.group, f]));
  const violations: Violation[] = [];
  let acknowledgedMutations = 0;
  const missing = new Set<string>();
  for (const o of ops) {
    if (o.output.type !== 'ok') continue;
    const final = byGroup.get(o.group);
    const mutation = mutatingKinds.has(o.input.kind) && o.output.masterKept !== true;
    if (mutation) acknowledgedMutations++;
    if (final === undefined) {
      if (!missing.has(o.group)) {
        missing.add(o.group);
        violations.push({
          checker: 'durability',
          group: o.group,
          message: `no final state of group ${o.group} was read`,
        });
      }
      continue;
    }
    if (o.input.kind === 'applyBrokerId') {
      const id = o.input.brokerId;
      if (!final.replicaIds.includes(id) || final.nextBrokerId <= id) {
        violations.push({
          checker: 'durability',
          group: o.group,
          message: `acknowledged ApplyBrokerId ${id} is lost (final replicas [${final.replicaIds}], next id ${final.nextBrokerId})`,
          operationIds: [o.id],
        });
      }
      continue;
    }
    const v = o.output.view;
    if (v === undefined) continue;
    // RegisterBroker leaves a dead master out: its answer then says nothing about the master.
    const masterKnown = !(o.output.masterOmittedWhenDead === true && v.masterBrokerId === undefined);
    const why = lostBy(v, final.view, masterKnown);
    if (why !== undefined) {
      violations.push({
        checker: 'durability',
        group: o.group,
        message: `${mutation ? 'acknowledged' : 'observed'} ${o.input.kind} by ${o.client} is lost: ${why}`,
        operationIds: [o.id],
      });
    }
  }
  return { violations, acknowledgedMutations };
}
