// The operator commands: CleanBrokerData, GetBrokerLiveness, Get/UpdateControllerConfig, Get/SetElectionPolicy,
// GetElectionAudit.
import { create, equals } from '@bufbuild/protobuf';
import {
  type BrokerLiveness,
  BrokerLivenessSchema,
  type CleanBrokerDataRequest,
  CleanBrokerDataResponseSchema,
  type GetBrokerLivenessRequest,
  GetBrokerLivenessResponseSchema,
  type GetControllerConfigRequest,
  GetControllerConfigResponseSchema,
  type GetElectionAuditRequest,
  GetElectionAuditResponseSchema,
  type GetElectionPolicyRequest,
  GetElectionPolicyResponseSchema,
  type SetElectionPolicyRequest,
  SetElectionPolicyResponseSchema,
  type UpdateControllerConfigRequest,
  UpdateControllerConfigResponseSchema,
} from '@regent/proto/admin';
import { ControllerCondition } from '@regent/proto/common';
import { type PolicyConfig, PolicyConfigSchema, type PolicyProblem } from '@regent/proto/election';
import type { ElectionAuditRecord } from '@regent/proto/state';
import { effectiveConfigEntries, forbiddenConfigKeys, validateConfigEntry } from '../config.js';
import { cleanBrokerDataEvent, configChangeEvent, policyConfigEvent } from '../events.js';
import { cleanBrokerIdsMax, configEntriesPerUpdateMax } from '../limits.js';
import type { BrokerLivenessRecord, LivenessView } from '../liveness.js';
import { answer, type CommandResult, propose, refuse, refuseWith } from '../result.js';
import {
  type ControllerState,
  compareIds,
  effectivePolicy,
  groupPolicyKey,
  sortedUniqueIds,
} from '../state.js';
import { checkBrokerName, checkClusterMatch, checkClusterName } from '../validate.js';
import { checkNames, selectGroups } from './sync-state.js';

/** Checks an election policy configuration (libs/election's validator, which owns CEL); empty when valid. */
export type PolicyValidator = (policy: PolicyConfig) => readonly PolicyProblem[];

/**
 * CleanBrokerData (RocketMQ 1011), in RocketMQ's order: unless `clean_living_broker`, a whole-group clean of a
 * group that still has a master, or a listed id that is alive, is INVALID_CLEAN_BROKER_METADATA; then an unknown
 * group is INVALID_CLEAN_BROKER_METADATA. CLUSTER_MISMATCH (Regent) comes first for a known group.
 */
export function handleCleanBrokerData(
  state: ControllerState,
  request: CleanBrokerDataRequest,
  liveness: LivenessView,
): CommandResult {
  const shape = checkBrokerName(request.brokerName) ?? checkClusterName(request.clusterName, false);
  if (shape !== undefined) return shape;
  if (request.brokerIds.length > cleanBrokerIdsMax) {
    return refuse(
      ControllerCondition.INVALID_ARGUMENT,
      `broker_ids must have at most ${cleanBrokerIdsMax} entries`,
      {
        field: 'broker_ids',
      },
    );
  }
  const { brokerName } = request;
  const group = state.groups.get(brokerName);
  if (group !== undefined) {
    const mismatch = checkClusterMatch(group, request.clusterName);
    if (mismatch !== undefined) return mismatch;
  }
  const ids = sortedUniqueIds(request.brokerIds);
  const invalid = (message: string) => refuse(ControllerCondition.INVALID_CLEAN_BROKER_METADATA, message);
  if (!request.cleanLivingBroker) {
    if (ids.length === 0 && group?.masterBrokerId !== undefined) {
      return invalid(`broker group ${brokerName} still has master ${group.masterBrokerId}; clean refused`);
    }
    const clusterName = group?.clusterName ?? request.clusterName;
    const living = ids.find((id) => liveness.isAlive(clusterName, brokerName, id));
    if (living !== undefined)
      return invalid(`broker ${living} of ${brokerName} is still alive; clean refused`);
  }
  if (group === undefined) return invalid(`broker group ${brokerName} is not registered`);
  const groupRemoved = ids.length === 0 || [...group.replicas.keys()].every((id) => ids.includes(id));
  return propose([cleanBrokerDataEvent(brokerName, ids)], {
    case: 'cleanBrokerData',
    value: create(CleanBrokerDataResponseSchema, { groupRemoved }),
  });
}

