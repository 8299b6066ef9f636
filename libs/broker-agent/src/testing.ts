// Test fakes for code that embeds the agent: an in-memory BrokerService with the controller semantics the agent
// relies on (RocketMQ's ApplyBrokerId idempotence by check code, RegisterBroker's live-master rule, broker-triggered
// elections, AlterSyncStateSet's check order), and a settable StoreView. Not a controller: no Raft, no scans.
import { create } from '@bufbuild/protobuf';
import { type Client, createClient, createRouterTransport, type ServiceImpl } from '@connectrpc/connect';
import { connectErrorOf } from '@regent/proto';
import {
  BrokerService,
  type ElectMasterResponse,
  ElectMasterResponseSchema,
  type GetReplicaInfoResponse,
  GetReplicaInfoResponseSchema,
  type HeartbeatStreamRequest,
} from '@regent/proto/broker';
import { type BrokerHeartbeat, ControllerCondition, SyncStateSetSchema } from '@regent/proto/common';
import {
  type RoleChangeNotification,
  RoleChangeNotificationSchema,
  RoleChangeReason,
} from '@regent/proto/notify';
import type { StoreView } from './ports.js';
import { sameIds, sortedUnique } from './role.js';

const C = ControllerCondition;
const CALLS_MAX = 10_000;

export interface FakeGroup {
  readonly brokerName: string;
  readonly clusterName: string;
  nextBrokerId: bigint;
  readonly replicas: Map<bigint, { address: string; checkCode: string }>;
  masterBrokerId: bigint | undefined;
  masterEpoch: number;
  syncStateSet: bigint[];
  syncStateSetEpoch: number;
}

export interface LivenessRecord {
  readonly heartbeat: BrokerHeartbeat;
  readonly atMs: number;
  readonly timeoutMs: number;
  readonly via: 'stream' | 'unary';
}

export interface StreamBreak {
  readonly key: string;
  readonly atMs: number;
  /** 'ended': the broker half-closed the stream; 'broken': it failed (cancel, reset, closed connection). */
  readonly how: 'ended' | 'broken';
}

/**
 * An in-memory BrokerService. `before` runs ahead of every call and may throw (a ConnectError to refuse) or return
 * a promise (to hold the call). `impl` plugs into a Connect router; `client()` is an in-memory client.
 */
export class FakeBrokerService {
  readonly groups = new Map<string, FakeGroup>();
  /** Last heartbeat per `<brokerName>/<brokerId>`. */
  readonly liveness = new Map<string, LivenessRecord>();
  /** Every accepted ApplyBrokerId that took an id (idempotent re-applies are not repeated here). */
  readonly claims: { brokerName: string; brokerId: bigint; checkCode: string }[] = [];
  /** Method names in call order (bounded). */
  readonly calls: string[] = [];
  readonly openStreams = new Map<string, number>();
  readonly streamBreaks: StreamBreak[] = [];
  before: ((method: string, request: unknown) => void | Promise<void>) | undefined;
  defaultHeartbeatTimeoutMs = 500;

  constructor(readonly nowMs: () => number = () => Date.now()) {}

