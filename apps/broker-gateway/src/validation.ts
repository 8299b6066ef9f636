// Shape checks of every BrokerService and AdminService request, run by the gateway before anything is forwarded.
// Pure: each validator takes a request and returns its first violation (or undefined); no I/O, no state.
//
// Names: cluster and broker group names follow RocketMQ's topic/broker character rules (letters, digits, `_`, `%`,
// `|`, `-`, at most 127 characters) restricted to characters that are safe in a NATS subject token, because the
// notification pusher publishes on `regent.<cluster>.<brokerName>.role`: no `.`, `*`, `>` or whitespace.
import { isIPv4, isIPv6 } from 'node:net';
import type { ConnectError } from '@connectrpc/connect';
import { connectErrorOf } from '@regent/proto';
import type {
  ElectMasterRequest as AdminElectMasterRequest,
  GetSyncStateDataRequest as AdminGetSyncStateDataRequest,
  ChangeMembershipRequest,
  CleanBrokerDataRequest,
  GetBrokerLivenessRequest,
  GetElectionAuditRequest,
  GetElectionPolicyRequest,
  SetElectionPolicyRequest,
  UpdateControllerConfigRequest,
} from '@regent/proto/admin';
import { MembershipChange } from '@regent/proto/admin';
import type {
  AlterSyncStateSetRequest,
  ApplyBrokerIdRequest,
  ElectMasterRequest,
  GetNextBrokerIdRequest,
  GetReplicaInfoRequest,
  GetSyncStateDataRequest,
  RegisterBrokerRequest,
} from '@regent/proto/broker';
import { type BrokerHeartbeat, ControllerCondition } from '@regent/proto/common';
import type { PolicyConfig } from '@regent/proto/election';

/** One failed check: the offending field path (proto names) and why. */
export interface Violation {
  readonly field: string;
  readonly message: string;
  /** INVALID_ARGUMENT, except a heartbeat without a broker id (RocketMQ's INVALID_REQUEST, code 2005). */
  readonly condition: ControllerCondition.INVALID_ARGUMENT | ControllerCondition.INVALID_REQUEST;
}

type Check = Violation | undefined;

/** Cluster and broker group names (see the file comment). */
export const namePattern = /^[A-Za-z0-9_%|-]{1,127}$/;
/** RocketMQ broker ids start at 1 (`MixAll.FIRST_BROKER_CONTROLLER_ID`); the top keeps them exact in JSON doubles. */
export const brokerIdMax = 2n ** 53n;
/** Epochs and offsets use -1 for "unknown" (RocketMQ's defaults). */
export const unknownValue = -1;
/** A heartbeat timeout is 0 (the controller default) or within these bounds, in milliseconds. */
export const heartbeatTimeoutMsMin = 100n;
export const heartbeatTimeoutMsMax = 600_000n;
/** "<brokerAddress>;<unix ms>", RocketMQ's register check code. */
export const registerCheckCodeLengthMax = 256;
/** A DNS name (253) plus brackets, colon and port. */
export const addressLengthMax = 261;
export const syncStateSetIdsMax = 64;
export const brokerNamesMax = 1024;
export const cleanBrokerIdsMax = 64;
export const configEntriesMax = 64;
export const configKeyLengthMax = 128;
export const configValueLengthMax = 1024;
export const labelsMax = 16;
export const labelKeyLengthMax = 128;
export const labelValueLengthMax = 256;
/** Zone names, zone orders and rule expressions mirror libs/election's limits. */
export const zoneLengthMax = 128;
export const zoneOrderZonesMax = 32;
export const ruleExpressionLengthMax = 2048;

const configKeyPattern = /^[A-Za-z0-9_.-]+$/;
const dnsLabelPattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const portPattern = /^[1-9][0-9]{0,4}$/;

/** The Connect error for a violation: INVALID_ARGUMENT carrying the condition and the field. */
export function violationError(violation: Violation): ConnectError {
  return connectErrorOf(violation.condition, `${violation.field}: ${violation.message}`, {
    field: violation.field,
  });
}

function invalid(field: string, message: string): Violation {
  return { field, message, condition: ControllerCondition.INVALID_ARGUMENT };
}

// ---- field checks ----

/** A required cluster or broker group name. */
export function checkName(field: string, value: string): Check {
  if (value === '') return invalid(field, 'is required');
  if (!namePattern.test(value)) {
    return invalid(field, `must be 1..127 characters of A-Z a-z 0-9 _ % | - (got ${quote(value)})`);
  }
  return undefined;
}

/** A name that may be empty (meaning "all"). */
export function checkOptionalName(field: string, value: string): Check {
  return value === '' ? undefined : checkName(field, value);
}

