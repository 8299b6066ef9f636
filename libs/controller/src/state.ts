// The controller's replicated state (RocketMQ ReplicasInfoManager: BrokerReplicaInfo + SyncStateInfo per broker
// group, keyed by brokerName), plus Regent's replicated configuration, election policies, audit trail and
// client sessions. Only `applyCommand` mutates it; handlers, scans and snapshots only read it.

import { create } from '@bufbuild/protobuf';
import { type PolicyConfig, PolicyConfigSchema } from '@regent/proto/election';
import type { ElectionAuditRecord } from '@regent/proto/state';
import { type ControllerLimits, defaultControllerLimits } from './limits.js';

/** One registered replica (RocketMQ `brokerIdInfo` entry). */
export interface ReplicaEntry {
  /** The broker's current address, "host:port". */
  readonly address: string;
  /** "<address>;<unix ms>" as sent by ApplyBrokerId; the same code makes a retried apply idempotent. */
  readonly registerCheckCode: string;
}

/**
 * One broker group. Invariants (checked by `checkStateInvariants`): `syncStateSet` is ascending without
 * duplicates and every member is a registered replica; the master, when present, is registered and in the
 * SyncStateSet; `nextAssignBrokerId` is greater than every registered id; both epochs only grow.
 */
export interface GroupState {
  /** The cluster the group was created in; fixed for the group's life. */
  readonly clusterName: string;
  readonly brokerName: string;
  /** The id GetNextBrokerId hands out; starts at 1, never decreases, so ids are never handed out twice. */
  nextAssignBrokerId: bigint;
  /** brokerId → replica. */
  readonly replicas: Map<bigint, ReplicaEntry>;
  /** The master's broker id; undefined when the group has no master. */
  masterBrokerId: bigint | undefined;
  /** Bumped by every master change, including "no master" (RocketMQ `updateMasterInfo`). 0 = never elected. */
  masterEpoch: number;
  /** The in-sync replica ids, ascending. Replaced (never mutated) on change. */
  syncStateSet: readonly bigint[];
  /** Bumped by every SyncStateSet change. */
  syncStateSetEpoch: number;
  /** The newest election decisions that produced an event, oldest first, at most `auditRecordsPerGroupMax`. */
  readonly audit: ElectionAuditRecord[];
}

/** The exactly-once record of one client: its last applied request and that request's encoded reply. */
export interface ClientSession {
  readonly lastSequence: bigint;
  /** The encoded `ControllerReply`; owned by the state, never mutated. */
  readonly lastReply: Uint8Array;
  /** The Raft index of the entry that last used the session. */
  readonly lastIndex: bigint;
}

/**
 * The whole replicated controller state. Stored protobuf messages (policies, audit records) are never mutated
 * once stored, so clones may share them.
 */
export interface ControllerState {
  readonly limits: ControllerLimits;
  /** brokerName → group. */
  readonly groups: Map<string, GroupState>;
  /** Replicated configuration keys that were set explicitly (canonical values); defaults are not stored. */
  readonly config: Map<string, string>;
  /** clusterName → cluster-wide election policy. */
  readonly clusterPolicies: Map<string, PolicyConfig>;
  /** `groupPolicyKey(cluster, brokerName)` → per-group election policy. */
  readonly groupPolicies: Map<string, PolicyConfig>;
  /** clientId → session. Iteration order is least recently used (lowest `lastIndex`) first. */
  readonly sessions: Map<string, ClientSession>;
}

/** An empty state. `limits` must be equal on every node of a cluster. */
export function createControllerState(limits: ControllerLimits = defaultControllerLimits): ControllerState {
  return {
    limits,
    groups: new Map(),
    config: new Map(),
    clusterPolicies: new Map(),
    groupPolicies: new Map(),
    sessions: new Map(),
  };
}

/** A deep copy that shares only immutable stored messages and reply bytes. */
export function cloneState(state: ControllerState): ControllerState {
  const groups = new Map<string, GroupState>();
  for (const [name, group] of state.groups) {
    groups.set(name, { ...group, replicas: new Map(group.replicas), audit: [...group.audit] });
  }
  return {
    limits: state.limits,
    groups,
    config: new Map(state.config),
    clusterPolicies: new Map(state.clusterPolicies),
    groupPolicies: new Map(state.groupPolicies),
    sessions: new Map(state.sessions),
  };
}

/** The key of a per-group policy: "<cluster>/<brokerName>" (cluster names cannot contain '/'). */
export function groupPolicyKey(clusterName: string, brokerName: string): string {
  return `${clusterName}/${brokerName}`;
}

/** Where an effective policy comes from. */
export type PolicySource = 'group' | 'cluster' | 'default';

/** The policy RocketMQ uses when nothing is configured. */
export function defaultPolicy(): PolicyConfig {
  return create(PolicyConfigSchema, { policy: { case: 'rocketmqDefault', value: {} } });
}

/** The policy in force for a group (group override, else cluster, else the RocketMQ default). */
export function effectivePolicy(
  state: ControllerState,
  clusterName: string,
  brokerName: string,
): { readonly policy: PolicyConfig; readonly source: PolicySource } {
  if (brokerName !== '') {
    const groupPolicy = state.groupPolicies.get(groupPolicyKey(clusterName, brokerName));
    if (groupPolicy !== undefined) return { policy: groupPolicy, source: 'group' };
  }
  const clusterPolicy = state.clusterPolicies.get(clusterName);
  if (clusterPolicy !== undefined) return { policy: clusterPolicy, source: 'cluster' };
  return { policy: defaultPolicy(), source: 'default' };
}

/** Ascending order of broker ids (bigint-safe; never subtracts). */
export function compareIds(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The ids sorted ascending without duplicates. */
export function sortedUniqueIds(ids: Iterable<bigint>): bigint[] {
  return [...new Set(ids)].sort(compareIds);
}

/** Registered replica ids of a group, ascending. */
export function replicaIds(group: GroupState): bigint[] {
  return [...group.replicas.keys()].sort(compareIds);
}
