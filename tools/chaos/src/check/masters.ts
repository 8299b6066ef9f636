// At most one master per broker group per masterEpoch, over everything any broker or the audit trail saw: answers
// that name the master (GetReplicaInfo, ElectMaster, RegisterBroker when it names one, an accepted
// AlterSyncStateSet, whose requester the controller confirmed as master at that epoch), NATS notifications, and
// the replicated election audit records. "No master" at an epoch counts as a value too.
import type { AuditRecord, ObservedNotification, Operation, Violation } from './types.js';

type MasterValue = number | 'none';

interface Sighting {
  readonly master: MasterValue;
  readonly source: string;
  readonly operationId?: number;
}

function masterValue(id: number | undefined): MasterValue {
  return id ?? 'none';
}

export function checkSingleMaster(
  ops: readonly Operation[],
  notifications: readonly ObservedNotification[],
  audit: readonly AuditRecord[],
): { readonly violations: Violation[]; readonly epochsSeen: number } {
  // group → masterEpoch → master → first sighting
  const seen = new Map<string, Map<number, Map<MasterValue, Sighting>>>();
  const note = (group: string, epoch: number, sighting: Sighting): void => {
    if (epoch === 0) return;
    let byEpoch = seen.get(group);
    if (byEpoch === undefined) seen.set(group, (byEpoch = new Map()));
    let masters = byEpoch.get(epoch);
    if (masters === undefined) byEpoch.set(epoch, (masters = new Map()));
    if (!masters.has(sighting.master)) masters.set(sighting.master, sighting);
  };
  for (const o of ops) {
    if (o.output.type !== 'ok' || o.output.view === undefined) continue;
    const v = o.output.view;
    if (v.masterBrokerId === undefined && o.output.masterOmittedWhenDead === true) continue;
    note(o.group, v.masterEpoch, {
      master: masterValue(v.masterBrokerId),
      source: `${o.input.kind} by ${o.client}`,
      operationId: o.id,
    });
  }
  for (const n of notifications) {
    note(n.group, n.view.masterEpoch, {
      master: masterValue(n.view.masterBrokerId),
      source: `notification (raft index ${n.raftIndex}) seen by ${n.observer}`,
    });
  }
  for (const r of audit) {
    note(r.group, r.masterEpoch, {
      master: masterValue(r.masterBrokerId),
      source: `audit record (${r.trigger}, raft index ${r.raftIndex})`,
    });
  }
  const violations: Violation[] = [];
  let epochsSeen = 0;
  for (const [group, byEpoch] of seen) {
    for (const [epoch, masters] of byEpoch) {
      epochsSeen++;
      if (masters.size <= 1) continue;
      const list = [...masters.values()];
      violations.push({
        checker: 'single-master',
        group,
        message: `masterEpoch ${epoch} has ${masters.size} masters: ${list.map((s) => `${s.master} (${s.source})`).join('; ')}`,
        operationIds: list.flatMap((s) => (s.operationId === undefined ? [] : [s.operationId])),
      });
    }
  }
  return { violations, epochsSeen };
}
