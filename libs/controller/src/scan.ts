// Leader-only scans, as pure functions of the state and a liveness view.
import type { LivenessView } from './liveness.js';
import { type ControllerState, replicaIds } from './state.js';

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
  const found: InactiveMaster[] = [];
  for (const name of [...state.groups.keys()].sort()) {
    const group = state.groups.get(name);
    const master = group?.masterBrokerId;
    if (group === undefined || master === undefined) continue;
    const alive = (id: bigint): boolean => liveness.isAlive(group.clusterName, group.brokerName, id);
    if (alive(master)) continue;
    if (!replicaIds(group).some(alive)) continue;
    found.push({
      clusterName: group.clusterName,
      brokerName: name,
      masterBrokerId: master,
      masterEpoch: group.masterEpoch,
    });
  }
  return found;
}
