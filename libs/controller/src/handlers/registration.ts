// Broker registration (RocketMQ 5.1.1+ persistent BrokerId): GetNextBrokerId, ApplyBrokerId, RegisterBroker.
import { create } from '@bufbuild/protobuf';
import {
  type ApplyBrokerIdRequest,
  ApplyBrokerIdResponseSchema,
  type GetNextBrokerIdRequest,
  GetNextBrokerIdResponseSchema,
  type RegisterBrokerRequest,
  RegisterBrokerResponseSchema,
} from '@regent/proto/broker';
import { ControllerCondition, SyncStateSetSchema } from '@regent/proto/common';
import { applyBrokerIdEvent, updateBrokerAddressEvent } from '../events.js';
import type { LivenessView } from '../liveness.js';
import { answer, type CommandResult, propose, refuse } from '../result.js';
import type { ControllerState } from '../state.js';
import { checkAddress, checkBrokerName, checkClusterMatch, checkClusterName } from '../validate.js';

/** RocketMQ `MixAll.FIRST_BROKER_CONTROLLER_ID`: the id of a new group's first broker. */
export const firstBrokerId = 1n;

/** GetNextBrokerId (RocketMQ 1012): 1 for an unknown group, else the group's counter. */
export function handleGetNextBrokerId(
  state: ControllerState,
  request: GetNextBrokerIdRequest,
): CommandResult {
  const shape = checkBrokerName(request.brokerName) ?? checkClusterName(request.clusterName, false);
  if (shape !== undefined) return shape;
  const group = state.groups.get(request.brokerName);
  if (group !== undefined) {
    const mismatch = checkClusterMatch(group, request.clusterName);
    if (mismatch !== undefined) return mismatch;
  }
  return answer({
    case: 'getNextBrokerId',
    value: create(GetNextBrokerIdResponseSchema, {
      clusterName: request.clusterName,
      brokerName: request.brokerName,
      nextBrokerId: group?.nextAssignBrokerId ?? firstBrokerId,
    }),
  });
}

/**
 * ApplyBrokerId (RocketMQ 1013). Unknown group: id 1 creates it, any other id is BROKER_ID_INVALID. Known group:
 * a free id is claimed, an id held under the same check code is an idempotent retry (answered without an event:
 * RocketMQ logs an event that applies as a no-op), otherwise BROKER_ID_INVALID. Regent additions: ids below 1
 * are BROKER_ID_INVALID, and a full table (groups, replicas per group) is OVERLOADED.
 */
export function handleApplyBrokerId(state: ControllerState, request: ApplyBrokerIdRequest): CommandResult {
  const shape =
    checkBrokerName(request.brokerName) ??
    checkClusterName(request.clusterName, true) ??
    checkAddress(request.registerCheckCode, 'register_check_code');
  if (shape !== undefined) return shape;
  const { clusterName, brokerName, appliedBrokerId, registerCheckCode } = request;
  const brokerAddress = registerCheckCode.split(';')[0] ?? '';
  const event = applyBrokerIdEvent({
    clusterName,
    brokerName,
    brokerAddress,
    newBrokerId: appliedBrokerId,
    registerCheckCode,
  });
  const reply = {
    case: 'applyBrokerId',
    value: create(ApplyBrokerIdResponseSchema, { clusterName, brokerName }),
  } as const;
  const group = state.groups.get(brokerName);
  if (group === undefined) {
    if (appliedBrokerId !== firstBrokerId) {
      return refuse(
        ControllerCondition.BROKER_ID_INVALID,
        `broker group ${brokerName} is not registered, so its first broker id must be ${firstBrokerId}, not ${appliedBrokerId}`,
      );
    }
    if (state.groups.size >= state.limits.groupsMax) {
      return refuse(ControllerCondition.OVERLOADED, `${state.groups.size} broker groups, the maximum`);
    }
    return propose([event], reply);
  }
  const mismatch = checkClusterMatch(group, clusterName);
  if (mismatch !== undefined) return mismatch;
  if (appliedBrokerId < firstBrokerId) {
    return refuse(
      ControllerCondition.BROKER_ID_INVALID,
      `broker id ${appliedBrokerId} is below ${firstBrokerId}`,
    );
  }
  const holder = group.replicas.get(appliedBrokerId);
  if (holder === undefined) {
    if (group.replicas.size >= state.limits.replicasPerGroupMax) {
      return refuse(
        ControllerCondition.OVERLOADED,
        `broker group ${brokerName} has ${group.replicas.size} replicas, the maximum`,
      );
    }
    return propose([event], reply);
  }
  if (holder.registerCheckCode === registerCheckCode) return answer(reply);
  return refuse(
    ControllerCondition.BROKER_ID_INVALID,
    `broker id ${appliedBrokerId} of ${brokerName} is held by another broker`,
  );
}

/**
 * RegisterBroker (RocketMQ 1003): the group and the id must be registered (else BROKER_NEED_TO_BE_REGISTERED).
 * The master fields are set only when a master exists and is alive; masterEpoch and the SyncStateSet always. A
 * changed address becomes an UpdateBrokerAddress event (and the reply already shows it); otherwise it is a read.
 */
export function handleRegisterBroker(
  state: ControllerState,
  request: RegisterBrokerRequest,
  liveness: LivenessView,
): CommandResult {
  const shape =
    checkBrokerName(request.brokerName) ??
    checkClusterName(request.clusterName, false) ??
    checkAddress(request.brokerAddress, 'broker_address');
  if (shape !== undefined) return shape;
  const group = state.groups.get(request.brokerName);
  if (group === undefined) {
    return refuse(
      ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
      `broker group ${request.brokerName} is not registered`,
    );
  }
  const mismatch = checkClusterMatch(group, request.clusterName);
  if (mismatch !== undefined) return mismatch;
  const replica = group.replicas.get(request.brokerId);
  if (replica === undefined) {
    return refuse(
      ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
      `broker id ${request.brokerId} is not registered in broker group ${request.brokerName}`,
    );
  }
  const addressOf = (id: bigint): string =>
    id === request.brokerId ? request.brokerAddress : (group.replicas.get(id)?.address ?? '');
  const master = group.masterBrokerId;
  const masterAlive = master !== undefined && liveness.isAlive(group.clusterName, group.brokerName, master);
  const reply = {
    case: 'registerBroker',
    value: create(RegisterBrokerResponseSchema, {
      clusterName: group.clusterName,
      brokerName: group.brokerName,
      masterBrokerId: masterAlive ? master : undefined,
      masterAddress: masterAlive ? addressOf(master) : '',
      masterEpoch: group.masterEpoch,
      syncStateSet: create(SyncStateSetSchema, {
        brokerIds: [...group.syncStateSet],
        epoch: group.syncStateSetEpoch,
      }),
    }),
  } as const;
  if (replica.address === request.brokerAddress) return answer(reply);
  const event = updateBrokerAddressEvent({
    clusterName: group.clusterName,
    brokerName: group.brokerName,
    brokerAddress: request.brokerAddress,
    brokerId: request.brokerId,
  });
  return propose([event], reply);
}
