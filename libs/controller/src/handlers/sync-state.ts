// The SyncStateSet and replica views: AlterSyncStateSet, GetReplicaInfo, GetSyncStateData (broker and admin).
import { create } from '@bufbuild/protobuf';
import {
  type GetSyncStateDataRequest as AdminGetSyncStateDataRequest,
  GetSyncStateDataResponseSchema as AdminGetSyncStateDataResponseSchema,
} from '@regent/proto/admin';
import {
  type AlterSyncStateSetRequest,
  AlterSyncStateSetResponseSchema,
  type GetReplicaInfoRequest,
  GetReplicaInfoResponseSchema,
  type GetSyncStateDataRequest,
  GetSyncStateDataResponseSchema,
} from '@regent/proto/broker';
import {
  ControllerCondition,
  type ReplicaInfo,
  ReplicaInfoSchema,
  type ReplicasInfo,
  ReplicasInfoSchema,
  SyncStateSetSchema,
} from '@regent/proto/common';
import { alterSyncStateSetEvent } from '../events.js';
import { groupNamesPerRequestMax } from '../limits.js';
import type { LivenessView } from '../liveness.js';
import { answer, type CommandResult, propose, refuse } from '../result.js';
import { type ControllerState, type GroupState, replicaIds, sortedUniqueIds } from '../state.js';
import { checkBrokerName, checkClusterMatch, checkClusterName } from '../validate.js';

/**
 * AlterSyncStateSet (RocketMQ 1001), checked in RocketMQ's order: (1) the group exists, (2) the set differs
 * from the current one, (3) the requester is the current master, (4) masterEpoch is current, (5) the set's epoch
 * is current, (6) every member, ascending, is registered then alive, (7) the set contains the master.
 */
export function handleAlterSyncStateSet(
  state: ControllerState,
  request: AlterSyncStateSetRequest,
  liveness: LivenessView,
): CommandResult {
  const shape = checkBrokerName(request.brokerName) ?? checkClusterName(request.clusterName, false);
  if (shape !== undefined) return shape;
  const { brokerName } = request;
  const fail = (condition: ControllerCondition, message: string) =>
    refuse(condition, `broker group ${brokerName}: ${message}`);
  const group = state.groups.get(brokerName);
  if (group === undefined) return fail(ControllerCondition.ALTER_SYNC_STATE_SET_FAILED, 'not registered');
  const mismatch = checkClusterMatch(group, request.clusterName);
  if (mismatch !== undefined) return mismatch;
  const proposed = sortedUniqueIds(request.newSyncStateSet?.brokerIds ?? []);
  const proposedEpoch = request.newSyncStateSet?.epoch ?? 0;
  if (
    proposed.length === group.syncStateSet.length &&
    proposed.every((id) => group.syncStateSet.includes(id))
  ) {
    return fail(
      ControllerCondition.ALTER_SYNC_STATE_SET_FAILED,
      'the new SyncStateSet equals the current one',
    );
  }
  if (group.masterBrokerId === undefined || group.masterBrokerId !== request.masterBrokerId) {
    return fail(
      ControllerCondition.INVALID_MASTER,
      `the master is ${group.masterBrokerId ?? 'none'}, not ${request.masterBrokerId}`,
    );
  }
  if (request.masterEpoch !== group.masterEpoch) {
    return fail(
      ControllerCondition.FENCED_MASTER_EPOCH,
      `masterEpoch is ${group.masterEpoch}, not ${request.masterEpoch}`,
    );
  }
  if (proposedEpoch !== group.syncStateSetEpoch) {
    return fail(
      ControllerCondition.FENCED_SYNC_STATE_SET_EPOCH,
      `syncStateSetEpoch is ${group.syncStateSetEpoch}, not ${proposedEpoch}`,
    );
  }
  for (const id of proposed) {
    if (!group.replicas.has(id))
      return fail(ControllerCondition.INVALID_REPLICAS, `broker id ${id} is not registered`);
    if (!liveness.isAlive(group.clusterName, brokerName, id)) {
      return fail(ControllerCondition.BROKER_NOT_ALIVE, `broker id ${id} is not alive`);
    }
  }
  if (!proposed.includes(group.masterBrokerId)) {
    return fail(
      ControllerCondition.ALTER_SYNC_STATE_SET_FAILED,
      `the new SyncStateSet leaves out the master ${group.masterBrokerId}`,
    );
  }
  const syncStateSet = create(SyncStateSetSchema, {
    brokerIds: proposed,
    epoch: group.syncStateSetEpoch + 1,
  });
  return propose([alterSyncStateSetEvent(brokerName, proposed)], {
    case: 'alterSyncStateSet',
    value: create(AlterSyncStateSetResponseSchema, { syncStateSet }),
  });
}

