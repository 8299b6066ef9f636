// Conversions between the in-memory group state and its protobuf form (snapshot, watch, resync).
import { create } from '@bufbuild/protobuf';
import { SyncStateSetSchema } from '@regent/proto/common';
import { type BrokerGroupState, BrokerGroupStateSchema, ReplicaRecordSchema } from '@regent/proto/state';
import { type ControllerState, type GroupState, replicaIds } from './state.js';

export interface GroupProtoOptions {
  /** Include the audit trail (default true; watch events usually leave it out). */
  readonly includeAudit?: boolean;
}

/** The protobuf form of a group: replicas ascending by id, audit oldest first. */
export function groupToProto(group: GroupState, options: GroupProtoOptions = {}): BrokerGroupState {
  const replicas = replicaIds(group).map((brokerId) => {
    const replica = group.replicas.get(brokerId);
    return create(ReplicaRecordSchema, {
      brokerId,
      brokerAddress: replica?.address ?? '',
      registerCheckCode: replica?.registerCheckCode ?? '',
    });
  });
  return create(BrokerGroupStateSchema, {
    clusterName: group.clusterName,
    brokerName: group.brokerName,
    nextAssignBrokerId: group.nextAssignBrokerId,
    replicas,
    masterBrokerId: group.masterBrokerId,
    masterEpoch: group.masterEpoch,
    syncStateSet: create(SyncStateSetSchema, {
      brokerIds: [...group.syncStateSet],
      epoch: group.syncStateSetEpoch,
    }),
    audit: options.includeAudit === false ? [] : [...group.audit],
  });
}

/** The protobuf form of one group by name, if it exists. */
export function groupStateOf(
  state: ControllerState,
  brokerName: string,
  options?: GroupProtoOptions,
): BrokerGroupState | undefined {
  const group = state.groups.get(brokerName);
  return group === undefined ? undefined : groupToProto(group, options);
}

/** Every group ascending by name (a watch `Resync`). */
export function allGroupStates(state: ControllerState, options?: GroupProtoOptions): BrokerGroupState[] {
  return [...state.groups.keys()]
    .sort()
    .map((name) => groupToProto(state.groups.get(name) as GroupState, options));
}