/**
 * GetBrokerLiveness: this node's liveness records for the selected groups (every group without names, every
 * cluster without a cluster name), ordered by group then id. Records of unregistered brokers are included.
 */
export function handleGetBrokerLiveness(
  request: GetBrokerLivenessRequest,
  liveness: LivenessView,
  options: { readonly nodeId?: bigint } = {},
): CommandResult {
  const shape = checkClusterName(request.clusterName, false) ?? checkNames(request.brokerNames, true);
  if (shape !== undefined) return shape;
  const names = new Set(request.brokerNames);
  const selected = (record: BrokerLivenessRecord): boolean =>
    (request.clusterName === '' || record.clusterName === request.clusterName) &&
    (names.size === 0 || names.has(record.brokerName));
  const byGroupThenId = (a: BrokerLivenessRecord, b: BrokerLivenessRecord): number =>
    a.brokerName !== b.brokerName
      ? a.brokerName < b.brokerName
        ? -1
        : 1
      : compareIds(a.brokerId, b.brokerId);
  const brokers: BrokerLiveness[] = [];
  for (const record of liveness.list().filter(selected).sort(byGroupThenId)) {
    brokers.push(
      create(BrokerLivenessSchema, {
        clusterName: record.clusterName,
        brokerName: record.brokerName,
        brokerId: record.brokerId,
        brokerAddress: record.brokerAddress,
        alive: liveness.isAlive(record.clusterName, record.brokerName, record.brokerId),
        lastHeartbeatAgeMs: BigInt(Math.max(0, Math.trunc(liveness.nowMs - record.lastHeartbeatMs))),
        heartbeatTimeoutMs: BigInt(record.heartbeatTimeoutMs),
        epoch: record.epoch,
        maxOffset: record.maxOffset,
        confirmOffset: record.confirmOffset,
        electionPriority: record.electionPriority,
        suspected: record.suspected,
        zone: record.zone,
      }),
    );
  }
  return answer({
    case: 'getBrokerLiveness',
    value: create(GetBrokerLivenessResponseSchema, { brokers, answeringNodeId: options.nodeId ?? 0n }),
  });
}

/** GetControllerConfig: every replicated key with its effective value, and the keys updates refuse. */
export function handleGetControllerConfig(
  state: ControllerState,
  _request: GetControllerConfigRequest,
): CommandResult {
  return answer({
    case: 'getControllerConfig',
    value: create(GetControllerConfigResponseSchema, {
      entries: effectiveConfigEntries(state),
      forbiddenKeys: [...forbiddenConfigKeys].sort(),
    }),
  });
}

/**
 * UpdateControllerConfig: at most 64 entries; any blacklisted key is CONFIG_KEY_FORBIDDEN (RocketMQ
 * NO_PERMISSION), checked before unknown keys and bad values (INVALID_ARGUMENT). Only keys whose effective value
 * changes become the event; no change is a read.
 */
export function handleUpdateControllerConfig(
  state: ControllerState,
  request: UpdateControllerConfigRequest,
): CommandResult {
  const keys = Object.keys(request.entries).sort();
  if (keys.length > configEntriesPerUpdateMax) {
    return refuse(
      ControllerCondition.INVALID_ARGUMENT,
      `entries must have at most ${configEntriesPerUpdateMax} keys`,
      { field: 'entries' },
    );
  }
  const forbidden = keys.find((key) => forbiddenConfigKeys.includes(key));
  if (forbidden !== undefined) {
    return refuse(ControllerCondition.CONFIG_KEY_FORBIDDEN, `${forbidden} may not be changed remotely`, {
      field: `entries[${forbidden}]`,
    });
  }
  const current = effectiveConfigEntries(state);
  const changes: Record<string, string> = {};
  for (const key of keys) {
    const checked = validateConfigEntry(key, request.entries[key] as string);
    if ('error' in checked) return refuseWith(checked.error);
    if (current[key] !== checked.canonical) changes[key] = checked.canonical;
  }
  const after = { ...current, ...changes };
  const reply = {
    case: 'updateControllerConfig',
    value: create(UpdateControllerConfigResponseSchema, { entries: after }),
  } as const;
  if (Object.keys(changes).length === 0) return answer(reply);
  return propose([configChangeEvent(changes)], reply);
}

