// Snapshot encode/decode (RocketMQ's DLedger controller has none; Regent compacts its log). The encoding is
// deterministic: groups and sessions ascending, maps with sorted keys, so equal states give equal bytes.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { PolicyConfig } from '@regent/proto/election';
import {
  type BrokerGroupState,
  ClientSessionSchema,
  type ControllerSnapshot,
  ControllerSnapshotSchema,
} from '@regent/proto/state';
import { AssertionError, assert } from './assert.js';
import { validateConfigEntry } from './config.js';
import { groupToProto } from './convert.js';
import { checkStateInvariants } from './invariants.js';
import { type ControllerLimits, defaultControllerLimits } from './limits.js';
import {
  type ClientSession,
  type ControllerState,
  compareIds,
  createControllerState,
  type GroupState,
} from './state.js';

/** The snapshot bytes are malformed or break an invariant (a corrupt or foreign file; an operating error). */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

function sortedRecord<V>(map: ReadonlyMap<string, V>): Record<string, V> {
  const record: Record<string, V> = {};
  for (const key of [...map.keys()].sort()) record[key] = map.get(key) as V;
  return record;
}

/** The state as a `ControllerSnapshot` message. Asserts the state's invariants first. */
export function snapshotOf(state: ControllerState): ControllerSnapshot {
  const violations = checkStateInvariants(state);
  if (violations.length > 0) {
    throw new AssertionError(
      `snapshot of a broken state: ${violations.map((v) => `${v.brokerName}: ${v.message}`).join('; ')}`,
    );
  }
  const groups = [...state.groups.keys()]
    .sort()
    .map((name) => groupToProto(state.groups.get(name) as GroupState));
  const sessions = [...state.sessions.keys()].sort().map((clientId) => {
    const session = state.sessions.get(clientId) as ClientSession;
    return create(ClientSessionSchema, {
      clientId,
      lastSequence: session.lastSequence,
      lastReply: session.lastReply,
      lastIndex: session.lastIndex,
    });
  });
  return create(ControllerSnapshotSchema, {
    groups,
    sessions,
    config: sortedRecord(state.config),
    clusterPolicies: sortedRecord(state.clusterPolicies),
    groupPolicies: sortedRecord(state.groupPolicies),
  });
}

/** Encodes the state; equal states give equal bytes. */
export function encodeSnapshot(state: ControllerState): Uint8Array {
  return toBinary(ControllerSnapshotSchema, snapshotOf(state));
}

/**
 * The state's snapshot in parts, for encoding a large state a little at a time: the state is captured when this is
 * called (later changes to it do not reach the parts); each part encodes at most `groupsPerPart` groups, the last
 * one the sessions, config and policies. The parts concatenated are `encodeSnapshot(state)`, byte for byte
 * (protobuf writes the fields in number order and a repeated field element by element).
 */
export function snapshotParts(state: ControllerState, groupsPerPart: number): Iterable<Uint8Array> {
  assert(
    Number.isInteger(groupsPerPart) && groupsPerPart > 0,
    `groupsPerPart ${groupsPerPart} is not positive`,
  );
  return encodeParts(snapshotOf(state), groupsPerPart);
}

function* encodeParts(snapshot: ControllerSnapshot, groupsPerPart: number): Generator<Uint8Array> {
  for (let from = 0; from < snapshot.groups.length; from += groupsPerPart) {
    const groups = snapshot.groups.slice(from, from + groupsPerPart);
    yield toBinary(ControllerSnapshotSchema, create(ControllerSnapshotSchema, { groups }));
  }
  yield toBinary(ControllerSnapshotSchema, { ...snapshot, groups: [] });
}

/** Decodes and validates a snapshot; throws `SnapshotError` when the bytes are malformed or inconsistent. */
export function decodeSnapshot(
  bytes: Uint8Array,
  limits: ControllerLimits = defaultControllerLimits,
): ControllerState {
  let snapshot: ControllerSnapshot;
  try {
    snapshot = fromBinary(ControllerSnapshotSchema, bytes);
  } catch (cause) {
    throw new SnapshotError('snapshot bytes are not a ControllerSnapshot', { cause });
  }
  return stateOfSnapshot(snapshot, limits);
}