/** "host:port": IPv4, bracketed IPv6 or a DNS name (RFC 1123 labels), port 1..65535. */
export function checkAddress(field: string, value: string): Check {
  if (value === '') return invalid(field, 'is required');
  if (value.length > addressLengthMax)
    return invalid(field, `must have at most ${addressLengthMax} characters`);
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return invalid(field, `expected host:port, got ${quote(value)}`);
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (!portPattern.test(port) || Number(port) > 65_535) {
    return invalid(field, `port must be 1..65535 (got ${quote(port)})`);
  }
  const hostProblem = hostError(host);
  return hostProblem === undefined ? undefined : invalid(field, hostProblem);
}

function hostError(host: string): string | undefined {
  if (host.startsWith('[')) {
    const inner = host.endsWith(']') ? host.slice(1, -1) : '';
    return isIPv6(inner) && !inner.includes('%') ? undefined : `invalid IPv6 host ${quote(host)}`;
  }
  if (host.includes(':')) return `an IPv6 host must be bracketed (got ${quote(host)})`;
  if (/^[0-9.]+$/.test(host)) return isIPv4(host) ? undefined : `invalid IPv4 host ${quote(host)}`;
  if (host.length > 253) return 'host name longer than 253 characters';
  return host.split('.').every((label) => dnsLabelPattern.test(label))
    ? undefined
    : `invalid host ${quote(host)}`;
}

/** A broker id, 1..2^53. */
export function checkBrokerId(field: string, value: bigint): Check {
  if (value < 1n || value > brokerIdMax) return invalid(field, `must be 1..2^53 (got ${value})`);
  return undefined;
}

/** A masterEpoch / syncStateSetEpoch / epoch-file epoch: -1 (unknown) or more. */
export function checkEpoch(field: string, value: number): Check {
  return value < unknownValue ? invalid(field, `must be -1 or more (got ${value})`) : undefined;
}

/** A commit-log offset: -1 (unknown) or more. */
export function checkOffset(field: string, value: bigint): Check {
  return value < BigInt(unknownValue) ? invalid(field, `must be -1 or more (got ${value})`) : undefined;
}

/** 0 (the controller default) or 100..600000 ms. */
export function checkHeartbeatTimeout(field: string, value: bigint): Check {
  if (value === 0n || (value >= heartbeatTimeoutMsMin && value <= heartbeatTimeoutMsMax)) return undefined;
  return invalid(field, `must be 0 or ${heartbeatTimeoutMsMin}..${heartbeatTimeoutMsMax} ms (got ${value})`);
}

/** "<address>;<digits>", at most 256 characters. */
export function checkRegisterCheckCode(field: string, value: string): Check {
  if (value === '') return invalid(field, 'is required');
  if (value.length > registerCheckCodeLengthMax) {
    return invalid(field, `must have at most ${registerCheckCodeLengthMax} characters`);
  }
  const semicolon = value.lastIndexOf(';');
  if (semicolon < 0 || !/^[0-9]{1,20}$/.test(value.slice(semicolon + 1))) {
    return invalid(field, `expected "<address>;<digits>", got ${quote(value)}`);
  }
  const address = checkAddress(field, value.slice(0, semicolon));
  return address === undefined ? undefined : invalid(field, `address part: ${address.message}`);
}

