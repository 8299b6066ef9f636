// A stateful in-process AdminService for the dashboard tests: three consensus nodes, three broker groups in two
// clusters, designated elections, leadership transfer, and a scripted failover that moves a master and records
// the decision in the audit trail, as the controller's liveness scan would.
import { create } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type Interceptor,
  type ServiceImpl,
} from '@connectrpc/connect';
import { connectErrorOf } from '@regent/proto';
import {
  AdminService,
  type BrokerLiveness,
  BrokerLivenessSchema,
  NodeStatusSchema,
} from '@regent/proto/admin';
import {
  ControllerCondition,
  type ReplicaInfo,
  ReplicaInfoSchema,
  ReplicasInfoSchema,
} from '@regent/proto/common';
import { type CandidateReason, CandidateReasonSchema, Verdict } from '@regent/proto/election';
import { type ElectionAuditRecord, ElectionAuditRecordSchema, ElectionTrigger } from '@regent/proto/state';

export interface RecordedCall {
  readonly method: string;
  readonly request: unknown;
  readonly authorization: string | null;
}

interface FakeBroker {
  readonly id: bigint;
  readonly address: string;
  readonly zone: string;
  alive: boolean;
  epoch: number;
  maxOffset: bigint;
  confirmOffset: bigint;
  lastHeartbeatAtMs: number;
}

interface FakeGroup {
  readonly cluster: string;
  readonly name: string;
  readonly brokers: Map<bigint, FakeBroker>;
  masterId: bigint | undefined;
  masterEpoch: number;
  syncStateSet: Set<bigint>;
  syncStateSetEpoch: number;
  readonly audit: ElectionAuditRecord[];
}

export interface FakeCluster {
  readonly calls: RecordedCall[];
  readonly routes: (router: ConnectRouter) => void;
  readonly interceptors: Interceptor[];
  /** The master of a group now (undefined for none). */
  masterOf(group: string): bigint | undefined;
  /** The Raft leader's node id. */
  leaderId(): number;
  /** The group's master dies and the controller elects the best live in-sync replica. */
  failMaster(group: string): ElectionAuditRecord;
}

const NODE_COUNT = 3;
/** Every group keeps at most this many audit records, like the controller's bounded trail. */
const AUDIT_RECORDS_MAX = 32;