  readonly impl: ServiceImpl<typeof BrokerService> = {
    getNextBrokerId: async (req) => {
      await this.enter('getNextBrokerId', req);
      const group = this.groups.get(req.brokerName);
      return {
        clusterName: req.clusterName,
        brokerName: req.brokerName,
        nextBrokerId: group?.nextBrokerId ?? 1n,
      };
    },
    applyBrokerId: async (req) => {
      await this.enter('applyBrokerId', req);
      this.applyBrokerId(req.clusterName, req.brokerName, req.appliedBrokerId, req.registerCheckCode);
      return { clusterName: req.clusterName, brokerName: req.brokerName };
    },
    registerBroker: async (req) => {
      await this.enter('registerBroker', req);
      const group = this.groups.get(req.brokerName);
      const replica = group?.replicas.get(req.brokerId);
      if (group === undefined || replica === undefined) {
        throw connectErrorOf(
          C.BROKER_NEED_TO_BE_REGISTERED,
          `${req.brokerName}/${req.brokerId} is not registered`,
        );
      }
      this.checkCluster(group, req.clusterName);
      replica.address = req.brokerAddress;
      const live = group.masterBrokerId !== undefined && this.isAlive(group.brokerName, group.masterBrokerId);
      return {
        clusterName: group.clusterName,
        brokerName: group.brokerName,
        masterBrokerId: live ? group.masterBrokerId : undefined,
        masterAddress: live ? this.addressOf(group, group.masterBrokerId) : '',
        masterEpoch: group.masterEpoch,
        syncStateSet: this.syncStateSetOf(group),
      };
    },
    heartbeat: async (req) => {
      await this.enter('heartbeat', req);
      const timeoutMs = this.record(req.heartbeat, 'unary');
      return { effectiveTimeoutMs: BigInt(timeoutMs) };
    },
    heartbeatStream: (requests, context) => this.heartbeatStream(requests, context.signal),
    electMaster: async (req) => {
      await this.enter('electMaster', req);
      return this.elect(req.brokerName, req.brokerId);
    },
    alterSyncStateSet: async (req) => {
      await this.enter('alterSyncStateSet', req);
      return {
        syncStateSet: this.alter(req.brokerName, req.masterBrokerId, req.masterEpoch, req.newSyncStateSet),
      };
    },
    getReplicaInfo: async (req) => {
      await this.enter('getReplicaInfo', req);
      return this.replicaInfo(req.brokerName);
    },
    getSyncStateData: async () => ({ replicas: {} }),
    getControllerMetadata: async () => ({}),
  };

  /** An in-memory client of `impl`. */
  client(): Client<typeof BrokerService> {
    return createClient(
      BrokerService,
      createRouterTransport(({ service }) => service(BrokerService, this.impl)),
    );
  }

  isAlive(brokerName: string, brokerId: bigint): boolean {
    const r = this.liveness.get(`${brokerName}/${brokerId}`);
    return r !== undefined && this.nowMs() - r.atMs <= r.timeoutMs;
  }

  /** Records a heartbeat as if the broker had sent it (for replicas a test does not run). */
  markAlive(brokerName: string, brokerId: bigint, maxOffset = 0n, epoch = 0): void {
    this.liveness.set(`${brokerName}/${brokerId}`, {
      heartbeat: { brokerName, brokerId, maxOffset, epoch } as BrokerHeartbeat,
      atMs: this.nowMs(),
      timeoutMs: 3_600_000,
      via: 'unary',
    });
  }

  /** Makes `brokerId` master (undefined: clears the master): a new masterEpoch and SyncStateSet {master}. */
  setMaster(brokerName: string, brokerId: bigint | undefined): GetReplicaInfoResponse {
    const group = this.mustGroup(brokerName);
    group.masterBrokerId = brokerId;
    group.masterEpoch++;
    group.syncStateSet = brokerId === undefined ? [] : [brokerId];
    group.syncStateSetEpoch++;
    return this.replicaInfo(brokerName);
  }

  replicaInfo(brokerName: string): GetReplicaInfoResponse {
    const group = this.groups.get(brokerName);
    if (group === undefined) throw connectErrorOf(C.BROKER_METADATA_NOT_EXIST, `unknown group ${brokerName}`);
    return create(GetReplicaInfoResponseSchema, {
      masterBrokerId: group.masterBrokerId,
      masterAddress: this.addressOf(group, group.masterBrokerId),
      masterEpoch: group.masterEpoch,
      syncStateSet: this.syncStateSetOf(group),
    });
  }

  /** The notification the pusher would publish for the group's current state. */
  notification(brokerName: string, reason = RoleChangeReason.MASTER_ELECTED): RoleChangeNotification {
    const group = this.mustGroup(brokerName);
    return create(RoleChangeNotificationSchema, {
      clusterName: group.clusterName,
      brokerName,
      masterBrokerId: group.masterBrokerId,
      masterAddress: this.addressOf(group, group.masterBrokerId),
      masterEpoch: group.masterEpoch,
      syncStateSet: this.syncStateSetOf(group),
      reason,
      publishedAtUnixMs: BigInt(this.nowMs()),
    });
  }

  /** Ids whose claim carried a check code of `address` (a broker must never hold two). */
  idsClaimedBy(brokerName: string, address: string): bigint[] {
    const group = this.groups.get(brokerName);
    if (group === undefined) return [];
    return [...group.replicas.entries()]
      .filter(([, r]) => r.checkCode.split(';')[0] === address)
      .map(([id]) => id);
  }