/** A list of group names with a length bound (and a minimum). */
export function checkNameList(field: string, names: readonly string[], min: number, max: number): Check {
  if (names.length < min) return invalid(field, `must list at least ${min} name(s)`);
  if (names.length > max) return invalid(field, `must list at most ${max} names (got ${names.length})`);
  for (const [i, name] of names.entries()) {
    const problem = checkName(`${field}[${i}]`, name);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** A list of distinct broker ids with a length bound. */
export function checkIdList(field: string, ids: readonly bigint[], max: number): Check {
  if (ids.length > max) return invalid(field, `must list at most ${max} ids (got ${ids.length})`);
  const seen = new Set<bigint>();
  for (const [i, id] of ids.entries()) {
    const problem = checkBrokerId(`${field}[${i}]`, id);
    if (problem !== undefined) return problem;
    if (seen.has(id)) return invalid(`${field}[${i}]`, `duplicate id ${id}`);
    seen.add(id);
  }
  return undefined;
}

/** At most 16 labels; keys 1..128 characters, values at most 256. */
export function checkLabels(field: string, labels: Readonly<Record<string, string>>): Check {
  const entries = Object.entries(labels);
  if (entries.length > labelsMax)
    return invalid(field, `at most ${labelsMax} labels (got ${entries.length})`);
  for (const [key, value] of entries) {
    if (key === '' || key.length > labelKeyLengthMax) {
      return invalid(field, `label keys must have 1..${labelKeyLengthMax} characters (${quote(key)})`);
    }
    if (value.length > labelValueLengthMax) {
      return invalid(field, `label ${quote(key)}: value longer than ${labelValueLengthMax} characters`);
    }
  }
  return undefined;
}

function checkLength(field: string, value: string, max: number): Check {
  return value.length > max ? invalid(field, `must have at most ${max} characters`) : undefined;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

function groupOf(request: { clusterName: string; brokerName: string }): Check {
  return checkName('cluster_name', request.clusterName) ?? checkName('broker_name', request.brokerName);
}

// ---- BrokerService ----

export function validateGetNextBrokerId(request: GetNextBrokerIdRequest): Check {
  return groupOf(request);
}

export function validateApplyBrokerId(request: ApplyBrokerIdRequest): Check {
  return (
    groupOf(request) ??
    checkBrokerId('applied_broker_id', request.appliedBrokerId) ??
    checkRegisterCheckCode('register_check_code', request.registerCheckCode)
  );
}

export function validateRegisterBroker(request: RegisterBrokerRequest): Check {
  return (
    groupOf(request) ??
    checkBrokerId('broker_id', request.brokerId) ??
    checkAddress('broker_address', request.brokerAddress)
  );
}

/** One heartbeat; `prefix` is the path of the heartbeat field in its request. */
/** A heartbeat's field paths under one prefix, built once: validation runs for every heartbeat. */
function heartbeatFields(prefix: string) {
  const at = (name: string): string => `${prefix}.${name}`;
  return {
    clusterName: at('cluster_name'),
    brokerName: at('broker_name'),
    brokerAddress: at('broker_address'),
    brokerId: at('broker_id'),
    epoch: at('epoch'),
    maxOffset: at('max_offset'),
    confirmOffset: at('confirm_offset'),
    heartbeatTimeoutMs: at('heartbeat_timeout_ms'),
    zone: at('zone'),
    labels: at('labels'),
  };
}

/** By prefix; prefixes are constants of the code, so the map stays small. */
const heartbeatFieldsByPrefix = new Map<string, ReturnType<typeof heartbeatFields>>();

export function validateHeartbeat(heartbeat: BrokerHeartbeat | undefined, prefix = 'heartbeat'): Check {
  if (heartbeat === undefined) return invalid(prefix, 'is required');
  let fields = heartbeatFieldsByPrefix.get(prefix);
  if (fields === undefined) {
    fields = heartbeatFields(prefix);
    heartbeatFieldsByPrefix.set(prefix, fields);
  }
  if (heartbeat.brokerId === undefined) {
    // RocketMQ answers a heartbeat without brokerId with CONTROLLER_INVALID_REQUEST (2005).
    return { field: fields.brokerId, message: 'is required', condition: ControllerCondition.INVALID_REQUEST };
  }
  return (
    checkName(fields.clusterName, heartbeat.clusterName) ??
    checkName(fields.brokerName, heartbeat.brokerName) ??
    checkAddress(fields.brokerAddress, heartbeat.brokerAddress) ??
    checkBrokerId(fields.brokerId, heartbeat.brokerId) ??
    checkEpoch(fields.epoch, heartbeat.epoch) ??
    checkOffset(fields.maxOffset, heartbeat.maxOffset) ??
    checkOffset(fields.confirmOffset, heartbeat.confirmOffset) ??
    checkHeartbeatTimeout(fields.heartbeatTimeoutMs, heartbeat.heartbeatTimeoutMs) ??
    checkLength(fields.zone, heartbeat.zone, zoneLengthMax) ??
    checkLabels(fields.labels, heartbeat.labels)
  );
}

export function validateElectMaster(request: ElectMasterRequest): Check {
  return groupOf(request) ?? checkBrokerId('broker_id', request.brokerId);
}

export function validateAlterSyncStateSet(request: AlterSyncStateSetRequest): Check {
  const set = request.newSyncStateSet;
  return (
    groupOf(request) ??
    checkBrokerId('master_broker_id', request.masterBrokerId) ??
    checkEpoch('master_epoch', request.masterEpoch) ??
    (set === undefined ? invalid('new_sync_state_set', 'is required') : undefined) ??
    checkIdList('new_sync_state_set.broker_ids', set?.brokerIds ?? [], syncStateSetIdsMax) ??
    checkEpoch('new_sync_state_set.epoch', set?.epoch ?? 0)
  );
}

export function validateGetReplicaInfo(request: GetReplicaInfoRequest): Check {
  return groupOf(request);
}

/** The broker flavour needs 1..1024 names (RocketMQ answers an empty list with an error). */
export function validateGetSyncStateData(request: GetSyncStateDataRequest): Check {
  return (
    checkName('cluster_name', request.clusterName) ??
    checkNameList('broker_names', request.brokerNames, 1, brokerNamesMax)
  );
}

// ---- AdminService ----

/** The admin flavour: an empty cluster or name list means "all". */
export function validateAdminGetSyncStateData(request: AdminGetSyncStateDataRequest): Check {
  return (
    checkOptionalName('cluster_name', request.clusterName) ??
    checkNameList('broker_names', request.brokerNames, 0, brokerNamesMax)
  );
}

export function validateGetBrokerLiveness(request: GetBrokerLivenessRequest): Check {
  return (
    checkOptionalName('cluster_name', request.clusterName) ??
    checkNameList('broker_names', request.brokerNames, 0, brokerNamesMax)
  );
}

export function validateAdminElectMaster(request: AdminElectMasterRequest): Check {
  const designated = request.designatedBrokerId;
  return (
    groupOf(request) ??
    (designated === undefined ? undefined : checkBrokerId('designated_broker_id', designated))
  );
}

/** RocketMQ's clusterName is optional here (empty: not checked against the group). */
export function validateCleanBrokerData(request: CleanBrokerDataRequest): Check {
  return (
    checkOptionalName('cluster_name', request.clusterName) ??
    checkName('broker_name', request.brokerName) ??
    checkIdList('broker_ids', request.brokerIds, cleanBrokerIdsMax)
  );
}

export function validateUpdateControllerConfig(request: UpdateControllerConfigRequest): Check {
  const entries = Object.entries(request.entries);
  if (entries.length === 0) return invalid('entries', 'must hold at least one key');
  if (entries.length > configEntriesMax) {
    return invalid('entries', `at most ${configEntriesMax} entries (got ${entries.length})`);
  }
  for (const [key, value] of entries) {
    if (key.length > configKeyLengthMax || !configKeyPattern.test(key)) {
      return invalid(
        'entries',
        `keys must be 1..${configKeyLengthMax} characters of A-Z a-z 0-9 _ . - (${quote(key)})`,
      );
    }
    if (value.length > configValueLengthMax) {
      return invalid(`entries[${key}]`, `value longer than ${configValueLengthMax} characters`);
    }
  }
  return undefined;
}

export function validateGetElectionPolicy(request: GetElectionPolicyRequest): Check {
  return (
    checkName('cluster_name', request.clusterName) ?? checkOptionalName('broker_name', request.brokerName)
  );
}

export function validateSetElectionPolicy(request: SetElectionPolicyRequest): Check {
  return (
    checkName('cluster_name', request.clusterName) ??
    checkOptionalName('broker_name', request.brokerName) ??
    checkPolicy('policy', request.policy)
  );
}

/** Bounds only; the consensus leader validates the policy itself (INVALID_POLICY). */
function checkPolicy(field: string, policy: PolicyConfig | undefined): Check {
  const p = policy?.policy;
  switch (p?.case) {
    case 'zoneAware': {
      const zones = p.value.zoneOrder;
      if (zones.length > zoneOrderZonesMax) {
        return invalid(
          `${field}.zone_aware.zone_order`,
          `at most ${zoneOrderZonesMax} zones (got ${zones.length})`,
        );
      }
      const bad = zones.findIndex((zone) => zone === '' || zone.length > zoneLengthMax);
      return bad < 0
        ? undefined
        : invalid(`${field}.zone_aware.zone_order[${bad}]`, `must have 1..${zoneLengthMax} characters`);
    }
    case 'maxLag':
      return p.value.maxLagBytes < 0n
        ? invalid(`${field}.max_lag.max_lag_bytes`, `must be 0 or more (got ${p.value.maxLagBytes})`)
        : undefined;
    case 'rules':
      return (
        checkLength(`${field}.rules.filter`, p.value.filter, ruleExpressionLengthMax) ??
        checkLength(`${field}.rules.rank`, p.value.rank, ruleExpressionLengthMax)
      );
    default:
      return undefined;
  }
}

export function validateGetElectionAudit(request: GetElectionAuditRequest): Check {
  return (
    checkName('cluster_name', request.clusterName) ?? checkOptionalName('broker_name', request.brokerName)
  );
}

export function validateChangeMembership(request: ChangeMembershipRequest): Check {
  if (MembershipChange[request.change] === undefined || request.change === MembershipChange.UNSPECIFIED) {
    return invalid(
      'change',
      `must be one of ADD_VOTER, REMOVE_NODE, ADD_LEARNER, PROMOTE_LEARNER (got ${request.change})`,
    );
  }
  if (request.nodeId === 0n) return invalid('node_id', 'is required');
  const adds =
    request.change === MembershipChange.ADD_VOTER || request.change === MembershipChange.ADD_LEARNER;
  const address = (field: string, value: string): Check =>
    adds || value !== '' ? checkAddress(field, value) : undefined;
  return address('peer_address', request.peerAddress) ?? address('client_address', request.clientAddress);
}