/** Builds a state from a decoded snapshot message; throws `SnapshotError` when it is inconsistent. */
export function stateOfSnapshot(
  snapshot: ControllerSnapshot,
  limits: ControllerLimits = defaultControllerLimits,
): ControllerState {
  const state = createControllerState(limits);
  const check = (condition: boolean, message: string): void => {
    if (!condition) throw new SnapshotError(message);
  };
  check(
    snapshot.groups.length <= limits.groupsMax,
    `${snapshot.groups.length} groups, more than ${limits.groupsMax}`,
  );
  check(
    snapshot.sessions.length <= limits.sessionsMax,
    `${snapshot.sessions.length} sessions, more than ${limits.sessionsMax}`,
  );
  let previousName: string | undefined;
  for (const proto of snapshot.groups) {
    check(
      previousName === undefined || previousName < proto.brokerName,
      `groups not ascending at ${proto.brokerName}`,
    );
    previousName = proto.brokerName;
    state.groups.set(proto.brokerName, groupOfProto(proto, limits, check));
  }
  restoreSessions(state, snapshot, check);
  for (const [key, value] of Object.entries(snapshot.config)) {
    const checked = validateConfigEntry(key, value);
    check(
      !('error' in checked) && checked.canonical === value,
      `config ${key}=${value} is not a valid canonical entry`,
    );
    state.config.set(key, value);
  }
  restorePolicies(
    state.clusterPolicies,
    snapshot.clusterPolicies,
    (key) => key !== '' && !key.includes('/'),
    check,
  );
  restorePolicies(state.groupPolicies, snapshot.groupPolicies, (key) => key.indexOf('/') >= 0, check);
  check(
    state.clusterPolicies.size <= limits.clusterPoliciesMax,
    `${state.clusterPolicies.size} cluster policies`,
  );
  check(state.groupPolicies.size <= limits.groupPoliciesMax, `${state.groupPolicies.size} group policies`);
  const violations = checkStateInvariants(state);
  check(
    violations.length === 0,
    `inconsistent snapshot: ${violations.map((v) => `${v.brokerName}: ${v.message}`).join('; ')}`,
  );
  return state;
}

type Check = (condition: boolean, message: string) => void;

function groupOfProto(proto: BrokerGroupState, limits: ControllerLimits, check: Check): GroupState {
  const name = proto.brokerName;
  check(name !== '', 'group without a name');
  check(proto.replicas.length <= limits.replicasPerGroupMax, `${name}: ${proto.replicas.length} replicas`);
  check(proto.audit.length <= limits.auditRecordsPerGroupMax, `${name}: ${proto.audit.length} audit records`);
  const replicas = new Map<bigint, { address: string; registerCheckCode: string }>();
  let previousId: bigint | undefined;
  for (const replica of proto.replicas) {
    check(
      previousId === undefined || compareIds(previousId, replica.brokerId) < 0,
      `${name}: replicas not ascending`,
    );
    previousId = replica.brokerId;
    replicas.set(replica.brokerId, {
      address: replica.brokerAddress,
      registerCheckCode: replica.registerCheckCode,
    });
  }
  return {
    clusterName: proto.clusterName,
    brokerName: name,
    nextAssignBrokerId: proto.nextAssignBrokerId,
    replicas,
    masterBrokerId: proto.masterBrokerId,
    masterEpoch: proto.masterEpoch,
    syncStateSet: [...(proto.syncStateSet?.brokerIds ?? [])],
    syncStateSetEpoch: proto.syncStateSet?.epoch ?? 0,
    audit: [...proto.audit],
  };
}

function restoreSessions(state: ControllerState, snapshot: ControllerSnapshot, check: Check): void {
  let previousId: string | undefined;
  for (const session of snapshot.sessions) {
    check(session.clientId !== '', 'session without a client id');
    check(
      previousId === undefined || previousId < session.clientId,
      `sessions not ascending at ${session.clientId}`,
    );
    previousId = session.clientId;
  }
  // The live table iterates least recently used first; rebuild that order from the Raft indexes.
  const byIndex = [...snapshot.sessions].sort((a, b) => compareIds(a.lastIndex, b.lastIndex));
  for (let i = 1; i < byIndex.length; i += 1) {
    check(
      (byIndex[i - 1]?.lastIndex ?? 0n) < (byIndex[i]?.lastIndex ?? 0n),
      'two sessions share a Raft index',
    );
  }
  for (const session of byIndex) {
    state.sessions.set(session.clientId, {
      lastSequence: session.lastSequence,
      lastReply: session.lastReply,
      lastIndex: session.lastIndex,
    });
  }
}

function restorePolicies(
  target: Map<string, PolicyConfig>,
  source: Record<string, PolicyConfig>,
  keyValid: (key: string) => boolean,
  check: Check,
): void {
  for (const [key, policy] of Object.entries(source)) {
    check(keyValid(key), `policy key ${key} is malformed`);
    target.set(key, policy);
  }
}