/** GetReplicaInfo (RocketMQ 1004): the master as the state holds it (liveness is not checked). */
export function handleGetReplicaInfo(state: ControllerState, request: GetReplicaInfoRequest): CommandResult {
  const shape = checkBrokerName(request.brokerName) ?? checkClusterName(request.clusterName, false);
  if (shape !== undefined) return shape;
  const group = state.groups.get(request.brokerName);
  if (group === undefined) {
    return refuse(
      ControllerCondition.BROKER_METADATA_NOT_EXIST,
      `broker group ${request.brokerName} is not registered`,
    );
  }
  const mismatch = checkClusterMatch(group, request.clusterName);
  if (mismatch !== undefined) return mismatch;
  const master = group.masterBrokerId;
  return answer({
    case: 'getReplicaInfo',
    value: create(GetReplicaInfoResponseSchema, {
      masterBrokerId: master,
      masterAddress: master === undefined ? '' : (group.replicas.get(master)?.address ?? ''),
      masterEpoch: group.masterEpoch,
      syncStateSet: create(SyncStateSetSchema, {
        brokerIds: [...group.syncStateSet],
        epoch: group.syncStateSetEpoch,
      }),
    }),
  });
}

/**
 * GetSyncStateData, broker variant (RocketMQ 1006): 1..1024 names (RocketMQ answers SYSTEM_ERROR for an empty
 * list; Regent INVALID_ARGUMENT). Unknown names, and groups of another cluster when one is named, are skipped.
 */
export function handleGetSyncStateData(
  state: ControllerState,
  request: GetSyncStateDataRequest,
  liveness: LivenessView,
): CommandResult {
  const shape = checkClusterName(request.clusterName, false) ?? checkNames(request.brokerNames, false);
  if (shape !== undefined) return shape;
  const replicas = replicasOfGroups(selectGroups(state, request.clusterName, request.brokerNames), liveness);
  return answer({ case: 'getSyncStateData', value: create(GetSyncStateDataResponseSchema, { replicas }) });
}

/** GetSyncStateData, admin variant (mqadmin getSyncStateSet): no names means every group (of the cluster). */
export function handleAdminGetSyncStateData(
  state: ControllerState,
  request: AdminGetSyncStateDataRequest,
  liveness: LivenessView,
): CommandResult {
  const shape = checkClusterName(request.clusterName, false) ?? checkNames(request.brokerNames, true);
  if (shape !== undefined) return shape;
  const replicas = replicasOfGroups(selectGroups(state, request.clusterName, request.brokerNames), liveness);
  return answer({
    case: 'adminGetSyncStateData',
    value: create(AdminGetSyncStateDataResponseSchema, { replicas }),
  });
}

/** 1..1024 names (0..1024 when `emptyAllowed`), each a valid group name. */
export function checkNames(brokerNames: readonly string[], emptyAllowed: boolean): CommandResult | undefined {
  if ((!emptyAllowed && brokerNames.length === 0) || brokerNames.length > groupNamesPerRequestMax) {
    const range = `${emptyAllowed ? 0 : 1}..${groupNamesPerRequestMax}`;
    return refuse(ControllerCondition.INVALID_ARGUMENT, `broker_names must have ${range} entries`, {
      field: 'broker_names',
    });
  }
  for (const [i, name] of brokerNames.entries()) {
    const problem = checkBrokerName(name, `broker_names[${i}]`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * The groups named (all groups when none are), ascending by name, without unknown names and without groups of
 * another cluster when `clusterName` is set.
 */
export function selectGroups(
  state: ControllerState,
  clusterName: string,
  brokerNames: readonly string[],
): GroupState[] {
  const names = brokerNames.length === 0 ? [...state.groups.keys()] : [...new Set(brokerNames)];
  const groups: GroupState[] = [];
  for (const name of names.sort()) {
    const group = state.groups.get(name);
    if (group !== undefined && checkClusterMatch(group, clusterName) === undefined) groups.push(group);
  }
  return groups;
}

function replicasOfGroups(
  groups: readonly GroupState[],
  liveness: LivenessView,
): Record<string, ReplicasInfo> {
  const replicas: Record<string, ReplicasInfo> = {};
  for (const group of groups) replicas[group.brokerName] = replicasInfoOf(group, liveness);
  return replicas;
}

/** RocketMQ `BrokerReplicasInfo.ReplicasInfo` of one group, with alive flags from `liveness`. */
export function replicasInfoOf(group: GroupState, liveness: LivenessView): ReplicasInfo {
  const inSync: ReplicaInfo[] = [];
  const notInSync: ReplicaInfo[] = [];
  for (const brokerId of replicaIds(group)) {
    const info = create(ReplicaInfoSchema, {
      brokerName: group.brokerName,
      brokerId,
      brokerAddress: group.replicas.get(brokerId)?.address ?? '',
      alive: liveness.isAlive(group.clusterName, group.brokerName, brokerId),
    });
    (group.syncStateSet.includes(brokerId) ? inSync : notInSync).push(info);
  }
  const master = group.masterBrokerId;
  return create(ReplicasInfoSchema, {
    masterBrokerId: master,
    masterAddress: master === undefined ? '' : (group.replicas.get(master)?.address ?? ''),
    masterEpoch: group.masterEpoch,
    syncStateSetEpoch: group.syncStateSetEpoch,
    inSyncReplicas: inSync,
    notInSyncReplicas: notInSync,
    clusterName: group.clusterName,
  });
}
