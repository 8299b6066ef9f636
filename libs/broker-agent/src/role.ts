// The broker's role as the controller last told it, and the epoch gate every piece of news passes (RocketMQ
// `ReplicasManager.changeBrokerRole` / `syncBrokerMetadata`, §3.3–§3.4). Pure: news in, decision out.
//
// Holds: masterEpoch never goes back; a role changes only on a strictly newer masterEpoch. One masterEpoch names
// at most one master (the controller bumps the epoch on every election and on every cleared master), so news at
// the held epoch can only refresh the SyncStateSet.
import type {
  ElectMasterResponse,
  GetReplicaInfoResponse,
  RegisterBrokerResponse,
} from '@regent/proto/broker';
import type { RoleChangeNotification } from '@regent/proto/notify';

export type Role = 'unknown' | 'master' | 'slave';

export interface RoleState {
  readonly role: Role;
  /** 0 until the first master is learned. */
  readonly masterEpoch: number;
  readonly masterBrokerId: bigint | undefined;
  readonly masterAddress: string;
  /** Broker ids, ascending. */
  readonly syncStateSet: readonly bigint[];
  readonly syncStateSetEpoch: number;
}

export const initialRoleState: RoleState = {
  role: 'unknown',
  masterEpoch: 0,
  masterBrokerId: undefined,
  masterAddress: '',
  syncStateSet: [],
  syncStateSetEpoch: 0,
};

/** A statement about the group: from GetReplicaInfo, ElectMaster, RegisterBroker or a NATS notification. */
export interface ReplicaInfo {
  readonly masterBrokerId: bigint | undefined;
  readonly masterAddress: string;
  readonly masterEpoch: number;
  readonly syncStateSet: readonly bigint[];
  readonly syncStateSetEpoch: number;
}

type ReplicaInfoSource = Pick<
  GetReplicaInfoResponse | ElectMasterResponse | RegisterBrokerResponse | RoleChangeNotification,
  'masterAddress' | 'masterEpoch' | 'syncStateSet'
>;

/** The statement about the group that a controller answer or a notification makes. */
export function replicaInfoOf(source: ReplicaInfoSource, masterBrokerId: bigint | undefined): ReplicaInfo {
  return {
    masterBrokerId,
    masterAddress: source.masterAddress,
    masterEpoch: source.masterEpoch,
    syncStateSet: source.syncStateSet?.brokerIds ?? [],
    syncStateSetEpoch: source.syncStateSet?.epoch ?? 0,
  };
}

export type RoleDecision =
  /** Older masterEpoch than held: ignored. */
  | { readonly kind: 'stale' }
  /** Same masterEpoch, nothing new: ignored. */
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'became-master'; readonly state: RoleState }
  | { readonly kind: 'became-slave'; readonly state: RoleState }
  /**
   * The group has no master (newer epoch, or still none at the held epoch while the role is unknown): the broker
   * must be fenced and should ask for an election.
   */
  | { readonly kind: 'no-master'; readonly state: RoleState }
  /** Same masterEpoch and master, newer SyncStateSet epoch: adopt the set. */
  | { readonly kind: 'sync-state-set'; readonly state: RoleState };

export function decideRole(current: RoleState, info: ReplicaInfo, selfId: bigint): RoleDecision {
  if (info.masterEpoch < current.masterEpoch) return { kind: 'stale' };
  if (info.masterEpoch === current.masterEpoch) return decideSameEpoch(current, info);
  const base = {
    masterEpoch: info.masterEpoch,
    masterBrokerId: info.masterBrokerId,
    masterAddress: info.masterAddress,
    syncStateSet: sortedUnique(info.syncStateSet),
    syncStateSetEpoch: info.syncStateSetEpoch,
  };
  if (info.masterBrokerId === undefined) {
    return { kind: 'no-master', state: { ...base, role: 'unknown', masterAddress: '' } };
  }
  if (info.masterBrokerId === selfId) return { kind: 'became-master', state: { ...base, role: 'master' } };
  return { kind: 'became-slave', state: { ...base, role: 'slave' } };
}

function decideSameEpoch(current: RoleState, info: ReplicaInfo): RoleDecision {
  if (info.masterBrokerId === undefined) {
    return current.role === 'unknown' ? { kind: 'no-master', state: current } : { kind: 'duplicate' };
  }
  if (
    current.role !== 'unknown' &&
    info.masterBrokerId === current.masterBrokerId &&
    info.syncStateSetEpoch > current.syncStateSetEpoch
  ) {
    return {
      kind: 'sync-state-set',
      state: {
        ...current,
        syncStateSet: sortedUnique(info.syncStateSet),
        syncStateSetEpoch: info.syncStateSetEpoch,
      },
    };
  }
  return { kind: 'duplicate' };
}

/** Ascending, without duplicates. */
export function sortedUnique(ids: Iterable<bigint>): bigint[] {
  return [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The ascending union of two id sets. */
export function unionOf(a: readonly bigint[], b: readonly bigint[]): bigint[] {
  return sortedUnique([...a, ...b]);
}

export function sameIds(a: readonly bigint[], b: readonly bigint[]): boolean {
  const x = sortedUnique(a);
  const y = sortedUnique(b);
  return x.length === y.length && x.every((id, i) => id === y[i]);
}