/** GetElectionPolicy: the effective policy of a group (group, else cluster, else default) or of a cluster. */
export function handleGetElectionPolicy(
  state: ControllerState,
  request: GetElectionPolicyRequest,
): CommandResult {
  const shape =
    checkClusterName(request.clusterName, true) ??
    (request.brokerName === '' ? undefined : checkBrokerName(request.brokerName));
  if (shape !== undefined) return shape;
  const group = request.brokerName === '' ? undefined : state.groups.get(request.brokerName);
  if (group !== undefined) {
    const mismatch = checkClusterMatch(group, request.clusterName);
    if (mismatch !== undefined) return mismatch;
  }
  const { policy, source } = effectivePolicy(state, request.clusterName, request.brokerName);
  return answer({
    case: 'getElectionPolicy',
    value: create(GetElectionPolicyResponseSchema, { policy, source }),
  });
}

/**
 * SetElectionPolicy: sets or (without a policy) clears a cluster-wide or per-group policy. Checked in order:
 * names, CLUSTER_MISMATCH for a known group, INVALID_POLICY (from `validatePolicy`, first problem's field),
 * OVERLOADED when the policy tables are full. Setting what is already set is a read.
 */
export function handleSetElectionPolicy(
  state: ControllerState,
  request: SetElectionPolicyRequest,
  validatePolicy: PolicyValidator,
): CommandResult {
  const { clusterName, brokerName, policy } = request;
  const shape =
    checkClusterName(clusterName, true) ?? (brokerName === '' ? undefined : checkBrokerName(brokerName));
  if (shape !== undefined) return shape;
  const group = brokerName === '' ? undefined : state.groups.get(brokerName);
  if (group !== undefined) {
    const mismatch = checkClusterMatch(group, clusterName);
    if (mismatch !== undefined) return mismatch;
  }
  if (policy !== undefined) {
    const [problem, ...others] = validatePolicy(policy);
    if (problem !== undefined) {
      const more = others.length === 0 ? '' : ` (and ${others.length} more)`;
      return refuse(ControllerCondition.INVALID_POLICY, `${problem.field}: ${problem.message}${more}`, {
        field: problem.field,
      });
    }
  }
  const table = brokerName === '' ? state.clusterPolicies : state.groupPolicies;
  const key = brokerName === '' ? clusterName : groupPolicyKey(clusterName, brokerName);
  const tableMax = brokerName === '' ? state.limits.clusterPoliciesMax : state.limits.groupPoliciesMax;
  const existing = table.get(key);
  const reply = { case: 'setElectionPolicy', value: create(SetElectionPolicyResponseSchema, {}) } as const;
  if (
    policy === undefined
      ? existing === undefined
      : existing !== undefined && equals(PolicyConfigSchema, existing, policy)
  ) {
    return answer(reply);
  }
  if (policy !== undefined && existing === undefined && table.size >= tableMax) {
    return refuse(
      ControllerCondition.OVERLOADED,
      `${table.size} ${brokerName === '' ? 'cluster' : 'group'} policies, the maximum`,
    );
  }
  return propose([policyConfigEvent(clusterName, brokerName, policy)], reply);
}

/**
 * GetElectionAudit: the newest `limit` records (0: all kept) of one group, or of every group of the cluster
 * (every cluster when none is named), oldest first within each group, groups ascending by name. A named unknown
 * group is BROKER_METADATA_NOT_EXIST.
 */
export function handleGetElectionAudit(
  state: ControllerState,
  request: GetElectionAuditRequest,
): CommandResult {
  const shape =
    checkClusterName(request.clusterName, false) ??
    (request.brokerName === '' ? undefined : checkBrokerName(request.brokerName));
  if (shape !== undefined) return shape;
  if (request.brokerName !== '') {
    const group = state.groups.get(request.brokerName);
    if (group === undefined) {
      return refuse(
        ControllerCondition.BROKER_METADATA_NOT_EXIST,
        `broker group ${request.brokerName} is not registered`,
      );
    }
    const mismatch = checkClusterMatch(group, request.clusterName);
    if (mismatch !== undefined) return mismatch;
  }
  const names = request.brokerName === '' ? [] : [request.brokerName];
  const records: ElectionAuditRecord[] = [];
  for (const group of selectGroups(state, request.clusterName, names)) {
    const kept =
      request.limit === 0 ? group.audit : group.audit.slice(Math.max(0, group.audit.length - request.limit));
    records.push(...kept);
  }
  return answer({ case: 'getElectionAudit', value: create(GetElectionAuditResponseSchema, { records }) });
}