  private async enter(method: string, request: unknown): Promise<void> {
    if (this.calls.length >= CALLS_MAX) this.calls.splice(0, CALLS_MAX / 2);
    this.calls.push(method);
    await this.before?.(method, request);
  }

  private applyBrokerId(clusterName: string, brokerName: string, id: bigint, checkCode: string): void {
    let group = this.groups.get(brokerName);
    if (group === undefined) {
      if (id !== 1n) throw connectErrorOf(C.BROKER_ID_INVALID, `a new group starts at id 1, not ${id}`);
      group = {
        brokerName,
        clusterName,
        nextBrokerId: 1n,
        replicas: new Map(),
        masterBrokerId: undefined,
        masterEpoch: 0,
        syncStateSet: [],
        syncStateSetEpoch: 0,
      };
      this.groups.set(brokerName, group);
    }
    this.checkCluster(group, clusterName);
    const held = group.replicas.get(id);
    if (held !== undefined) {
      if (held.checkCode === checkCode) return;
      throw connectErrorOf(C.BROKER_ID_INVALID, `id ${id} is taken`);
    }
    if (id < 1n) throw connectErrorOf(C.BROKER_ID_INVALID, `id ${id} < 1`);
    group.replicas.set(id, { address: checkCode.split(';')[0] ?? '', checkCode });
    group.nextBrokerId = group.nextBrokerId > id + 1n ? group.nextBrokerId : id + 1n;
    this.claims.push({ brokerName, brokerId: id, checkCode });
  }

  private async *heartbeatStream(requests: AsyncIterable<HeartbeatStreamRequest>, signal: AbortSignal) {
    let key: string | undefined;
    let accepted = 0n;
    let how: StreamBreak['how'] = 'broken';
    try {
      for await (const req of requests) {
        await this.enter('heartbeatStream', req);
        const timeoutMs = this.record(req.heartbeat, 'stream');
        if (key === undefined) {
          key = `${req.heartbeat?.brokerName}/${req.heartbeat?.brokerId}`;
          this.openStreams.set(key, (this.openStreams.get(key) ?? 0) + 1);
        }
        accepted++;
        yield { acceptedCount: accepted, effectiveTimeoutMs: BigInt(timeoutMs) };
      }
      // connect-node ends the request iterable on a client reset too; the call's signal aborts just after.
      how = (await abortedSoon(signal)) ? 'broken' : 'ended';
    } finally {
      if (key !== undefined) {
        this.openStreams.set(key, (this.openStreams.get(key) ?? 1) - 1);
        this.streamBreaks.push({ key, atMs: this.nowMs(), how });
      }
    }
  }

  private record(heartbeat: BrokerHeartbeat | undefined, via: LivenessRecord['via']): number {
    if (heartbeat?.brokerId === undefined)
      throw connectErrorOf(C.INVALID_REQUEST, 'heartbeat without broker id');
    const timeoutMs =
      heartbeat.heartbeatTimeoutMs > 0n
        ? Number(heartbeat.heartbeatTimeoutMs)
        : this.defaultHeartbeatTimeoutMs;
    this.liveness.set(`${heartbeat.brokerName}/${heartbeat.brokerId}`, {
      heartbeat,
      atMs: this.nowMs(),
      timeoutMs,
      via,
    });
    return timeoutMs;
  }

  private elect(brokerName: string, brokerId: bigint): ElectMasterResponse {
    const group = this.groups.get(brokerName);
    if (group === undefined || !group.replicas.has(brokerId)) {
      throw connectErrorOf(C.BROKER_NEED_TO_BE_REGISTERED, `${brokerName}/${brokerId} is not registered`);
    }
    if (group.masterBrokerId !== undefined && this.isAlive(brokerName, group.masterBrokerId)) {
      return this.electReply(group, C.MASTER_STILL_EXIST);
    }
    const winner = group.masterEpoch === 0 ? brokerId : this.bestCandidate(group);
    if (winner === undefined) throw connectErrorOf(C.ELECT_MASTER_FAILED, `no live SyncStateSet member`);
    this.setMaster(brokerName, winner);
    return this.electReply(group, C.UNSPECIFIED);
  }