export function createFakeCluster(options: { token: string }): FakeCluster {
  const calls: RecordedCall[] = [];
  let leader = 1;
  let term = 3n;
  let index = 40n;
  const groups = new Map<string, FakeGroup>();

  const addGroup = (
    cluster: string,
    name: string,
    ids: number[],
    masterId: number,
    inSync: number[],
  ): void => {
    const brokers = new Map<bigint, FakeBroker>();
    for (const id of ids) {
      brokers.set(BigInt(id), {
        id: BigInt(id),
        address: `127.0.0.1:${10_900 + groups.size * 10 + id}`,
        zone: id % 2 === 0 ? 'zone-b' : 'zone-a',
        alive: true,
        epoch: 1,
        maxOffset: 1_048_576n * BigInt(10 - id),
        confirmOffset: 1_048_576n * BigInt(9 - id),
        lastHeartbeatAtMs: Date.now(),
      });
    }
    const group: FakeGroup = {
      cluster,
      name,
      brokers,
      masterId: BigInt(masterId),
      masterEpoch: 1,
      syncStateSet: new Set(inSync.map(BigInt)),
      syncStateSetEpoch: 2,
      audit: [],
    };
    groups.set(name, group);
    record(group, {
      trigger: ElectionTrigger.BROKER,
      oldMasterBrokerId: undefined,
      chosenBrokerId: BigInt(masterId),
      explanation: `no master yet; broker ${masterId} registered first and asked to be elected`,
      reasons: [reason(BigInt(masterId), Verdict.CHOSEN, 'first registered replica')],
    });
  };

  function record(
    group: FakeGroup,
    decision: Pick<
      ElectionAuditRecord,
      'trigger' | 'chosenBrokerId' | 'oldMasterBrokerId' | 'explanation' | 'reasons'
    >,
  ): ElectionAuditRecord {
    index++;
    const entry = create(ElectionAuditRecordSchema, {
      ...decision,
      clusterName: group.cluster,
      brokerName: group.name,
      policyName: 'rocketmq-default',
      rankedBrokerIds: decision.chosenBrokerId === undefined ? [] : [decision.chosenBrokerId],
      masterEpoch: group.masterEpoch,
      raftTerm: term,
      raftIndex: index,
      decidedAtUnixMs: BigInt(Date.now()),
    });
    group.audit.push(entry);
    if (group.audit.length > AUDIT_RECORDS_MAX) group.audit.shift();
    return entry;
  }

  function elect(
    group: FakeGroup,
    chosen: bigint,
    trigger: ElectionTrigger,
    explanation: string,
    reasons: CandidateReason[],
  ) {
    const old = group.masterId;
    group.masterId = chosen;
    group.masterEpoch++;
    group.syncStateSet = new Set([chosen]);
    group.syncStateSetEpoch++;
    group.brokers.get(chosen)!.epoch = group.masterEpoch;
    return record(group, { trigger, oldMasterBrokerId: old, chosenBrokerId: chosen, explanation, reasons });
  }

  addGroup('c1', 'orders', [1, 2, 3], 1, [1, 2]);
  addGroup('c1', 'payments', [1, 2], 1, [1, 2]);
  addGroup('c2', 'audit-log', [1, 2, 3], 2, [1, 2, 3]);

  const groupOrThrow = (name: string): FakeGroup => {
    const group = groups.get(name);
    if (group === undefined) {
      throw connectErrorOf(
        ControllerCondition.BROKER_NEED_TO_BE_REGISTERED,
        `group ${name} is not registered`,
      );
    }
    return group;
  };

  const replicaOf = (group: FakeGroup, b: FakeBroker): ReplicaInfo =>
    create(ReplicaInfoSchema, {
      brokerName: group.name,
      brokerId: b.id,
      brokerAddress: b.address,
      alive: b.alive,
    });

  const livenessOf = (group: FakeGroup, b: FakeBroker, now: number): BrokerLiveness =>
    create(BrokerLivenessSchema, {
      clusterName: group.cluster,
      brokerName: group.name,
      brokerId: b.id,
      brokerAddress: b.address,
      alive: b.alive,
      lastHeartbeatAgeMs: BigInt(Math.max(0, now - b.lastHeartbeatAtMs)),
      heartbeatTimeoutMs: 3000n,
      epoch: b.epoch,
      maxOffset: b.maxOffset,
      confirmOffset: b.confirmOffset,
      zone: b.zone,
    });

  const impl: Partial<ServiceImpl<typeof AdminService>> = {
    getControllerMetadata: () => ({
      metadata: {
        group: 'regent',
        leaderId: BigInt(leader),
        leaderAddress: `127.0.0.1:${7100 + leader}`,
        isLeader: true,
        answeringNodeId: BigInt(leader),
        term,
        peers: Array.from({ length: NODE_COUNT }, (_, i) => ({
          nodeId: BigInt(i + 1),
          address: `127.0.0.1:${7101 + i}`,
        })),
      },
    }),
    getClusterStatus: () => ({
      nodes: Array.from({ length: NODE_COUNT }, (_, i) => {
        const id = i + 1;
        const behind = id === leader ? 0n : BigInt(id);
        return create(NodeStatusSchema, {
          nodeId: BigInt(id),
          address: `127.0.0.1:${7100 + id}`,
          role: id === leader ? 'leader' : 'follower',
          term,
          leaderId: BigInt(leader),
          commitIndex: index,
          appliedIndex: index - behind,
          lastIndex: index,
          firstIndex: 1n,
          snapshotIndex: 32n,
          uptimeSeconds: 600,
        });
      }),
    }),
    getSyncStateData: (req) => {
      const replicas: Record<string, ReturnType<typeof create<typeof ReplicasInfoSchema>>> = {};
      for (const g of groups.values()) {
        if (req.brokerNames.length > 0 && !req.brokerNames.includes(g.name)) continue;
        if (req.clusterName !== '' && req.clusterName !== g.cluster) continue;
        const all = [...g.brokers.values()];
        replicas[g.name] = create(ReplicasInfoSchema, {
          clusterName: g.cluster,
          masterBrokerId: g.masterId,
          masterAddress: g.masterId === undefined ? '' : g.brokers.get(g.masterId)!.address,
          masterEpoch: g.masterEpoch,
          syncStateSetEpoch: g.syncStateSetEpoch,
          inSyncReplicas: all.filter((b) => g.syncStateSet.has(b.id)).map((b) => replicaOf(g, b)),
          notInSyncReplicas: all.filter((b) => !g.syncStateSet.has(b.id)).map((b) => replicaOf(g, b)),
        });
      }
      return { replicas };
    },
    getBrokerLiveness: () => {
      const now = Date.now();
      const brokers = [...groups.values()].flatMap((g) =>
        [...g.brokers.values()].map((b) => livenessOf(g, b, now)),
      );
      return { brokers, answeringNodeId: BigInt(leader) };
    },
    getElectionAudit: (req) => {
      const records = [...groups.values()]
        .filter((g) => g.cluster === req.clusterName && (req.brokerName === '' || req.brokerName === g.name))
        .flatMap((g) => (req.limit === 0 ? g.audit : g.audit.slice(-req.limit)));
      return { records };
    },
    electMaster: (req) => {
      const group = groupOrThrow(req.brokerName);
      if (req.clusterName !== group.cluster) {
        throw connectErrorOf(
          ControllerCondition.CLUSTER_MISMATCH,
          `${req.brokerName} is in ${group.cluster}`,
        );
      }
      const designated = req.designatedBrokerId;
      const candidate = designated === undefined ? group.masterId : designated;
      const broker = candidate === undefined ? undefined : group.brokers.get(candidate);
      if (broker === undefined || !broker.alive) {
        throw connectErrorOf(
          ControllerCondition.ELECT_MASTER_FAILED,
          `broker ${candidate} is not alive in ${group.name}`,
        );
      }
      if (broker.id === group.masterId) {
        return {
          condition: ControllerCondition.MASTER_STILL_EXIST,
          masterBrokerId: broker.id,
          masterAddress: broker.address,
          masterEpoch: group.masterEpoch,
          syncStateSet: { brokerIds: [...group.syncStateSet], epoch: group.syncStateSetEpoch },
          explanation: `master ${broker.id} is alive; kept`,
        };
      }
      const others = [...group.brokers.values()].filter((b) => b.id !== broker.id);
      const audit = elect(
        group,
        broker.id,
        ElectionTrigger.ADMIN,
        `an admin designated broker ${broker.id}`,
        [
          reason(broker.id, Verdict.CHOSEN, 'designated by an admin'),
          ...others.map((b) => reason(b.id, Verdict.NOT_DESIGNATED, 'another broker was designated')),
        ],
      );
      return {
        masterBrokerId: broker.id,
        masterAddress: broker.address,
        masterEpoch: group.masterEpoch,
        syncStateSet: { brokerIds: [broker.id], epoch: group.syncStateSetEpoch },
        explanation: audit.explanation,
      };
    },
    transferLeadership: (req) => {
      const target = req.targetNodeId === 0n ? (leader % NODE_COUNT) + 1 : Number(req.targetNodeId);
      if (target < 1 || target > NODE_COUNT || target === leader) {
        throw new ConnectError(`node ${target} is not another voter`, Code.FailedPrecondition);
      }
      leader = target;
      term++;
      index++;
      return { leaderId: BigInt(leader) };
    },
  };

  const auth: Interceptor = (next) => async (req) => {
    const authorization = req.header.get('authorization');
    calls.push({ method: req.method.name, request: req.message, authorization });
    if (authorization !== `Bearer ${options.token}`) {
      throw new ConnectError('missing bearer token (authorization: Bearer <token>)', Code.Unauthenticated);
    }
    return next(req);
  };

  return {
    calls,
    routes: (router) => router.service(AdminService, impl),
    interceptors: [auth],
    masterOf: (name) => groupOrThrow(name).masterId,
    leaderId: () => leader,
    failMaster: (name) => {
      const group = groupOrThrow(name);
      const old = group.masterId;
      if (old === undefined) throw new Error(`${name} has no master to fail`);
      const dead = group.brokers.get(old)!;
      dead.alive = false;
      dead.lastHeartbeatAtMs = Date.now() - 3100;
      const candidates = [...group.syncStateSet].filter((id) => group.brokers.get(id)!.alive).sort();
      const chosen = candidates[0];
      if (chosen === undefined) throw new Error(`${name} has no live in-sync replica`);
      const reasons = [...group.brokers.values()].map((b) =>
        b.id === old
          ? reason(b.id, Verdict.NOT_ALIVE, 'last heartbeat 3.1s ago (timeout 3s)')
          : b.id === chosen
            ? reason(b.id, Verdict.CHOSEN, `in sync, epoch ${b.epoch}, maxOffset ${b.maxOffset}`)
            : group.syncStateSet.has(b.id)
              ? reason(b.id, Verdict.OUTRANKED, 'lower maxOffset')
              : reason(b.id, Verdict.NOT_IN_SYNC_STATE_SET, 'unclean election disabled'),
      );
      return elect(
        group,
        chosen,
        ElectionTrigger.CONTROLLER,
        `master ${old} stopped heartbeating; ${chosen} is the best live in-sync replica`,
        reasons,
      );
    },
  };
}

function reason(brokerId: bigint, verdict: Verdict, detail: string): CandidateReason {
  return create(CandidateReasonSchema, { brokerId, verdict, detail });
}
