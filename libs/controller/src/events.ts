// Builders of `ControllerEvent`s, one per event kind.
import { create } from '@bufbuild/protobuf';
import type { PolicyConfig } from '@regent/proto/election';
import { type ControllerEvent, ControllerEventSchema, type ElectionAuditRecord } from '@regent/proto/state';

export function applyBrokerIdEvent(init: {
  clusterName: string;
  brokerName: string;
  brokerAddress: string;
  newBrokerId: bigint;
  registerCheckCode: string;
}): ControllerEvent {
  return create(ControllerEventSchema, { event: { case: 'applyBrokerId', value: init } });
}

export function electMasterEvent(
  brokerName: string,
  newMasterBrokerId: bigint | undefined,
  audit: ElectionAuditRecord,
): ControllerEvent {
  return create(ControllerEventSchema, {
    event: {
      case: 'electMaster',
      value: {
        brokerName,
        newMasterElected: newMasterBrokerId !== undefined,
        newMasterBrokerId: newMasterBrokerId ?? 0n,
        audit,
      },
    },
  });
}

export function alterSyncStateSetEvent(
  brokerName: string,
  newSyncStateSet: readonly bigint[],
): ControllerEvent {
  return create(ControllerEventSchema, {
    event: { case: 'alterSyncStateSet', value: { brokerName, newSyncStateSet: [...newSyncStateSet] } },
  });
}

export function cleanBrokerDataEvent(
  brokerName: string,
  brokerIdsToClean: readonly bigint[],
): ControllerEvent {
  return create(ControllerEventSchema, {
    event: { case: 'cleanBrokerData', value: { brokerName, brokerIdsToClean: [...brokerIdsToClean] } },
  });
}

export function updateBrokerAddressEvent(init: {
  clusterName: string;
  brokerName: string;
  brokerAddress: string;
  brokerId: bigint;
}): ControllerEvent {
  return create(ControllerEventSchema, { event: { case: 'updateBrokerAddress', value: init } });
}

export function configChangeEvent(entries: Record<string, string>): ControllerEvent {
  return create(ControllerEventSchema, { event: { case: 'configChange', value: { entries } } });
}

export function policyConfigEvent(
  clusterName: string,
  brokerName: string,
  policy: PolicyConfig | undefined,
): ControllerEvent {
  return create(ControllerEventSchema, {
    event: { case: 'policyConfig', value: { clusterName, brokerName, policy } },
  });
}