  /** RocketMQ's default policy: live SyncStateSet members, highest (epoch, maxOffset), lowest id on ties. */
  private bestCandidate(group: FakeGroup): bigint | undefined {
    const live = group.syncStateSet
      .filter((id) => this.isAlive(group.brokerName, id))
      .map((id) => ({ id, hb: this.liveness.get(`${group.brokerName}/${id}`)!.heartbeat }));
    live.sort((a, b) =>
      a.hb.epoch !== b.hb.epoch
        ? b.hb.epoch - a.hb.epoch
        : a.hb.maxOffset !== b.hb.maxOffset
          ? a.hb.maxOffset > b.hb.maxOffset
            ? -1
            : 1
          : a.id < b.id
            ? -1
            : 1,
    );
    return live[0]?.id;
  }

  private electReply(group: FakeGroup, condition: ControllerCondition): ElectMasterResponse {
    return create(ElectMasterResponseSchema, {
      condition,
      masterBrokerId: group.masterBrokerId,
      masterAddress: this.addressOf(group, group.masterBrokerId),
      masterEpoch: group.masterEpoch,
      syncStateSet: this.syncStateSetOf(group),
      brokerAddresses: Object.fromEntries([...group.replicas].map(([id, r]) => [id.toString(), r.address])),
    });
  }

  private alter(
    brokerName: string,
    masterBrokerId: bigint,
    masterEpoch: number,
    proposed: { brokerIds: bigint[]; epoch: number } | undefined,
  ) {
    const group = this.groups.get(brokerName);
    const ids = sortedUnique(proposed?.brokerIds ?? []);
    if (group === undefined)
      throw connectErrorOf(C.ALTER_SYNC_STATE_SET_FAILED, `unknown group ${brokerName}`);
    if (sameIds(ids, group.syncStateSet))
      throw connectErrorOf(C.ALTER_SYNC_STATE_SET_FAILED, 'set unchanged');
    if (group.masterBrokerId !== masterBrokerId) throw connectErrorOf(C.INVALID_MASTER, 'not the master');
    if (group.masterEpoch !== masterEpoch)
      throw connectErrorOf(C.FENCED_MASTER_EPOCH, `epoch ${group.masterEpoch}`);
    if (group.syncStateSetEpoch !== proposed?.epoch) {
      throw connectErrorOf(C.FENCED_SYNC_STATE_SET_EPOCH, `syncStateSetEpoch ${group.syncStateSetEpoch}`);
    }
    for (const id of ids) {
      if (!group.replicas.has(id)) throw connectErrorOf(C.INVALID_REPLICAS, `${id} is not registered`);
      if (!this.isAlive(brokerName, id)) throw connectErrorOf(C.BROKER_NOT_ALIVE, `${id} is not alive`);
    }
    if (!ids.includes(masterBrokerId))
      throw connectErrorOf(C.ALTER_SYNC_STATE_SET_FAILED, 'set without master');
    group.syncStateSet = ids;
    group.syncStateSetEpoch++;
    return this.syncStateSetOf(group);
  }

  private checkCluster(group: FakeGroup, clusterName: string): void {
    if (clusterName !== '' && clusterName !== group.clusterName) {
      throw connectErrorOf(C.CLUSTER_MISMATCH, `${group.brokerName} belongs to ${group.clusterName}`);
    }
  }

  private mustGroup(brokerName: string): FakeGroup {
    const group = this.groups.get(brokerName);
    if (group === undefined) throw new Error(`unknown group ${brokerName}`);
    return group;
  }

  private addressOf(group: FakeGroup, id: bigint | undefined): string {
    return id === undefined ? '' : (group.replicas.get(id)?.address ?? '');
  }

  private syncStateSetOf(group: FakeGroup) {
    return create(SyncStateSetSchema, { brokerIds: [...group.syncStateSet], epoch: group.syncStateSetEpoch });
  }
}

/** Bound on telling a reset from a half-close after a request stream ended. */
const RESET_DETECT_MS = 200;

function abortedSoon(signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(signal.aborted), RESET_DETECT_MS);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** A StoreView whose values a test sets directly. */
export class SettableStore implements StoreView {
  max = 0n;
  confirm = 0n;
  epoch = -1;
  maxOffset(): bigint {
    return this.max;
  }
  confirmOffset(): bigint {
    return this.confirm;
  }
  lastEpoch(): number {
    return this.epoch;
  }
}
