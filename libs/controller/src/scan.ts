// Leader-only scans, as pure functions of the state and a liveness view.
import type { LivenessView } from './liveness.js';
import type { ControllerState, GroupState } from './state.js';

/** A group whose master is inactive while some member is alive: it needs a controller-triggered election. */
export interface InactiveMaster {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly masterBrokerId: bigint;
  readonly masterEpoch: number;
}

/**
 * RocketMQ's DLedger `scanNeedReelectBrokerSets`: groups whose master is set and inactive and which have at least
 * one live registered replica, ascending by name. (The jRaft controller's version negates the check and elects
 * when a slave dies, RocketMQ #8380/#10875; this is the intended one.) Master-less groups are not returned: their
 * brokers ask for an election themselves. Elect each with the CONTROLLER trigger and clusterName ''.
 */
export function findInactiveMasters(state: ControllerState, liveness: LivenessView): InactiveMaster[] {
  // The leader runs this every scan interval over every group: no per-group allocation, and only the (usually
  // empty) result is sorted.
  const found: InactiveMaster[] = [];
  for (const [name, group] of state.groups) {
    const master = group.masterBrokerId;
    if (master === undefined) continue;
    if (liveness.isAlive(group.clusterName, group.brokerName, master)) continue;
    if (!anyReplicaAlive(group, liveness)) continue;
    found.push({
      clusterName: group.clusterName,
      brokerName: name,
      masterBrokerId: master,
      masterEpoch: group.masterEpoch,
    });
  }
  return found.sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0));
}

function anyReplicaAlive(group: GroupState, liveness: LivenessView): boolean {
  for (const id of group.replicas.keys()) {
    if (liveness.isAlive(group.clusterName, group.brokerName, id)) return true;
  }
  return false;
}
